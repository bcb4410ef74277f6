/**
 * What an instance has heard from its peers, for `vrrpd status` (docs/protocol.md#peers-in-status):
 * each configured unicast peer, heard or not, and each other sender whose advert the instance
 * accepted (multicast senders; unicast ones when check_unicast_src is off), with the last advert's
 * priority, interval, age and the path it came over.
 *
 * Only MASTERs advertise, so a healthy BACKUP peer is silent too: "silent" says the peer has not
 * advertised for three of its own intervals (or never), not that it is down.
 *
 * Everything has a limit: configured peers are listed once each, and at most MAX_HEARD_SENDERS
 * other senders are kept. A flood of forged sources (PASS authentication is a plain password on
 * the wire) evicts the sender heard longest ago and is counted, so memory stays bounded while the
 * real master, which advertises every interval, stays listed.
 */
import { decodeAdvert, isAdvertV3 } from '../core/codec.js';
import { formatIp, type IpAddress } from '../core/ip.js';
import type { PeerStatus } from './status.js';

/** The path an advert came over: raw IP protocol 112, or the UDP mirror (YAML `udp_mirror`). */
export type AdvertPath = 'vrrp' | 'udp';

/** Senders kept per instance besides the configured peers. */
export const MAX_HEARD_SENDERS = 16;

/** A peer is silent once it has not advertised for this many of its own intervals. */
const SILENT_AFTER_INTERVALS = 3;

interface Heard {
  priority: number;
  atMs: number;
  intervalMs: number;
  path: AdvertPath;
}

export class PeerTable {
  private configured: readonly IpAddress[];
  /** Configured peers (once heard) and up to MAX_HEARD_SENDERS others. */
  private readonly heard = new Map<IpAddress, Heard>();
  private others = 0;
  /** Other senders evicted or refused because the list was full. */
  private notShown = 0;

  constructor(configured: readonly IpAddress[]) {
    this.configured = [...configured];
  }

  /**
   * The configured peer list changed (a reload): what was heard from peers that stay is kept; a
   * peer that left the list is forgotten (it would not be accepted any more with check_unicast_src).
   */
  setConfigured(peers: readonly IpAddress[]): void {
    const before = new Set(this.configured);
    this.configured = [...peers];
    const now = new Set(this.configured);
    for (const address of [...this.heard.keys()]) {
      if (before.has(address) && !now.has(address)) this.heard.delete(address);
      else if (!before.has(address) && now.has(address)) this.others--; // a heard sender became a peer
    }
  }

  /**
   * Remember an advert the instance accepted. `packet` is the whole IPv4 or IPv6 packet, `headerLength`
   * its IP header's length (the receive checks have already judged it).
   */
  record(nowMs: number, source: IpAddress, packet: Uint8Array, headerLength: number, path: AdvertPath): void {
    // An IPv6 instance's packets come with a rebuilt IPv6 header (version nibble 6).
    const decoded = decodeAdvert(packet, headerLength, undefined, (packet[0] ?? 0) >>> 4 === 6 ? 6 : 4);
    if (!decoded.ok) return;
    const advert = decoded.advert;
    const entry: Heard = {
      priority: advert.priority,
      atMs: nowMs,
      intervalMs: isAdvertV3(advert) ? advert.advertIntervalCs * 10 : advert.advertIntervalSec * 1000,
      path,
    };
    if (this.heard.has(source) || this.configured.includes(source)) {
      this.heard.set(source, entry);
      return;
    }
    if (this.others >= MAX_HEARD_SENDERS) {
      this.notShown++;
      let oldest: IpAddress | undefined;
      for (const [address, known] of this.heard) {
        if (this.configured.includes(address)) continue;
        if (oldest === undefined || known.atMs < this.heard.get(oldest)!.atMs) oldest = address;
      }
      if (oldest === undefined) return;
      this.heard.delete(oldest);
      this.others--;
    }
    this.heard.set(source, entry);
    this.others++;
  }

  /** Senders not listed because the list of other senders was full (since start). */
  get sendersNotShown(): number {
    return this.notShown;
  }

  /** Configured peers first (in configuration order), then other senders, most recently heard first. */
  status(nowMs: number): PeerStatus[] {
    const rows: PeerStatus[] = this.configured.map((address) => row(address, true, this.heard.get(address), nowMs));
    const others = [...this.heard].filter(([address]) => !this.configured.includes(address)).sort((a, b) => b[1].atMs - a[1].atMs);
    for (const [address, heard] of others) rows.push(row(address, false, heard, nowMs));
    return rows;
  }
}

function row(address: IpAddress, configured: boolean, heard: Heard | undefined, nowMs: number): PeerStatus {
  if (heard === undefined) return { address: formatIp(address), configured, silent: true, priority: null, age_ms: null, advert_interval_ms: null, path: null };
  const ageMs = Math.max(0, Math.round(nowMs - heard.atMs));
  return {
    address: formatIp(address),
    configured,
    silent: ageMs > SILENT_AFTER_INTERVALS * heard.intervalMs,
    priority: heard.priority,
    age_ms: ageMs,
    advert_interval_ms: heard.intervalMs,
    path: heard.path,
  };
}
