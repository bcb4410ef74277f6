/**
 * Messages that tell the user what to do:
 * - what vrrpd does not support says what to do instead (LVS: keep keepalived for it; an IPv6 VIP
 *   in an IPv4 instance: an instance of its own, rather than "must be an address such as
 *   '10.0.0.50'"; sync groups, VMAC, AH, VRRPv3), in both formats;
 * - `metrics_listen` on a wildcard or non-loopback address is a warning (the endpoint has no
 *   authentication); on loopback it is silent.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText, type ConfigIssue } from '../../src/config/load.js';
import { acceptedConfig, baseWith, errorsOf } from './helpers.js';

const CONF = [
  'vrrp_instance VI_1 {',
  '    interface ens32',
  '    virtual_router_id 51',
  '    virtual_ipaddress {',
  '        10.0.0.50',
  '    }',
  '}',
];

/** CONF with `lines` inserted after line `after` (1-based; 0 = before everything). */
function conf(after: number, ...lines: string[]): string {
  return [...CONF.slice(0, after), ...lines, ...CONF.slice(after)].join('\n') + '\n';
}

function only(errors: ConfigIssue[]): ConfigIssue {
  expect(errors.map((e) => `${e.code} ${e.path}`)).toHaveLength(1);
  return errors[0]!;
}

