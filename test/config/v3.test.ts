/**
 * VRRPv3 in the configuration (docs/protocol.md#vrrpv3-configuration): `vrrp_version` and
 * `version` with keepalived's precedence, advert_int rounded per version with keepalived 2.2.7's
 * warnings (its messages were measured: "VRRPv2 advertisement interval 1.500000s must be an
 * integer. rounding", "VRRPv3 advertisement interval 0.105000s must be in units of 10ms -
 * rounding", "... 40.96s is out of range. Must be less than 40.96s. Setting to 40.95s"),
 * authentication ignored in VRRPv3, old_unicast_checksum, and what the core gets.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toInstanceConfig } from '../../src/config/convert.js';
import { readKeepalivedConfig } from '../../src/config/keepalived.js';
import { renderKeepalivedAsYaml } from '../../src/config/keepalived-yaml.js';
import { parseConfigText } from '../../src/config/load.js';
import { acceptedConfig, errorsOf, ip, parse, where } from './helpers.js';

const FIXTURE = new URL('./fixtures/keepalived/features/v3.conf', import.meta.url);

/** A one-instance YAML file with these extra instance lines (and global_defs lines). */
function yaml(instance: string[], globalDefs: string[] = []): string {
  return [
    ...(globalDefs.length > 0 ? ['global_defs:', ...globalDefs.map((l) => `  ${l}`)] : []),
    'vrrp_instance:',
    '  VI_1:',
    '    interface: ens32',
    '    virtual_router_id: 251',
    '    unicast_src_ip: 10.0.0.51',
    '    unicast_peer: [10.0.0.52]',
    '    virtual_ipaddress: [10.0.0.50]',
    ...instance.map((l) => `    ${l}`),
    '',
  ].join('\n');
}

function instanceOf(text: string) {
  const result = acceptedConfig(parse(text));
  return { instance: result.config.vrrp_instance['VI_1']!, config: result.config, warnings: result.warnings };
}

describe('vrrp_version and version', () => {
  it('default 2; global_defs vrrp_version sets every instance; the instance keyword wins (keepalived precedence)', () => {
    expect(instanceOf(yaml([])).instance.version).toBe(2);
    expect(instanceOf(yaml([], ['vrrp_version: 3'])).instance.version).toBe(3);
    expect(instanceOf(yaml(['version: 3'])).instance.version).toBe(3);
    expect(instanceOf(yaml(['version: 2'], ['vrrp_version: 3'])).instance.version).toBe(2);
  });

  it('the core gets the version and the interval in centiseconds', () => {
    const { instance, config } = instanceOf(yaml(['version: 3', 'advert_int: 0.1']));
    expect(toInstanceConfig(instance, config, 0)).toMatchObject({ version: 3, advertIntervalCs: 10, v3Checksum: 'auto', authType: 0 });
    const v2 = instanceOf(yaml([]));
    expect(toInstanceConfig(v2.instance, v2.config, 0)).toMatchObject({ version: 2, advertIntervalCs: 100 });
  });

  it('a version other than 2 or 3 is an error at its value', () => {
    const text = yaml(['version: 6']);
    expect(errorsOf(parse(text)).map((e) => `${e.code} ${e.path}`)).toEqual(['invalid_value vrrp_instance.VI_1.version']);
  });
});

describe('advert_int, rounded per version as keepalived 2.2.7 rounds it, with its warnings', () => {
  const rounded = (version: 2 | 3, value: string) => {
    const { instance, config, warnings } = instanceOf(yaml([`version: ${version}`, `advert_int: ${value}`]));
    const intervals = warnings.filter((w) => w.code === 'advert_int_rounded');
    return { seconds: instance.advert_int, cs: toInstanceConfig(instance, config, 0).advertIntervalCs, warning: intervals.map((w) => w.message)[0], count: intervals.length };
  };

  it.each([
    ['0.01', 0.01, 1],
    ['0.1', 0.1, 10],
    ['1', 1, 100],
    ['40.95', 40.95, 4095],
  ])('VRRPv3 %s s is taken as it is (%s s, %s cs), without a warning', (value, seconds, cs) => {
    expect(rounded(3, value)).toMatchObject({ seconds, cs, count: 0 });
  });

  it.each([
    ['0.105', 0.11, 11, 'VRRPv3 advertisement interval 0.105000s must be in units of 10ms - rounding'],
    ['0.104', 0.1, 10, 'VRRPv3 advertisement interval 0.104000s must be in units of 10ms - rounding'],
    ['0.015', 0.02, 2, 'VRRPv3 advertisement interval 0.015000s must be in units of 10ms - rounding'],
    ['40.96', 40.95, 4095, 'VRRPv3 advertisement interval 40.96s is out of range. Must be less than 40.96s. Setting to 40.95s'],
    ['255', 40.95, 4095, 'VRRPv3 advertisement interval 255.00s is out of range. Must be less than 40.96s. Setting to 40.95s'],
  ])('VRRPv3 %s s becomes %s s (%s cs) with keepalived\'s warning', (value, seconds, cs, message) => {
    const result = rounded(3, value);
    expect(result).toMatchObject({ seconds, cs, count: 1 });
    expect(result.warning).toContain(message);
  });

  it.each([
    ['1.5', 2, 'VRRPv2 advertisement interval 1.500000s must be an integer. rounding'],
    ['2.4', 2, 'VRRPv2 advertisement interval 2.400000s must be an integer. rounding'],
    ['0.1', 1, 'VRRPv2 advertisement interval 0.100000s must be an integer. rounding'],
    ['0.4', 1, 'VRRPv2 advertisement interval 0.400000s must be an integer. rounding'],
  ])('VRRPv2 %s s becomes %s s with keepalived\'s warning (0 becomes 1)', (value, seconds, message) => {
    const result = rounded(2, value);
    expect(result).toMatchObject({ seconds, cs: seconds * 100, count: 1 });
    expect(result.warning).toContain(message);
    expect(result.warning).toContain('Sub-second intervals need VRRPv3');
  });

  it('outside 0.01..255 s is an error in both versions (keepalived would warn and use 1 s)', () => {
    for (const version of [2, 3]) {
      for (const value of ['0.005', '256', '0']) {
        expect(errorsOf(parse(yaml([`version: ${version}`, `advert_int: ${value}`]))).map((e) => `${e.code} ${e.path}`)).toEqual(['out_of_range vrrp_instance.VI_1.advert_int']);
      }
    }
  });
});

