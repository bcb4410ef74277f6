/**
 * A protocol-112 flooder for the hardening tests, run inside a lab namespace:
 *
 *   node --import ./test/register.mjs test/netns/flood-sender.ts '<FloodPlan as JSON>'
 *
 * It writes whole Ethernet frames on ens32 through the project's AF_PACKET addon (the GARP
 * sender), so the IP source is whatever the plan says (a configured peer's address: spoofed) and
 * every byte of the IP packet is ours. That is what IP_HDRINCL would give, one layer lower, and it
 * costs one sendto() per frame with no routing or ARP in the way.
 *
 * Every packet of a `flood` is invalid by construction (random bytes, bit flips of a valid advert
 * whose checksum then cannot verify, a wrong VRID, a wrong password, a bad checksum, truncation,
 * extension, field edits with a recomputed checksum), built around priorities 0 and 255, the two
 * that would move a state if accepted. Each one is also run through the core's own receive checks
 * against the target's expectations: the sender refuses to start if any would be accepted, and it
 * reports what the daemon should count (drop reason -> packets), to compare with `status --json`.
 *
 * A `valid` plan sends well-formed adverts (the non-peer test): the expected outcome is whatever
 * the receive checks say (unknown_peer for a source that is no configured peer).
 *
 * Pacing: a 1 ms timer sends whatever is due by the elapsed time, so the average rate holds even
 * when a tick is late. The last line on stdout is a FloodReport as JSON.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { checkAdvert } from '../../src/core/checks.js';
import { encodeAdvert, encodeIpv4Packet, peekVirtualRouterId, vrrpChecksum, type AdvertInput } from '../../src/core/codec.js';
import { parseIpv4, type Ipv4 } from '../../src/core/ip.js';
import type { ReceiveExpectations } from '../../src/core/types.js';
import { loadPacketAddon } from '../../src/io/native.js';

export interface FloodTarget {
  /** The target's MAC (the Ethernet destination). */
  mac: string;
  /** The target's address (the IP destination). */
  address: string;
  /** The IP source written into every packet. */
  source: string;
  /** The target instance's configuration, to build near-valid adverts and to predict the drops. */
  vrid: number;
  authPass: string;
  advertIntervalSec: number;
  vips: string[];
  peers: string[];
}

export interface FloodPlan {
  kind: 'flood' | 'valid';
  ifname: string;
  targets: FloodTarget[];
  /** Packets per second to EACH target. */
  ratePps: number;
  durationMs: number;
  seed: number;
  /** For `valid`: the advertised priority. */
  priority?: number;
  /** Distinct packets built per target (cycled). */
  poolSize?: number;
}

export interface FloodTargetReport {
  address: string;
  sent: number;
  /** Packets by how they were built. */
  byKind: Record<string, number>;
  /** What the receiver should count: 'iface:too_short', 'iface:unknown_vrid', or a drop reason. */
  expected: Record<string, number>;
}

export interface FloodReport {
  elapsedMs: number;
  sent: number;
  sendErrors: number;
  firstError: string | null;
  /** Achieved rate per target. */
  ppsPerTarget: number;
  /** Packets sent in each whole second, all targets together. */
  perSecond: number[];
  targets: FloodTargetReport[];
}

/** xorshift32: reproducible from the plan's seed, fast enough for 40k packets per second. */
function rng(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x100000000;
  };
}

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16)));
}

function ip(text: string): Ipv4 {
  const value = parseIpv4(text);
  if (value === undefined) throw new Error(`not an IPv4 address: ${text}`);
  return value;
}

function authData(password: string): Uint8Array {
  const out = new Uint8Array(8);
  out.set(new TextEncoder().encode(password).subarray(0, 8));
  return out;
}

interface Built {
  kind: string;
  frame: Uint8Array;
  expected: string;
}

