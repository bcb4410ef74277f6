/**
 * Field edits of the real keepalived captures that keep the VRRP checksum valid. The plain field
 * edits and bit flips (test/core/fixtures/mutations.ts) almost always stop at bad_checksum or
 * earlier, so the checks after it (mode, address list, unicast peer) and the accept path were
 * reached only by chance (address_list_mismatch: 0 in 100,000 runs). Here the edited fields are
 * the ones a hostile or misconfigured peer would change while sending well-formed packets: VRID,
 * priority, addresses, password (VRRPv2) or interval (VRRPv3), IP source and destination, TTL;
 * then the checksum is recomputed: VRRPv2 over the message, VRRPv3 over the pseudo-header with the
 * edited addresses (or, at random, 224.0.0.18: keepalived's old_unicast_checksum variant).
 */
import fc from 'fast-check';
import { v3Checksum, vrrpChecksum } from '../../src/core/codec.js';
import { readIpv4ForTests } from './read-ipv4.js';
import { VRRP_MULTICAST_GROUP } from '../../src/core/ip.js';
import { KEEPALIVED_CAPTURES, KEEPALIVED_V3_CAPTURES, fromHex } from '../core/fixtures/keepalived-captures.js';

const IP_HEADER_LENGTH = 20;

export function resummedFieldEdit(): fc.Arbitrary<Uint8Array> {
  const captures = [...KEEPALIVED_CAPTURES, ...KEEPALIVED_V3_CAPTURES].map((c) => fromHex(c.hex)).filter((b) => (b[0]! & 0x0f) === 5);
  // An edit: which region, where in it, and the new byte.
  const region = fc.constantFrom('vrid', 'priority', 'address', 'auth', 'source', 'destination', 'ttl', 'multicast');
  const edit = fc.tuple(region, fc.nat(), fc.integer({ min: 0, max: 255 }));
  return fc.tuple(fc.constantFrom(...captures), fc.array(edit, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([capture, edits, oldChecksum]) => {
    const bytes = capture.slice();
    const vrrp = IP_HEADER_LENGTH;
    const v3 = bytes[vrrp]! >>> 4 === 3;
    const count = bytes[vrrp + 3]!;
    for (const [what, at, value] of edits) {
      switch (what) {
        case 'vrid':
          bytes[vrrp + 1] = value;
          break;
        case 'priority':
          bytes[vrrp + 2] = value;
          break;
        case 'address':
          if (count > 0) bytes[vrrp + 8 + (at % (4 * count))] = value;
          break;
        case 'auth':
          if (v3) bytes[vrrp + 4 + (at % 2)] = value; // the interval (and the reserved bits)
          else bytes[bytes.length - 8 + (at % 8)] = value;
          break;
        case 'source':
          bytes[12 + (at % 4)] = value;
          break;
        case 'destination':
          bytes[16 + (at % 4)] = value;
          break;
        case 'ttl':
          bytes[8] = value;
          break;
        case 'multicast':
          bytes.set([224, 0, 0, 18], 16);
          break;
      }
    }
    bytes[vrrp + 6] = 0;
    bytes[vrrp + 7] = 0;
    const source = readIpv4ForTests(bytes, 12);
    const destination = oldChecksum ? VRRP_MULTICAST_GROUP : readIpv4ForTests(bytes, 16);
    const sum = v3 ? v3Checksum(bytes, { source, destination }, vrrp) : vrrpChecksum(bytes, vrrp);
    bytes[vrrp + 6] = sum >>> 8;
    bytes[vrrp + 7] = sum & 0xff;
    return bytes;
  });
}
