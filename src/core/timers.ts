/**
 * The interval formulas of RFC 3768 section 6.1 (VRRPv2) and RFC 5798 section 6.1 (VRRPv3), as
 * pure functions. Times are milliseconds, the core's unit.
 *
 * VRRPv2 keeps vrrpd's whole-millisecond Skew_Time (rounded down). VRRPv3 reproduces keepalived
 * 2.2.7 to the microsecond (vrrp.h VRRP_TIMER_SKEW_CALC: integer µs, (256 - priority) x
 * Master_Adver_Interval_cs x 625 / 16, truncated), so a vrrpd and a keepalived backup at 0.1 s time
 * out at the same instant; the result is that whole number of µs expressed in ms.
 */
import type { VrrpVersion } from './types.js';

/** Skew_Time = ((256 - Priority) / 256) seconds (RFC 3768 6.1), rounded to whole milliseconds. */
export function skewTimeMs(priority: number): number {
  return Math.floor(((256 - priority) * 1000) / 256);
}

/** Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time (RFC 3768 6.1). */
export function masterDownIntervalMs(advertIntervalSec: number, priority: number): number {
  return 3 * advertIntervalSec * 1000 + skewTimeMs(priority);
}

/**
 * VRRPv3 Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256 (RFC 5798 6.1), in ms, with
 * keepalived's integer-µs truncation: priority 99 at 10 cs is 61.328 ms.
 */
export function skewTimeV3Ms(priority: number, masterAdverIntervalCs: number): number {
  return Math.floor(((256 - priority) * masterAdverIntervalCs * 625) / 16) / 1000;
}

/** VRRPv3 Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time (RFC 5798 6.1): 361.328 ms for priority 99 at 0.1 s. */
export function masterDownIntervalV3Ms(masterAdverIntervalCs: number, priority: number): number {
  return 3 * masterAdverIntervalCs * 10 + skewTimeV3Ms(priority, masterAdverIntervalCs);
}

/** Skew_Time of either version; `intervalCs` is the Master_Adver_Interval (VRRPv2: our own interval). */
export function skewTimeFor(version: VrrpVersion, priority: number, intervalCs: number): number {
  return version === 3 ? skewTimeV3Ms(priority, intervalCs) : skewTimeMs(priority);
}

/** Master_Down_Interval of either version; `intervalCs` is the Master_Adver_Interval (VRRPv2: our own). */
export function masterDownIntervalFor(version: VrrpVersion, intervalCs: number, priority: number): number {
  return version === 3 ? masterDownIntervalV3Ms(intervalCs, priority) : 3 * intervalCs * 10 + skewTimeMs(priority);
}
