import { describe, expect, it } from 'vitest';
import { parseEffectiveCapabilities, readEffectiveCapabilities } from '../../src/io/privileges.js';

const status = (capEff: string): string => `Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t${capEff}\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`;

describe('effective capabilities from /proc/self/status', () => {
  it('reads CAP_NET_RAW (bit 13) and CAP_NET_ADMIN (bit 12) from CapEff', () => {
    expect(parseEffectiveCapabilities(status('000001ffffffffff'))).toEqual({ netRaw: true, netAdmin: true });
    expect(parseEffectiveCapabilities(status('0000000000000000'))).toEqual({ netRaw: false, netAdmin: false });
    expect(parseEffectiveCapabilities(status('0000000000002000'))).toEqual({ netRaw: true, netAdmin: false });
    expect(parseEffectiveCapabilities(status('0000000000001000'))).toEqual({ netRaw: false, netAdmin: true });
  });

  it('says nothing when there is no CapEff line or no file', () => {
    expect(parseEffectiveCapabilities('Name:\tnode\n')).toBeUndefined();
    expect(readEffectiveCapabilities('/nonexistent/status')).toBeUndefined();
  });
});
