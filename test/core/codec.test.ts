/**
 * Codec tests: one table of (name, object, hex) drives decode, encode and round trip; real keepalived
 * 2.2.7 captures are fixtures; fast-check shows no input escapes as an exception.
 *
 * How the captures were made (details and configs in fixtures/keepalived-captures.ts; the script
 * fixtures/capture-keepalived.ts redoes it on the lab of src/lab): keepalived 2.2.7 runs in netns
 * vrcap<pid>a (ens32 10.77.0.1/24) as `keepalived -n -l -D -P -G -f CASE.conf ...`; tcpdump runs in
 * netns vrcap<pid>b (ens32 10.77.0.2/24, the same bridge) as `tcpdump -i ens32 -nn -U -w CASE.pcap
 * 'ip proto 112'`; after 6 s (11 s for advert_int 2) keepalived, by then MASTER, gets SIGTERM and
 * sends its priority-0 advert; each captured packet is kept from the IP header on.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  advertLength,
  advertLengthV3,
  decodeAdvert,
  encodeAdvert,
  encodeIpv4Packet,
  isAdvertV3,
  messageLength,
  parseIpHeader,
  passwordToAuthData,
  peekVirtualRouterId,
  v3Checksum,
  vrrpChecksum,
  withV3Checksum,
  type AdvertInput,
  type AdvertV3Input,
} from '../../src/core/codec.js';
import { DROP_REASONS, type Advert, type AdvertV3 } from '../../src/core/types.js';
import { formatIpv4, parseIpv4, VRRP_MULTICAST_GROUP } from '../../src/core/ip.js';
import { DOCUMENTED_VRRP_HEX, KEEPALIVED_CAPTURES, KEEPALIVED_V3_CAPTURES, fromHex, toHex } from './fixtures/keepalived-captures.js';
import { anyBytes, mutatedCapture, vrrpLikePacket } from './fixtures/mutations.js';

const FUZZ_RUNS = Number(process.env['VRRPD_FUZZ_RUNS'] ?? '') || 2000;

function ip(text: string): number {
  const value = parseIpv4(text);
  if (value === undefined) throw new Error(`bad address ${text}`);
  return value;
}

function auth(text: string): Uint8Array {
  return passwordToAuthData(text).authData;
}

function authText(data: Uint8Array): string {
  return String.fromCharCode(...data).replace(/\0+$/, '');
}

/** The VRRPv2 advert of a decode result; fails the test for anything else. */
function v2(result: ReturnType<typeof decodeAdvert>): Advert {
  if (!result.ok) throw new Error(result.reason);
  if (isAdvertV3(result.advert)) throw new Error('decoded as VRRPv3');
  return result.advert;
}

/** VRRP part of a whole captured IPv4 packet (the captures have a 20-byte header). */
function vrrpPart(packetHex: string): string {
  return packetHex.slice(40);
}

interface CodecCase {
  name: string;
  advert: Advert;
  hex: string;
}

const advert = (fields: Omit<Advert, 'version' | 'type'> & Partial<Pick<Advert, 'version' | 'type'>>): Advert => ({
  version: 2,
  type: 1,
  ...fields,
});

// The table: the captures (hex as keepalived put it on the wire) plus hand-computed edge cases.
const CASES: CodecCase[] = [
  ...KEEPALIVED_CAPTURES.map((capture) => ({
    name: `keepalived capture: ${capture.name}`,
    advert: advert({
      virtualRouterId: capture.expected.virtualRouterId,
      priority: capture.expected.priority,
      authType: capture.expected.authType,
      advertIntervalSec: capture.expected.advertIntervalSec,
      checksum: capture.expected.checksum,
      addresses: capture.expected.addresses.map(ip),
      authData: auth(capture.expected.authText),
    }),
    hex: vrrpPart(capture.hex),
  })),
  {
    // Checksums of these three were computed independently (python, RFC 1071) from the bytes.
    name: 'no addresses, no auth',
    advert: advert({ virtualRouterId: 1, priority: 100, authType: 0, advertIntervalSec: 1, checksum: 0x7afd, addresses: [], authData: new Uint8Array(8) }),
    hex: '2101640000017afd0000000000000000',
  },
  {
    name: 'address owner, VRID 255, interval 255, full 8-byte password, two VIPs',
    advert: advert({
      virtualRouterId: 255,
      priority: 255,
      authType: 1,
      advertIntervalSec: 255,
      checksum: 0x3704,
      addresses: [ip('10.0.0.50'), ip('10.0.0.51')],
      authData: auth('abcdefgh'),
    }),
    hex: '21ffff0201ff37040a0000320a0000336162636465666768',
  },
  {
    name: 'the Kubernetes masters: VRID 251, VIP 10.0.0.50, PASS 123456',
    advert: advert({ virtualRouterId: 251, priority: 100, authType: 1, advertIntervalSec: 1, checksum: 0xd533, addresses: [ip('10.0.0.50')], authData: auth('123456') }),
    hex: '21fb64010101d5330a0000323132333435360000',
  },
];

