/**
 * The real clock. The core takes time as an argument in monotonic milliseconds; this is where that
 * number comes from on a real host, and where the daemon's single timer (and each check's) lives.
 * The engine never reads a clock: the daemon's shell hands it the time with every input.
 */
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Monotonic milliseconds, with a fractional part. Only differences mean anything; never a wall-clock time. */
  nowMs(): number;
}

/**
 * One pending wake-up at a time. The daemon asks the machine for nextDeadline() after every input
 * and calls schedule() with it; the previous wake-up is replaced, so a stale deadline can never fire.
 */
export interface Scheduler {
  /**
   * Call fn once at deadlineMs (at once if already past) with max(nowMs(), deadlineMs); a real
   * scheduler may call it up to TIMER_EARLY_TOLERANCE_MS early. undefined cancels.
   */
  schedule(deadlineMs: number | undefined, fn: (nowMs: number) => void): void;
  cancel(): void;
  /** The deadline currently armed, if any. */
  readonly pendingDeadlineMs: number | undefined;
}

/**
 * performance.now() is CLOCK_MONOTONIC-based: unlike Date.now() it does not jump when NTP steps
 * the wall clock or someone runs `date -s`, which would otherwise fire (or stall) every VRRP timer.
 * It is not floored: a deadline computed from a floored time is up to 1 ms early or late against
 * the kernel's clock, and the failover benchmark counts every millisecond (docs/benchmarks.md).
 */
export const monotonicClock: Clock = {
  nowMs: () => performance.now(),
};

/** A receive stamp older than this is not believed (the wall clock stepped between arrival and read). */
const MAX_RECEIVE_AGE_MS = 10_000;

/**
 * When a packet arrived, on the monotonic clock, from the age of its kernel receive stamp (the
 * stamp is wall-clock time; its age against the wall clock now is what carries over). A packet
 * waits in its socket while the loop is busy (another packet, a check's result, a GC), and
 * Master_Down runs from its arrival (docs/protocol.md#receive-time). Undefined when there is no
 * stamp or it cannot be right (negative, or older than MAX_RECEIVE_AGE_MS).
 */
export function receivedAtFromAge(ageMs: number | undefined, clock: Clock = monotonicClock): number | undefined {
  if (ageMs === undefined || !(ageMs >= 0) || ageMs > MAX_RECEIVE_AGE_MS) return undefined;
  return clock.nowMs() - ageMs;
}

/**
 * Node's timers count whole milliseconds on libuv's loop time, which is floored and cached at the
 * start of each loop turn, so a timer fires up to about 1 ms before or after the exact deadline.
 * Re-arming for a remainder under 1 ms would cost a whole extra millisecond (the shortest timer
 * Node has), so a timer that fires less than this early counts as on time and is handed the
 * deadline itself as "now". keepalived's own timers are no finer in effect: it sleeps in
 * epoll_wait, whose timeout is whole milliseconds too.
 */
export const TIMER_EARLY_TOLERANCE_MS = 1;

/** setTimeout's delay is a signed 32-bit number of ms; longer delays fire at once. */
const MAX_TIMER_DELAY_MS = 0x7fffffff;

/**
 * A Scheduler on Node's timers. libuv computes a timer's expiry from its cached loop time, which can
 * be a few ms stale, so a timer may fire before the monotonic deadline. Within
 * TIMER_EARLY_TOLERANCE_MS it counts as due and fn gets the deadline as its time; earlier than that
 * it re-arms for the remainder instead of handing the machine an early (and useless) timeout.
 */
