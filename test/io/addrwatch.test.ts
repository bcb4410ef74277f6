import { describe, expect, it } from 'vitest';
import { parseIpv4, parseIpv6 } from '../../src/core/ip.js';
import { parseDeletedAddressLine } from '../../src/io/addrwatch.js';

describe('ip monitor address parsing', () => {
  it('reads the interface and address of a deletion', () => {
    expect(parseDeletedAddressLine('Deleted 2: ens32    inet 10.0.0.50/32 scope global ens32\\       valid_lft forever preferred_lft forever')).toEqual({
      ifname: 'ens32',
      address: parseIpv4('10.0.0.50'),
    });
  });
  it('reads an IPv6 deletion too (an IPv6 VIP removed behind our back)', () => {
    expect(parseDeletedAddressLine('Deleted 2: ens32    inet6 fd00::50/64 scope global nodad \       valid_lft forever preferred_lft forever')).toEqual({
      ifname: 'ens32',
      address: parseIpv6('fd00::50'),
    });
    expect(parseDeletedAddressLine('Deleted 2: ens32    inet6 fe80::1/64 scope link')).toEqual({ ifname: 'ens32', address: parseIpv6('fe80::1') });
  });
  it('ignores additions and anything else', () => {
    expect(parseDeletedAddressLine('2: ens32    inet 10.0.0.50/32 scope global ens32')).toBeUndefined();
    expect(parseDeletedAddressLine('2: ens32    inet6 fd00::50/64 scope global nodad')).toBeUndefined();
    expect(parseDeletedAddressLine('Deleted 2: ens32    inet6 fd00::zz/64 scope global')).toBeUndefined();
    expect(parseDeletedAddressLine('')).toBeUndefined();
  });
});
