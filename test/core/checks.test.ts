/**
 * Receive checks: every real keepalived capture passes with the receiving peer's expectations; one
 * failing case per reason code; the order is keepalived 2.2.7's (a packet failing two checks reports
 * the earlier, for every pair); and no input makes checkAdvert throw.
 * The captures and how they were made: fixtures/keepalived-captures.ts (script: fixtures/capture-keepalived.ts).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CALLER_DECIDED_REASONS, CHECK_ADVERT_REASONS, RECEIVE_CHECK_ORDER, checkAdvert, receiveCheckIndex } from '../../src/core/checks.js';
import { encodeAdvert, encodeIpv4Packet, passwordToAuthData, v3Checksum, vrrpChecksum } from '../../src/core/codec.js';
import { DROP_REASONS, type DropReason, type ReceiveExpectations, type V3ChecksumMode } from '../../src/core/types.js';
import { parseIpv4, VRRP_MULTICAST_GROUP } from '../../src/core/ip.js';
import { KEEPALIVED_CAPTURES, KEEPALIVED_V3_CAPTURES, fromHex, type KeepalivedCapture } from './fixtures/keepalived-captures.js';
import { anyBytes, expectationsFor, expectationsForV3, mutatedCapture, someExpectations, vrrpLikePacket } from './fixtures/mutations.js';

const FUZZ_RUNS = Number(process.env['VRRPD_FUZZ_RUNS'] ?? '') || 2000;

function ip(text: string): number {
  const value = parseIpv4(text);
  if (value === undefined) throw new Error(`bad address ${text}`);
  return value;
}

describe('the captures pass with the receiving peer configured like the sender', () => {
  for (const capture of KEEPALIVED_CAPTURES) {
    it(capture.name, () => {
      const result = checkAdvert(fromHex(capture.hex), expectationsFor(capture));
      expect(result.ok ? 'ok' : result.reason).toBe('ok');
      if (result.ok) {
        expect(result.advert.priority).toBe(capture.expected.priority);
        expect(result.ip.source).toBe(ip(capture.expected.source));
      }
    });
  }
});

/**
 * A packet and the expectations it meets, as fields, so that each reason's fault is one small edit
 * and two faults can be combined. build() keeps the checksum valid unless a fault breaks it on purpose.
 */
interface Spec {
  mode: 'multicast' | 'unicast';
  ttl: number;
  source: number;
  destination: number;
  totalLengthDelta: number;
  extraBytes: number;
  version: number;
  type: number;
  authType: number;
  authPassword: string;
  advertIntervalSec: number;
  countField: number | undefined;
  addresses: number[];
  checksumXor: number;
  expect: ReceiveExpectations;
}

const OUR_VIPS = [ip('10.0.0.50'), ip('10.0.0.60'), ip('10.0.0.70')];
const PEER = ip('10.0.0.52');

function baseSpec(mode: 'multicast' | 'unicast'): Spec {
  return {
    mode,
    ttl: 255,
    source: PEER,
    destination: mode === 'multicast' ? ip('224.0.0.18') : ip('10.0.0.51'),
    totalLengthDelta: 0,
    extraBytes: 0,
    version: 2,
    type: 1,
    authType: 1,
    authPassword: '123456',
    advertIntervalSec: 1,
    countField: undefined,
    addresses: [...OUR_VIPS].reverse(), // order does not matter to the list check
    checksumXor: 0,
    expect: {
      version: 2,
      authType: 1,
      authData: passwordToAuthData('123456').authData,
      advertIntervalCs: 100,
      v3Checksum: 'auto',
      virtualAddresses: OUR_VIPS,
      unicastPeers: mode === 'unicast' ? [PEER, ip('10.0.0.53')] : [],
      checkUnicastSrc: true,
      checkAddressList: true,
    },
  };
}