describe('codec table: decode, encode, round trip', () => {
  for (const c of CASES) {
    describe(c.name, () => {
      it('decodes to the object', () => {
        const result = decodeAdvert(fromHex(c.hex));
        expect(result).toEqual({ ok: true, advert: c.advert });
      });
      it('encodes to the bytes (checksum computed)', () => {
        const { checksum: _ignored, ...withoutChecksum } = c.advert;
        expect(toHex(encodeAdvert(withoutChecksum))).toBe(c.hex);
      });
      it('round trips both ways', () => {
        const bytes = fromHex(c.hex);
        const decoded = decodeAdvert(bytes);
        if (!decoded.ok) throw new Error(decoded.reason);
        expect(toHex(encodeAdvert(decoded.advert))).toBe(c.hex);
        expect(decodeAdvert(encodeAdvert(c.advert))).toEqual({ ok: true, advert: c.advert });
      });
      it('carries a checksum that verifies', () => {
        expect(vrrpChecksum(fromHex(c.hex))).toBe(0);
      });
    });
  }
});

describe('real keepalived 2.2.7 captures', () => {
  it('the unicast capture is byte for byte the packet docs/protocol.md#wire-format quotes', () => {
    const first = KEEPALIVED_CAPTURES[0];
    expect(readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8')).toContain(`\`${DOCUMENTED_VRRP_HEX}\``);
    expect(first?.hex.slice(40)).toBe(DOCUMENTED_VRRP_HEX.replace(/\s+/g, ''));
    // docs/protocol.md#wire-format: IP header `45c0 0028 .... 0000 ff70 ....`
    expect(first?.hex.slice(0, 8)).toBe('45c00028');
    expect(first?.hex.slice(12, 20)).toBe('0000ff70');
  });

  for (const capture of KEEPALIVED_CAPTURES) {
    describe(capture.name, () => {
      const bytes = fromHex(capture.hex);
      const want = capture.expected;

      it('parses the IP header as keepalived sent it (TTL 255, TOS 0xc0, no DF, protocol 112)', () => {
        const parsed = parseIpHeader(bytes);
        if (!parsed.ok) throw new Error(parsed.reason);
        expect(parsed.ip).toEqual({
          family: 4,
          headerLength: 20,
          tos: want.tos,
          totalLength: bytes.length,
          id: want.id,
          ttl: want.ttl,
          protocol: 112,
          source: ip(want.source),
          destination: ip(want.destination),
        });
        expect(bytes[6]).toBe(0); // flags: DF not set
      });

      it('peeks the VRID for the dispatcher', () => {
        const peek = peekVirtualRouterId(bytes);
        expect(peek.ok && peek.virtualRouterId).toBe(want.virtualRouterId);
      });

      it('decodes the VRRP part at an offset', () => {
        const decoded = v2(decodeAdvert(bytes, 20));
        expect(decoded.addresses.map(formatIpv4)).toEqual(want.addresses);
        expect(authText(decoded.authData)).toBe(want.authText);
        expect(decoded.priority).toBe(want.priority);
        expect(decoded.checksum).toBe(want.checksum);
      });

      it('encodeIpv4Packet + encodeAdvert rebuild the captured packet exactly, IP checksum included', () => {
        const payload = encodeAdvert({
          version: 2,
          type: 1,
          virtualRouterId: want.virtualRouterId,
          priority: want.priority,
          authType: want.authType,
          advertIntervalSec: want.advertIntervalSec,
          addresses: want.addresses.map(ip),
          authData: auth(want.authText),
        });
        const packet = encodeIpv4Packet({ source: ip(want.source), destination: ip(want.destination), id: want.id }, payload);
        expect(toHex(packet)).toBe(capture.hex);
        expect(vrrpChecksum(packet, 0, 20)).toBe(0);
      });
    });
  }

  it('the truncated password capture carries exactly what passwordToAuthData makes of the 12 characters', () => {
    const capture = KEEPALIVED_CAPTURES.find((c) => c.config.includes('kubernetes12'));
    expect(capture).toBeDefined();
    const { authData, truncated } = passwordToAuthData('kubernetes12');
    expect(truncated).toBe(true);
    expect(capture?.hex.endsWith(toHex(authData))).toBe(true);
  });
});

/** The pseudo-header a v3 capture's checksum verifies with. */
function pseudoOf(want: (typeof KEEPALIVED_V3_CAPTURES)[number]['expected']): { source: number; destination: number } {
  return { source: ip(want.source), destination: want.checksumDestination === 'group' ? VRRP_MULTICAST_GROUP : ip(want.destination) };
}

describe('real keepalived 2.2.7 VRRPv3 captures: decode, encode, round trip', () => {
  for (const capture of KEEPALIVED_V3_CAPTURES) {
    describe(capture.name, () => {
      const bytes = fromHex(capture.hex);
      const want = capture.expected;
      const object: AdvertV3 = {
        version: 3,
        type: 1,
        virtualRouterId: want.virtualRouterId,
        priority: want.priority,
        reserved: 0,
        advertIntervalCs: want.advertIntervalCs,
        checksum: want.checksum,
        addresses: want.addresses.map(ip),
      };

      it('parses the IP header as keepalived sent it (TTL 255, TOS 0xc0, no DF, protocol 112)', () => {
        expect(parseIpHeader(bytes)).toEqual({
          ok: true,
          ip: { family: 4, headerLength: 20, tos: want.tos, totalLength: bytes.length, id: want.id, ttl: want.ttl, protocol: 112, source: ip(want.source), destination: ip(want.destination) },
        });
        expect(bytes[6]).toBe(0);
      });

      it('decodes to the object: version 3, no auth fields, the interval in centiseconds', () => {
        expect(decodeAdvert(bytes, 20)).toEqual({ ok: true, advert: object });
        expect(bytes.length - 20).toBe(advertLengthV3(want.addresses.length));
      });

      it('encodes to the bytes, the checksum computed over the pseudo-header it verifies with', () => {
        const { checksum: _ignored, ...withoutChecksum } = object;
        const input: AdvertV3Input = withoutChecksum;
        expect(toHex(encodeAdvert(input, pseudoOf(want)))).toBe(capture.hex.slice(40));
      });

      it('round trips both ways, and the whole packet is rebuilt byte for byte (IP checksum included)', () => {
        const decoded = decodeAdvert(bytes, 20);
        if (!decoded.ok) throw new Error(decoded.reason);
        expect(toHex(encodeAdvert(decoded.advert))).toBe(capture.hex.slice(40));
        expect(decodeAdvert(encodeAdvert(object))).toEqual({ ok: true, advert: object });
        const packet = encodeIpv4Packet({ source: ip(want.source), destination: ip(want.destination), id: want.id }, encodeAdvert({ ...object, checksum: undefined }, pseudoOf(want)));
        expect(toHex(packet)).toBe(capture.hex);
      });

      it(`its checksum verifies with ${want.checksumDestination === 'group' ? '224.0.0.18' : 'the real destination'} in the pseudo-header, and not without one`, () => {
        const vrrp = bytes.subarray(20);
        expect(v3Checksum(vrrp, pseudoOf(want))).toBe(0);
        expect(vrrpChecksum(vrrp)).not.toBe(0);
        if (want.checksumDestination === 'destination') expect(v3Checksum(vrrp, { source: ip(want.source), destination: VRRP_MULTICAST_GROUP })).not.toBe(0);
        else if (want.destination !== '224.0.0.18') expect(v3Checksum(vrrp, { source: ip(want.source), destination: ip(want.destination) })).not.toBe(0);
      });
    });
  }

  it('the goodbye differs from the periodic advert only in priority and checksum (keepalived patches the checksum incrementally)', () => {
    const periodic = fromHex(KEEPALIVED_V3_CAPTURES[0]?.hex ?? '').subarray(20);
    const goodbye = fromHex(KEEPALIVED_V3_CAPTURES.find((c) => c.expected.priority === 0)?.hex ?? '').subarray(20);
    const differing = [...periodic.keys()].filter((i) => periodic[i] !== goodbye[i]);
    expect(differing).toEqual([2, 6]);
  });

  it('old_unicast_checksum sends exactly the multicast advert\'s VRRP message to the unicast peer', () => {
    const multicast = KEEPALIVED_V3_CAPTURES.find((c) => c.name.includes('multicast'));
    const old = KEEPALIVED_V3_CAPTURES.find((c) => c.name.includes('old_unicast_checksum'));
    expect(old?.hex.slice(40)).toBe(multicast?.hex.slice(40));
  });

  it('withV3Checksum gives each unicast copy its own checksum: the three-node seed\'s two peers', () => {
    const base = encodeAdvert({ version: 3, type: 1, virtualRouterId: 251, priority: 100, advertIntervalCs: 10, addresses: [ip('10.0.0.50')] }, { source: ip('10.0.0.51'), destination: ip('10.0.0.52') });
    const to52 = withV3Checksum(base, { source: ip('10.0.0.51'), destination: ip('10.0.0.52') });
    const to53 = withV3Checksum(base, { source: ip('10.0.0.51'), destination: ip('10.0.0.53') });
    expect(toHex(to52)).toBe(toHex(base));
    expect(toHex(to53.subarray(0, 6))).toBe(toHex(to52.subarray(0, 6)));
    expect(toHex(to53.subarray(6, 8))).not.toBe(toHex(to52.subarray(6, 8)));
    expect(v3Checksum(to53, { source: ip('10.0.0.51'), destination: ip('10.0.0.53') })).toBe(0);
    expect(base[6]).toBe(to52[6]); // the input is not modified
  });

  it('encodeAdvert refuses a VRRPv3 advert without a checksum or the pseudo-header to compute one, and fields that do not fit', () => {
    const base: AdvertV3Input = { version: 3, type: 1, virtualRouterId: 51, priority: 100, advertIntervalCs: 10, addresses: [] };
    expect(() => encodeAdvert(base)).toThrow(RangeError);
    expect(() => encodeAdvert({ ...base, advertIntervalCs: 4096, checksum: 0 })).toThrow(RangeError);
    expect(() => encodeAdvert({ ...base, reserved: 16, checksum: 0 })).toThrow(RangeError);
    expect(() => encodeAdvert({ version: 3, type: 1, virtualRouterId: 1, priority: 1, authType: 0, advertIntervalSec: 1, addresses: [], authData: new Uint8Array(8) })).toThrow(RangeError);
  });
});

describe('decodeAdvert errors', () => {
  const good = fromHex(vrrpPart(KEEPALIVED_CAPTURES[4]?.hex ?? '')); // three addresses
  it('too_short below the 8-byte header', () => {
    for (let n = 0; n < 8; n++) expect(decodeAdvert(good.subarray(0, n))).toEqual({ ok: false, reason: 'too_short' });
  });
  it('bad_length when the bytes do not hold the announced addresses and auth data', () => {
    for (let n = 8; n < good.length; n++) expect(decodeAdvert(good.subarray(0, n))).toEqual({ ok: false, reason: 'bad_length' });
    expect(decodeAdvert(good, 0, good.length - 1)).toEqual({ ok: false, reason: 'bad_length' });
  });
  it('too_short for an offset or length outside the buffer, never a throw', () => {
    for (const [offset, length] of [
      [-1, undefined],
      [good.length + 1, undefined],
      [0, good.length + 1],
      [4, good.length],
      [0, -1],
      [0.5, undefined],
      [0, Number.NaN],
    ] as const) {
      expect(decodeAdvert(good, offset, length)).toEqual({ ok: false, reason: 'too_short' });
    }
  });
  it('ignores bytes after the advert (checks.ts judges the length)', () => {
    const longer = new Uint8Array(good.length + 5);
    longer.set(good);
    expect(decodeAdvert(longer)).toEqual(decodeAdvert(good));
  });
  it('keeps fields as carried: version 1, type 2, auth type 7 decode with the VRRPv2 layout', () => {
    const bytes = encodeAdvert({ version: 1, type: 2, virtualRouterId: 9, priority: 1, authType: 7, advertIntervalSec: 0, addresses: [], authData: new Uint8Array(8), checksum: 0xbeef });
    expect(decodeAdvert(bytes)).toMatchObject({ ok: true, advert: { version: 1, type: 2, authType: 7, advertIntervalSec: 0, checksum: 0xbeef } });
  });
  it('keeps fields as carried in VRRPv3: type 2, reserved bits, interval 0 decode', () => {
    const bytes = encodeAdvert({ version: 3, type: 2, virtualRouterId: 9, priority: 1, reserved: 0xa, advertIntervalCs: 0, addresses: [], checksum: 0xbeef });
    expect(toHex(bytes)).toBe('32090100a000beef');
    expect(decodeAdvert(bytes)).toEqual({ ok: true, advert: { version: 3, type: 2, virtualRouterId: 9, priority: 1, reserved: 0xa, advertIntervalCs: 0, checksum: 0xbeef, addresses: [] } });
  });
  it('the version nibble decides the layout: 8 + 4n bytes are enough for version 3, not for version 2', () => {
    const v3 = fromHex(vrrpPart(KEEPALIVED_V3_CAPTURES[0]?.hex ?? ''));
    expect(v3.length).toBe(12);
    expect(decodeAdvert(v3).ok).toBe(true);
    const asV2 = v3.slice();
    asV2[0] = 0x21;
    expect(decodeAdvert(asV2)).toEqual({ ok: false, reason: 'bad_length' });
    expect([messageLength(3, 1), messageLength(2, 1), messageLength(1, 0)]).toEqual([12, 20, 16]);
  });
  it('copies the auth data so a reused receive buffer cannot change a decoded advert', () => {
    const bytes = fromHex(vrrpPart(KEEPALIVED_CAPTURES[0]?.hex ?? ''));
    const decoded = v2(decodeAdvert(bytes));
    bytes.fill(0);
    expect(authText(decoded.authData)).toBe('123456');
  });
});

describe('encodeAdvert', () => {
  const base: AdvertInput = { version: 2, type: 1, virtualRouterId: 51, priority: 100, authType: 1, advertIntervalSec: 1, addresses: [ip('10.77.0.100')], authData: auth('123456') };
  it('writes a given checksum as is, so tests can build bad packets', () => {
    const bytes = encodeAdvert({ ...base, checksum: 0x1234 });
    expect(toHex(bytes.subarray(6, 8))).toBe('1234');
    expect(vrrpChecksum(bytes)).not.toBe(0);
  });
  it('sizes the advert from the address count', () => {
    for (const n of [0, 1, 5, 20, 255]) {
      const addresses = Array.from({ length: n }, (_, i) => ip('10.0.0.1') + i);
      expect(encodeAdvert({ ...base, addresses }).length).toBe(advertLength(n));
    }
  });
  it('throws RangeError on fields that do not fit the wire (misuse, not input)', () => {
    expect(() => encodeAdvert({ ...base, priority: 256 })).toThrow(RangeError);
    expect(() => encodeAdvert({ ...base, virtualRouterId: -1 })).toThrow(RangeError);
    expect(() => encodeAdvert({ ...base, version: 16 })).toThrow(RangeError);
    expect(() => encodeAdvert({ ...base, advertIntervalSec: 1.5 })).toThrow(RangeError);
    expect(() => encodeAdvert({ ...base, authData: new Uint8Array(7) })).toThrow(RangeError);
    expect(() => encodeAdvert({ ...base, addresses: new Array<number>(256).fill(1) })).toThrow(RangeError);
    expect(() => encodeAdvert({ ...base, addresses: [2 ** 32] })).toThrow(RangeError);
    expect(() => encodeAdvert({ ...base, checksum: 0x10000 })).toThrow(RangeError);
  });
});

describe('parseIpHeader and peekVirtualRouterId', () => {
  const packet = fromHex(KEEPALIVED_CAPTURES[0]?.hex ?? '');
  const edit = (at: number, value: number): Uint8Array => {
    const copy = packet.slice();
    copy[at] = value;
    return copy;
  };
  it('too_short: fewer bytes than IP header + 8', () => {
    for (const n of [0, 1, 19, 20, 27]) expect(parseIpHeader(packet.subarray(0, n))).toEqual({ ok: false, reason: 'too_short' });
    expect(parseIpHeader(packet.subarray(0, 28)).ok).toBe(true);
  });
  it('too_short: not IPv4, IHL below 5, or not protocol 112', () => {
    expect(parseIpHeader(edit(0, 0x65))).toEqual({ ok: false, reason: 'too_short' });
    expect(parseIpHeader(edit(0, 0x44))).toEqual({ ok: false, reason: 'too_short' });
    expect(parseIpHeader(edit(9, 51))).toEqual({ ok: false, reason: 'too_short' });
    expect(peekVirtualRouterId(edit(9, 6))).toEqual({ ok: false, reason: 'too_short' });
  });
  it('honours IP options: the VRRP header starts after IHL x 4 bytes', () => {
    // 24-byte header: one 4-byte option (NOP NOP NOP EOL), then the same VRRP part.
    const vrrp = packet.subarray(20);
    const withOptions = new Uint8Array(24 + vrrp.length);
    withOptions.set(packet.subarray(0, 20));
    withOptions[0] = 0x46;
    withOptions.set([1, 1, 1, 0], 20);
    withOptions.set(vrrp, 24);
    const parsed = parseIpHeader(withOptions);
    expect(parsed.ok && parsed.ip.headerLength).toBe(24);
    expect(peekVirtualRouterId(withOptions)).toMatchObject({ ok: true, virtualRouterId: 51 });
    // IHL 15 (60 bytes) needs 68 bytes before it is anything but too_short.
    const huge = new Uint8Array(67);
    huge.set([0x4f, 0, 0, 67, 0, 0, 0, 0, 255, 112]);
    expect(parseIpHeader(huge)).toEqual({ ok: false, reason: 'too_short' });
  });
});

describe('encodeIpv4Packet', () => {
  it('fills the defaults keepalived uses: TTL 255, TOS 0xc0, ID 0, protocol 112', () => {
    const packet = encodeIpv4Packet({ source: ip('10.0.0.51'), destination: ip('224.0.0.18') }, new Uint8Array(20));
    const parsed = parseIpHeader(packet);
    expect(parsed).toEqual({
      ok: true,
      ip: { family: 4, headerLength: 20, tos: 0xc0, totalLength: 40, id: 0, ttl: 255, protocol: 112, source: ip('10.0.0.51'), destination: ip('224.0.0.18') },
    });
    expect(vrrpChecksum(packet, 0, 20)).toBe(0);
  });
  it('takes ttl, tos and id overrides and rejects what does not fit', () => {
    const packet = encodeIpv4Packet({ source: 1, destination: 2, ttl: 1, tos: 0, id: 0xabcd }, new Uint8Array(8));
    expect([packet[1], packet[4], packet[5], packet[8]]).toEqual([0, 0xab, 0xcd, 1]);
    expect(() => encodeIpv4Packet({ source: 1, destination: 2, ttl: 256 }, new Uint8Array(8))).toThrow(RangeError);
    expect(() => encodeIpv4Packet({ source: 1, destination: 2 }, new Uint8Array(65536))).toThrow(RangeError);
  });
});

describe('vrrpChecksum', () => {
  it('pads an odd trailing byte with zero (RFC 1071)', () => {
    expect(vrrpChecksum(Uint8Array.of(0x12))).toBe(~0x1200 & 0xffff);
    expect(vrrpChecksum(Uint8Array.of(0x12, 0x34, 0x56))).toBe(~(0x1234 + 0x5600) & 0xffff);
  });
  it('folds carries: 0xffff + 0x0001 sums to 0x0001', () => {
    expect(vrrpChecksum(Uint8Array.of(0xff, 0xff, 0x00, 0x01))).toBe(0xfffe);
  });
  it('agrees with a reference implementation on random messages', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        let sum = 0;
        for (let i = 0; i < bytes.length; i += 2) sum += ((bytes[i] ?? 0) << 8) + (bytes[i + 1] ?? 0);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        expect(vrrpChecksum(bytes)).toBe(~sum & 0xffff);
      }),
      { numRuns: 500 },
    );
  });
});

