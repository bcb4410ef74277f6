/**
 * VRRPv3 over IPv6 in the core (docs/protocol.md#vrrpv3-over-ipv6): IPv6 text, the codec against
 * real keepalived 2.2.7 IPv6 adverts (fixtures/keepalived-captures.ts), the checksum over the IPv6
 * pseudo-header, the receive checks on IPv6 packets (each drop by its reason) and the machine
 * of an IPv6 instance (its adverts, the tie-break on 128-bit addresses).
 */
import { describe, expect, it } from 'vitest';
import { checkAdvert } from '../../src/core/checks.js';
import { decodeAdvert, encodeAdvert, encodeIpv6Packet, IPV6_HEADER_LENGTH, parseIpHeader, v3Checksum, withV3Checksum } from '../../src/core/codec.js';
import { formatIp, formatIpv6, parseIp, parseIpv6, VRRP_IPV6_MULTICAST_GROUP, type Ipv6 } from '../../src/core/ip.js';
import { VrrpMachine } from '../../src/core/machine.js';
import type { InstanceConfig, ReceiveExpectations } from '../../src/core/types.js';
import { fromHex, KEEPALIVED_IPV6_CAPTURES, toHex } from './fixtures/keepalived-captures.js';
import { seedConfig } from './helpers.js';

const v6 = (text: string): Ipv6 => {
  const value = parseIpv6(text);
  if (value === undefined) throw new Error(`bad IPv6 ${text}`);
  return value;
};

const VIP = v6('fd00::50');
const LL1 = v6('fe80::1');
const LL2 = v6('fe80::2');

