/**
 * notify_master / notify_backup / notify_fault / notify_stop and the generic `notify`, as keepalived
 * runs them, with two differences that make them usable for real work:
 * - runs for one instance happen strictly in order (one queue per instance): keepalived forks them
 *   and lets them overlap, so a slow notify_master can finish after the notify_backup that
 *   followed it and leave the node configured for the wrong state;
 * - every run has a timeout, after which its process group gets SIGTERM and then SIGKILL.
 * Nothing here ever blocks the protocol: `transition()` only queues. Failures (non-zero exit, a
 * signal, a timeout, a refused script) are reported through `onResult` and counted.
 *
 * On each transition the state's own command runs first, with its own arguments, then the generic
 * `notify` with keepalived's four appended arguments: `INSTANCE`, the instance name,
 * `MASTER|BACKUP|FAULT|STOP`, and the effective priority (docs/protocol.md#notify).
 *
 * Commands go through the same runner and the same preparation as vrrp_script (command.ts).
 */
import { describeRunResult, KILL_GRACE_MS, prepareCommand, runCommand, type PreparedCommand } from './command.js';

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';
/** keepalived's first appended argument of `notify`: an instance's transition, or a sync group's. */
export type NotifySubject = 'INSTANCE' | 'GROUP';

export type NotifyKind = 'notify_master' | 'notify_backup' | 'notify_fault' | 'notify_stop' | 'notify';
export const NOTIFY_KINDS: readonly NotifyKind[] = ['notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify'];
/** An instance's notify commands, as configured (keepalived's keywords). */
export type NotifyCommands = Partial<Record<NotifyKind, string>>;

const KIND_OF_STATE: Record<NotifyState, NotifyKind> = {
  MASTER: 'notify_master',
  BACKUP: 'notify_backup',
  FAULT: 'notify_fault',
  STOP: 'notify_stop',
};

/** keepalived has no limit; a notify that hangs longer than this is stuck, not busy. */
export const DEFAULT_NOTIFY_TIMEOUT_MS = 30_000;
/** Queued runs per instance; a flapping instance with a stuck script drops its oldest ones. */
export const DEFAULT_MAX_QUEUED_PER_INSTANCE = 16;

export interface NotifyResult {
  instance: string;
  state: NotifyState;
  kind: NotifyKind;
  /** The command as configured (without the appended arguments). */
  command: string;
  /** The argv actually run (with the appended arguments for `notify`). */
  argv: string[];
  ok: boolean;
  /** `exit status 0`, `timed out after 30000 ms`, `refused: ...`, `dropped: ...`. */
  detail: string;
  timedOut: boolean;
  /** Never run: the script failed its checks (security, PATH, user) or the queue was full. */
  refused: boolean;
  dropped: boolean;
  durationMs: number;
}

export interface NotifierStats {
  runs: number;
  failures: number;
  timeouts: number;
  refused: number;
  dropped: number;
  running: number;
  queued: number;
}

export interface NotifierOptions {
  /** Called once per run (and per refused or dropped run), in order per instance. */
  onResult: (result: NotifyResult) => void;
  timeoutMs?: number;
  killGraceMs?: number;
  /** global_defs.script_user: notify scripts run as this user when vrrpd is root. */
  scriptUser?: string;
  /**
   * global_defs.enable_script_security: refuse scripts that others could change when they run as
   * root, or as vrrpd's own user while vrrpd holds capabilities.
   */
  enableScriptSecurity?: boolean;
  maxQueuedPerInstance?: number;
  /** The effective uid vrrpd runs as (check-config's --user, tests); the process's own by default. */
  euid?: number;
  /** The capabilities vrrpd holds (effective | permitted); the process's own by default. */
  daemonCapabilities?: bigint;
  pathVariable?: string;
}

export interface Notifier {
  /** Queue the notify commands for an instance that entered `state`. Returns at once. */
  transition(commands: NotifyCommands, instanceName: string, state: NotifyState, effectivePriority: number, subject?: NotifySubject): void;
  /** Resolves when every queued and running command has finished (e.g. notify_stop at shutdown). */
  drain(): Promise<void>;
  stats(): NotifierStats;
}

interface Job {
  instance: string;
  state: NotifyState;
  kind: NotifyKind;
  command: string;
  appended: string[];
}

interface InstanceQueue {
  jobs: Job[];
  running: boolean;
}

/** Prepare one notify command as its run will (the preflight does the same, to report at start). */
export function prepareNotifyCommand(command: string, options: Pick<NotifierOptions, 'scriptUser' | 'enableScriptSecurity' | 'euid' | 'daemonCapabilities' | 'pathVariable'>): PreparedCommand {
  return prepareCommand({
    command,
    user: options.scriptUser,
    enableScriptSecurity: options.enableScriptSecurity ?? false,
    ...(options.euid !== undefined ? { euid: options.euid } : {}),
    ...(options.daemonCapabilities !== undefined ? { daemonCapabilities: options.daemonCapabilities } : {}),
    ...(options.pathVariable !== undefined ? { pathVariable: options.pathVariable } : {}),
  });
}

