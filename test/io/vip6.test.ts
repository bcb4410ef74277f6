/**
 * IPv6 VIPs in src/io/vip.ts without a kernel: `ip -j addr show` output of both families, the text
 * status and logs show, and the specs refused before any request leaves (so nothing here touches
 * the host's addresses; test/netns/ndisc.test.ts does the real adds).
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4, parseIpv6 } from '../../src/core/ip.js';
import { addVip, formatVip, parseIpAddrJson, removeVip } from '../../src/io/vip.js';

describe('IPv6 VIPs (io, no kernel)', () => {
  it('parses inet and inet6 entries of ip -j addr show, keeping each prefix', () => {
    const json = JSON.stringify([
      {
        ifname: 'ens32',
        addr_info: [
          { family: 'inet', local: '10.0.0.51', prefixlen: 24, broadcast: '10.0.0.255', scope: 'global', label: 'ens32' },
          { family: 'inet6', local: 'fd00::50', prefixlen: 64, scope: 'global', nodad: true },
          { family: 'inet6', local: 'fd00::51', scope: 'global' },
          { family: 'inet6', local: 'fe80::5054:ff:feaa:1', prefixlen: 64, scope: 'link' },
          { family: 'inet6', local: 'not-an-address', prefixlen: 64 },
        ],
      },
    ]);
    expect(parseIpAddrJson(json, 'ens32')).toEqual([
      { address: parseIpv4('10.0.0.51'), prefixLength: 24, ifname: 'ens32', label: 'ens32', broadcast: parseIpv4('10.0.0.255'), secondary: false },
      { address: parseIpv6('fd00::50'), prefixLength: 64, ifname: 'ens32', label: undefined, broadcast: undefined, secondary: false },
      { address: parseIpv6('fd00::51'), prefixLength: 128, ifname: 'ens32', label: undefined, broadcast: undefined, secondary: false },
      { address: parseIpv6('fe80::5054:ff:feaa:1'), prefixLength: 64, ifname: 'ens32', label: undefined, broadcast: undefined, secondary: false },
    ]);
  });

  it('writes a VIP as status and logs show it', () => {
    expect(formatVip({ address: parseIpv6('fd00:0:0:0::50')!, prefixLength: 64 })).toBe('fd00::50/64');
    expect(formatVip({ address: parseIpv4('10.0.0.50')!, prefixLength: 32 })).toBe('10.0.0.50/32');
  });

  it('refuses, before asking the kernel, a prefix too long for the family and a label or brd on an IPv6 VIP', () => {
    const v6 = { address: parseIpv6('fd00::50')!, prefixLength: 129, ifname: 'ens32' };
    expect(addVip(v6)).toMatchObject({ ok: false, error: { code: 'EINVAL', message: expect.stringContaining('bad prefix length 129 for fd00::50') } });
    expect(removeVip(v6)).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(addVip({ address: parseIpv4('10.0.0.50')!, prefixLength: 64, ifname: 'ens32' })).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(addVip({ ...v6, prefixLength: 64, label: 'ens32:v6' })).toMatchObject({ ok: false, error: { code: 'EINVAL', message: expect.stringContaining('fd00::50/64: an IPv6 address takes no label and no brd') } });
    expect(addVip({ ...v6, prefixLength: 64, broadcast: parseIpv4('10.0.0.255')! })).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
  });
});
