/**
 * The periodic runner, with keepalived's semantics for every check kind:
 * - it runs at once, then every `interval` (fixed rate, not "interval after the last one ended");
 * - a run still going when the next is due makes that next run be skipped and counted, never
 *   overlapped (a hung check must not pile up processes or sockets);
 * - each run ends in success or failure within `timeout`, and every result goes to onResult: rise,
 *   fall and init_fail are the daemon engine's (src/daemon/engine.ts), not the runner's.
 * Time comes from the injected clock and scheduler (src/io/clock.ts), as everywhere in the daemon.
 */
import { createScheduler, monotonicClock, type Clock, type Scheduler } from '../clock.js';
import type { CheckLog, CheckResultCallback, Probe, ProbeOutcome, ProbeRun, TrackerStats } from './probe.js';

/** A warning about skipped runs at most this often per check. */
const SKIP_LOG_INTERVAL_MS = 60_000;

export interface PeriodicCheckOptions {
  trackerName: string;
  intervalMs: number;
  timeoutMs: number;
  probe: Probe;
  onResult: CheckResultCallback;
  log: CheckLog;
  /** Monotonic time (default: the real clock). */
  clock?: Clock;
  /** The runner's own wake-up (default: a Node timer on `clock`). */
  scheduler?: Scheduler;
}

export class PeriodicCheck {
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private scheduled = false;
  private nextDueMs = 0;
  private busy = false;
  private stopped = false;
  private lastSkipLogMs = Number.NEGATIVE_INFINITY;
  private readonly counters = { runs: 0, successes: 0, failures: 0, timeouts: 0, skipped: 0, maxDurationMs: 0 };
  private lastDetail: string | undefined;
  private lastDurationMs: number | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly options: PeriodicCheckOptions) {
    if (!(options.intervalMs > 0) || !(options.timeoutMs > 0)) throw new Error(`interval and timeout must be positive (${options.trackerName})`);
    this.clock = options.clock ?? monotonicClock;
    this.scheduler = options.scheduler ?? createScheduler(this.clock);
  }

  /** Run now, then every interval. */
  start(): void {
    if (this.scheduled || this.stopped) return;
    this.nextDueMs = this.clock.nowMs();
    this.tick();
  }

  /** Stop scheduling and end a run in progress (its result is ignored). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.scheduler.cancel();
    this.scheduled = false;
    await this.options.probe.close();
    await this.inFlight;
  }

  stats(): TrackerStats {
    return {
      name: this.options.trackerName,
      kind: this.options.probe.kind,
      intervalMs: this.options.intervalMs,
      timeoutMs: this.options.timeoutMs,
      ...this.counters,
      lastDetail: this.lastDetail,
      lastDurationMs: this.lastDurationMs,
    };
  }

  private tick(): void {
    this.scheduled = false;
    if (this.stopped) return;
    const nowMs = this.clock.nowMs();
    if (this.busy) {
      this.counters.skipped++;
      if (nowMs - this.lastSkipLogMs >= SKIP_LOG_INTERVAL_MS) {
        this.lastSkipLogMs = nowMs;
        this.options.log.warn(
          { tracker: this.options.trackerName, skipped: this.counters.skipped, intervalMs: this.options.intervalMs, timeoutMs: this.options.timeoutMs },
          'check still running when the next run was due; run skipped',
        );
      }
    } else {
      this.runOnce(nowMs);
    }
    // Fixed rate; after a stall (a blocked event loop, a suspended VM) resume the phase instead
    // of firing every missed run back to back.
    this.nextDueMs += this.options.intervalMs;
    if (this.nextDueMs <= nowMs) this.nextDueMs = nowMs + this.options.intervalMs;
    this.scheduled = true;
    this.scheduler.schedule(this.nextDueMs, () => this.tick());
  }

  private runOnce(startedMs: number): void {
    this.busy = true;
    this.counters.runs++;
    let run: ProbeRun;
    try {
      run = this.options.probe.run(this.options.timeoutMs);
    } catch (error) {
      // A probe must not throw; if one does, it is a failed check, not a dead daemon.
      const detail = `check failed to start: ${error instanceof Error ? error.message : String(error)}`;
      run = { outcome: Promise.resolve({ ok: false, detail }), settled: Promise.resolve() };
    }
    const outcomeDone = run.outcome.then((outcome) => this.handleOutcome(outcome, this.clock.nowMs() - startedMs));
    this.inFlight = Promise.all([outcomeDone, run.settled])
      .then(() => undefined)
      .catch((error: unknown) => this.options.log.error({ tracker: this.options.trackerName, err: error }, 'check run failed unexpectedly'))
      .finally(() => {
        this.busy = false;
      });
  }

  private handleOutcome(outcome: ProbeOutcome, durationMs: number): void {
    if (this.stopped) return;
    this.lastDetail = outcome.detail;
    this.lastDurationMs = durationMs;
    this.counters.maxDurationMs = Math.max(this.counters.maxDurationMs, durationMs);
    if (outcome.ok) this.counters.successes++;
    else this.counters.failures++;
    if (outcome.timedOut) this.counters.timeouts++;
    try {
      this.options.onResult(outcome.ok, outcome.detail);
    } catch (error) {
      // The daemon's handler failing must not stop the check (the next result still reports).
      this.options.log.error({ tracker: this.options.trackerName, err: error }, 'check result handler threw');
    }
  }
}