describe('passwordToAuthData', () => {
  it('NUL pads short passwords and keeps 8-byte ones whole', () => {
    expect(passwordToAuthData('123456')).toEqual({ authData: Uint8Array.of(0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0, 0), truncated: false });
    expect(passwordToAuthData('')).toEqual({ authData: new Uint8Array(8), truncated: false });
    expect(passwordToAuthData('abcdefgh').truncated).toBe(false);
  });
  it('truncates to 8 bytes as keepalived does, even inside a multi-byte character', () => {
    expect(toHex(passwordToAuthData('kubernetes12').authData)).toBe('6b756265726e6574');
    expect(passwordToAuthData('kubernetes12').truncated).toBe(true);
    // 'é' is c3 a9: 7 ASCII + 'é' cuts after c3.
    expect(passwordToAuthData('abcdefgé')).toEqual({ authData: Uint8Array.of(0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0xc3), truncated: true });
  });
  it('is the first 8 bytes of the UTF-8 encoding for any string (Node Buffer as the reference)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 12 }), (text) => {
        const reference = Buffer.from(text, 'utf8');
        const want = new Uint8Array(8);
        want.set(reference.subarray(0, 8));
        expect(passwordToAuthData(text)).toEqual({ authData: want, truncated: reference.length > 8 });
      }),
      { numRuns: 1000 },
    );
  });
  it('encodes lone surrogates as U+FFFD like TextEncoder', () => {
    expect(toHex(passwordToAuthData('\ud800a').authData)).toBe('efbfbd6100000000');
    expect(toHex(passwordToAuthData('\udc00').authData)).toBe('efbfbd0000000000');
    expect(toHex(passwordToAuthData('\u{1f600}').authData)).toBe('f09f988000000000');
  });
});