describe('authentication in VRRPv3', () => {
  const withAuth = (version: 2 | 3) => yaml([`version: ${version}`, 'authentication:', '  auth_type: PASS', '  auth_pass: "123456"']);

  it("is loaded with keepalived's warning, at the block, and ignored: the core gets no auth type and no password", () => {
    const text = withAuth(3);
    const { instance, config, warnings } = instanceOf(text);
    expect(warnings.map(where)).toEqual(['v3_authentication_ignored vrrp_instance.VI_1.authentication @9:5']);
    expect(warnings[0]!.message).toMatch(/^VRRP version 3 does not support authentication\. Ignoring\./);
    expect(instance.authentication).toEqual({ auth_type: 'PASS', auth_pass: '123456' });
    expect(toInstanceConfig(instance, config, 0)).toMatchObject({ authType: 0, authData: new Uint8Array(8) });
  });

  it('in VRRPv2 it is used as before', () => {
    const { instance, config, warnings } = instanceOf(withAuth(2));
    expect(warnings).toEqual([]);
    expect(toInstanceConfig(instance, config, 0).authType).toBe(1);
  });
});

describe('old_unicast_checksum', () => {
  it.each([
    [[], 'auto'],
    [['old_unicast_checksum: true'], 'group'],
    [['old_unicast_checksum: false'], 'auto'],
    [['old_unicast_checksum: never'], 'never'],
  ] as const)('%j gives the core %s', (lines, mode) => {
    const { instance, config, warnings } = instanceOf(yaml(['version: 3', ...lines]));
    expect(toInstanceConfig(instance, config, 0).v3Checksum).toBe(mode);
    expect(warnings).toEqual([]);
  });

  it('has no effect in VRRPv2 or in multicast, and says so', () => {
    const v2 = instanceOf(yaml(['old_unicast_checksum: true']));
    expect(v2.warnings.map((w) => `${w.code} ${w.path}: ${w.message}`)).toEqual([
      'no_effect vrrp_instance.VI_1.old_unicast_checksum: has no effect here: a VRRPv2 checksum has no pseudo-header',
    ]);
    const multicast = acceptedConfig(
      parse(['vrrp_instance:', '  VI_1:', '    interface: ens32', '    virtual_router_id: 1', '    version: 3', '    old_unicast_checksum: never', '    virtual_ipaddress: [10.0.0.50]', ''].join('\n')),
    );
    expect(multicast.warnings.map((w) => w.code)).toEqual(['no_effect']);
    expect(multicast.warnings[0]!.message).toContain('224.0.0.18 anyway');
  });
});

describe('a keepalived.conf with the VRRPv3 keywords (features/v3.conf)', () => {
  const text = readFileSync(FIXTURE, 'utf8');
  const result = acceptedConfig(parseConfigText(text, 'v3.conf'));
  const core = (name: string) => toInstanceConfig(result.config.vrrp_instance[name]!, result.config, 0);

  it('is accepted, each instance with the version, interval and checksum mode keepalived would use', () => {
    expect(result.config.global_defs.vrrp_version).toBe(3);
    expect(core('VI_1')).toMatchObject({ version: 3, advertIntervalCs: 10, v3Checksum: 'auto', authType: 0, unicastPeers: [ip('10.0.0.52'), ip('10.0.0.53')] });
    expect(core('VI_2')).toMatchObject({ version: 3, advertIntervalCs: 11, v3Checksum: 'never' });
    expect(core('VI_3')).toMatchObject({ version: 3, advertIntervalCs: 4095, v3Checksum: 'group' });
    expect(core('VI_4')).toMatchObject({ version: 2, advertIntervalCs: 200 });
  });

  it("warns as keepalived does, each at its line", () => {
    expect(result.warnings.map((w) => `${w.code} ${w.path} @${w.line}`)).toEqual([
      'v3_authentication_ignored vrrp_instance.VI_1.authentication @13',
      'advert_int_rounded vrrp_instance.VI_2.advert_int @31',
      'advert_int_rounded vrrp_instance.VI_3.advert_int @45',
      'advert_int_rounded vrrp_instance.VI_4.advert_int @60',
    ]);
  });

  it('import-keepalived writes YAML that loads to the same configuration', () => {
    const imported = renderKeepalivedAsYaml(readKeepalivedConfig(text, 'v3.conf'), { sourceFile: 'v3.conf' });
    expect(imported).toContain('vrrp_version: 3');
    expect(imported).toContain('old_unicast_checksum: never');
    expect(imported).toContain('old_unicast_checksum: true');
    expect(imported).toContain('version: 2');
    expect(acceptedConfig(parseConfigText(imported, 'v3.yaml')).config).toEqual(result.config);
  });
});
