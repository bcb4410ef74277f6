/**
 * The simulator's only source of randomness: xoshiro128** seeded through splitmix32.
 *
 * Everything the simulator draws (network loss and delay, fault schedules, cluster shapes) comes from
 * one of these, so a seed replays a run bit for bit. Math.random is never used in test/sim.
 * `fork()` derives an independent stream, so that (for example) drawing one more fault does not shift
 * every later packet-loss decision and a replay stays comparable while a test is being changed.
 */

/** splitmix32: spreads a small integer seed over all 32 bits (xoshiro must not start all-zero). */
function splitmix32(state: { value: number }): number {
  state.value = (state.value + 0x9e3779b9) | 0;
  let z = state.value;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** The seed this stream was created from, for printing replay commands. */
  readonly seed: number;

  /** Any integer in 0..2^53 is a distinct seed (the high bits are folded in, not dropped). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    this.seed = seed;
    const state = { value: (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x1_0000_0000), 0x27d4eb2d) };
    this.s0 = splitmix32(state);
    this.s1 = splitmix32(state);
    this.s2 = splitmix32(state);
    this.s3 = splitmix32(state);
  }

  /** Next 32 random bits as an unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) throw new RangeError(`bad range ${min}..${max}`);
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** True with probability p. Always draws, so the stream does not depend on p being 0. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** A new array with the items in random order (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  /** Exponentially distributed with the given mean (gaps between independent events). */
  exponential(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  /** An independent stream derived from this one. */
  fork(): Prng {
    return new Prng(this.nextUint32() * 0x20_0000 + (this.nextUint32() >>> 11));
  }
}
