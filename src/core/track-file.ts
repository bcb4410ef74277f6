/**
 * keepalived 2.2.7's track files (docs/protocol.md#track-files), as pure functions: what a file's
 * text means, and what a value means to one instance tracking it with a weight.
 */

/** The cause an instance's FAULT carries for a track file. */
export function trackFileCause(name: string): string {
  return `file:${name}`;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * The value of a track file's text, read as keepalived reads it: the first 127 bytes through C's
 * strtol with base 0 (leading blanks, a sign, 0x for hex, a leading 0 for octal; reading stops at the
 * first character that is not a digit). Text without a number is 0, so is an empty or missing file.
 * A number outside the 32-bit range is "Invalid number ... ignoring" in keepalived: undefined here,
 * and the previous value stays.
 */
export function parseTrackFileValue(text: string): number | undefined {
  const s = text.slice(0, 127);
  let i = 0;
  while (i < s.length && ' \t\n\v\f\r'.includes(s[i]!)) i++;
  let sign = 1;
  if (s[i] === '+' || s[i] === '-') {
    if (s[i] === '-') sign = -1;
    i++;
  }
  let base = 10;
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
    base = 16;
    i += 2;
  } else if (s[i] === '0') {
    base = 8;
  }
  let value = 0n;
  let digits = 0;
  for (; i < s.length; i++) {
    const digit = parseInt(s[i]!, 36);
    if (Number.isNaN(digit) || digit >= base) break;
    value = value * BigInt(base) + BigInt(digit);
    digits++;
    if (value > 2n ** 64n) break; // far out of range already
  }
  if (digits === 0) return 0;
  const signed = BigInt(sign) * value;
  // keepalived accepts up to INT32_MAX + 1 (its check is `> INT32_MAX + 1`).
  if (signed < BigInt(INT32_MIN) || signed > BigInt(INT32_MAX) + 1n) return undefined;
  return Number(signed);
}

/**
 * What a track file's value does to one instance: 'fault', or the amount added to its priority.
 * Weight 0: a non-zero value is FAULT (with reverse, a zero one is). Otherwise value x weight
 * (negated with reverse), clamped to -254..253, and -254 is FAULT too (keepalived's
 * process_update_vrrp_track_file_status).
 */
export function trackFileEffect(value: number, weight: number, reverse: boolean): number | 'fault' {
  if (weight === 0) return (value !== 0) !== reverse ? 'fault' : 0;
  const status = Math.min(253, Math.max(-254, value * weight * (reverse ? -1 : 1)));
  return status === -254 ? 'fault' : status;
}