describe('nothing escapes: any bytes decode or yield a reason', () => {
  const reasons = new Set<string>(DROP_REASONS);
  const total = (bytes: Uint8Array): void => {
    const dec = decodeAdvert(bytes);
    if (!dec.ok) expect(reasons.has(dec.reason)).toBe(true);
    const head = parseIpHeader(bytes);
    if (!head.ok) expect(head.reason).toBe('too_short');
    const peek = peekVirtualRouterId(bytes);
    expect(peek.ok).toBe(head.ok);
    if (head.ok) {
      const inner = decodeAdvert(bytes, head.ip.headerLength);
      if (!inner.ok) expect(reasons.has(inner.reason)).toBe(true);
      else expect(toHex(encodeAdvert(inner.advert))).toBe(toHex(bytes.subarray(head.ip.headerLength, head.ip.headerLength + messageLength(inner.advert.version, inner.advert.addresses.length))));
    }
  };
  it(`random byte strings (${FUZZ_RUNS} runs)`, () => {
    fc.assert(fc.property(anyBytes(1200), total), { numRuns: FUZZ_RUNS });
  });
  it(`random packets that pass the IP header parse (${FUZZ_RUNS} runs)`, () => {
    fc.assert(fc.property(vrrpLikePacket(), total), { numRuns: FUZZ_RUNS });
  });
  it(`mutated keepalived captures, VRRPv2 and VRRPv3 (${FUZZ_RUNS} runs)`, () => {
    fc.assert(fc.property(mutatedCapture(), total), { numRuns: FUZZ_RUNS });
  });
  it(`random VRRPv3 messages: decode or a reason, and a decoded one re-encodes to its bytes (${FUZZ_RUNS} runs)`, () => {
    const v3Message = fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 100 }), fc.integer({ min: 0, max: 255 })).map(([body, type]) => {
      const bytes = new Uint8Array(Math.max(1, body.length));
      bytes.set(body);
      bytes[0] = 0x30 | (type & 0x0f);
      return bytes;
    });
    fc.assert(
      fc.property(v3Message, (bytes) => {
        const result = decodeAdvert(bytes);
        if (!result.ok) {
          expect(['too_short', 'bad_length']).toContain(result.reason);
          return;
        }
        expect(isAdvertV3(result.advert)).toBe(true);
        expect(toHex(encodeAdvert(result.advert))).toBe(toHex(bytes.subarray(0, advertLengthV3(result.advert.addresses.length))));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
  it('decodeAdvert with arbitrary offset and length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.integer({ min: -5, max: 120 }), fc.option(fc.integer({ min: -5, max: 120 }), { nil: undefined }), (bytes, offset, length) => {
        const result = decodeAdvert(bytes, offset, length);
        if (!result.ok) expect(['too_short', 'bad_length']).toContain(result.reason);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
