/** keepalived 2.2.7's track-file rules (src/core/track-file.ts; keepalived's trackers/track_file.c). */
import { describe, expect, it } from 'vitest';
import { parseTrackFileValue, trackFileEffect } from '../../src/core/track-file.js';

describe('track file value (strtol base 0, as keepalived reads it)', () => {
  it.each([
    ['1\n', 1],
    ['  -5\n', -5],
    ['+7', 7],
    ['0x1A', 26],
    ['010', 8], // octal
    ['08', 0], // '8' is not an octal digit: strtol stops after the 0
    ['12abc', 12],
    ['abc', 0],
    ['', 0],
    ['\n', 0],
    ['-', 0],
    ['2147483648', 2147483648], // keepalived accepts INT32_MAX + 1
    ['-2147483648', -2147483648],
  ])('%j is %d', (text, value) => {
    expect(parseTrackFileValue(text)).toBe(value);
  });

  it.each(['2147483649', '-2147483649', '99999999999999999999999'])('%s is out of range: ignored (undefined)', (text) => {
    expect(parseTrackFileValue(text)).toBeUndefined();
  });

  it('reads only the first 127 bytes', () => {
    expect(parseTrackFileValue(' '.repeat(127) + '5')).toBe(0);
    expect(parseTrackFileValue(' '.repeat(126) + '57')).toBe(5);
  });
});

describe('track file effect on an instance', () => {
  it('weight 0: a non-zero value is FAULT, zero is fine; reverse swaps them', () => {
    expect(trackFileEffect(0, 0, false)).toBe(0);
    expect(trackFileEffect(1, 0, false)).toBe('fault');
    expect(trackFileEffect(-3, 0, false)).toBe('fault');
    expect(trackFileEffect(0, 0, true)).toBe('fault');
    expect(trackFileEffect(5, 0, true)).toBe(0);
  });

  it('weighted: value x weight (negated with reverse), clamped to -254..253, and -254 is FAULT', () => {
    expect(trackFileEffect(3, 5, false)).toBe(15);
    expect(trackFileEffect(3, 5, true)).toBe(-15);
    expect(trackFileEffect(-2, 10, false)).toBe(-20);
    expect(trackFileEffect(100, 10, false)).toBe(253);
    expect(trackFileEffect(-253, 1, false)).toBe(-253);
    expect(trackFileEffect(-254, 1, false)).toBe('fault');
    expect(trackFileEffect(-1000, 1, false)).toBe('fault');
    expect(trackFileEffect(100, -10, false)).toBe('fault');
  });
});