export function createScheduler(clock: Clock = monotonicClock): Scheduler {
  let timer: NodeJS.Timeout | undefined;
  let pending: { deadlineMs: number; fn: (nowMs: number) => void } | undefined;

  const arm = (): void => {
    if (pending === undefined) return;
    // Whole milliseconds, rounded down: Node checks a timer against libuv's floored loop time and
    // wakes from epoll_wait's whole-ms timeout, so setTimeout(fn, n) runs about 1 ms after n ms
    // (measured: +0.9 to +1.2 ms for n = 613 rounded up, -0.1 to +0.05 ms rounded down).
    const delayMs = Math.min(Math.max(Math.floor(pending.deadlineMs - clock.nowMs()), 0), MAX_TIMER_DELAY_MS);
    timer = setTimeout(fire, delayMs);
  };

  const fire = (): void => {
    timer = undefined;
    const current = pending;
    if (current === undefined) return;
    const nowMs = clock.nowMs();
    if (current.deadlineMs - nowMs >= TIMER_EARLY_TOLERANCE_MS) {
      arm();
      return;
    }
    pending = undefined;
    current.fn(Math.max(nowMs, current.deadlineMs));
    runDueChores();
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

/**
 * Housekeeping that can wait a little (is the interface still there, is the link still up), about
 * once a period: in a wake-up the process has anyway (a daemon or check timer firing, a packet in),
 * after that wake-up's own work, once 3/4 of the period has passed since its last run; on a timer
 * of its own only when nothing woke the process for 5/4 of the period. An idle MASTER at advert_int
 * 1 woke its main thread about 2.8 times a second, for its advert, the transport's ifindex watchdog
 * and the link poll; riding on the advert's wake-up they cost no wake-up of their own (about 1.3 a
 * second, test/bench/idle-profile.ts). The own timer is later than the period so that it does not
 * race the wake-up it is meant to ride on.
 */
export interface Chore {
  close(): void;
}

/** A chore may run on another wake-up from this fraction of its period after its last run... */
export const CHORE_EARLY_FRACTION = 0.75;
/** ...and runs on its own timer after this fraction without one. */
export const CHORE_LATE_FRACTION = 1.25;

interface ChoreState {
  readonly fn: () => void;
  readonly earliestMs: number;
  readonly latestMs: number;
  readonly unref: boolean;
  readonly clock: Clock;
  lastMs: number;
  timer: NodeJS.Timeout | undefined;
}

const chores = new Set<ChoreState>();
let runningChores = false;

/**
 * The own timer, counting from now. A new timer rather than timer.refresh(): Node keeps one list per
 * duration and a refreshed timer leaves its list's expiry where it was, so libuv would still wake
 * at the old time; a list emptied by clearTimeout is dropped before the loop re-arms its timer, but
 * only a ref'd timer's list (Node keeps unref'd lists for reuse), hence the ref() first.
 */
function armChore(chore: ChoreState): void {
  if (chore.timer !== undefined) clearTimeout(chore.timer.ref());
  chore.timer = setTimeout(() => {
    chore.timer = undefined;
    if (chores.has(chore)) runChore(chore, chore.clock.nowMs());
  }, chore.latestMs);
  if (chore.unref) chore.timer.unref();
}

function runChore(chore: ChoreState, nowMs: number): void {
  chore.lastMs = nowMs;
  armChore(chore);
  try {
    chore.fn();
  } catch (error) {
    // As from a timer of its own: an uncaught error, not a broken wake-up of someone else's.
    process.nextTick(() => {
      throw error;
    });
  }
}

/** `fn` about every periodMs (see above). `unref`: its own timer does not keep the process alive. */
export function startChore(fn: () => void, periodMs: number, options: { unref?: boolean; clock?: Clock } = {}): Chore {
  if (!(periodMs > 0)) throw new RangeError(`a chore's period must be positive, got ${periodMs}`);
  const clock = options.clock ?? monotonicClock;
  const chore: ChoreState = {
    fn,
    earliestMs: periodMs * CHORE_EARLY_FRACTION,
    latestMs: Math.min(Math.round(periodMs * CHORE_LATE_FRACTION), MAX_TIMER_DELAY_MS),
    unref: options.unref === true,
    clock,
    lastMs: clock.nowMs(),
    timer: undefined,
  };
  chores.add(chore);
  armChore(chore);
  return {
    close() {
      chores.delete(chore);
      if (chore.timer !== undefined) clearTimeout(chore.timer);
      chore.timer = undefined;
    },
  };
}

/** Run every chore that may run now: called at the end of a wake-up the process has anyway. */
export function runDueChores(): void {
  if (chores.size === 0 || runningChores) return;
  runningChores = true;
  try {
    // A Set visits what a chore adds and skips what it removes: no copy per wake-up.
    for (const chore of chores) {
      const nowMs = chore.clock.nowMs();
      if (nowMs - chore.lastMs >= chore.earliestMs) runChore(chore, nowMs);
    }
  } finally {
    runningChores = false;
  }
}
