/**
 * Unsolicited Neighbour Advertisements: what a new MASTER sends for its IPv6 VIPs where it sends a
 * gratuitous ARP for its IPv4 ones (docs/protocol.md#unsolicited-neighbour-advertisements). The
 * frame is a pure function; a burst goes out through the same AF_PACKET socket of the vrrpd_packet
 * addon as a GARP burst, whole Ethernet frames, so nothing depends on the interface having IPv6
 * addresses or a route for ff02::1.
 */
import { ipv6Bytes, type Ipv6 } from '../core/ip.js';
import { IoError, toIoError } from './errors.js';
import type { GarpOutcome } from './garp.js';
import { isValidIfname, readArpFacts } from './link.js';
import { loadPacketAddon } from './native.js';
import { readFileSync } from 'node:fs';

/** Ethernet 14 + IPv6 40 + NA 24 + target link-layer address option 8. */
export const NA_FRAME_LENGTH = 86;

const ETHERTYPE_IPV6 = 0x86dd;
const IPPROTO_ICMPV6 = 58;
/** RFC 4861 7.1.2: a receiver drops a Neighbour Advertisement whose hop limit is not 255. */
const NDISC_HOP_LIMIT = 255;
const ICMPV6_NEIGHBOUR_ADVERTISEMENT = 136;
const ND_OPT_TARGET_LINKADDR = 2;
/** RFC 4861 4.4 flag bits, in the first byte after the checksum. */
export const NA_FLAG_ROUTER = 0x80;
export const NA_FLAG_SOLICITED = 0x40;
export const NA_FLAG_OVERRIDE = 0x20;
/** ff02::1, all nodes on the link; its Ethernet mapping is 33:33:00:00:00:01 (RFC 2464 7). */
const ALL_NODES: Uint8Array = ipv6Bytes(0xff020000000000000000000000000001n);
const ALL_NODES_MAC = [0x33, 0x33, 0x00, 0x00, 0x00, 0x01];

/** The Internet checksum of the ICMPv6 message with the IPv6 pseudo-header (RFC 4443 2.3). */
export function icmpv6Checksum(source: Uint8Array, destination: Uint8Array, message: Uint8Array): number {
  let sum = 0;
  const add = (bytes: Uint8Array): void => {
    for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  };
  add(source);
  add(destination);
  // Upper-layer length (32 bits) and next header (after three zero bytes).
  sum += (message.length >>> 16) + (message.length & 0xffff) + IPPROTO_ICMPV6;
  add(message);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * An unsolicited Neighbour Advertisement as keepalived 2.2.7 sends it: from the interface MAC to
 * 33:33:00:00:00:01; IPv6 from the VIP to ff02::1, traffic class and flow label 0, hop limit 255;
 * ICMPv6 type 136 code 0 with Override set, Solicited clear, Router set only when the interface
 * forwards IPv6 (`router`); target = the VIP; one target link-layer address option with the MAC.
 */
export function buildUnsolicitedNa(sourceMac: Uint8Array, address: Ipv6, router: boolean): Uint8Array {
  if (sourceMac.length !== 6) throw new RangeError(`MAC must be 6 bytes, got ${sourceMac.length}`);
  const target = ipv6Bytes(address);
  const frame = new Uint8Array(NA_FRAME_LENGTH);
  const view = new DataView(frame.buffer);
  frame.set(ALL_NODES_MAC, 0);
  frame.set(sourceMac, 6);
  view.setUint16(12, ETHERTYPE_IPV6);
  // IPv6 header at 14.
  view.setUint32(14, 0x60000000);
  view.setUint16(18, NA_FRAME_LENGTH - 54);
  frame[20] = IPPROTO_ICMPV6;
  frame[21] = NDISC_HOP_LIMIT;
  frame.set(target, 22);
  frame.set(ALL_NODES, 38);
  // ICMPv6 at 54: type, code, checksum (filled below), flags + 29 reserved bits, target.
  frame[54] = ICMPV6_NEIGHBOUR_ADVERTISEMENT;
  frame[58] = NA_FLAG_OVERRIDE | (router ? NA_FLAG_ROUTER : 0);
  frame.set(target, 62);
  // Target link-layer address option at 78: type 2, length 1 (units of 8 bytes), the MAC.
  frame[78] = ND_OPT_TARGET_LINKADDR;
  frame[79] = 1;
  frame.set(sourceMac, 80);
  view.setUint16(56, icmpv6Checksum(target, ALL_NODES, frame.subarray(54)));
  return frame;
}

/**
 * keepalived sets the Router flag when IPv6 forwarding is on for the interface (a router that
 * takes a VIP must not make its neighbours drop it from their default routers: RFC 4861 7.2.5).
 */
export function readIpv6Forwarding(ifname: string): boolean {
  if (!isValidIfname(ifname)) return false;
  try {
    return readFileSync(`/proc/sys/net/ipv6/conf/${ifname}/forwarding`, 'utf8').trim() !== '0';
  } catch {
    // IPv6 off in this kernel or on this interface: not a router for it.
    return false;
  }
}

export interface NaSender {
  /**
   * Send `repeat` unsolicited NAs for every address, back to back (the whole list once, then again,
   * as a GARP burst). Never throws.
   */
  sendNaBurst(ifname: string, addresses: readonly Ipv6[], repeat: number): GarpOutcome;
}

/** The real sender: interface MAC and NOARP from /sys, forwarding from /proc, frames through the addon. */
export const packetNaSender: NaSender = {
  sendNaBurst(ifname, addresses, repeat) {
    if (addresses.length === 0 || repeat <= 0) return { ok: true, framesSent: 0, skipped: 'no_addresses' };
    const facts = readArpFacts(ifname);
    if (facts === undefined) return { ok: false, error: new IoError('ENODEV', 'na.send', `no interface ${ifname}`) };
    // No neighbour discovery on a NOARP link; keepalived skips them too.
    if (facts.noarp) return { ok: true, framesSent: 0, skipped: 'noarp' };
    const router = readIpv6Forwarding(ifname);
    const frames: Uint8Array[] = [];
    for (let round = 0; round < repeat; round++) {
      for (const address of addresses) frames.push(buildUnsolicitedNa(facts.mac, address, router));
    }
    try {
      return { ok: true, framesSent: loadPacketAddon().sendFrames(ifname, frames) };
    } catch (error) {
      return { ok: false, error: toIoError('na.send', error) };
    }
  },
};