/** Build `count` distinct frames for one target. */
function buildPool(plan: FloodPlan, target: FloodTarget, ourMac: Uint8Array, random: () => number, count: number): Built[] {
  const int = (n: number): number => Math.floor(random() * n);
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));
  const ours = authData(target.authPass);
  const expectations: ReceiveExpectations = {
    version: 2,
    authType: 1,
    authData: ours,
    advertIntervalCs: target.advertIntervalSec * 100,
    v3Checksum: 'auto',
    virtualAddresses: target.vips.map(ip),
    unicastPeers: target.peers.map(ip),
    checkUnicastSrc: true,
    checkAddressList: true,
  };
  const dangerousPriority = (): number => (random() < 0.5 ? 255 : 0);
  const advert = (overrides: Partial<AdvertInput> = {}): Uint8Array =>
    encodeAdvert({
      version: 2,
      type: 1,
      virtualRouterId: target.vrid,
      priority: dangerousPriority(),
      authType: 1,
      advertIntervalSec: target.advertIntervalSec,
      addresses: target.vips.map(ip),
      authData: ours,
      ...overrides,
    });
  const resum = (payload: Uint8Array): Uint8Array => {
    payload[6] = 0;
    payload[7] = 0;
    const sum = vrrpChecksum(payload);
    payload[6] = sum >>> 8;
    payload[7] = sum & 0xff;
    return payload;
  };

  const makers: Array<[string, number, () => Uint8Array]> = [
    ['random', 12, () => bytes(int(81))],
    ['random_our_vrid', 8, () => {
      const p = bytes(8 + int(40));
      p[1] = target.vrid;
      return p;
    }],
    ['bit_flips', 20, () => {
      const p = advert();
      const flips = 1 + int(4);
      for (let i = 0; i < flips; i++) p[int(p.length)]! ^= 1 << int(8);
      // Several flips can cancel out in the one's-complement sum: then break the checksum itself.
      if (vrrpChecksum(p) === 0) p[7]! ^= 1 << int(8);
      return p;
    }],
    ['wrong_vrid', 10, () => advert({ virtualRouterId: (target.vrid + 1 + int(255)) % 256 })],
    ['wrong_auth', 10, () => {
      const wrong = bytes(8);
      if (wrong.every((b, i) => b === ours[i])) wrong[0] = (wrong[0]! + 1) & 0xff;
      return advert({ authData: wrong });
    }],
    ['bad_checksum', 10, () => {
      const p = advert();
      const sum = ((p[6]! << 8) | p[7]!) ^ (1 + int(0xffff));
      p[6] = sum >>> 8;
      p[7] = sum & 0xff;
      return p;
    }],
    ['truncated', 10, () => advert().subarray(0, int(advertLengthOf(target)))],
    ['extended', 5, () => {
      const p = advert();
      const out = new Uint8Array(p.length + 1 + int(64));
      out.set(p);
      out.set(bytes(out.length - p.length), p.length);
      return out;
    }],
    ['field_edit', 15, () => {
      switch (int(6)) {
        case 0: {
          const p = advert();
          p[0] = ((([0, 1, 3, 4, 15][int(5)] as number) << 4) | 1);
          return resum(p);
        }
        case 1: {
          const p = advert();
          p[0] = (2 << 4) | ([0, 2, 3, 15][int(4)] as number);
          return resum(p);
        }
        case 2:
          return advert({ authType: [0, 2, 3, 255][int(4)] as number });
        case 3:
          return advert({ advertIntervalSec: [0, target.advertIntervalSec + 1, 255][int(3)] as number });
        case 4:
          return advert({ addresses: [...target.vips.map(ip), ip('10.0.0.99')] });
        default:
          return advert({ addresses: target.vips.map(() => ip('10.0.0.99')) });
      }
    }],
  ];
  const totalWeight = makers.reduce((sum, [, weight]) => sum + weight, 0);

  const dst = macBytes(target.mac);
  const source = ip(target.source);
  const destination = ip(target.address);
  const pool: Built[] = [];
  while (pool.length < count) {
    let kind: string;
    let payload: Uint8Array;
    if (plan.kind === 'valid') {
      kind = 'valid';
      payload = advert({ priority: plan.priority ?? 255 });
    } else {
      let pick = random() * totalWeight;
      const maker = makers.find(([, weight]) => (pick -= weight) < 0) ?? makers[0]!;
      kind = maker[0];
      payload = maker[2]();
    }
    const packet = encodeIpv4Packet({ source, destination, ttl: 255, tos: 0xc0, id: int(0x10000) }, payload);
    const peek = peekVirtualRouterId(packet);
    let expected: string;
    if (!peek.ok) expected = 'iface:too_short';
    else if (peek.virtualRouterId !== target.vrid) expected = 'iface:unknown_vrid';
    else {
      const checked = checkAdvert(packet, expectations);
      if (checked.ok) {
        if (plan.kind === 'flood') throw new Error(`generator bug: a ${kind} packet passes every receive check`);
        expected = 'accepted';
      } else expected = checked.reason;
    }
    const frame = new Uint8Array(14 + packet.length);
    frame.set(dst, 0);
    frame.set(ourMac, 6);
    frame[12] = 0x08;
    frame[13] = 0x00;
    frame.set(packet, 14);
    pool.push({ kind, frame, expected });
  }
  return pool;
}