describe('not supported: what to do instead', () => {
  it.each([
    ['virtual_server (LVS)', conf(7, 'virtual_server 10.0.0.50 6443 {', '    real_server 10.0.0.51 6443 {', '    }', '}'),
      'unsupported_key virtual_server @8:1', /vrrpd does VRRP only, not LVS\/IPVS\. Keep keepalived on this node for the load balancing \(remove its vrrp_instance blocks\).*'Migrating from keepalived'/],
    ['virtual_server_group', conf(7, 'virtual_server_group G {', '}'), 'unsupported_key virtual_server_group @8:1', /Keep keepalived on this node for the load balancing/],
    ['vrrp_sync_group with an unknown member', conf(7, 'vrrp_sync_group G1 {', '    group {', '        VI_9', '    }', '}'), 'unknown_sync_member vrrp_sync_group.G1.group[0] @10:9',
      /^no vrrp_instance named 'VI_9' \(did you mean 'VI_1'\?\); keepalived would ignore it/],
    ['use_vmac', conf(2, '    use_vmac'), 'unsupported_key vrrp_instance.VI_1.use_vmac @3:5', /remove it; vrrpd keeps the interface's own MAC address/],
    ['vrrp_version 1', conf(0, 'global_defs {', '    vrrp_version 1', '}'), 'invalid_value global_defs.vrrp_version @2:18',
      /^must be 2 \(VRRPv2, RFC 3768\) or 3 \(VRRPv3 over IPv4, RFC 5798\), got 1$/],
    ['version 4', conf(2, '    version 4'), 'invalid_value vrrp_instance.VI_1.version @3:13', /^must be 2 \(VRRPv2, RFC 3768\) or 3/],
    ['native_ipv6 with an IPv4 VIP', conf(2, '    native_ipv6'), 'address_family_mismatch vrrp_instance.VI_1.virtual_ipaddress[0] @6:9',
      /^10\.0\.0\.50 is an IPv4 address in an IPv6 instance \(native_ipv6 makes it IPv6\); keepalived would silently leave it out/],
    ['old_unicast_checksum sometimes', conf(2, '    old_unicast_checksum sometimes'), 'invalid_value vrrp_instance.VI_1.old_unicast_checksum @3:26',
      /unknown old_unicast_checksum mode 'sometimes'.*write `old_unicast_checksum` or `old_unicast_checksum never`/],
    ['auth_type AH', conf(3, '    authentication {', '        auth_type AH', '        auth_pass secret', '    }'), 'invalid_value vrrp_instance.VI_1.authentication.auth_type @5:19',
      /AH is not supported by vrrpd \(RFC 3768 deprecates it\)\. Switch every node, keepalived ones too, to auth_type PASS/],
    ['an IPv6 VIP after an IPv4 one', conf(5, '        fd00::50/64 dev ens32'), 'address_family_mismatch vrrp_instance.VI_1.virtual_ipaddress[1] @6:9',
      /^fd00::50 is an IPv6 address in an IPv4 instance \(the first virtual address decides, as in keepalived\); keepalived would silently leave it out\. Put the IPv6 addresses into an instance of their own .* vrrp_sync_group$/],
    ['an IPv6 unicast peer of an IPv4 instance', conf(3, '    unicast_peer {', '        fd00::52', '    }'), 'address_family_mismatch vrrp_instance.VI_1.unicast_peer[0] @5:9',
      /^fd00::52 is an IPv6 address; this instance is IPv4 .* keepalived skips such a peer$/],
    ['version 2 on an IPv6 instance', ['vrrp_instance VI_6 {', '    interface ens32', '    version 2', '    virtual_router_id 51', '    virtual_ipaddress {', '        fd00::50/64', '    }', '}'].join('\n') + '\n',
      'ipv6_needs_v3 vrrp_instance.VI_6.version @3:13', /^an IPv6 instance speaks VRRPv3 only \(RFC 5798\); set version 3 or remove the line/],
  ])('%s in a keepalived.conf', (_name, text, expected, message) => {
    const error = only(errorsOf(parseConfigText(text, 'keepalived.conf')));
    expect(`${error.code} ${error.path} @${error.line}:${error.column}`).toBe(expected);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain("must be an address such as '10.0.0.50'");
  });

  it.each([
    ['virtual_server', baseWith({}, ['virtual_server: {}']), 'unsupported_key virtual_server', /not LVS\/IPVS\. Keep keepalived/],
    ['version: 2 on an IPv6 instance', baseWith({ 11: '    version: 2', 15: '    unicast_src_ip: fd00::51', 17: '      - fd00::52', 18: '      - fd00::53', 20: '      - "2001:db8::50"' }),
      'ipv6_needs_v3 vrrp_instance.VI_1.version', /^an IPv6 instance speaks VRRPv3 only/],
    ['an IPv4 peer of an IPv6 instance', baseWith({ 15: '    unicast_src_ip: fd00::51', 17: '      - fd00::52', 20: '      - "2001:db8::50"' }),
      'address_family_mismatch vrrp_instance.VI_1.unicast_peer[1]', /^10\.0\.0\.53 is an IPv4 address; this instance is IPv6/],
    ['a bracketed IPv6 VIP', baseWith({ 20: '      - "[2001:db8::50]"' }), 'invalid_address vrrp_instance.VI_1.virtual_ipaddress[0].address', /^must be an address such as '10\.0\.0\.50', '10\.0\.0\.50\/24' or 'fd00::50\/64'/],
    ['auth_type AH', baseWith({ 13: '      auth_type: AH' }), 'invalid_value vrrp_instance.VI_1.authentication.auth_type', /Switch every node, keepalived ones too, to auth_type PASS/],
    ['version: "3"', baseWith({ 11: '    version: "3"' }), 'wrong_type vrrp_instance.VI_1.version', /^must be 2 \(VRRPv2, RFC 3768\) or 3 \(VRRPv3 over IPv4, RFC 5798\), got '3'$/],
    ['old_unicast_checksum: always', baseWith({ 11: '    old_unicast_checksum: always' }), 'wrong_type vrrp_instance.VI_1.old_unicast_checksum', /true .* or 'never'/],
  ])('%s in YAML', (_name, text, expected, message) => {
    const error = only(errorsOf(parseConfigText(text, 'vrrpd.yaml')));
    expect(`${error.code} ${error.path}`).toBe(expected);
    expect(error.message).toMatch(message);
  });

  it('a typo in an IPv4 VIP gets the address examples', () => {
    const error = only(errorsOf(parseConfigText(baseWith({ 20: '      - 10.0.0.500' }), 'vrrpd.yaml')));
    expect(error.message).toBe("must be an address such as '10.0.0.50', '10.0.0.50/24' or 'fd00::50/64', got '10.0.0.500'");
  });
});

describe('metrics_listen', () => {
  const withListen = (listen: string) => baseWith({}, ['vrrpd:', `  metrics_listen: "${listen}"`]);

  it.each(['127.0.0.1:9650', '127.0.0.53:9650', 'localhost:9650', '[::1]:9650'])('%s (loopback) is silent', (listen) => {
    const { warnings } = acceptedConfig(parseConfigText(withListen(listen), 'vrrpd.yaml'));
    expect(warnings.filter((w) => w.path.startsWith('vrrpd'))).toEqual([]);
  });

  it.each([
    ['0.0.0.0:9650', /^listens on every address of this node \(0\.0\.0\.0\)/],
    ['[::]:9650', /^listens on every address of this node \(::\)/],
    ['10.0.0.51:9650', /^10\.0\.0\.51 is not a loopback address/],
    ['[fd00::51]:9650', /^fd00::51 is not a loopback address/],
    ['master1.example:9650', /^master1\.example is not a loopback address/],
  ])('%s warns, at the setting, that the endpoint has no authentication', (listen, start) => {
    const text = withListen(listen);
    const { warnings } = acceptedConfig(parseConfigText(text, 'vrrpd.yaml'));
    const lines = text.split('\n');
    expect(warnings.map((w) => `${w.code} ${w.path} @${w.line}:${w.column}`)).toEqual([`exposed_endpoint vrrpd.metrics_listen @${lines.length - 1}:19`]);
    expect(warnings[0]!.message).toMatch(start);
    expect(warnings[0]!.message).toContain('the metrics endpoint has no authentication. Listen on 127.0.0.1:9650');
  });

  it('an empty host is not accepted at all', () => {
    const error = only(errorsOf(parseConfigText(withListen(':9650'), 'vrrpd.yaml')));
    expect(`${error.path}: ${error.message}`).toBe('vrrpd.metrics_listen: must be HOST:PORT, e.g. 127.0.0.1:9650');
  });
});
