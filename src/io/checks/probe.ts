/**
 * The contract between the periodic runner (periodic.ts) and a check: a probe runs once and says
 * ok or not within its timeout, and releases what it used. The kinds are a vrrp_script's command
 * (script.ts) and the built-in checks that run inside the daemon (http.ts, tcp.ts, process.ts).
 */

/** What a vrrp_script checks. */
export type CheckKind = 'script' | 'http' | 'tcp' | 'process';

export interface ProbeOutcome {
  ok: boolean;
  /** One line for logs: `HTTP 200`, `exit status 1: ...`, `connect ECONNREFUSED`. */
  detail: string;
  timedOut?: boolean;
}

export interface ProbeRun {
  /** Resolves with the verdict, at the latest at the timeout. Never rejects. */
  outcome: Promise<ProbeOutcome>;
  /** Resolves when everything the run used is released; the next run waits for it. Never rejects. */
  settled: Promise<void>;
}

export interface Probe {
  readonly kind: CheckKind;
  run(timeoutMs: number): ProbeRun;
  /** Stop what is running and release everything (sockets, child processes). */
  close(): Promise<void>;
}

/** The log methods used here; a pino Logger fits. */
export interface CheckLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Every run's raw result; rise/fall and what it means for the instances are the engine's. */
export type CheckResultCallback = (ok: boolean, detail: string) => void;

export interface TrackerStats {
  /** `script:NAME`, as the core and the status output name it. */
  name: string;
  kind: CheckKind;
  intervalMs: number;
  timeoutMs: number;
  runs: number;
  successes: number;
  failures: number;
  timeouts: number;
  /** Runs not started because the previous one was still going. */
  skipped: number;
  lastDetail: string | undefined;
  lastDurationMs: number | undefined;
  maxDurationMs: number;
}

/** An error as the one-line detail of a failed run. */
export function describeError(error: unknown): string {
  const e = error as NodeJS.ErrnoException | undefined;
  if (e?.code && e.message && !e.message.includes(e.code)) return `${e.code}: ${e.message}`;
  return e?.message ?? String(error);
}