describe('IPv6 text', () => {
  it.each([
    ['fd00::50', 'fd00::50'],
    ['FD00:0:0:0:0:0:0:50', 'fd00::50'],
    ['::', '::'],
    ['::1', '::1'],
    ['ff02::12', 'ff02::12'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ['fe80::2066:80ff:fe88:955c', 'fe80::2066:80ff:fe88:955c'],
  ])('%s reads and prints as %s (RFC 5952)', (text, canonical) => {
    expect(formatIpv6(v6(text))).toBe(canonical);
  });

  it.each(['1:::2', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', 'fd00::50/64', '12345::1', '', ':', '1::2::3', '::10.0.0.256'])('%s is not an address', (text) => {
    expect(parseIpv6(text)).toBeUndefined();
  });

  it('parseIp and formatIp take either family', () => {
    expect(parseIp('10.0.0.50')).toBe(0x0a000032);
    expect(parseIp('fd00::50')).toBe(VIP);
    expect(formatIp(0x0a000032)).toBe('10.0.0.50');
    expect(formatIp(VIP)).toBe('fd00::50');
  });
});

describe('keepalived 2.2.7 IPv6 adverts', () => {
  for (const capture of KEEPALIVED_IPV6_CAPTURES) {
    describe(capture.name, () => {
      const packet = fromHex(capture.hex);

      it('parses the IPv6 header: hop limit 255, traffic class 0xc0, link-local source, ff02::12', () => {
        const parsed = parseIpHeader(packet);
        if (!parsed.ok) throw new Error(parsed.reason);
        expect(parsed.ip).toMatchObject({ family: 6, headerLength: 40, tos: 0xc0, ttl: 255, protocol: 112, totalLength: packet.length });
        expect(formatIp(parsed.ip.source)).toBe(capture.source);
        expect(parsed.ip.destination).toBe(VRRP_IPV6_MULTICAST_GROUP);
      });

      it('decodes VRRPv3 with one 16-byte address', () => {
        const decoded = decodeAdvert(packet, IPV6_HEADER_LENGTH, undefined, 6);
        if (!decoded.ok) throw new Error(decoded.reason);
        expect(decoded.advert).toEqual({ version: 3, type: 1, virtualRouterId: 60, priority: capture.priority, reserved: 0, advertIntervalCs: 100, checksum: capture.checksum, addresses: [VIP] });
      });

      it('its checksum verifies over the IPv6 pseudo-header, and not over an IPv4-style one', () => {
        const payload = packet.subarray(IPV6_HEADER_LENGTH);
        expect(v3Checksum(payload, { source: v6(capture.source), destination: VRRP_IPV6_MULTICAST_GROUP })).toBe(0);
        // The same bytes with another source in the pseudo-header do not verify: the address counts.
        expect(v3Checksum(payload, { source: LL1, destination: VRRP_IPV6_MULTICAST_GROUP })).not.toBe(0);
      });

      it('our encoder builds the same VRRP bytes, checksum included', () => {
        const ours = encodeAdvert(
          { version: 3, type: 1, virtualRouterId: 60, priority: capture.priority, advertIntervalCs: 100, addresses: [VIP] },
          { source: v6(capture.source), destination: VRRP_IPV6_MULTICAST_GROUP },
        );
        expect(toHex(ours)).toBe(capture.hex.slice(2 * IPV6_HEADER_LENGTH));
      });

      it('passes every receive check of an IPv6 multicast instance', () => {
        const result = checkAdvert(packet, expectations());
        expect(result.ok ? 'ok' : result.reason).toBe('ok');
      });
    });
  }
});

function expectations(overrides: Partial<ReceiveExpectations> = {}): ReceiveExpectations {
  return {
    family: 6,
    version: 3,
    authType: 0,
    authData: new Uint8Array(8),
    advertIntervalCs: 100,
    v3Checksum: 'auto',
    virtualAddresses: [VIP],
    unicastPeers: [],
    checkUnicastSrc: true,
    checkAddressList: true,
    ...overrides,
  };
}

/** A whole IPv6 packet as the transport hands it over, with a correct checksum unless mangled. */
function packet6(options: { source?: Ipv6; destination?: Ipv6; hopLimit?: number; addresses?: (number | bigint)[]; vrid?: number; priority?: number } = {}): Uint8Array {
  const source = options.source ?? LL2;
  const destination = options.destination ?? VRRP_IPV6_MULTICAST_GROUP;
  const payload = encodeAdvert(
    { version: 3, type: 1, virtualRouterId: options.vrid ?? 60, priority: options.priority ?? 100, advertIntervalCs: 100, addresses: options.addresses ?? [VIP] },
    { source, destination },
  );
  return encodeIpv6Packet({ source, destination, ...(options.hopLimit !== undefined ? { hopLimit: options.hopLimit } : {}) }, payload);
}

const outcome = (bytes: Uint8Array, expect6: ReceiveExpectations): string => {
  const result = checkAdvert(bytes, expect6);
  return result.ok ? 'ok' : result.reason;
};

describe('receive checks over IPv6, each drop by its reason', () => {
  it('a good advert passes', () => {
    expect(outcome(packet6(), expectations())).toBe('ok');
  });

  it('hop limit 254: bad_ttl (multicast)', () => {
    const result = checkAdvert(packet6({ hopLimit: 254 }), expectations());
    expect(result).toMatchObject({ ok: false, reason: 'bad_ttl', detail: 'hop limit 254' });
  });

  it('hop limit 254 in unicast is accepted, as keepalived 2.2.7 does for IPv6 too (a routed peer)', () => {
    const bytes = packet6({ hopLimit: 254, destination: v6('fd00::51'), source: v6('fd00::52') });
    expect(outcome(bytes, expectations({ unicastPeers: [v6('fd00::52')] }))).toBe('ok');
  });

  it('a wrong checksum: bad_checksum', () => {
    const bytes = packet6();
    bytes[IPV6_HEADER_LENGTH + 7] = (bytes[IPV6_HEADER_LENGTH + 7] as number) ^ 0x01;
    expect(outcome(bytes, expectations())).toBe('bad_checksum');
  });

  it('a checksum computed IPv4-style (without the IPv6 pseudo-header) is bad_checksum', () => {
    const bytes = packet6();
    const payload = bytes.subarray(IPV6_HEADER_LENGTH);
    const v4style = withV3Checksum(payload, { source: 0x0a000033, destination: 0xe0000012 });
    bytes.set(v4style, IPV6_HEADER_LENGTH);
    expect(outcome(bytes, expectations())).toBe('bad_checksum');
  });

  it.each([
    ['half an address', 8 + 8],
    ['the header only', 8],
    ['one byte short', 8 + 15],
  ])('truncated (%s): bad_length', (_name, vrrpBytes) => {
    const full = packet6();
    const bytes = full.slice(0, IPV6_HEADER_LENGTH + vrrpBytes);
    bytes[4] = 0;
    bytes[5] = vrrpBytes;
    expect(outcome(bytes, expectations())).toBe('bad_length');
  });

  it('IPv4 addresses under our VRID on an IPv6 instance: address_family_mismatch', () => {
    const result = checkAdvert(packet6({ addresses: [0x0a000032] }), expectations());
    expect(result).toMatchObject({ ok: false, reason: 'address_family_mismatch' });
  });

  it('a non-peer to a unicast instance: unknown_peer', () => {
    const bytes = packet6({ source: v6('fd00::53'), destination: v6('fd00::51') });
    expect(outcome(bytes, expectations({ unicastPeers: [v6('fd00::52')] }))).toBe('unknown_peer');
    expect(outcome(packet6({ source: v6('fd00::52'), destination: v6('fd00::51') }), expectations({ unicastPeers: [v6('fd00::52')] }))).toBe('ok');
  });

  it('multicast to a unicast instance: mode_mismatch', () => {
    expect(outcome(packet6({ source: v6('fd00::52') }), expectations({ unicastPeers: [v6('fd00::52')] }))).toBe('mode_mismatch');
  });

  it('a VRRPv2 header over IPv6 (what keepalived sends for `version 2` before the addresses): bad_version', () => {
    const bytes = packet6();
    bytes[IPV6_HEADER_LENGTH] = 0x21;
    expect(outcome(bytes, expectations())).toBe('bad_version');
  });

  it('our VIP missing from the advert: address_list_mismatch', () => {
    expect(outcome(packet6({ addresses: [v6('fd00::99')] }), expectations())).toBe('address_list_mismatch');
  });

  it('an IPv4 packet reaching an IPv6 instance is refused, not misread', () => {
    const v4 = checkAdvert(fromHex('45c0002000010000ff70d04c0a4d0001e000001231336401006474d90a4d0064'), expectations());
    expect(v4).toMatchObject({ ok: false, reason: 'too_short' });
  });
});

function ipv6Instance(overrides: Partial<InstanceConfig> = {}): InstanceConfig {
  return seedConfig({
    name: 'VI_6',
    virtualRouterId: 60,
    version: 3,
    family: 6,
    authType: 0,
    authData: new Uint8Array(8),
    virtualAddresses: [VIP],
    sourceAddress: LL1,
    unicastPeers: [],
    ...overrides,
  });
}

describe('an IPv6 instance in the machine', () => {
  it('sends VRRPv3 with the 16-byte VIP, checksummed over its link-local source and ff02::12', () => {
    const machine = new VrrpMachine(ipv6Instance());
    machine.start(0);
    const actions = machine.handleTimeout(10_000);
    const send = actions.find((a) => a.type === 'send_advert');
    if (send?.type !== 'send_advert') throw new Error('no advert');
    expect(send.perDestination).toBe(false);
    expect(send.payload.length).toBe(8 + 16);
    expect(v3Checksum(send.payload, { source: LL1, destination: VRRP_IPV6_MULTICAST_GROUP })).toBe(0);
    const decoded = decodeAdvert(send.payload, 0, undefined, 6);
    expect(decoded.ok && decoded.advert.addresses).toEqual([VIP]);
  });

  it('unicast: one checksum per peer (perDestination), never the group variant', () => {
    const machine = new VrrpMachine(ipv6Instance({ sourceAddress: v6('fd00::51'), unicastPeers: [v6('fd00::52')], v3Checksum: 'group' }));
    machine.start(0);
    const send = machine.handleTimeout(10_000).find((a) => a.type === 'send_advert');
    expect(send?.type === 'send_advert' && send.perDestination).toBe(true);
    expect(machine.v3ChecksumDestination).toBe('destination');
  });

  it('equal priority: the higher 128-bit source wins, as keepalived compares the 16 bytes', () => {
    // We are MASTER at 100 from fe80::1; an advert at 100 from fe80::2 (higher) makes us step down,
    // one from fe80::0:1 (lower) does not.
    const master = (): VrrpMachine => {
      const m = new VrrpMachine(ipv6Instance());
      m.start(0);
      m.handleTimeout(10_000);
      expect(m.state).toBe('MASTER');
      return m;
    };
    const higher = master();
    higher.handlePacket(10_100, packet6({ source: LL2, priority: 100 }));
    expect(higher.state).toBe('BACKUP');
    expect(higher.masterAddress).toBe(LL2);
    const lower = master();
    lower.handlePacket(10_100, packet6({ source: v6('fe80::0:0:0:0'), priority: 100 }));
    expect(lower.state).toBe('MASTER');
  });

  it('a BACKUP follows an IPv6 master and counts a hostile advert by its reason', () => {
    const m = new VrrpMachine(ipv6Instance({ priority: 50 }));
    m.start(0);
    m.handlePacket(100, packet6({ priority: 150 }));
    expect(m.masterAddress).toBe(LL2);
    m.handlePacket(200, packet6({ priority: 150, hopLimit: 1 }));
    expect(m.stats.dropped.bad_ttl).toBe(1);
    expect(m.stats.advertsReceived).toBe(1);
  });
});
