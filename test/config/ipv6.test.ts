/**
 * IPv6 instances as keepalived 2.2.7 takes them (docs/protocol.md#vrrpv3-over-ipv6): the family
 * from `native_ipv6` or the first VIP, VRRPv3 whatever global_defs say, IPv6 peers and source, a
 * bare VIP as /128; other-family addresses and `version 2` refused (keepalived drops or misuses
 * them silently); IPv4 and IPv6 are separate VRID spaces; the cluster check refuses a node whose
 * IPv6 instance says version 2.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfigCommand } from '../../src/cli/check-config.js';
import { toInstanceConfig } from '../../src/config/convert.js';
import { parseConfigText } from '../../src/config/load.js';
import { formatIp, parseIpv6 } from '../../src/core/ip.js';
import { acceptedConfig, errorsOf } from './helpers.js';

function conf(instanceLines: string[], globalLines: string[] = []): string {
  return [
    ...(globalLines.length > 0 ? ['global_defs {', ...globalLines.map((l) => `    ${l}`), '}'] : []),
    'vrrp_instance VI_6 {',
    '    interface ens32',
    '    virtual_router_id 60',
    ...instanceLines.map((l) => `    ${l}`),
    '}',
    '',
  ].join('\n');
}

const vipBlock = (...vips: string[]): string[] => ['virtual_ipaddress {', ...vips.map((v) => `    ${v}`), '}'];

describe('IPv6 instances in keepalived.conf', () => {
  it('the first VIP makes the instance IPv6 and VRRPv3, even with vrrp_version 2 in global_defs', () => {
    const { config } = acceptedConfig(parseConfigText(conf(vipBlock('fd00::50/64 dev ens32'), ['vrrp_version 2']), 'keepalived.conf'));
    const instance = config.vrrp_instance['VI_6']!;
    expect(instance).toMatchObject({ family: 6, version: 3, virtual_ipaddress: [{ address: parseIpv6('fd00::50'), prefix_len: 64, dev: 'ens32' }] });
    const core = toInstanceConfig(instance, config, 0);
    expect(core).toMatchObject({ family: 6, version: 3, sourceAddress: 0n, unicastPeers: [] });
  });

  it('a bare IPv6 VIP is /128; advert_int takes centiseconds (VRRPv3)', () => {
    const { config } = acceptedConfig(parseConfigText(conf(['advert_int 0.25', ...vipBlock('fd00::50')]), 'keepalived.conf'));
    expect(config.vrrp_instance['VI_6']).toMatchObject({ advert_int: 0.25, virtual_ipaddress: [{ prefix_len: 128 }] });
  });

  it('IPv6 unicast_src_ip and unicast_peer', () => {
    const { config } = acceptedConfig(
      parseConfigText(conf(['unicast_src_ip fd00::51', 'unicast_peer {', '    fd00::52', '    fd00::53', '}', ...vipBlock('fd00::50/64')]), 'keepalived.conf'),
    );
    const instance = config.vrrp_instance['VI_6']!;
    expect(instance.unicast_peer.map(formatIp)).toEqual(['fd00::52', 'fd00::53']);
    expect(formatIp(instance.unicast_src_ip!)).toBe('fd00::51');
    expect(toInstanceConfig(instance, config, 0).sourceAddress).toBe(parseIpv6('fd00::51'));
  });

  it('native_ipv6 makes an instance IPv6 before any VIP is read', () => {
    const { config } = acceptedConfig(parseConfigText(conf(['native_ipv6', ...vipBlock('fd00::50/64')]), 'keepalived.conf'));
    expect(config.vrrp_instance['VI_6']).toMatchObject({ family: 6, version: 3 });
  });

  it('an IPv4 instance is as before: family 4, the global version', () => {
    const { config } = acceptedConfig(parseConfigText(conf(vipBlock('10.0.0.50/24')), 'keepalived.conf'));
    expect(config.vrrp_instance['VI_6']).toMatchObject({ family: 4, version: 2 });
  });

  it('IPv4 and IPv6 are separate VRID spaces: one VRID for both on one interface', () => {
    const text = `${conf(vipBlock('fd00::50/64'))}vrrp_instance VI_4 {\n    interface ens32\n    virtual_router_id 60\n    virtual_ipaddress {\n        10.0.0.50\n    }\n}\n`;
    const { config } = acceptedConfig(parseConfigText(text, 'keepalived.conf'));
    expect(Object.values(config.vrrp_instance).map((i) => [i.name, i.family, i.virtual_router_id])).toEqual([['VI_6', 6, 60], ['VI_4', 4, 60]]);
    // Two IPv6 instances with one VRID on one interface are still refused.
    const twice = `${conf(vipBlock('fd00::50/64'))}${conf(vipBlock('fd00::60/64')).replace('VI_6', 'VI_7')}`;
    expect(errorsOf(parseConfigText(twice, 'keepalived.conf')).map((e) => e.code)).toEqual(['duplicate_vrid']);
  });

  it.each([
    ['an IPv4 VIP after an IPv6 one', conf(vipBlock('fd00::50/64', '10.0.0.50')), 'address_family_mismatch vrrp_instance.VI_6.virtual_ipaddress[1]'],
    ['an IPv4 unicast_src_ip', conf(['unicast_src_ip 10.0.0.51', 'unicast_peer {', '    fd00::52', '}', ...vipBlock('fd00::50/64')]), 'address_family_mismatch vrrp_instance.VI_6.unicast_src_ip'],
    ['an IPv4 peer', conf(['unicast_peer {', '    10.0.0.52', '}', ...vipBlock('fd00::50/64')]), 'address_family_mismatch vrrp_instance.VI_6.unicast_peer[0]'],
    ['version 2 before the VIPs', conf(['version 2', ...vipBlock('fd00::50/64')]), 'ipv6_needs_v3 vrrp_instance.VI_6.version'],
    ['version 2 after the VIPs', conf([...vipBlock('fd00::50/64'), 'version 2']), 'ipv6_needs_v3 vrrp_instance.VI_6.version'],
    ['brd on an IPv6 VIP', conf(vipBlock('fd00::50/64 brd 10.0.0.255')), 'invalid_value vrrp_instance.VI_6.virtual_ipaddress[0]'],
    ['a multicast VIP', conf(vipBlock('ff02::50')), 'invalid_address vrrp_instance.VI_6.virtual_ipaddress[0].address'],
    ['a prefix over 128', conf(vipBlock('fd00::50/129')), 'invalid_address vrrp_instance.VI_6.virtual_ipaddress[0].address'],
  ])('%s is refused', (_name, text, expected) => {
    expect(errorsOf(parseConfigText(text, 'keepalived.conf')).map((e) => `${e.code} ${e.path}`)).toEqual([expected]);
  });
});

describe('IPv6 instances in YAML', () => {
  it('takes the same settings', () => {
    const yaml = [
      'vrrp_instance:',
      '  VI_6:',
      '    interface: ens32',
      '    virtual_router_id: 60',
      '    advert_int: 0.5',
      '    unicast_src_ip: fd00::51',
      '    unicast_peer: [fd00::52]',
      '    virtual_ipaddress:',
      '      - fd00::50/64 dev ens32',
      '',
    ].join('\n');
    const { config } = acceptedConfig(parseConfigText(yaml, 'vrrpd.yaml'));
    expect(config.vrrp_instance['VI_6']).toMatchObject({ family: 6, version: 3, advert_int: 0.5, unicast_peer: [parseIpv6('fd00::52')] });
  });
});

describe('the cluster check', () => {
  it('refuses a node whose IPv6 instance says version 2 (exit 3), naming the file and the line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-ipv6-lint-'));
    const files = [1, 2, 3].map((n) => {
      const file = join(dir, `master${n}.conf`);
      const lines = [`priority ${200 - 50 * n}`, ...(n === 3 ? ['version 2'] : []), ...vipBlock('fd00::50/64 dev ens32')];
      writeFileSync(file, conf(lines));
      return file;
    });
    const out: string[] = [];
    const err: string[] = [];
    const code = await checkConfigCommand(files, { write: (t: string) => void out.push(t) }, { write: (t: string) => void err.push(t) });
    expect(code).toBe(3);
    expect(err.join('')).toMatch(/master3\.conf:5:13 vrrp_instance\.VI_6\.version: an IPv6 instance speaks VRRPv3 only/);
  });

  it('passes three consistent IPv6 nodes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-ipv6-lint-'));
    const files = [1, 2, 3].map((n) => {
      const file = join(dir, `master${n}.conf`);
      writeFileSync(file, conf([`priority ${200 - 50 * n}`, ...vipBlock('fd00::50/64 dev ens32')]));
      return file;
    });
    const out: string[] = [];
    const err: string[] = [];
    const code = await checkConfigCommand(files, { write: (t: string) => void out.push(t) }, { write: (t: string) => void err.push(t) });
    expect(err.join('')).toBe('');
    expect(code).toBe(0);
    expect(out.join('')).toMatch(/fd00::50\/64 dev ens32/);
  });
});
