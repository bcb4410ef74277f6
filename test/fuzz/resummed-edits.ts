/**
 * Field edits of the real keepalived captures that keep the VRRP checksum valid. The plain field
 * edits and bit flips (test/core/fixtures/mutations.ts) almost always stop at bad_checksum or
 * earlier, so the checks after it (mode, address list, unicast peer) and the accept path were
 * reached only by chance (address_list_mismatch: 0 in 100,000 runs). Here the edited fields are
 * the ones a hostile or misconfigured peer would change while sending well-formed packets: VRID,
 * priority, addresses, password, IP source and destination, TTL; then the checksum is recomputed.
 */
import fc from 'fast-check';
import { vrrpChecksum } from '../../src/core/codec.js';
import { KEEPALIVED_CAPTURES, fromHex } from '../core/fixtures/keepalived-captures.js';

const IP_HEADER_LENGTH = 20;

export function resummedFieldEdit(): fc.Arbitrary<Uint8Array> {
  const captures = KEEPALIVED_CAPTURES.map((c) => fromHex(c.hex)).filter((b) => (b[0]! & 0x0f) === 5);
  // An edit: which region, where in it, and the new byte.
  const region = fc.constantFrom('vrid', 'priority', 'address', 'auth', 'source', 'destination', 'ttl', 'multicast');
  const edit = fc.tuple(region, fc.nat(), fc.integer({ min: 0, max: 255 }));
  return fc.tuple(fc.constantFrom(...captures), fc.array(edit, { minLength: 1, maxLength: 3 })).map(([capture, edits]) => {
    const bytes = capture.slice();
    const vrrp = IP_HEADER_LENGTH;
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
          bytes[bytes.length - 8 + (at % 8)] = value;
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
    const sum = vrrpChecksum(bytes, vrrp);
    bytes[vrrp + 6] = sum >>> 8;
    bytes[vrrp + 7] = sum & 0xff;
    return bytes;
  });
}
