/**
 * global_defs `notify_fifo` and `vrrp_notify_fifo` as keepalived 2.2.7 runs them
 * (docs/protocol.md#notify-fifo): each FIFO gets every transition's line, in order; the same path
 * named twice is written once (keepalived ignores the vrrp one then); a `*_fifo_script` is started
 * once, as the script user, with the FIFO's path as its last argument, once the FIFO exists,
 * and runs until vrrpd stops. A FIFO that cannot be opened is logged and left out: it never stops
 * the protocol. A reload keeps a FIFO (and its reader script) whose settings did not change.
 */
import type { GlobalDefs } from '../config/model.js';
import { lookupUserSpec, runCommand, type RunningCommand } from '../io/command.js';
import { fifoLine, NotifyFifoWriter, type FifoState, type NotifyFifoStats } from '../io/notify-fifo.js';
import { prepareNotifyCommand } from '../io/notify.js';
import type { Logger } from './logging.js';

/** One FIFO as configured: keepalived's `PATH [USER [GROUP]]` and its optional reader script. */
export interface FifoSpec {
  keyword: 'notify_fifo' | 'vrrp_notify_fifo';
  path: string;
  owner?: string;
  script?: string;
}

/** The FIFOs global_defs names, the global one first; a path named twice once (keepalived keeps the global one). */
export function fifoSpecs(globalDefs: GlobalDefs): FifoSpec[] {
  const specs: FifoSpec[] = [];
  for (const [keyword, scriptKey] of [['notify_fifo', 'notify_fifo_script'], ['vrrp_notify_fifo', 'vrrp_notify_fifo_script']] as const) {
    const value = globalDefs[keyword];
    if (value === undefined) continue;
    const [path = '', ...owner] = value.trim().split(/\s+/);
    if (specs.some((s) => s.path === path)) continue;
    const script = globalDefs[scriptKey];
    specs.push({ keyword, path, ...(owner.length > 0 ? { owner: owner.join(' ') } : {}), ...(script !== undefined ? { script } : {}) });
  }
  return specs;
}

export interface NotifyFifosOptions {
  log: Logger;
  /** What scripts run as and how they are checked (global_defs). */
  scriptUser?: string;
  enableScriptSecurity: boolean;
  euid?: number;
  daemonCapabilities?: bigint;
}

interface Open {
  spec: FifoSpec;
  writer: NotifyFifoWriter;
  reader?: RunningCommand;
}

export class NotifyFifos {
  private open: Open[] = [];

  constructor(private readonly options: NotifyFifosOptions) {}

  /** Open what `specs` names and close what it no longer does (at start and at every reload). */
  configure(specs: readonly FifoSpec[]): void {
    const key = (s: FifoSpec): string => JSON.stringify([s.path, s.owner ?? null, s.script ?? null]);
    const wanted = new Set(specs.map(key));
    for (const entry of this.open.filter((e) => !wanted.has(key(e.spec)))) this.closeOne(entry);
    this.open = this.open.filter((e) => wanted.has(key(e.spec)));
    for (const spec of specs) {
      if (this.open.some((e) => key(e.spec) === key(spec))) continue;
      const entry = this.openOne(spec);
      if (entry) this.open.push(entry);
    }
  }

  /** An instance's or a sync group's transition, as the engine's notify command says it. */
  transition(name: string, state: FifoState, priority: number, subject: 'INSTANCE' | 'GROUP' = 'INSTANCE'): void {
    const line = fifoLine(subject, name, state, priority);
    for (const entry of this.open) entry.writer.write(line);
  }

  stats(): NotifyFifoStats[] {
    return this.open.map((e) => e.writer.stats());
  }

  /** Close every FIFO (after the STOP lines were written) and stop the reader scripts. */
  close(): void {
    for (const entry of this.open) this.closeOne(entry);
    this.open = [];
  }

  private openOne(spec: FifoSpec): Open | undefined {
    const { log } = this.options;
    let owner: { uid: number; gid: number } | undefined;
    try {
      if (spec.owner !== undefined) owner = lookupUserSpec(spec.owner);
    } catch (error) {
      log.error({ [spec.keyword]: spec.path, owner: spec.owner }, `${spec.keyword} ${spec.path}: ${(error as Error).message}; not using it`);
      return undefined;
    }
    let writer: NotifyFifoWriter;
    try {
      writer = NotifyFifoWriter.open({
        path: spec.path,
        ...(owner ? { owner } : {}),
        onError: (error) => log.warn({ [spec.keyword]: spec.path, code: error.code }, `writing to ${spec.keyword} ${spec.path} failed: ${error.code ?? error.message}`),
      });
    } catch (error) {
      log.error({ [spec.keyword]: spec.path }, `${(error as Error).message}; transitions are not written there`);
      return undefined;
    }
    log.info({ [spec.keyword]: spec.path, created: writer.created }, `${spec.keyword}: writing transitions to ${spec.path}`);
    // The reader starts once the FIFO exists (keepalived: after creating it), before the first line.
    const reader = spec.script === undefined ? undefined : this.startReader(spec);
    return { spec, writer, ...(reader ? { reader } : {}) };
  }

  private startReader(spec: FifoSpec): RunningCommand | undefined {
    const { log } = this.options;
    const scriptKey = `${spec.keyword}_script`;
    try {
      const prepared = prepareNotifyCommand(spec.script!, {
        ...(this.options.scriptUser !== undefined ? { scriptUser: this.options.scriptUser } : {}),
        enableScriptSecurity: this.options.enableScriptSecurity,
        ...(this.options.euid !== undefined ? { euid: this.options.euid } : {}),
        ...(this.options.daemonCapabilities !== undefined ? { daemonCapabilities: this.options.daemonCapabilities } : {}),
      });
      const argv = [...prepared.argv, spec.path];
      const running = runCommand(prepared.file, argv, {
        timeoutMs: Number.POSITIVE_INFINITY, // keepalived: the reader runs as long as the FIFO
        ...(prepared.runAs.uid !== undefined ? { uid: prepared.runAs.uid } : {}),
        ...(prepared.runAs.gid !== undefined ? { gid: prepared.runAs.gid } : {}),
      });
      void running.result.then((result) => log.info({ [scriptKey]: spec.script, exit_code: result.exitCode, signal: result.signal }, `${scriptKey} terminated`));
      return running;
    } catch (error) {
      log.error({ [scriptKey]: spec.script }, `${scriptKey} refused: ${(error as Error).message}`);
      return undefined;
    }
  }

  private closeOne(entry: Open): void {
    entry.writer.close();
    entry.reader?.terminate();
  }
}