function build(spec: Spec): Uint8Array {
  const vrrp = encodeAdvert({
    version: spec.version,
    type: spec.type,
    virtualRouterId: 251,
    priority: 100,
    authType: spec.authType,
    advertIntervalSec: spec.advertIntervalSec,
    addresses: spec.addresses,
    authData: passwordToAuthData(spec.authPassword).authData,
  });
  if (spec.countField !== undefined) {
    vrrp[3] = spec.countField;
    vrrp[6] = 0;
    vrrp[7] = 0;
    const sum = vrrpChecksum(vrrp);
    vrrp[6] = sum >>> 8;
    vrrp[7] = sum & 0xff;
  }
  vrrp[6] = (vrrp[6] as number) ^ (spec.checksumXor >>> 8);
  vrrp[7] = (vrrp[7] as number) ^ (spec.checksumXor & 0xff);
  const packet = encodeIpv4Packet({ source: spec.source, destination: spec.destination, ttl: spec.ttl }, vrrp);
  const totalLength = packet.length + spec.totalLengthDelta;
  packet[2] = (totalLength >>> 8) & 0xff;
  packet[3] = totalLength & 0xff;
  if (spec.extraBytes === 0) return packet;
  const longer = new Uint8Array(packet.length + spec.extraBytes);
  longer.set(packet);
  return longer;
}

/** One fault per reason checkAdvert decides; `fields` names what it edits (pairs that edit the same field are not combined). */
interface Fault {
  reason: DropReason;
  modes: ReadonlyArray<'multicast' | 'unicast'>;
  fields: string[];
  apply: (spec: Spec) => void;
}

const BOTH = ['multicast', 'unicast'] as const;

const FAULTS: Fault[] = [
  // 'too_short' has its own tests (it leaves no packet to combine with).
  { reason: 'bad_length', modes: BOTH, fields: ['extraBytes'], apply: (s) => (s.extraBytes = 4) },
  { reason: 'bad_ttl', modes: ['multicast'], fields: ['ttl'], apply: (s) => (s.ttl = 254) },
  // Not 3: a VRRPv3 nibble on this VRPv2-sized packet is bad_length (the packet's own nibble sizes it).
  { reason: 'bad_version', modes: BOTH, fields: ['version'], apply: (s) => (s.version = 1) },
  { reason: 'bad_auth_type', modes: BOTH, fields: ['authType'], apply: (s) => (s.authType = 3) },
  { reason: 'auth_type_mismatch', modes: BOTH, fields: ['authType'], apply: (s) => (s.authType = 0) },
  { reason: 'auth_failure', modes: BOTH, fields: ['authPassword'], apply: (s) => (s.authPassword = '123457') },
  { reason: 'interval_mismatch', modes: BOTH, fields: ['advertIntervalSec'], apply: (s) => (s.advertIntervalSec = 2) },
  { reason: 'bad_type', modes: BOTH, fields: ['type'], apply: (s) => (s.type = 2) },
  { reason: 'address_count_mismatch', modes: BOTH, fields: ['addresses'], apply: (s) => (s.addresses = OUR_VIPS.slice(0, 2)) },
  { reason: 'ip_length_mismatch', modes: BOTH, fields: ['totalLengthDelta'], apply: (s) => (s.totalLengthDelta = 4) },
  { reason: 'bad_checksum', modes: BOTH, fields: ['checksumXor'], apply: (s) => (s.checksumXor = 0x0100) },
  {
    reason: 'mode_mismatch',
    modes: BOTH,
    fields: ['destination'],
    apply: (s) => (s.destination = s.mode === 'multicast' ? ip('10.0.0.51') : ip('224.0.0.18')),
  },
  { reason: 'address_list_mismatch', modes: BOTH, fields: ['addresses'], apply: (s) => (s.addresses = [OUR_VIPS[0] as number, OUR_VIPS[1] as number, ip('10.0.0.99')]) },
  { reason: 'unknown_peer', modes: ['unicast'], fields: ['source'], apply: (s) => (s.source = ip('10.0.0.99')) },
];

function outcome(result: ReturnType<typeof checkAdvert>): string {
  return result.ok ? 'ok' : result.reason;
}

