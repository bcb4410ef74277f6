/**
 * The two interval formulas of RFC 3768 section 6.1, as pure functions of the effective priority.
 * Times are integer milliseconds, the core's unit.
 */

/** Skew_Time = ((256 - Priority) / 256) seconds (RFC 3768 6.1), rounded to whole milliseconds. */
export function skewTimeMs(priority: number): number {
  return Math.floor(((256 - priority) * 1000) / 256);
}

/** Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time (RFC 3768 6.1). */
export function masterDownIntervalMs(advertIntervalSec: number, priority: number): number {
  return 3 * advertIntervalSec * 1000 + skewTimeMs(priority);
}
