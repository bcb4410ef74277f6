/**
 * pino JSON logs to stdout (journald takes them as they are), one child logger per instance, and a
 * rate limiter so that a flood of bad packets costs a counter increment, not a log line each.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { toIoError } from '../io/errors.js';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function createLogger(level: LevelWithSilent, destination: NodeJS.WritableStream = process.stdout): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/**
 * At most one line per key per window: the first occurrence logs at once, later ones are counted
 * and reported with the next line for that key (`suppressed`).
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 256,
  ) {}

  /** Returns the number of suppressed events to report with this line, or undefined to stay quiet. */
  admit(key: string, nowMs: number): number | undefined {
    const entry = this.last.get(key);
    if (entry && nowMs - entry.atMs < this.windowMs) {
      entry.suppressed++;
      return undefined;
    }
    if (!entry && this.last.size >= this.maxKeys) this.last.clear(); // bounded memory under any input
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { atMs: nowMs, suppressed: 0 });
    return suppressed;
  }
}

/**
 * A failure as one log line's fields: the errno-style code and the message, never a stack (the
 * operation and the instance or interface in the line say where; a stack per retry buried the
 * journal).
 */
export function failureFields(error: unknown): { code: string; error: string } {
  return { code: toIoError('', error).code, error: error instanceof Error ? error.message : String(error) };
}

/** Repeating failures (a retry every second) are logged at most once per this window. */
export const FAILURE_LOG_WINDOW_MS = 60_000;

/**
 * Failures that repeat: the first is logged at once, one line without a stack; the same failure
 * (same key) again within FAILURE_LOG_WINDOW_MS is only counted, and the count goes with the next
 * line (`suppressed`).
 */
export class FailureLog {
  private readonly limiter = new RateLimitedLog(FAILURE_LOG_WINDOW_MS, 4096);

  constructor(private readonly nowMs: () => number) {}

  report(log: Logger, level: 'warn' | 'error', key: string, fields: Record<string, unknown>, error: unknown, message: string): void {
    const suppressed = this.limiter.admit(key, this.nowMs());
    if (suppressed === undefined) return;
    const failure = failureFields(error);
    log[level]({ ...fields, ...failure, suppressed }, `${message}: ${failure.code}`);
  }
}
