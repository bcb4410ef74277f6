/**
 * The unsolicited Neighbour Advertisement frame (src/io/ndisc.ts), field by field, with its
 * checksum verified independently, and byte for byte against two frames keepalived 2.2.7 sent
 * (tcpdump -xx on the master's ens32, MAC 52:54:00:aa:00:01, VIP fd00::50/64, one IPv6 instance;
 * once with net.ipv6.conf.ens32.forwarding=0 and once with 1). test/netns/ndisc.test.ts compares
 * against a live keepalived as well.
 */
import { describe, expect, it } from 'vitest';
import { formatIpv6, parseIpv6, readIpv6 } from '../../src/core/ip.js';
import { buildUnsolicitedNa, icmpv6Checksum, NA_FLAG_OVERRIDE, NA_FLAG_ROUTER, NA_FRAME_LENGTH } from '../../src/io/ndisc.js';

const MAC = Uint8Array.from([0x52, 0x54, 0x00, 0xaa, 0x00, 0x01]);
const VIP = parseIpv6('fd00::50')!;

/** keepalived 2.2.7's NA, forwarding off: Flags [override]. */
const KEEPALIVED_NA =
  '333300000001525400aa000186dd6000000000203afffd000000000000000000000000000050ff020000000000000000000000000001880008ff20000000fd0000000000000000000000000000500201525400aa0001';
/** The same with forwarding on: Flags [router, override]. */
const KEEPALIVED_NA_ROUTER =
  '333300000001525400aa000186dd6000000000203afffd000000000000000000000000000050ff020000000000000000000000000001880088fea0000000fd0000000000000000000000000000500201525400aa0001';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** RFC 1071 sum over the pseudo-header and the message, written out the long way: 0xffff when the checksum is right. */
function onesComplementSum(frame: Uint8Array): number {
  const ip = frame.subarray(14);
  const payloadLength = (ip[4]! << 8) | ip[5]!;
  const pseudo = new Uint8Array(40 + payloadLength);
  pseudo.set(ip.subarray(8, 40), 0); // source, destination
  new DataView(pseudo.buffer).setUint32(32, payloadLength);
  pseudo[39] = ip[6]!; // next header
  pseudo.set(ip.subarray(40, 40 + payloadLength), 40);
  let sum = 0;
  for (let i = 0; i < pseudo.length; i += 2) sum += (pseudo[i]! << 8) + (pseudo[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

describe('buildUnsolicitedNa', () => {
  it('equals keepalived 2.2.7 byte for byte, with and without the Router flag', () => {
    expect(hex(buildUnsolicitedNa(MAC, VIP, false))).toBe(KEEPALIVED_NA);
    expect(hex(buildUnsolicitedNa(MAC, VIP, true))).toBe(KEEPALIVED_NA_ROUTER);
  });

  it('lays out Ethernet, IPv6 and the NA with its option as RFC 4861 4.4 says', () => {
    const frame = buildUnsolicitedNa(MAC, parseIpv6('2001:db8:0:1::abcd')!, false);
    expect(frame.length).toBe(NA_FRAME_LENGTH);
    expect(hex(frame.subarray(0, 6))).toBe('333300000001');
    expect(hex(frame.subarray(6, 12))).toBe(hex(MAC));
    expect(hex(frame.subarray(12, 14))).toBe('86dd');
    const ip = frame.subarray(14);
    expect(ip[0]! >> 4).toBe(6);
    expect(hex(ip.subarray(0, 4))).toBe('60000000'); // traffic class 0, flow label 0
    expect((ip[4]! << 8) | ip[5]!).toBe(32);
    expect(ip[6]).toBe(58); // ICMPv6
    expect(ip[7]).toBe(255); // hop limit: receivers drop an NA with any other
    expect(formatIpv6(readIpv6(ip, 8))).toBe('2001:db8:0:1::abcd');
    expect(formatIpv6(readIpv6(ip, 24))).toBe('ff02::1');
    const na = ip.subarray(40);
    expect(na[0]).toBe(136);
    expect(na[1]).toBe(0);
    expect(na[4]).toBe(NA_FLAG_OVERRIDE); // Override only: not solicited, not a router
    expect(hex(na.subarray(5, 8))).toBe('000000');
    expect(formatIpv6(readIpv6(na, 8))).toBe('2001:db8:0:1::abcd');
    expect([na[24], na[25]]).toEqual([2, 1]); // target link-layer address, 8 bytes
    expect(hex(na.subarray(26, 32))).toBe(hex(MAC));
    expect(buildUnsolicitedNa(MAC, VIP, true)[58]).toBe(NA_FLAG_OVERRIDE | NA_FLAG_ROUTER);
  });

  it('carries a checksum that verifies over the IPv6 pseudo-header, for many addresses and MACs', () => {
    for (let i = 0; i < 200; i++) {
      const mac = Uint8Array.from({ length: 6 }, (_, j) => (i * 37 + j * 101) & 0xff);
      const address = parseIpv6(`fd${(i % 256).toString(16).padStart(2, '0')}:${((i * 7919) & 0xffff).toString(16)}::${(i * 104729).toString(16).slice(-4)}`)!;
      const frame = buildUnsolicitedNa(mac, address, i % 2 === 0);
      expect(onesComplementSum(frame)).toBe(0xffff);
      // A flipped bit anywhere in the covered part is caught.
      const broken = frame.slice();
      broken[14 + 8 + (i % 64)]! ^= 1 << i % 8;
      expect(onesComplementSum(broken)).not.toBe(0xffff);
    }
  });

  it('icmpv6Checksum pads an odd-length message with a zero byte', () => {
    const source = new Uint8Array(16);
    const destination = new Uint8Array(16);
    // Zero addresses, length 1, next header 58, the byte 0x01 as the high half of a word.
    expect(icmpv6Checksum(source, destination, Uint8Array.from([0x01]))).toBe(0xffff - (1 + 58 + 0x0100));
  });

  it('refuses a MAC that is not 6 bytes', () => {
    expect(() => buildUnsolicitedNa(new Uint8Array(5), VIP, false)).toThrow(RangeError);
  });
});