describe('one failing case per reason', () => {
  it('covers every reason checkAdvert decides, each by its own check', () => {
    // address_family_mismatch is IPv6's own: test/core/ipv6.test.ts covers it.
    expect([...FAULTS.map((f) => f.reason), 'too_short', 'address_family_mismatch'].sort()).toEqual([...CHECK_ADVERT_REASONS].sort());
  });

  for (const mode of BOTH) {
    it(`the ${mode} base packet passes`, () => {
      const spec = baseSpec(mode);
      expect(outcome(checkAdvert(build(spec), spec.expect))).toBe('ok');
    });
    for (const fault of FAULTS.filter((f) => f.modes.includes(mode))) {
      it(`${mode}: ${fault.reason}`, () => {
        const spec = baseSpec(mode);
        fault.apply(spec);
        const result = checkAdvert(build(spec), spec.expect);
        expect(outcome(result)).toBe(fault.reason);
        expect(result.ok || typeof result.detail).toBe('string');
      });
    }
  }

  it('too_short: shorter than IP header + 8, or not IPv4 protocol 112', () => {
    const spec = baseSpec('multicast');
    const packet = build(spec);
    expect(outcome(checkAdvert(packet.subarray(0, 27), spec.expect))).toBe('too_short');
    expect(outcome(checkAdvert(new Uint8Array(0), spec.expect))).toBe('too_short');
    const tcp = packet.slice();
    tcp[9] = 6;
    expect(outcome(checkAdvert(tcp, spec.expect))).toBe('too_short');
  });

  it('a peer with a different number of VIPs is address_count_mismatch: keepalived 2.2.7 sizes the packet by its own count', () => {
    const spec = baseSpec('unicast');
    spec.addresses = [...OUR_VIPS, ip('10.0.0.99')];
    expect(outcome(checkAdvert(build(spec), spec.expect))).toBe('address_count_mismatch');
  });

  it('a real VRRPv3 advert at a VRRPv2 instance is bad_version, as keepalived ("wrong version. Received 3 and expect 2"), not bad_length', () => {
    const capture = KEEPALIVED_V3_CAPTURES[0]!;
    const v2Receiver: ReceiveExpectations = { ...expectationsForV3(capture), version: 2, advertIntervalCs: 100 };
    expect(outcome(checkAdvert(fromHex(capture.hex), v2Receiver))).toBe('bad_version');
  });

  it('bad_length when the count field disagrees with the bytes received', () => {
    const spec = baseSpec('unicast');
    spec.countField = 2;
    expect(outcome(checkAdvert(build(spec), spec.expect))).toBe('bad_length');
  });

  it('auth_type_mismatch when the peer sends PASS and we expect none, and for AH (type 2)', () => {
    const spec = baseSpec('unicast');
    spec.expect = { ...spec.expect, authType: 0, authData: new Uint8Array(8) };
    expect(outcome(checkAdvert(build(spec), spec.expect))).toBe('auth_type_mismatch');
    const ah = baseSpec('unicast');
    ah.authType = 2;
    expect(outcome(checkAdvert(build(ah), ah.expect))).toBe('auth_type_mismatch');
  });

  it('auth_failure for a difference in any of the 8 bytes, including the padding', () => {
    for (const password of ['023456', '123455', '1234567', '12345678', 'kubernetes12', '']) {
      const spec = baseSpec('multicast');
      spec.authPassword = password;
      expect(outcome(checkAdvert(build(spec), spec.expect))).toBe('auth_failure');
    }
  });

  it('no auth: the auth data is not compared (RFC 3768 5.3.10: ignored when auth type 0)', () => {
    const spec = baseSpec('multicast');
    spec.authType = 0;
    spec.authPassword = 'garbage';
    spec.expect = { ...spec.expect, authType: 0, authData: new Uint8Array(8) };
    expect(outcome(checkAdvert(build(spec), spec.expect))).toBe('ok');
  });

  it('bad_ttl is not checked in unicast mode (keepalived 2.2.7: routed peers are allowed)', () => {
    const spec = baseSpec('unicast');
    spec.ttl = 64;
    expect(outcome(checkAdvert(build(spec), spec.expect))).toBe('ok');
  });

  it('address list: skipped when checkAddressList is off (vrrp_skip_check_adv_addr in BACKUP)', () => {
    const spec = baseSpec('multicast');
    FAULTS.find((f) => f.reason === 'address_list_mismatch')?.apply(spec);
    spec.expect = { ...spec.expect, checkAddressList: false };
    expect(outcome(checkAdvert(build(spec), spec.expect))).toBe('ok');
  });

  it('unknown_peer: only in unicast mode with checkUnicastSrc, and independent of the address list check', () => {
    const spec = baseSpec('unicast');
    spec.source = ip('10.0.0.99');
    expect(outcome(checkAdvert(build(spec), { ...spec.expect, checkUnicastSrc: false }))).toBe('ok');
    expect(outcome(checkAdvert(build(spec), { ...spec.expect, checkAddressList: false }))).toBe('unknown_peer');
    const multicast = baseSpec('multicast');
    multicast.source = ip('10.0.0.99');
    expect(outcome(checkAdvert(build(multicast), multicast.expect))).toBe('ok');
  });
});

