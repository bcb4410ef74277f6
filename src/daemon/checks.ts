/**
 * The health checks of a configuration, from the model to io: every vrrp_script that some instance
 * tracks is prepared once (a script split, found in PATH, its user resolved, its security checked;
 * a built-in check built from its options) by planTrackers, which the preflight runs for `run` and
 * `check-config` alike; the host then starts exactly those probes under the periodic runner.
 * io knows nothing of the config model: this is where model becomes plain options.
 */
import type { VrrpScript, VrrpdConfig } from '../config/model.js';
import { ScriptSetupError } from '../io/command.js';
import { HttpProbe } from '../io/checks/http.js';
import { PeriodicCheck } from '../io/checks/periodic.js';
import { ProcessProbe } from '../io/checks/process.js';
import type { CheckLog, Probe } from '../io/checks/probe.js';
import { prepareScript } from '../io/checks/script.js';
import { TcpProbe } from '../io/checks/tcp.js';
import type { CheckPlan } from './engine.js';
import type { CheckHandle } from './host.js';

export type { CheckLog, Probe };

/** The global_defs that change how a script runs. */
export type GlobalDefsForChecks = Pick<VrrpdConfig['global_defs'], 'script_user' | 'enable_script_security'>;

/** What a check plan carries for the host: the script as configured and the global_defs that change how it runs. */
export interface ProbePlan {
  script: VrrpScript;
  global_defs: GlobalDefsForChecks;
}

/** Some vrrp_script cannot run as configured; `problems` has one message per script. */
export class TrackerSetupError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} vrrp_script problems:\n  ${problems.join('\n  ')}`);
    this.name = 'TrackerSetupError';
  }
}

export interface PrepareChecksOptions {
  /** SIGTERM -> SIGKILL delay for timed-out scripts (tests shorten it). */
  killGraceMs?: number;
  /** The effective uid scripts are judged by (check-config's --user, tests); the process's own by default. */
  euid?: number;
  /** The capabilities vrrpd holds, for script security; the process's own by default. */
  daemonCapabilities?: bigint;
  pathVariable?: string;
}

/**
 * The checks a config would run, each prepared (a script split, found in PATH, its user resolved,
 * its security checked) and none started: what `run` and `check-config` both judge a config by.
 */
export interface TrackerPlan {
  readonly checks: readonly { script: VrrpScript; probe: Probe }[];
  /** vrrp_script entries no instance tracks: keepalived does not run them, neither does vrrpd. */
  readonly untracked: readonly string[];
  /** Scripts that cannot run as configured; a plan with problems is never started. */
  readonly problems: readonly ScriptSetupError[];
  /** Scripts that run but may not do what is meant, one message each (`vrrp_script NAME ...`). */
  readonly warnings: readonly { script: string; message: string }[];
}

/** Build the probe for one vrrp_script; throws ScriptSetupError for a script that cannot run. */
export function createProbe(script: VrrpScript, config: { global_defs: GlobalDefsForChecks }, log: CheckLog, options: PrepareChecksOptions = {}): Probe {
  const { probe, warnings } = prepareProbe(script, config, options);
  for (const warning of warnings) log.warn({ script: script.name }, `vrrp_script ${script.name} ${warning}`);
  return probe;
}

function prepareProbe(script: VrrpScript, config: { global_defs: GlobalDefsForChecks }, options: PrepareChecksOptions): { probe: Probe; warnings: string[] } {
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
        ...(options.daemonCapabilities !== undefined ? { daemonCapabilities: options.daemonCapabilities } : {}),
        ...(options.pathVariable !== undefined ? { pathVariable: options.pathVariable } : {}),
      });
      return { probe: prepared.probe, warnings: prepared.warnings };
    }
    case 'http':
      return { probe: new HttpProbe(check), warnings: [] };
    case 'tcp':
      return { probe: new TcpProbe(check), warnings: [] };
    case 'process':
      return { probe: new ProcessProbe(check), warnings: [] };
  }
}

/** Prepare every vrrp_script that some instance tracks; starts and logs nothing. */
export function planTrackers(config: VrrpdConfig, options: PrepareChecksOptions = {}): TrackerPlan {
  const tracked = new Set(Object.values(config.vrrp_instance).flatMap((instance) => instance.track_script.map((ref) => ref.name)));
  const checks: { script: VrrpScript; probe: Probe }[] = [];
  const untracked: string[] = [];
  const problems: ScriptSetupError[] = [];
  const warnings: { script: string; message: string }[] = [];
  for (const script of Object.values(config.vrrp_script)) {
    if (!tracked.has(script.name)) {
      untracked.push(script.name);
      continue;
    }
    try {
      const prepared = prepareProbe(script, config, options);
      checks.push({ script, probe: prepared.probe });
      for (const warning of prepared.warnings) warnings.push({ script: script.name, message: `vrrp_script ${script.name} ${warning}` });
    } catch (error) {
      if (!(error instanceof ScriptSetupError)) throw error;
      problems.push(error);
    }
  }
  return { checks, untracked, problems, warnings };
}

/**
 * Start one planned check under the periodic runner with the probe the preflight prepared (or, if
 * there is none, one prepared now from the plan); every result goes to onResult.
 */
export function startPeriodicCheck(check: CheckPlan, prepared: Probe | undefined, onResult: (ok: boolean, detail: string) => void, log: CheckLog): CheckHandle {
  const plan = check.probe as ProbePlan;
  const periodic = new PeriodicCheck({
    trackerName: check.name,
    intervalMs: check.intervalMs,
    timeoutMs: check.timeoutMs,
    probe: prepared ?? createProbe(plan.script, plan, log),
    onResult,
    log,
  });
  periodic.start();
  return { stats: () => periodic.stats(), stop: () => periodic.stop() };
}
