/**
 * Health checks: every vrrp_script, whether an exec'd script (script.ts) or one of the built-in
 * checks below, runs under one periodic runner with keepalived's semantics:
 * - it runs at once, then every `interval` (fixed rate, not "interval after the last one ended");
 * - a run still going when the next is due makes that next run be skipped and counted, never
 *   overlapped (a hung check must not pile up processes or sockets);
 * - each run ends in success or failure within `timeout`; rise/fall filtering (core/tracker.ts)
 *   turns results into a status, and only changes are reported to the daemon.
 *
 * The built-in checks run inside the daemon: no fork/exec, so intervals of 100-200 ms cost next
 * to nothing (test/bench/checks.ts measures it) where `killall -0` every 100 ms would not.
 * - http: GET with a keep-alive agent (one TCP+TLS connection reused across runs, so a 100 ms
 *   check does not pay a TLS handshake each time). TLS files are re-read when they change
 *   (certificate rotation) and their absence is a failed check, not a daemon that will not start:
 *   on a fresh node kubeadm writes /etc/kubernetes/pki after vrrpd is up.
 * - tcp: a connect that completes within the timeout.
 * - process: a process of that name exists, found by reading /proc/PID/comm (and argv[0] for names
 *   longer than the kernel's 15-character comm), so it works without root, where `killall -0`
 *   gets EPERM on root's processes. Zombies do not count. The last match is re-checked first, so a
 *   healthy check reads two small files, not all of /proc.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { CheckKind, HttpCheckSpec, ProcessCheckSpec, TcpCheckSpec, VrrpScript, VrrpdConfig } from '../config/model.js';
import { prepareScript, ScriptSetupError } from './script.js';

// ---------------------------------------------------------------------------------------------
// The contract between the runner and a check
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// The periodic runner
// ---------------------------------------------------------------------------------------------

/** A warning about skipped runs at most this often per check. */
const SKIP_LOG_INTERVAL_MS = 60_000;

export interface PeriodicCheckOptions {
  trackerName: string;
  intervalMs: number;
  timeoutMs: number;
  probe: Probe;
  onResult: CheckResultCallback;
  log: CheckLog;
}

export class PeriodicCheck {
  private timer: NodeJS.Timeout | undefined;
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
  }

  /** Run now, then every interval. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.nextDueMs = performance.now();
    this.tick();
  }

  /** Stop scheduling and end a run in progress (its result is ignored). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
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
    this.timer = undefined;
    if (this.stopped) return;
    const nowMs = performance.now();
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
    this.timer = setTimeout(() => this.tick(), Math.max(0, this.nextDueMs - performance.now()));
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
    const outcomeDone = run.outcome.then((outcome) => this.handleOutcome(outcome, performance.now() - startedMs));
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

// ---------------------------------------------------------------------------------------------
// http
// ---------------------------------------------------------------------------------------------

/** Response bodies are read (keep-alive needs it) but not kept; a bigger one ends the connection. */
const MAX_HTTP_BODY_BYTES = 64 * 1024;
/** How often TLS files are stat'ed for changes (certificate rotation). */
const TLS_FILE_RECHECK_MS = 10_000;

export class HttpProbe implements Probe {
  readonly kind = 'http' as const;
  private readonly url: URL;
  private readonly https: boolean;
  private agent: HttpAgent | undefined;
  private filesStamp = '';
  private lastFileCheckMs = Number.NEGATIVE_INFINITY;
  private current: ClientRequest | undefined;
  /** Connections opened (for tests and stats: keep-alive should keep this at 1). */
  connectionsOpened = 0;

  constructor(private readonly spec: Omit<HttpCheckSpec, 'kind'>) {
    this.url = new URL(spec.url);
    this.https = this.url.protocol === 'https:';
  }

