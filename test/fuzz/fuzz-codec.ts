/**
 * Long fuzz run of the codec and the receive checks: any byte string, and mutations of the real
 * keepalived captures, VRRPv2 and VRRPv3 (bit flips, truncation, extension, field edits), against
 * VRRPv2 and VRRPv3 expectations, must decode or yield a drop
 * reason; nothing may throw. The vitest suite runs the same properties a few thousand times; this is
 * for the long soak.
 *
 *   node --import ./test/register.mjs test/fuzz/fuzz-codec.ts --runs 1000000 [--seed N]
 *
 * Prints the count and time; on failure prints the counterexample and the command that replays it.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { CHECK_ADVERT_REASONS, checkAdvert } from '../../src/core/checks.js';
import { decodeAdvert, encodeAdvert, messageLength, parseIpHeader, peekVirtualRouterId } from '../../src/core/codec.js';
import { DROP_REASONS, type ReceiveExpectations } from '../../src/core/types.js';
import { anyBytes, mutatedCapture, someExpectations, vrrpLikePacket } from '../core/fixtures/mutations.js';
import { resummedFieldEdit } from './resummed-edits.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '100000' }, seed: { type: 'string' } } });
const runs = Number(values.runs);
const seed = values.seed === undefined ? Date.now() ^ (process.pid << 8) : Number(values.seed);
if (!Number.isInteger(runs) || runs <= 0 || !Number.isInteger(seed)) {
  console.error('usage: fuzz-codec.ts --runs N [--seed N]');
  process.exit(2);
}

const dropReasons = new Set<string>(DROP_REASONS);
const checkReasons = new Set<string>(CHECK_ADVERT_REASONS);

function fail(message: string): never {
  throw new Error(message);
}

/** The property: every function answers with a value of its documented shape. */
function judge(bytes: Uint8Array, expect: ReceiveExpectations): void {
  const decoded = decodeAdvert(bytes);
  if (!decoded.ok && !dropReasons.has(decoded.reason)) fail(`decodeAdvert reason ${decoded.reason}`);
  const head = parseIpHeader(bytes);
  if (!head.ok && head.reason !== 'too_short') fail(`parseIpHeader reason ${head.reason}`);
  if (peekVirtualRouterId(bytes).ok !== head.ok) fail('peekVirtualRouterId disagrees with parseIpHeader');
  if (head.ok) {
    const inner = decodeAdvert(bytes, head.ip.headerLength);
    if (inner.ok) {
      // What decodes re-encodes to the same bytes (fields are carried, not normalised).
      const again = encodeAdvert(inner.advert);
      const original = bytes.subarray(head.ip.headerLength, head.ip.headerLength + messageLength(inner.advert.version, inner.advert.addresses.length));
      if (again.length !== original.length || again.some((b, i) => b !== original[i])) fail('decode/encode round trip differs');
    }
  }
  const checked = checkAdvert(bytes, expect);
  if (!checked.ok && !checkReasons.has(checked.reason)) fail(`checkAdvert reason ${checked.reason}`);
  const key = checked.ok ? 'ok' : checked.reason;
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
}

/** checkAdvert outcomes seen, to show how deep the inputs get (shrinking adds a few). */
const outcomes = new Map<string, number>();

const input = fc.tuple(fc.oneof(anyBytes(1500), vrrpLikePacket(), mutatedCapture(), resummedFieldEdit()), someExpectations());

console.log(`fuzz-codec: ${runs} runs, seed ${seed}`);
const start = process.hrtime.bigint();
const details = fc.check(
  fc.property(input, ([bytes, expect]) => judge(bytes, expect)),
  { numRuns: runs, seed },
);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
if (details.failed) {
  console.error(`FAILED after ${details.numRuns} runs (${seconds.toFixed(1)} s): ${String(details.errorInstance)}`);
  console.error(`counterexample: ${fc.stringify(details.counterexample)}`);
  console.error(`replay: node --import ./test/register.mjs test/fuzz/fuzz-codec.ts --runs ${runs} --seed ${seed}`);
  process.exit(1);
}
console.log(`checkAdvert outcomes: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
// A long run must have reached every receive check and the accept path, or the inputs are too shallow.
const unreached = ['ok', ...CHECK_ADVERT_REASONS].filter((k) => !outcomes.has(k));
if (runs >= 200_000 && unreached.length > 0) {
  console.error(`FAILED: ${runs} inputs never reached ${unreached.join(', ')}`);
  process.exit(1);
}
console.log(`ok: ${details.numRuns} inputs in ${seconds.toFixed(1)} s (${Math.round(details.numRuns / seconds)} inputs/s), nothing threw`);
