/**
 * Time windows of the interop scenarios, each derived from the protocol (RFC 3768 6.1 via
 * src/core/timers.ts) and the seed's configuration, plus one stated margin. Nothing here was tuned
 * until green: a window that fails means the implementation is slower than the protocol allows.
 */
import { masterDownIntervalMs, skewTimeMs } from '../../src/core/timers.js';

/** The seed's advert_int (default, 1 s). */
export const ADVERT_INT_MS = 1_000;
/** The seed's vrrp_script interval. */
export const SCRIPT_INTERVAL_MS = 2_000;
/** The seed's vrrp_script weight. */
export const SCRIPT_WEIGHT = -20;

/**
 * Scheduling on two shared CI cores, a netlink round trip for the VIP and a fork/exec of the check
 * script: the same margin the netns daemon tests use. Lower bounds allow 50 ms for the
 * millisecond rounding of both daemons' timers and the capture's timestamps.
 */
export const MARGIN_MS = 300;
export const EARLY_MS = 50;

/** The bound for a graceful (SIGTERM) handover in either direction. */
export const GRACEFUL_HANDOVER_LIMIT_MS = 1_500;

export { masterDownIntervalMs, skewTimeMs };

/** Master_Down_Interval at the seed's advert_int. */
export function masterDownMs(priority: number): number {
  return masterDownIntervalMs(ADVERT_INT_MS / 1000, priority);
}

/** Print a measured figure so that it shows in the test output (and in CI logs). */
export function report(scenario: string, what: string, measuredMs: number, bound: string): void {
  console.log(`[interop] ${scenario}: ${what} ${Math.round(measuredMs)} ms (${bound})`);
}
