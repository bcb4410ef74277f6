/**
 * Time windows of the interop scenarios, each derived from the protocol (RFC 3768 6.1 via
 * src/core/timers.ts) and the seed's configuration, plus one stated margin. Nothing here was tuned
 * until green: a window that fails means the implementation is slower than the protocol allows.
 */
import { masterDownIntervalMs, masterDownIntervalV3Ms, skewTimeMs, skewTimeV3Ms } from '../../src/core/timers.js';

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

/** VRRPv3 scenarios: advert_int 0.1 s, ten adverts a second (issue 14). */
export const V3_ADVERT_INT_CS = 10;
export const V3_ADVERT_INT_MS = V3_ADVERT_INT_CS * 10;

/**
 * The v3 margin: one and a half advert intervals for scheduling on two shared cores (both daemons'
 * timers, a netlink round trip, the capture). It must stay below two intervals: a backup that
 * ignored a goodbye would take over Master_Down after the master's last periodic advert, i.e.
 * at least 2 x advert_int + Skew_Time after the goodbye, and a window of Skew_Time + this margin
 * must tell the two apart. Lower bounds allow 2 ms (both events are timestamped by the same
 * capture; keepalived's timers and vrrpd's v3 timers are exact to well under a millisecond).
 */
export const V3_MARGIN_MS = 150;
export const V3_EARLY_MS = 2;

/** VRRPv3 Skew_Time at advert_int 0.1 (keepalived's µs arithmetic): 61.328 ms for priority 99. */
export function skewV3Ms(priority: number): number {
  return skewTimeV3Ms(priority, V3_ADVERT_INT_CS);
}

/** VRRPv3 Master_Down_Interval at advert_int 0.1: 361.328 ms for priority 99. */
export function masterDownV3Ms(priority: number): number {
  return masterDownIntervalV3Ms(V3_ADVERT_INT_CS, priority);
}
