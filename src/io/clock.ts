/**
 * The real clock. The core takes time as an argument in monotonic milliseconds; this is where that
 * number comes from on a real host, and where the daemon's single timer lives. The simulator
 * implements the same Clock and Scheduler interfaces with a virtual clock.
 */
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Monotonic milliseconds (integer). Only differences mean anything; never a wall-clock time. */
  nowMs(): number;
}

/**
 * One pending wake-up at a time. The daemon asks the machine for nextDeadline() after every input
 * and calls schedule() with it; the previous wake-up is replaced, so a stale deadline can never fire.
 */
export interface Scheduler {
  /** Call fn once, when nowMs() >= deadlineMs (at once if already past). undefined cancels. */
  schedule(deadlineMs: number | undefined, fn: (nowMs: number) => void): void;
  cancel(): void;
  /** The deadline currently armed, if any. */
  readonly pendingDeadlineMs: number | undefined;
}

/**
 * performance.now() is CLOCK_MONOTONIC-based: unlike Date.now() it does not jump when NTP steps
 * the wall clock or someone runs `date -s`, which would otherwise fire (or stall) every VRRP timer.
 */
export const monotonicClock: Clock = {
  nowMs: () => Math.floor(performance.now()),
};

/** setTimeout's delay is a signed 32-bit number of ms; longer delays fire at once. */
const MAX_TIMER_DELAY_MS = 0x7fffffff;

/**
 * A Scheduler on Node's timers. libuv computes a timer's expiry from its cached loop time, which can
 * be a few ms stale, so a timer may fire slightly before the monotonic deadline; we then re-arm for
 * the remainder instead of handing the machine an early (and useless) timeout.
 */
export function createScheduler(clock: Clock = monotonicClock): Scheduler {
  let timer: NodeJS.Timeout | undefined;
  let pending: { deadlineMs: number; fn: (nowMs: number) => void } | undefined;

  const arm = (): void => {
    if (pending === undefined) return;
    const delayMs = Math.min(Math.max(pending.deadlineMs - clock.nowMs(), 0), MAX_TIMER_DELAY_MS);
    timer = setTimeout(fire, delayMs);
  };

  const fire = (): void => {
    timer = undefined;
    const current = pending;
    if (current === undefined) return;
    const nowMs = clock.nowMs();
    if (nowMs < current.deadlineMs) {
      arm();
      return;
    }
    pending = undefined;
    current.fn(nowMs);
  };

  const cancel = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    pending = undefined;
  };

  return {
    schedule(deadlineMs, fn) {
      cancel();
      if (deadlineMs === undefined) return;
      if (!Number.isFinite(deadlineMs)) throw new RangeError(`deadline must be finite, got ${deadlineMs}`);
      pending = { deadlineMs, fn };
      arm();
    },
    cancel,
    get pendingDeadlineMs() {
      return pending?.deadlineMs;
    },
  };
}
