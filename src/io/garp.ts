/**
 * Gratuitous ARP: the frame as a pure function, and a burst sender through the vrrpd_packet addon
 * (one AF_PACKET socket per burst). See native-notes/garp.md for why not a spawned arping.
 */
import type { Ipv4 } from '../core/ip.js';
import { IoError, toIoError } from './errors.js';
import { readArpFacts } from './link.js';
import { loadPacketAddon } from './native.js';

export { findAddonPath } from './native.js';

/** Ethernet header 14 + ARP for IPv4 over Ethernet 28. Short of the 60-byte minimum: the NIC pads. */
export const GARP_FRAME_LENGTH = 42;

const ETHERTYPE_ARP = 0x0806;
const ARP_HTYPE_ETHERNET = 1;
const ARP_PTYPE_IPV4 = 0x0800;
const ARP_OP_REQUEST = 1;

/**
 * A gratuitous ARP request as keepalived sends it (docs/protocol.md#garp-frame): broadcast from
 * the interface MAC, op 1, sender = target = the VIP, target MAC all ones.
 */
export function buildGarpFrame(sourceMac: Uint8Array, address: Ipv4): Uint8Array {
  if (sourceMac.length !== 6) throw new RangeError(`MAC must be 6 bytes, got ${sourceMac.length}`);
  const frame = new Uint8Array(GARP_FRAME_LENGTH);
  const view = new DataView(frame.buffer);
  frame.fill(0xff, 0, 6);
  frame.set(sourceMac, 6);
  view.setUint16(12, ETHERTYPE_ARP);
  view.setUint16(14, ARP_HTYPE_ETHERNET);
  view.setUint16(16, ARP_PTYPE_IPV4);
  frame[18] = 6;
  frame[19] = 4;
  view.setUint16(20, ARP_OP_REQUEST);
  frame.set(sourceMac, 22);
  view.setUint32(28, address >>> 0);
  frame.fill(0xff, 32, 38);
  view.setUint32(38, address >>> 0);
  return frame;
}

export type GarpOutcome =
  | { ok: true; framesSent: number }
  | { ok: true; framesSent: 0; skipped: 'noarp' | 'no_addresses' }
  | { ok: false; error: IoError };

export interface GarpSender {
  /**
   * Send `repeat` gratuitous ARPs for every address, back to back (keepalived's garp_master_repeat:
   * the whole list once, then again, repeat times). Never throws.
   */
  sendGarpBurst(ifname: string, addresses: readonly Ipv4[], repeat: number): GarpOutcome;
}

/** The real sender: interface MAC and NOARP from /sys, frames out through the addon. */
export const packetGarpSender: GarpSender = {
  sendGarpBurst(ifname, addresses, repeat) {
    if (addresses.length === 0 || repeat <= 0) return { ok: true, framesSent: 0, skipped: 'no_addresses' };
    const facts = readArpFacts(ifname);
    if (facts === undefined) return { ok: false, error: new IoError('ENODEV', 'garp.send', `no interface ${ifname}`) };
    // RFC 826 has no meaning on a NOARP link (tunnels, point-to-point); keepalived skips them too.
    if (facts.noarp) return { ok: true, framesSent: 0, skipped: 'noarp' };
    const frames: Uint8Array[] = [];
    for (let round = 0; round < repeat; round++) {
      for (const address of addresses) frames.push(buildGarpFrame(facts.mac, address));
    }
    try {
      return { ok: true, framesSent: loadPacketAddon().sendFrames(ifname, frames) };
    } catch (error) {
      return { ok: false, error: toIoError('garp.send', error) };
    }
  },
};

/**
 * Can a gratuitous ARP leave on ifname? Opens the AF_PACKET socket a burst uses (the step that needs
 * CAP_NET_RAW) and sends nothing, so a FAULT for a refused GARP can be re-tested without announcing
 * an address we do not hold.
 */
export function probeGarp(ifname: string): { ok: true } | { ok: false; error: IoError } {
  try {
    loadPacketAddon().sendFrames(ifname, []);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: toIoError('garp.send', error) };
  }
}