describe('VRRPv3 receive checks', () => {
  interface V3Spec {
    mode: 'multicast' | 'unicast';
    ttl: number;
    source: number;
    destination: number;
    totalLengthDelta: number;
    extraBytes: number;
    /** 3, or 2 for a whole VRRPv2 advert (keepalived's length check passes it, the version check not). */
    version: 2 | 3;
    type: number;
    advertIntervalCs: number;
    addresses: number[];
    checksumXor: number;
    /** The pseudo-header destination the sender used. */
    sentWith: 'destination' | 'group';
    expect: ReceiveExpectations;
  }

  const v3Base = (mode: 'multicast' | 'unicast', v3Checksum: V3ChecksumMode = 'auto'): V3Spec => ({
    mode,
    ttl: 255,
    source: PEER,
    destination: mode === 'multicast' ? VRRP_MULTICAST_GROUP : ip('10.0.0.51'),
    totalLengthDelta: 0,
    extraBytes: 0,
    version: 3,
    type: 1,
    advertIntervalCs: 10,
    addresses: [...OUR_VIPS].reverse(),
    checksumXor: 0,
    sentWith: 'destination',
    expect: {
      version: 3,
      authType: 0,
      authData: new Uint8Array(8),
      advertIntervalCs: 10,
      v3Checksum,
      virtualAddresses: OUR_VIPS,
      unicastPeers: mode === 'unicast' ? [PEER, ip('10.0.0.53')] : [],
      checkUnicastSrc: true,
      checkAddressList: true,
    },
  });

  const v3Build = (spec: V3Spec): Uint8Array => {
    const pseudo = { source: spec.source, destination: spec.sentWith === 'group' ? VRRP_MULTICAST_GROUP : spec.destination };
    const vrrp =
      spec.version === 3
        ? encodeAdvert({ version: 3, type: spec.type, virtualRouterId: 251, priority: 100, advertIntervalCs: spec.advertIntervalCs, addresses: spec.addresses }, pseudo)
        : encodeAdvert({ version: 2, type: spec.type, virtualRouterId: 251, priority: 100, authType: 0, advertIntervalSec: 1, addresses: spec.addresses, authData: new Uint8Array(8) });
    vrrp[6] = (vrrp[6] as number) ^ (spec.checksumXor >>> 8);
    vrrp[7] = (vrrp[7] as number) ^ (spec.checksumXor & 0xff);
    const packet = encodeIpv4Packet({ source: spec.source, destination: spec.destination, ttl: spec.ttl }, vrrp);
    const totalLength = packet.length + spec.totalLengthDelta;
    packet[2] = (totalLength >>> 8) & 0xff;
    packet[3] = totalLength & 0xff;
    if (spec.extraBytes === 0) return packet;
    const longer = new Uint8Array(packet.length + spec.extraBytes);
    longer.set(packet);
    return longer;
  };

  interface V3Fault {
    reason: DropReason;
    modes: ReadonlyArray<'multicast' | 'unicast'>;
    fields: string[];
    apply: (spec: V3Spec) => void;
  }
  const V3_FAULTS: V3Fault[] = [
    { reason: 'bad_length', modes: BOTH, fields: ['extraBytes'], apply: (s) => (s.extraBytes = 8) },
    { reason: 'bad_ttl', modes: ['multicast'], fields: ['ttl'], apply: (s) => (s.ttl = 254) },
    { reason: 'bad_version', modes: BOTH, fields: ['version'], apply: (s) => (s.version = 2) },
    { reason: 'bad_type', modes: BOTH, fields: ['type'], apply: (s) => (s.type = 2) },
    { reason: 'address_count_mismatch', modes: BOTH, fields: ['addresses'], apply: (s) => (s.addresses = OUR_VIPS.slice(0, 2)) },
    { reason: 'ip_length_mismatch', modes: BOTH, fields: ['totalLengthDelta'], apply: (s) => (s.totalLengthDelta = 4) },
    { reason: 'bad_checksum', modes: BOTH, fields: ['checksumXor'], apply: (s) => (s.checksumXor = 0x0100) },
    {
      reason: 'mode_mismatch',
      modes: BOTH,
      fields: ['destination'],
      apply: (s) => (s.destination = s.mode === 'multicast' ? ip('10.0.0.51') : VRRP_MULTICAST_GROUP),
    },
    { reason: 'address_list_mismatch', modes: BOTH, fields: ['addresses'], apply: (s) => (s.addresses = [OUR_VIPS[0] as number, OUR_VIPS[1] as number, ip('10.0.0.99')]) },
    { reason: 'unknown_peer', modes: ['unicast'], fields: ['source'], apply: (s) => (s.source = ip('10.0.0.99')) },
  ];

  for (const capture of KEEPALIVED_V3_CAPTURES) {
    it(`keepalived's capture passes at its peer: ${capture.name}`, () => {
      const result = checkAdvert(fromHex(capture.hex), expectationsForV3(capture));
      expect(result.ok ? 'ok' : result.reason).toBe('ok');
      expect(result.ok && result.oldChecksum).toBeFalsy();
    });
  }

  it('V3_FAULTS cover every reason checkAdvert decides except the four VRRPv2-only ones, in the receive order', () => {
    const v2Only: DropReason[] = ['bad_auth_type', 'auth_type_mismatch', 'auth_failure', 'interval_mismatch'];
    expect([...V3_FAULTS.map((f) => f.reason), 'too_short', 'address_family_mismatch', ...v2Only].sort()).toEqual([...CHECK_ADVERT_REASONS].sort());
    const indexes = V3_FAULTS.map((f) => receiveCheckIndex(f.reason));
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
  });

  for (const mode of BOTH) {
    it(`${mode}: the base packet passes`, () => {
      const spec = v3Base(mode);
      expect(outcome(checkAdvert(v3Build(spec), spec.expect))).toBe('ok');
    });
    for (const fault of V3_FAULTS.filter((f) => f.modes.includes(mode))) {
      it(`${mode}: ${fault.reason}`, () => {
        const spec = v3Base(mode);
        fault.apply(spec);
        expect(outcome(checkAdvert(v3Build(spec), spec.expect))).toBe(fault.reason);
      });
    }
    const faults = V3_FAULTS.filter((f) => f.modes.includes(mode));
    for (let i = 0; i < faults.length; i++) {
      for (let j = i + 1; j < faults.length; j++) {
        const earlier = faults[i] as V3Fault;
        const later = faults[j] as V3Fault;
        if (earlier.fields.some((field) => later.fields.includes(field))) continue;
        it(`${mode} order: ${earlier.reason} + ${later.reason} reports ${earlier.reason}`, () => {
          const spec = v3Base(mode);
          later.apply(spec);
          earlier.apply(spec);
          expect(outcome(checkAdvert(v3Build(spec), spec.expect))).toBe(earlier.reason);
        });
      }
    }
  }

  it('any interval is accepted (RFC 5798: the backup learns it), 0 and 4095 included; the reserved bits are ignored', () => {
    for (const cs of [0, 1, 10, 100, 4095]) {
      const spec = v3Base('unicast');
      spec.advertIntervalCs = cs;
      expect(outcome(checkAdvert(v3Build(spec), spec.expect))).toBe('ok');
    }
    const spec = v3Base('unicast');
    const packet = v3Build(spec);
    packet[24] = (packet[24] as number) | 0xf0;
    // Re-sum with the reserved bits set, as a sender that set them would.
    packet[26] = 0;
    packet[27] = 0;
    const sum = v3Checksum(packet, { source: spec.source, destination: spec.destination }, 20);
    packet[26] = sum >>> 8;
    packet[27] = sum & 0xff;
    expect(outcome(checkAdvert(packet, spec.expect))).toBe('ok');
  });

  it('no auth checks: a VRRPv2 password configured by mistake is not compared', () => {
    const spec = v3Base('unicast');
    spec.expect = { ...spec.expect, authType: 1, authData: passwordToAuthData('123456').authData };
    expect(outcome(checkAdvert(v3Build(spec), spec.expect))).toBe('ok');
  });

  it('a VRRPv2 checksum (no pseudo-header) on a VRRPv3 advert is bad_checksum', () => {
    const spec = v3Base('unicast');
    const packet = v3Build(spec);
    packet[26] = 0;
    packet[27] = 0;
    const sum = vrrpChecksum(packet, 20);
    packet[26] = sum >>> 8;
    packet[27] = sum & 0xff;
    expect(outcome(checkAdvert(packet, spec.expect))).toBe('bad_checksum');
  });

  describe("old_unicast_checksum: keepalived's three modes", () => {
    const run = (mode: V3ChecksumMode, sentWith: 'destination' | 'group', packetMode: 'unicast' | 'multicast' = 'unicast'): string => {
      const spec = v3Base(packetMode, mode);
      spec.sentWith = sentWith;
      const result = checkAdvert(v3Build(spec), spec.expect);
      return result.ok ? (result.oldChecksum === true ? 'ok, switch to old' : 'ok') : result.reason;
    };
    it('default (auto): the real destination; an advert that verifies only with 224.0.0.18 is accepted and says to switch', () => {
      expect(run('auto', 'destination')).toBe('ok');
      expect(run('auto', 'group')).toBe('ok, switch to old');
    });
    it('old_unicast_checksum (group): only 224.0.0.18 verifies', () => {
      expect(run('group', 'group')).toBe('ok');
      expect(run('group', 'destination')).toBe('bad_checksum');
    });
    it('old_unicast_checksum never: only the real destination verifies, no switching', () => {
      expect(run('never', 'destination')).toBe('ok');
      expect(run('never', 'group')).toBe('bad_checksum');
    });
    it('multicast: the destination is 224.0.0.18 in every mode, nothing to switch', () => {
      for (const mode of ['auto', 'group', 'never'] as const) expect(run(mode, 'destination', 'multicast')).toBe('ok');
    });
    it("keepalived's own old_unicast_checksum capture: accepted in auto (with the switch) and group, dropped with never", () => {
      const capture = KEEPALIVED_V3_CAPTURES.find((c) => c.name.includes('old_unicast_checksum'))!;
      const packet = fromHex(capture.hex);
      const base = expectationsForV3(capture);
      const auto = checkAdvert(packet, { ...base, v3Checksum: 'auto' });
      expect(auto.ok && auto.oldChecksum).toBe(true);
      expect(outcome(checkAdvert(packet, { ...base, v3Checksum: 'group' }))).toBe('ok');
      expect(outcome(checkAdvert(packet, { ...base, v3Checksum: 'never' }))).toBe('bad_checksum');
    });
  });
});