  run(timeoutMs: number): ProbeRun {
    const agent = this.ensureAgent();
    if ('error' in agent) return { outcome: Promise.resolve({ ok: false, detail: agent.error }), settled: Promise.resolve() };
    // Not AbortSignal.timeout: its timer cannot be cancelled, so every run would wake the event
    // loop a second time at the deadline, long after the answer came.
    const controller = new AbortController();
    const signal = controller.signal;
    const deadline = setTimeout(() => controller.abort(), timeoutMs);
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve)).then(() => clearTimeout(deadline));
    const outcome = new Promise<ProbeOutcome>((resolve) => {
      const attempt = (retry: boolean): void => {
        const request = (this.https ? httpsRequest : httpRequest)(this.url, {
          method: 'GET',
          agent: agent.agent,
          signal,
          headers: { 'user-agent': 'vrrpd-check', accept: '*/*' },
        });
        this.current = request;
        let answered = false;
        request.on('socket', (socket) => {
          // A fresh socket has no remote address yet; count connections, not requests.
          if (!request.reusedSocket) {
            this.connectionsOpened++;
            socket.setNoDelay(true);
          }
        });
        request.on('response', (response: IncomingMessage) => {
          answered = true;
          const status = response.statusCode ?? 0;
          const ok = this.spec.expected_status.includes(status);
          resolve({ ok, detail: `HTTP ${status}${ok ? '' : ` (expected ${this.spec.expected_status.join(' or ')})`}` });
          let bytes = 0;
          response.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes > MAX_HTTP_BODY_BYTES) response.destroy();
          });
          response.on('error', () => undefined);
        });
        request.on('error', (error: NodeJS.ErrnoException) => {
          if (answered) return;
          // A kept-alive connection the server closed just as we reused it: one fresh retry,
          // within the same deadline, instead of a false failure.
          if (retry && request.reusedSocket && !signal.aborted && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
            request.removeAllListeners('close');
            attempt(false);
            return;
          }
          resolve({ ok: false, detail: signal.aborted ? `timed out after ${timeoutMs} ms` : describeError(error), timedOut: signal.aborted });
        });
        request.on('close', () => {
          if (this.current === request) this.current = undefined;
          if (!answered) resolve({ ok: false, detail: signal.aborted ? `timed out after ${timeoutMs} ms` : 'connection closed', timedOut: signal.aborted });
          settle();
        });
        request.end();
      };
      attempt(true);
    });
    return { outcome, settled };
  }

  async close(): Promise<void> {
    this.current?.destroy();
    this.agent?.destroy();
    this.agent = undefined;
  }

  /** The agent for the current TLS files, rebuilt when they changed; or why there is none. */
  private ensureAgent(): { agent: HttpAgent } | { error: string } {
    const nowMs = performance.now();
    if (this.agent && nowMs - this.lastFileCheckMs < TLS_FILE_RECHECK_MS) return { agent: this.agent };
    this.lastFileCheckMs = nowMs;
    const files = (['ca_file', 'cert_file', 'key_file'] as const).filter((key) => this.spec[key] !== undefined);
    let stamp = '';
    for (const key of files) {
      try {
        const info = statSync(this.spec[key]!);
        stamp += `${info.ino}:${info.size}:${info.mtimeMs};`;
      } catch (error) {
        this.lastFileCheckMs = Number.NEGATIVE_INFINITY; // look again next run
        return { error: `cannot read ${key} ${this.spec[key]}: ${describeError(error)}` };
      }
    }
    if (this.agent && stamp === this.filesStamp) return { agent: this.agent };
    const common = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: 1, maxFreeSockets: 1, scheduling: 'lifo' as const };
    let agent: HttpAgent;
    if (this.https) {
      const tls: Record<string, unknown> = { rejectUnauthorized: !this.spec.insecure };
      try {
        if (this.spec.ca_file !== undefined) tls['ca'] = readFileSync(this.spec.ca_file);
        if (this.spec.cert_file !== undefined) tls['cert'] = readFileSync(this.spec.cert_file);
        if (this.spec.key_file !== undefined) tls['key'] = readFileSync(this.spec.key_file);
      } catch (error) {
        this.lastFileCheckMs = Number.NEGATIVE_INFINITY;
        return { error: `cannot read TLS files: ${describeError(error)}` };
      }
      if (this.spec.server_name !== undefined) tls['servername'] = this.spec.server_name;
      agent = new HttpsAgent({ ...common, ...tls });
    } else {
      agent = new HttpAgent(common);
    }
    this.agent?.destroy();
    this.agent = agent;
    this.filesStamp = stamp;
    return { agent };
  }
}

function describeError(error: unknown): string {
  const e = error as NodeJS.ErrnoException | undefined;
  if (e?.code && e.message && !e.message.includes(e.code)) return `${e.code}: ${e.message}`;
  return e?.message ?? String(error);
}

// ---------------------------------------------------------------------------------------------
// tcp
// ---------------------------------------------------------------------------------------------

export class TcpProbe implements Probe {
  readonly kind = 'tcp' as const;
  private current: import('node:net').Socket | undefined;

  constructor(private readonly spec: Omit<TcpCheckSpec, 'kind'>) {}

  run(timeoutMs: number): ProbeRun {
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const outcome = new Promise<ProbeOutcome>((resolve) => {
      const socket = netConnect({ host: this.spec.host, port: this.spec.port });
      this.current = socket;
      const timer = setTimeout(() => {
        resolve({ ok: false, detail: `timed out after ${timeoutMs} ms`, timedOut: true });
        socket.destroy();
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve({ ok: true, detail: `connected to ${this.spec.host}:${this.spec.port}` });
        socket.destroy();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        resolve({ ok: false, detail: describeError(error) });
      });
      socket.once('close', () => {
        clearTimeout(timer);
        if (this.current === socket) this.current = undefined;
        resolve({ ok: false, detail: 'connection closed' });
        settle();
      });
    });
    return { outcome, settled };
  }