function advertLengthOf(target: FloodTarget): number {
  return 8 + 4 * target.vips.length + 8;
}

async function main(): Promise<void> {
  const plan = JSON.parse(process.argv[2] ?? '') as FloodPlan;
  const addon = loadPacketAddon();
  const ourMac = macBytes(readFileSync(`/sys/class/net/${plan.ifname}/address`, 'utf8').trim());
  const random = rng(plan.seed);
  const poolSize = plan.poolSize ?? (plan.kind === 'flood' ? 8192 : 16);
  const pools = plan.targets.map((target) => buildPool(plan, target, ourMac, random, poolSize));
  const reports: FloodTargetReport[] = plan.targets.map((t) => ({ address: t.address, sent: 0, byKind: {}, expected: {} }));
  const cursor = plan.targets.map(() => 0);
  const perSecond: number[] = [];
  let sendErrors = 0;
  let firstError: string | null = null;
  let sent = 0;

  console.log(JSON.stringify({ event: 'ready', poolSize }));
  const start = performance.now();
  const endAt = start + plan.durationMs;
  const one: Uint8Array[] = [new Uint8Array(0)];

  const sendDue = (): boolean => {
    const now = Math.min(performance.now(), endAt);
    const due = Math.floor(((now - start) * plan.ratePps) / 1000);
    const second = Math.floor((now - start) / 1000);
    for (let t = 0; t < plan.targets.length; t++) {
      const report = reports[t]!;
      const pool = pools[t]!;
      while (report.sent < due) {
        const built = pool[cursor[t]! % pool.length]!;
        cursor[t]!++;
        one[0] = built.frame;
        try {
          addon.sendFrames(plan.ifname, one);
        } catch (error) {
          sendErrors++;
          firstError ??= String(error);
          report.sent++; // counted as attempted, so a failing link cannot spin this loop
          continue;
        }
        report.sent++;
        sent++;
        perSecond[second] = (perSecond[second] ?? 0) + 1;
        report.byKind[built.kind] = (report.byKind[built.kind] ?? 0) + 1;
        report.expected[built.expected] = (report.expected[built.expected] ?? 0) + 1;
      }
    }
    return now < endAt;
  };

  await new Promise<void>((done) => {
    const tick = (): void => {
      if (sendDue()) setTimeout(tick, 1);
      else done();
    };
    tick();
  });
  const elapsedMs = performance.now() - start;
  const report: FloodReport = {
    elapsedMs,
    sent,
    sendErrors,
    firstError,
    ppsPerTarget: Math.round((sent / plan.targets.length / elapsedMs) * 1000),
    perSecond: perSecond.map((n) => n ?? 0),
    targets: reports,
  };
  console.log(JSON.stringify(report));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