describe('order: the earlier check wins', () => {
  it('RECEIVE_CHECK_ORDER is DROP_REASONS, with the caller-decided ones before checkAdvert', () => {
    expect(RECEIVE_CHECK_ORDER).toEqual(DROP_REASONS);
    expect(CALLER_DECIDED_REASONS.map(receiveCheckIndex)).toEqual([1, 2]);
    expect(receiveCheckIndex('too_short')).toBe(0);
    expect(Math.min(...CHECK_ADVERT_REASONS.filter((r) => r !== 'too_short').map(receiveCheckIndex))).toBe(3);
  });

  it('FAULTS are listed in the receive order', () => {
    const indexes = FAULTS.map((f) => receiveCheckIndex(f.reason));
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
  });

  let pairs = 0;
  for (const mode of BOTH) {
    const faults = FAULTS.filter((f) => f.modes.includes(mode));
    for (let i = 0; i < faults.length; i++) {
      for (let j = i + 1; j < faults.length; j++) {
        const earlier = faults[i] as Fault;
        const later = faults[j] as Fault;
        if (earlier.fields.some((field) => later.fields.includes(field))) continue;
        pairs++;
        it(`${mode}: ${earlier.reason} + ${later.reason} reports ${earlier.reason}`, () => {
          const spec = baseSpec(mode);
          later.apply(spec);
          earlier.apply(spec);
          expect(outcome(checkAdvert(build(spec), spec.expect))).toBe(earlier.reason);
        });
      }
    }
  }
  it('combined enough pairs to mean something', () => {
    expect(pairs).toBeGreaterThan(100);
  });

  it('a packet failing every check at once reports bad_length', () => {
    const spec = baseSpec('multicast');
    for (const fault of FAULTS.filter((f) => f.modes.includes('multicast') && f.reason !== 'auth_type_mismatch')) fault.apply(spec);
    expect(outcome(checkAdvert(build(spec), spec.expect))).toBe('bad_length');
  });
});