export function createNotifier(options: NotifierOptions): Notifier {
  const timeoutMs = options.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS;
  const killGraceMs = options.killGraceMs ?? KILL_GRACE_MS;
  const maxQueued = options.maxQueuedPerInstance ?? DEFAULT_MAX_QUEUED_PER_INSTANCE;
  const queues = new Map<string, InstanceQueue>();
  const counters = { runs: 0, failures: 0, timeouts: 0, refused: 0, dropped: 0 };
  let drainWaiters: (() => void)[] = [];

  const report = (result: NotifyResult): void => {
    try {
      options.onResult(result);
    } catch {
      // A throwing callback must not stop the queue; the daemon's logger is the callback.
    }
  };

  const baseResult = (job: Job, argv: string[]): Omit<NotifyResult, 'ok' | 'detail' | 'timedOut' | 'refused' | 'dropped' | 'durationMs'> => ({
    instance: job.instance, state: job.state, kind: job.kind, command: job.command, argv,
  });

  const idle = (): boolean => [...queues.values()].every((q) => !q.running && q.jobs.length === 0);

  const settleDrainIfIdle = (): void => {
    if (!idle()) return;
    const waiters = drainWaiters;
    drainWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const execute = async (job: Job): Promise<void> => {
    let prepared: PreparedCommand;
    try {
      prepared = prepareNotifyCommand(job.command, options);
    } catch (error) {
      counters.refused++;
      counters.failures++;
      const message = error instanceof Error ? error.message : String(error);
      report({ ...baseResult(job, []), ok: false, detail: `refused: ${message}`, timedOut: false, refused: true, dropped: false, durationMs: 0 });
      return;
    }
    const argv = [...prepared.argv, ...job.appended];
    counters.runs++;
    const running = runCommand(prepared.file, argv, {
      timeoutMs,
      killGraceMs,
      ...(prepared.runAs.uid !== undefined ? { uid: prepared.runAs.uid } : {}),
      ...(prepared.runAs.gid !== undefined ? { gid: prepared.runAs.gid } : {}),
    });
    const result = await running.result;
    if (!result.ok) counters.failures++;
    if (result.timedOut) counters.timeouts++;
    report({
      ...baseResult(job, argv), ok: result.ok, detail: describeRunResult(result, timeoutMs), timedOut: result.timedOut,
      refused: false, dropped: false, durationMs: result.durationMs,
    });
    // The next notify of this instance starts only when this one (and its group) is gone.
    await running.exited;
  };

  const pump = (queue: InstanceQueue): void => {
    if (queue.running) return;
    const job = queue.jobs.shift();
    if (!job) {
      settleDrainIfIdle();
      return;
    }
    queue.running = true;
    void execute(job).finally(() => {
      queue.running = false;
      pump(queue);
    });
  };

  return {
    transition(commands, instanceName, state, effectivePriority, subject = 'INSTANCE') {
      const jobs: Job[] = [];
      const kind = KIND_OF_STATE[state];
      const own = commands[kind];
      if (own !== undefined) jobs.push({ instance: instanceName, state, kind, command: own, appended: [] });
      if (commands.notify !== undefined) {
        // A group's priority is always 0 in keepalived's `notify GROUP NAME STATE 0`.
        jobs.push({ instance: instanceName, state, kind: 'notify', command: commands.notify, appended: [subject, instanceName, state, String(effectivePriority)] });
      }
      if (jobs.length === 0) return;
      // A group runs its notifies in order like an instance, in a queue of its own (names may be equal).
      const queueKey = subject === 'GROUP' ? `group:${instanceName}` : instanceName;
      let queue = queues.get(queueKey);
      if (!queue) {
        queue = { jobs: [], running: false };
        queues.set(queueKey, queue);
      }
      queue.jobs.push(...jobs);
      while (queue.jobs.length > maxQueued) {
        // The oldest waiting run is the least relevant: the instance has moved on since.
        const dropped = queue.jobs.shift()!;
        counters.dropped++;
        report({
          ...baseResult(dropped, []), ok: false, detail: `dropped: more than ${maxQueued} notify runs waiting for ${instanceName}`,
          timedOut: false, refused: false, dropped: true, durationMs: 0,
        });
      }
      pump(queue);
    },
    drain() {
      if (idle()) return Promise.resolve();
      return new Promise<void>((resolve) => drainWaiters.push(resolve));
    },
    stats() {
      const all = [...queues.values()];
      return {
        ...counters,
        running: all.filter((q) => q.running).length,
        queued: all.reduce((sum, q) => sum + q.jobs.length, 0),
      };
    },
  };
}
