/**
 * Start the periodic checks a config plans, as the real host does (planChecks, createProbe,
 * PeriodicCheck), reporting every run's raw result. Rise/fall is the engine's, tested there.
 */
import type { VrrpdConfig } from '../../src/config/model.js';
import { planChecks, type ProbePlan } from '../../src/daemon/plan.js';
import { createProbe, PeriodicCheck, type CheckLog, type StartTrackersOptions, type TrackerStats } from '../../src/io/checks.js';

export interface RunningChecks {
  readonly names: string[];
  stats(): TrackerStats[];
  stop(): Promise<void>;
}

export function startChecks(
  config: VrrpdConfig,
  onResult: (name: string, ok: boolean, detail: string) => void,
  log: CheckLog,
  options: StartTrackersOptions = {},
): RunningChecks {
  const checks = planChecks(config).map((plan) => {
    const probe = plan.probe as ProbePlan;
    return new PeriodicCheck({
      trackerName: plan.name,
      intervalMs: plan.intervalMs,
      timeoutMs: plan.timeoutMs,
      probe: createProbe(probe.script, probe, log, options),
      onResult: (ok, detail) => onResult(plan.name, ok, detail),
      log,
    });
  });
  for (const check of checks) check.start();
  return {
    names: checks.map((check) => check.stats().name),
    stats: () => checks.map((check) => check.stats()),
    stop: () => Promise.all(checks.map((check) => check.stop())).then(() => undefined),
  };
}