describe('the password compare is constant-time', () => {
  /** Which auth-data bytes of the packet checkAdvert reads, watched through a Proxy. */
  function authBytesRead(password: string): { reason: string; read: number[] } {
    const spec = baseSpec('multicast');
    spec.authPassword = password;
    const packet = build(spec);
    const authAt = packet.length - 8;
    const read = new Set<number>();
    const watched = new Proxy(packet, {
      get(target, property) {
        if (typeof property === 'string' && /^[0-9]+$/.test(property)) {
          const index = Number(property);
          if (index >= authAt) read.add(index - authAt);
          return target[index];
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    return { reason: outcome(checkAdvert(watched, spec.expect)), read: [...read].sort((a, b) => a - b) };
  }

  it('reads all 8 bytes when the first one already differs (no early exit)', () => {
    expect(authBytesRead('X23456')).toEqual({ reason: 'auth_failure', read: [0, 1, 2, 3, 4, 5, 6, 7] });
  });
  it('and the same bytes when only the last differs, or none does', () => {
    expect(authBytesRead('123456\0X')).toEqual({ reason: 'auth_failure', read: [0, 1, 2, 3, 4, 5, 6, 7] });
    expect(authBytesRead('123456').read).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('nothing escapes checkAdvert', () => {
  const expectations = someExpectations();
  const valid = new Set<string>(CHECK_ADVERT_REASONS);
  const judge = (bytes: Uint8Array, expect_: ReceiveExpectations): void => {
    const result = checkAdvert(bytes, expect_);
    if (!result.ok) expect(valid.has(result.reason)).toBe(true);
    else expect(result.advert.addresses.length).toBe(expect_.virtualAddresses.length);
  };
  it(`random bytes and random expectations (${FUZZ_RUNS} runs)`, () => {
    fc.assert(fc.property(fc.oneof(anyBytes(200), vrrpLikePacket()), expectations, judge), { numRuns: FUZZ_RUNS });
  });
  it(`mutated captures against the sender's own expectations (${FUZZ_RUNS} runs)`, () => {
    const own = expectationsFor(KEEPALIVED_CAPTURES[4] as KeepalivedCapture); // multicast, three VIPs, PASS secret
    fc.assert(fc.property(mutatedCapture(), (bytes) => judge(bytes, own)), { numRuns: FUZZ_RUNS });
  });
});
