import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../src/core/ip.js';
import { parseDeletedAddressLine } from '../../src/io/addrwatch.js';

describe('ip monitor address parsing', () => {
  it('reads the interface and address of a deletion', () => {
    expect(parseDeletedAddressLine('Deleted 2: ens32    inet 10.0.0.50/32 scope global ens32\\       valid_lft forever preferred_lft forever')).toEqual({
      ifname: 'ens32',
      address: parseIpv4('10.0.0.50'),
    });
  });
  it('ignores additions and anything else', () => {
    expect(parseDeletedAddressLine('2: ens32    inet 10.0.0.50/32 scope global ens32')).toBeUndefined();
    expect(parseDeletedAddressLine('Deleted 2: ens32    inet6 fe80::1/64 scope link')).toBeUndefined();
    expect(parseDeletedAddressLine('')).toBeUndefined();
  });
});