  async close(): Promise<void> {
    this.current?.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// process
// ---------------------------------------------------------------------------------------------

/** TASK_COMM_LEN - 1: the kernel keeps this many bytes of a process name in /proc/PID/comm. */
const COMM_BYTES = 15;

export class ProcessProbe implements Probe {
  readonly kind = 'process' as const;
  private readonly name: Buffer;
  private readonly comm: Buffer;
  private lastPid: string | undefined;
  /** Full /proc scans done (the cached pid spares most of them). */
  scans = 0;

  constructor(
    spec: Omit<ProcessCheckSpec, 'kind'>,
    private readonly procDir = '/proc',
  ) {
    this.name = Buffer.from(spec.name, 'utf8');
    this.comm = this.name.subarray(0, COMM_BYTES);
  }

  run(): ProbeRun {
    const pid = this.find();
    const outcome: ProbeOutcome = pid !== undefined
      ? { ok: true, detail: `${this.name.toString()} running as pid ${pid}` }
      : { ok: false, detail: `no process named ${this.name.toString()}` };
    return { outcome: Promise.resolve(outcome), settled: Promise.resolve() };
  }

  async close(): Promise<void> {}

  /** A live pid whose name matches, or undefined. Synchronous: a few µs per process. */
  find(): string | undefined {
    if (this.lastPid !== undefined && this.matches(this.lastPid)) return this.lastPid;
    this.lastPid = undefined;
    this.scans++;
    let entries: string[];
    try {
      entries = readdirSync(this.procDir);
    } catch {
      return undefined;
    }
    for (const entry of entries) {
      const first = entry.charCodeAt(0);
      if (first < 48 || first > 57) continue; // not a pid
      if (this.matches(entry)) {
        this.lastPid = entry;
        return entry;
      }
    }
    return undefined;
  }

  private matches(pid: string): boolean {
    try {
      const comm = readFileSync(`${this.procDir}/${pid}/comm`);
      const end = comm.length > 0 && comm[comm.length - 1] === 0x0a ? comm.length - 1 : comm.length;
      if (!this.comm.equals(comm.subarray(0, end))) return false;
      if (this.name.length > COMM_BYTES) {
        // comm is cut at 15 bytes: the full name must be argv[0]'s basename (killall's rule).
        const cmdline = readFileSync(`${this.procDir}/${pid}/cmdline`);
        const nul = cmdline.indexOf(0);
        const argv0 = cmdline.subarray(0, nul < 0 ? cmdline.length : nul);
        const slash = argv0.lastIndexOf(0x2f);
        if (!this.name.equals(argv0.subarray(slash + 1))) return false;
      }
      // A zombie has exited; it only waits for its parent. It is not a running apiserver.
      const stat = readFileSync(`${this.procDir}/${pid}/stat`, 'latin1');
      const state = stat.charAt(stat.lastIndexOf(')') + 2);
      return state !== 'Z' && state !== 'X' && state !== 'x';
    } catch {
      return false; // gone between readdir and read
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The daemon's entry point
// ---------------------------------------------------------------------------------------------

/** Some vrrp_script cannot run as configured; `problems` has one message per script. */
export class TrackerSetupError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} vrrp_script problems:\n  ${problems.join('\n  ')}`);
    this.name = 'TrackerSetupError';
  }
}

export interface StartTrackersOptions {
  /** SIGTERM -> SIGKILL delay for timed-out scripts (tests shorten it). */
  killGraceMs?: number;
  /** The effective uid scripts are judged by (tests); the process's own by default. */
  euid?: number;
  pathVariable?: string;
}

/** Build the probe for one vrrp_script; throws ScriptSetupError for a script that cannot run. */
export function createProbe(script: VrrpScript, config: { global_defs: Pick<VrrpdConfig['global_defs'], 'script_user' | 'enable_script_security'> }, log: CheckLog, options: StartTrackersOptions = {}): Probe {
  const check = script.check;
  switch (check.kind) {
    case 'script': {
      const prepared = prepareScript({
        name: script.name,
        command: check.script,
        user: script.user ?? config.global_defs.script_user,
        enableScriptSecurity: config.global_defs.enable_script_security,
        ...(options.killGraceMs !== undefined ? { killGraceMs: options.killGraceMs } : {}),
        ...(options.euid !== undefined ? { euid: options.euid } : {}),
        ...(options.pathVariable !== undefined ? { pathVariable: options.pathVariable } : {}),
      });
      if (prepared.warning) log.warn({ script: script.name }, `vrrp_script ${script.name} ${prepared.warning}`);
      return prepared.probe;
    }
    case 'http':
      return new HttpProbe(check);
    case 'tcp':
      return new TcpProbe(check);
    case 'process':
      return new ProcessProbe(check);
  }
}

/**
 * Every vrrp_script that some instance tracks, prepared as its probe would be (command syntax, PATH,
 * user, script security), without running anything. Throws TrackerSetupError naming every script
 * that cannot run; `run` and `check-config` call it before anything on the host is touched.
 */
export function checkProbes(config: VrrpdConfig, log: CheckLog, options: StartTrackersOptions = {}): void {
  const tracked = new Set(Object.values(config.vrrp_instance).flatMap((instance) => instance.track_script.map((ref) => ref.name)));
  const problems: string[] = [];
  for (const script of Object.values(config.vrrp_script)) {
    if (!tracked.has(script.name)) continue;
    try {
      void createProbe(script, config, log, options).close();
    } catch (error) {
      if (!(error instanceof ScriptSetupError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) throw new TrackerSetupError(problems);
}
