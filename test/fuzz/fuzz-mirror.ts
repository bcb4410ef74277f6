/**
 * Long fuzz run of the UDP mirror's receive path, as fuzz-codec.ts does for the advert decoder: any
 * bytes, mutations of a real sealed datagram (bit flips, truncation, extension) and authentic
 * datagrams around random VRRP bytes (so the engine's part runs too: the IPv4 header it builds,
 * the receive checks, dispatch) must decode or yield a reason, and the engine must take every one
 * without throwing. The vitest suites run the same properties a few thousand times.
 *
 *   node --import ./test/register.mjs test/fuzz/fuzz-mirror.ts --runs 200000 [--seed N]
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { encodeAdvert, passwordToAuthData } from '../../src/core/codec.js';
import { parseIpv4, type Ipv4 } from '../../src/core/ip.js';
import { Engine } from '../../src/daemon/engine.js';
import { decodeMirrorDatagram, encodeMirrorDatagram } from '../../src/io/mirror.js';
import { planOf } from '../daemon/plans.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '100000' }, seed: { type: 'string' } } });
const runs = Number(values.runs);
const seed = values.seed === undefined ? Date.now() ^ (process.pid << 8) : Number(values.seed);
if (!Number.isInteger(runs) || runs <= 0 || !Number.isInteger(seed)) {
  console.error('usage: fuzz-mirror.ts --runs N [--seed N]');
  process.exit(2);
}

const KEY = new Uint8Array(32).fill(9);
const PEER = parseIpv4('10.0.0.51') as Ipv4;
const US = parseIpv4('10.0.0.52') as Ipv4;
const REASONS = new Set(['too_short', 'too_long', 'bad_magic', 'bad_version', 'bad_tag']);
const ADVERT = encodeAdvert({ version: 2, type: 1, virtualRouterId: 51, priority: 100, authType: 1, advertIntervalSec: 1, addresses: [parseIpv4('10.0.0.50') as Ipv4], authData: passwordToAuthData('123456').authData });
const REAL = encodeMirrorDatagram(KEY, 1n << 40n, ADVERT, PEER, US);

const engine = new Engine();
engine.start(0, planOf(`vrrpd:
  udp_mirror: { port: 9651, key_file: /etc/vrrpd/mirror.key }
vrrp_instance:
  VI_1:
    interface: ens32
    virtual_router_id: 51
    priority: 99
    authentication: { auth_type: PASS, auth_pass: "123456" }
    unicast_src_ip: 10.0.0.52
    unicast_peer: [10.0.0.51]
    virtual_ipaddress: [10.0.0.50]
`), { interfaces: new Map([['ens32', { address: US, up: true, exists: true }]]), capabilities: undefined });
let nowMs = 0;
const drainEngine = (): void => {
  while (engine.pollCommand(nowMs) !== undefined);
};
drainEngine();
let counter = 1n << 41n;

const mutated = fc
  .array(fc.oneof(fc.tuple(fc.constant(0), fc.nat({ max: 200 }), fc.integer({ min: 0, max: 7 })), fc.tuple(fc.constant(1), fc.nat({ max: 200 }), fc.constant(0)), fc.tuple(fc.constant(2), fc.nat({ max: 64 }), fc.constant(0))), { minLength: 1, maxLength: 4 })
  .map((edits) => {
    let bytes = Uint8Array.from(REAL);
    for (const [kind, at, bit] of edits) {
      if (kind === 0 && bytes.length > 0) bytes[at % bytes.length] = (bytes[at % bytes.length] as number) ^ (1 << bit);
      else if (kind === 1) bytes = bytes.subarray(0, at % (bytes.length + 1));
      else bytes = Uint8Array.from([...bytes, ...new Uint8Array(at).fill(at)]);
    }
    return { bytes, authentic: false };
  });
const input = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }).map((bytes) => ({ bytes, authentic: false })),
  mutated,
  // Authentic datagrams around any VRRP bytes of a length the format carries.
  fc.uint8Array({ minLength: 8, maxLength: 96 }).map((advert) => ({ bytes: encodeMirrorDatagram(KEY, counter++, advert, PEER, US), authentic: true })),
  // ... and around edits of a real advert, VRID kept, so the instance's receive checks run.
  fc.tuple(fc.nat({ max: ADVERT.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 8 })).map(([at, value, cut]) => {
    const advert = Uint8Array.from(ADVERT.subarray(0, Math.max(8, ADVERT.length - cut)));
    if (at !== 1 && at < advert.length) advert[at] = value;
    return { bytes: encodeMirrorDatagram(KEY, counter++, advert, PEER, US), authentic: true };
  }),
);

function judge({ bytes, authentic }: { bytes: Uint8Array; authentic: boolean }): void {
  const result = decodeMirrorDatagram(KEY, bytes, PEER, US);
  if (!result.ok && !REASONS.has(result.reason)) throw new Error(`reason ${result.reason}`);
  if (authentic && !result.ok) throw new Error(`an authentic datagram refused: ${result.reason}`);
  nowMs += 7;
  engine.handleMirrorDatagram(nowMs, { ifname: 'ens32', address: US }, PEER, result);
  drainEngine();
  if (engine.nextDeadline() < nowMs) {
    engine.handleTimer(nowMs, engine.nextDeadline());
    drainEngine();
  }
}

console.log(`fuzz-mirror: ${runs} runs, seed ${seed}`);
const start = process.hrtime.bigint();
const details = fc.check(fc.property(input, (v) => { judge(v); }), { numRuns: runs, seed });
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
if (details.failed) {
  console.error(`FAILED after ${details.numRuns} runs (${seconds.toFixed(1)} s): ${String(details.errorInstance)}`);
  console.error(`counterexample: ${fc.stringify(details.counterexample)}`);
  console.error(`replay: node --import ./test/register.mjs test/fuzz/fuzz-mirror.ts --runs ${runs} --seed ${seed}`);
  process.exit(1);
}
const status = engine.status(nowMs, () => '');
console.log(`mirror: ${JSON.stringify(status.udp_mirror)}; instance dropped: ${JSON.stringify(status.instances[0]!.dropped)}; interface dropped: ${JSON.stringify(status.interface_dropped)}`);
console.log(`ok: ${runs} runs in ${seconds.toFixed(1)} s`);
