/**
 * Start the periodic checks a config plans, as the real host does (planChecks, createProbe,
 * PeriodicCheck), reporting every run's raw result. Rise/fall is the engine's, tested there.
 */
import type { VrrpdConfig } from '../../src/config/model.js';
import { createProbe, type PrepareChecksOptions, type ProbePlan } from '../../src/daemon/checks.js';
import { planChecks } from '../../src/daemon/plan.js';
import { PeriodicCheck } from '../../src/io/checks/periodic.js';
import type { CheckLog, TrackerStats } from '../../src/io/checks/probe.js';

export interface RunningChecks {
  readonly names: string[];
  stats(): TrackerStats[];
  stop(): Promise<void>;
}

export function startChecks(
  config: VrrpdConfig,
  onResult: (name: string, ok: boolean, detail: string) => void,
  log: CheckLog,
  options: PrepareChecksOptions = {},
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
