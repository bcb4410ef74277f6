/**
 * Housekeeping chores (src/io/clock.ts): the transport's ifindex watchdog and the link poll run on
 * the daemon's own wake-ups once 3/4 of their period has passed, and on a timer of their own only
 * when nothing else woke the process for 5/4 of it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createScheduler, runDueChores, startChore, type Chore } from '../../src/io/clock.js';

/** Fake timers, and a monotonic clock on the faked Date. */
function fakeClock(): { nowMs: () => number } {
  vi.useFakeTimers({ now: 0 });
  return { nowMs: () => Date.now() };
}

describe('chores', () => {
  const started: Chore[] = [];
  afterEach(() => {
    for (const chore of started.splice(0)) chore.close();
    vi.useRealTimers();
  });

  it('run every 5/4 period on their own timer when nothing else wakes the process', () => {
    const clock = fakeClock();
    const runs: number[] = [];
    started.push(startChore(() => runs.push(clock.nowMs()), 1000, { clock }));
    vi.advanceTimersByTime(3_750);
    expect(runs).toEqual([1250, 2500, 3750]);
  });

  it("ride on a scheduler's wake-up once 3/4 period has passed, and their own timer counts from that run", () => {
    const clock = fakeClock();
    const runs: number[] = [];
    const fired: number[] = [];
    started.push(startChore(() => runs.push(clock.nowMs()), 1000, { clock }));
    const scheduler = createScheduler(clock);
    // A MASTER's adverts, one a second: deadlines at 800, 1800, 2800.
    const advert = (at: number): void =>
      scheduler.schedule(at, (now) => {
        fired.push(now);
        if (at < 2800) advert(at + 1000);
      });
    advert(800);
    vi.advanceTimersByTime(4_000);
    expect(fired).toEqual([800, 1800, 2800]);
    // At each advert's wake-up and on no timer of its own until 5/4 s after the last advert.
    expect(runs).toEqual([800, 1800, 2800]);
    vi.advanceTimersByTime(50);
    expect(runs).toEqual([800, 1800, 2800, 4050]);
  });

  it('wait on a wake-up that comes before 3/4 period', () => {
    const clock = fakeClock();
    const runs: number[] = [];
    started.push(startChore(() => runs.push(clock.nowMs()), 1000, { clock }));
    createScheduler(clock).schedule(700, () => undefined);
    vi.advanceTimersByTime(1249);
    expect(runs).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(runs).toEqual([1250]);
  });

  it('run on runDueChores (a packet in) and stop when closed', () => {
    const clock = fakeClock();
    const runs: number[] = [];
    const chore = startChore(() => runs.push(clock.nowMs()), 1000, { clock });
    vi.advanceTimersByTime(900);
    runDueChores();
    expect(runs).toEqual([900]);
    runDueChores();
    expect(runs).toEqual([900]);
    chore.close();
    vi.advanceTimersByTime(5_000);
    runDueChores();
    expect(runs).toEqual([900]);
  });

  it('one that throws does not keep the others from running', () => {
    const clock = fakeClock();
    const runs: string[] = [];
    const errors: unknown[] = [];
    const spy = vi.spyOn(process, 'nextTick').mockImplementation(((fn: () => void) => {
      try {
        fn();
      } catch (error) {
        errors.push(error);
      }
    }) as typeof process.nextTick);
    try {
      started.push(startChore(() => {
        runs.push('bad');
        throw new Error('boom');
      }, 1000, { clock }));
      started.push(startChore(() => runs.push('good'), 1000, { clock }));
      vi.advanceTimersByTime(800);
      runDueChores();
    } finally {
      spy.mockRestore();
    }
    expect(runs).toEqual(['bad', 'good']);
    expect(errors).toHaveLength(1);
  });

  it('refuses a period that is not positive', () => {
    expect(() => startChore(() => undefined, 0)).toThrow(RangeError);
    expect(() => startChore(() => undefined, Number.NaN)).toThrow(RangeError);
  });
});
