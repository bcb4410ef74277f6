/**
 * docs/protocol.md#rise-and-fall: the first result decides; then `rise` consecutive
 * successes make it OK and `fall` consecutive failures make it failed; init_fail starts it failed;
 * nothing is known before the first result.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RiseFallFilter } from '../../src/core/tracker.js';
import type { TrackerStatus } from '../../src/core/types.js';

function feed(filter: RiseFallFilter, results: string): (TrackerStatus | undefined)[] {
  return [...results].map((c) => filter.record(c === '+'));
}

describe('RiseFallFilter', () => {
  it('is unknown until the first result', () => {
    expect(new RiseFallFilter({ rise: 3, fall: 3, initFail: false }).status).toBe('unknown');
  });

  it('lets the first result decide, whatever rise and fall say', () => {
    const up = new RiseFallFilter({ rise: 5, fall: 5, initFail: false });
    expect(up.record(true)).toBe('ok');
    const down = new RiseFallFilter({ rise: 5, fall: 5, initFail: false });
    expect(down.record(false)).toBe('failed');
    expect(down.status).toBe('failed');
  });

  it('needs fall consecutive failures to go failed, and a success resets the run', () => {
    const filter = new RiseFallFilter({ rise: 2, fall: 3, initFail: false });
    expect(feed(filter, '+--+--')).toEqual(['ok', undefined, undefined, undefined, undefined, undefined]);
    expect(filter.status).toBe('ok');
    expect(filter.pendingToFlip).toBe(1);
    expect(filter.record(false)).toBe('failed');
  });

  it('needs rise consecutive successes to come back, and a failure resets the run', () => {
    const filter = new RiseFallFilter({ rise: 2, fall: 1, initFail: false });
    expect(feed(filter, '-+-+')).toEqual(['failed', undefined, undefined, undefined]);
    expect(filter.record(true)).toBe('ok');
  });

  it('reports only changes', () => {
    const filter = new RiseFallFilter({ rise: 1, fall: 1, initFail: false });
    expect(feed(filter, '++--+')).toEqual(['ok', undefined, 'failed', undefined, 'ok']);
  });

  it('init_fail starts failed, so the first success does not decide: rise successes are needed', () => {
    const filter = new RiseFallFilter({ rise: 3, fall: 1, initFail: true });
    expect(filter.status).toBe('failed');
    expect(feed(filter, '++')).toEqual([undefined, undefined]);
    expect(filter.status).toBe('failed');
    expect(filter.record(true)).toBe('ok');
  });

  it('init_fail with failures stays failed without reporting a change', () => {
    const filter = new RiseFallFilter({ rise: 1, fall: 1, initFail: true });
    expect(feed(filter, '--')).toEqual([undefined, undefined]);
    expect(filter.record(true)).toBe('ok');
  });

  it('refuses rise or fall below 1', () => {
    expect(() => new RiseFallFilter({ rise: 0, fall: 1, initFail: false })).toThrow(/rise/);
    expect(() => new RiseFallFilter({ rise: 1, fall: 1.5, initFail: false })).toThrow(/fall/);
  });

  it('matches a direct reading of the rule for any sequence (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        fc.array(fc.boolean(), { maxLength: 60 }),
        (rise, fall, initFail, results) => {
          const filter = new RiseFallFilter({ rise, fall, initFail });
          // Reference: walk the results and flip when the last `needed` results all contradict.
          let expected: TrackerStatus = initFail ? 'failed' : 'unknown';
          let sinceFlip: boolean[] = [];
          for (const ok of results) {
            const change = filter.record(ok);
            const before = expected;
            if (expected === 'unknown') {
              expected = ok ? 'ok' : 'failed';
              sinceFlip = [];
            } else {
              sinceFlip.push(ok);
              const needed = expected === 'ok' ? fall : rise;
              const tail = sinceFlip.slice(-needed);
              const contrary: boolean = expected !== 'ok';
              if (tail.length === needed && tail.every((r) => r === contrary)) {
                expected = contrary ? 'ok' : 'failed';
                sinceFlip = [];
              }
            }
            expect(filter.status).toBe(expected);
            expect(change).toBe(expected !== before ? expected : undefined);
          }
        },
      ),
    );
  });
});
