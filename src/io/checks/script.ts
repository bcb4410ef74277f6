/**
 * A vrrp_script's command as a probe for the periodic runner: run through the command runner
 * (../command.ts), exit 0 is success, the timeout kills the whole process group.
 */
import { describeRunResult, KILL_GRACE_MS, prepareCommand, runCommand, ScriptSetupError, type PrepareCommandOptions, type RunAs, type RunningCommand } from '../command.js';
import type { Probe, ProbeOutcome, ProbeRun } from './probe.js';

export interface ScriptProbeOptions extends Omit<PrepareCommandOptions, 'checksProcess'> {
  /** vrrp_script name, for messages. */
  name: string;
  killGraceMs?: number;
}

export interface PreparedScript {
  probe: Probe;
  file: string;
  argv: string[];
  runAs: RunAs;
  /** See PreparedCommand.warnings. */
  warnings: string[];
}

/**
 * Check a vrrp_script once, at start, as keepalived does at load. Throws ScriptSetupError with a
 * message naming the script and the problem.
 */
export function prepareScript(options: ScriptProbeOptions): PreparedScript {
  const context = `vrrp_script ${options.name} ('${options.command}')`;
  try {
    const prepared = prepareCommand({ ...options, checksProcess: true });
    const probe = new ScriptProbe(prepared.file, prepared.argv, prepared.runAs, options.killGraceMs ?? KILL_GRACE_MS);
    return { probe, ...prepared };
  } catch (error) {
    if (error instanceof ScriptSetupError) throw new ScriptSetupError(`${context}: ${error.message}`, error.code);
    throw error;
  }
}

class ScriptProbe implements Probe {
  readonly kind = 'script' as const;
  private running: RunningCommand | undefined;

  constructor(
    private readonly file: string,
    private readonly argv: string[],
    private readonly runAs: RunAs,
    private readonly killGraceMs: number,
  ) {}

  run(timeoutMs: number): ProbeRun {
    const command = runCommand(this.file, this.argv, {
      timeoutMs,
      killGraceMs: this.killGraceMs,
      ...(this.runAs.uid !== undefined ? { uid: this.runAs.uid } : {}),
      ...(this.runAs.gid !== undefined ? { gid: this.runAs.gid } : {}),
    });
    this.running = command;
    const outcome = command.result.then((result): ProbeOutcome => ({ ok: result.ok, detail: describeRunResult(result, timeoutMs), timedOut: result.timedOut }));
    const settled = command.exited.then(() => {
      if (this.running === command) this.running = undefined;
    });
    return { outcome, settled };
  }

  async close(): Promise<void> {
    const running = this.running;
    if (!running) return;
    running.terminate();
    await running.exited;
  }
}
