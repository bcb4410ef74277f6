/**
 * Every class of configuration problem is reported with the right code, file:line:column, setting
 * path and a message that says the rule and what was found. Positions are computed from the test's
 * own text (the column of a known substring), not copied from the implementation's output.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, loadConfigFile, parseConfigText } from '../../src/config/load.js';
import { baseWith, errorsOf, acceptedConfig, parse, where } from './helpers.js';

/** `line:column` of the first occurrence of `needle` on 1-based line `line` of `text`. */
function at(text: string, line: number, needle: string): string {
  const column = text.split('\n')[line - 1]!.indexOf(needle);
  if (column < 0) throw new Error(`'${needle}' is not on line ${line}`);
  return `${line}:${column + 1}`;
}

describe('range, type and missing values', () => {
  it('priority out of range: located at the value, message gives the range and the value', () => {
    const text = baseWith({ 11: '    priority: 300' });
    const [error, ...rest] = errorsOf(parse(text));
    expect(rest).toEqual([]);
    expect(where(error!)).toBe(`out_of_range vrrp_instance.VI_1.priority @${at(text, 11, '300')}`);
    expect(formatIssue(error!)).toBe(
      `config error at /etc/vrrpd/vrrpd.yaml:${at(text, 11, '300')} vrrp_instance.VI_1.priority: must be a whole number 1..255, got 300`,
    );
  });

  it.each([
    ['virtual_router_id 0', 10, '    virtual_router_id: 0', '0', 'vrrp_instance.VI_1.virtual_router_id', 'must be a whole number 1..255, got 0'],
    ['weight -254', 5, '    weight: -254', '-254', 'vrrp_script.check.weight', 'must be a whole number -253..253, got -254'],
    ['advert_int 0', 11, '    advert_int: 0', '0', 'vrrp_instance.VI_1.advert_int', 'must be a number 0.01..255 seconds, got 0'],
    ['advert_int 256', 11, '    advert_int: 256', '256', 'vrrp_instance.VI_1.advert_int', 'must be a number 0.01..255 seconds, got 256'],
    ['interval 0', 4, '    interval: 0', '0', 'vrrp_script.check.interval', 'must be a number 0.1..86400 seconds, got 0'],
  ])('%s is out of range', (_name, line, replacement, needle, path, message) => {
    const text = baseWith({ [line]: replacement });
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`out_of_range ${path} @${at(text, line, needle)}`]);
    expect(errors[0]!.message).toContain(message);
  });

  it.each([
    ['a string for a number', 11, '    priority: high', 'high', 'vrrp_instance.VI_1.priority', "must be a whole number 1..255, got 'high'"],
    ['yes for a boolean', 11, '    nopreempt: yes', 'yes', 'vrrp_instance.VI_1.nopreempt', "must be true or false, got 'yes'"],
    ['lower-case state', 8, '    state: master', 'master', 'vrrp_instance.VI_1.state', "must be MASTER or BACKUP (upper case, as in keepalived), got 'master'"],
    ['a mapping for a list', 19, '    virtual_ipaddress: {a: 1}', '{', 'vrrp_instance.VI_1.virtual_ipaddress', 'must be a list of addresses, got a mapping'],
    ['an empty value', 11, '    priority:', 'priority', 'vrrp_instance.VI_1.priority', 'got an empty value'],
    ['AH authentication', 13, '      auth_type: AH', 'AH', 'vrrp_instance.VI_1.authentication.auth_type', 'AH is not supported'],
  ])('%s is a wrong_type or invalid_value, located at the value', (_name, line, replacement, needle, path, message) => {
    // Line 20 is the list item under virtual_ipaddress; keep the file valid YAML when 19 changes.
    const replacements: Record<number, string> = { [line]: replacement };
    if (line === 19) replacements[20] = '    advert_int: 1';
    const text = baseWith(replacements);
    const errors = errorsOf(parse(text));
    expect(errors).toHaveLength(1);
    expect(['wrong_type', 'invalid_value']).toContain(errors[0]!.code);
    expect(`${errors[0]!.path} @${errors[0]!.line}:${errors[0]!.column}`).toBe(`${path} @${at(text, line, needle)}`);
    expect(errors[0]!.message).toContain(message);
  });

  it('a bad IPv4 address names the list entry', () => {
    const text = baseWith({ 18: '      - 10.0.0.256' });
    expect(errorsOf(parse(text)).map((e) => `${where(e)} ${e.message}`)).toEqual([
      `invalid_address vrrp_instance.VI_1.unicast_peer[1] @${at(text, 18, '10.0.0.256')} must be an address such as 10.0.0.51 or fd00::51, got '10.0.0.256'`,
    ]);
  });

  it('a multicast VIP and a /33 prefix are refused', () => {
    const text = baseWith({ 20: '      - 224.0.0.18', 21: '      - 10.0.0.60/33', 22: '    dont_track_primary: false' });
    expect(errorsOf(parse(text)).map(where)).toEqual([
      `invalid_address vrrp_instance.VI_1.virtual_ipaddress[0].address @${at(text, 20, '224')}`,
      `invalid_address vrrp_instance.VI_1.virtual_ipaddress[1].address @${at(text, 21, '10.0.0.60/33')}`,
    ]);
  });

  it('missing required keys point at the instance that lacks them', () => {
    const text = ['vrrp_instance:', '  VI_1:', '    priority: 100', ''].join('\n');
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([
      'missing_key vrrp_instance.VI_1.interface @2:3',
      'missing_key vrrp_instance.VI_1.virtual_router_id @2:3',
      'missing_key vrrp_instance.VI_1.virtual_ipaddress @2:3',
    ]);
    expect(errors.every((e) => e.message === 'is required')).toBe(true);
  });

  it('an empty file says what it needs', () => {
    const errors = errorsOf(parse('# nothing but a comment\n'));
    expect(errors.map(where)).toEqual(['wrong_type  @1:1']);
    expect(errors[0]!.message).toContain('needs at least a vrrp_instance');
    expect(formatIssue(errors[0]!)).toBe('config error at /etc/vrrpd/vrrpd.yaml:1:1: the file is empty; it needs at least a vrrp_instance mapping');
  });

  it('an empty vrrp_instance mapping is refused', () => {
    expect(errorsOf(parse('vrrp_instance: {}\n')).map(where)).toEqual(['missing_key vrrp_instance @1:16']);
  });
});

describe('unknown keys', () => {
  it('a misspelt key is an error at the key, with a suggestion', () => {
    const text = baseWith({ 11: '    prority: 100' });
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`unknown_key vrrp_instance.VI_1.prority @${at(text, 11, 'prority')}`]);
    expect(errors[0]!.message).toBe("unknown key 'prority' (did you mean 'priority'?)");
  });

  it.each([
    ['global_defs', ['global_defs:', '  script_usr: root'], 'global_defs.script_usr', 'script_user'],
    ['vrrp_script', [], 'vrrp_script.check.wieght', 'weight'],
    ['authentication', [], 'vrrp_instance.VI_1.authentication.auth_pas', 'auth_pass'],
    ['top level', ['vrrp_instances: {}'], 'vrrp_instances', 'vrrp_instance'],
    ['track_script entry', [], 'vrrp_instance.VI_1.track_script[0].wieght', 'weight'],
    ['virtual address object', [], 'vrrp_instance.VI_1.virtual_ipaddress[0].adress', 'address'],
  ])('suggestions work in %s', (_where, appended, path, suggestion) => {
    const replacements: Record<number, string> = {
      'vrrp_script.check.wieght': { 5: '    wieght: -20' },
      'vrrp_instance.VI_1.authentication.auth_pas': { 14: '      auth_pas: "123456"' },
      'vrrp_instance.VI_1.track_script[0].wieght': { 22: '      - {name: check, wieght: -30}' },
      'vrrp_instance.VI_1.virtual_ipaddress[0].adress': { 20: '      - {address: 10.0.0.50, adress: 10.0.0.51}' },
    }[path] ?? {};
    const errors = errorsOf(parse(baseWith(replacements, appended)));
    const unknown = errors.filter((e) => e.code === 'unknown_key');
    expect(unknown.map((e) => e.path)).toEqual([path]);
    expect(unknown[0]!.message).toContain(`did you mean '${suggestion}'?`);
  });

  it('a key far from every known key lists the known keys instead', () => {
    const errors = errorsOf(parse(baseWith({}, ['vrrpd:', '  zzzzzzzzzz: 1'])));
    expect(errors[0]!.message).toBe("unknown key 'zzzzzzzzzz' (expected one of: socket, log_level, metrics_listen, script_capabilities, udp_mirror)");
  });

  it('a keepalived keyword vrrpd does not implement says so', () => {
    const text = baseWith({ 11: '    use_vmac: true' });
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`unsupported_key vrrp_instance.VI_1.use_vmac @${at(text, 11, 'use_vmac')}`]);
    expect(errors[0]!.message).toBe("'use_vmac' is a keepalived keyword that vrrpd does not support: remove it; vrrpd keeps the interface's own MAC address and moves the VIP with gratuitous ARP, as keepalived does without use_vmac");
  });

  it('an unknown option inside a VIP string is located at that entry', () => {
    const text = baseWith({ 20: '      - 10.0.0.50 dev ens32 scope global' });
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`invalid_value vrrp_instance.VI_1.virtual_ipaddress[0] @${at(text, 20, '10.0.0.50')}`]);
    expect(errors[0]!.message).toContain("unknown option 'scope'");
  });
});

describe('YAML syntax', () => {
  it('a syntax error is an issue with line and column, not an exception', () => {
    const text = baseWith({ 17: '      - [10.0.0.52' });
    const errors = errorsOf(parse(text));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.code === 'yaml_syntax' && e.line >= 17 && e.column >= 1 && e.path === '')).toBe(true);
  });

  it('a tab-indented line is located on its line', () => {
    const text = baseWith({ 11: '\tpriority: 100' });
    const errors = errorsOf(parse(text));
    expect(errors[0]!.code).toBe('yaml_syntax');
    expect(errors[0]!.line).toBe(11);
  });

  it('an alias without an anchor is located at the alias', () => {
    const text = baseWith({ 11: '    priority: *prio' });
    expect(errorsOf(parse(text)).map((e) => `${where(e)} ${e.message}`)).toEqual([`yaml_syntax  @${at(text, 11, '*prio')} alias *prio has no anchor &prio before it`]);
  });

  it('an anchor and alias work as YAML says', () => {
    const text = baseWith({ 10: '    virtual_router_id: &vrid 251' }, ['    garp_master_repeat: *vrid'.replace('251', '')]);
    expect(errorsOf(parse(text)).map((e) => `${e.path} ${e.message}`)).toEqual(['vrrp_instance.VI_1.garp_master_repeat must be a whole number 1..100, got 251']);
  });

  it('a __proto__ key is refused where it is written, not silently dropped', () => {
    const text = baseWith({ 7: '  __proto__:' });
    expect(errorsOf(parse(text)).map(where)).toEqual([`invalid_name  @${at(text, 7, '__proto__')}`]);
  });

  it('a duplicate key is reported at the second occurrence', () => {
    const text = baseWith({}, ['    priority: 99']);
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`duplicate_key  @${at(text, 23, 'priority')}`]);
    expect(errors[0]!.message).toContain('unique');
  });
});

describe('rules across fields', () => {
  it('a VRID used twice on one interface is an error at the second instance', () => {
    const text = baseWith({}, ['  VI_2:', '    interface: ens32', '    virtual_router_id: 251', '    virtual_ipaddress: [10.0.0.60]']);
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`duplicate_vrid vrrp_instance.VI_2.virtual_router_id @${at(text, 25, '251')}`]);
    expect(errors[0]!.message).toContain('virtual_router_id 251 is already used on ens32 by vrrp_instance VI_1');
  });

  it('the same VRID on another interface is fine', () => {
    const text = baseWith({}, ['  VI_2:', '    interface: ens33', '    virtual_router_id: 251', '    virtual_ipaddress: [10.0.1.60]']);
    expect(acceptedConfig(parse(text)).config.vrrp_instance['VI_2']!.virtual_router_id).toBe(251);
  });

  it('an unknown track_script is an error with a suggestion', () => {
    const text = baseWith({ 22: '      - chek' });
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`unknown_track_script vrrp_instance.VI_1.track_script[0] @${at(text, 22, 'chek')}`]);
    expect(errors[0]!.message).toBe("unknown vrrp_script 'chek' (did you mean 'check'?)");
  });

  it('priority 255 with a weighted script is an error at the tracker', () => {
    const text = baseWith({ 11: '    priority: 255' });
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`owner_with_weighted_tracker vrrp_instance.VI_1.track_script[0] @${at(text, 22, 'check')}`]);
    expect(errors[0]!.message).toContain("priority 255 (address owner) cannot have weighted trackers: 'check' has weight -20");
  });

  it('priority 255 with a weighted track_interface is an error; with weight 0 overrides it is accepted', () => {
    const weighted = baseWith({ 11: '    priority: 255', 22: '      - {name: check, weight: 0}' }, ['    track_interface:', '      - {name: eth1, weight: -10}']);
    expect(errorsOf(parse(weighted)).map(where)).toEqual([`owner_with_weighted_tracker vrrp_instance.VI_1.track_interface[0] @${at(weighted, 24, '{')}`]);
    const unweighted = baseWith({ 11: '    priority: 255', 22: '      - {name: check, weight: 0}' }, ['    track_interface: [eth1]']);
    expect(acceptedConfig(parse(unweighted)).config.vrrp_instance['VI_1']!.priority).toBe(255);
  });

  it('the index of a later tracker is right even after an earlier one was refused', () => {
    const text = baseWith({ 11: '    priority: 255', 22: '      - chek' }, ['      - check']);
    expect(errorsOf(parse(text)).map((e) => e.path)).toEqual(['vrrp_instance.VI_1.track_script[0]', 'vrrp_instance.VI_1.track_script[1]']);
  });

  it('more than 20 VIPs is too many', () => {
    const vips = Array.from({ length: 21 }, (_, i) => `10.0.0.${100 + i}`).join(', ');
    const text = baseWith({ 19: `    virtual_ipaddress: [${vips}]`, 20: '    dont_track_primary: false' });
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`too_many vrrp_instance.VI_1.virtual_ipaddress @${at(text, 19, '[')}`]);
    expect(errors[0]!.message).toBe('must have at most 20 addresses per instance, got 21');
  });

  it('20 VIPs are fine', () => {
    const vips = Array.from({ length: 20 }, (_, i) => `10.0.0.${100 + i}`).join(', ');
    const text = baseWith({ 19: `    virtual_ipaddress: [${vips}]`, 20: '    dont_track_primary: false' });
    expect(acceptedConfig(parse(text)).config.vrrp_instance['VI_1']!.virtual_ipaddress).toHaveLength(20);
  });

  it('more than 255 instances is too many', () => {
    const lines = ['vrrp_instance:'];
    for (let i = 0; i < 256; i++) {
      lines.push(`  VI_${i}: {interface: eth${i % 2}, virtual_router_id: ${(i >> 1) + 1}, virtual_ipaddress: [10.1.${i}.1]}`.replace(`10.1.${i}`, `10.${1 + (i >> 8)}.${i & 255}`));
    }
    const errors = errorsOf(parse(lines.join('\n')));
    expect(errors.map(where)).toEqual(['too_many vrrp_instance @2:3']);
    expect(errors[0]!.message).toBe('at most 255 instances, got 256');
  });

  it('duplicate VIPs and peers are errors at the repeat', () => {
    const text = baseWith({ 18: '      - 10.0.0.52' }, ['    dont_track_primary: false']).replace('      - 10.0.0.50 dev ens32', '      - 10.0.0.50 dev ens32\n      - 10.0.0.50/24');
    const errors = errorsOf(parse(text));
    expect(errors.map((e) => `${e.code} ${e.path} @${e.line}`)).toEqual([
      'duplicate_address vrrp_instance.VI_1.unicast_peer[1] @18',
      'duplicate_address vrrp_instance.VI_1.virtual_ipaddress[1] @21',
    ]);
  });

  it('a label must start with the device name', () => {
    const text = baseWith({ 20: '      - 10.0.0.50/24 dev ens33 label ens32:1' });
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`bad_label vrrp_instance.VI_1.virtual_ipaddress[0] @${at(text, 20, '10.0.0.50')}`]);
  });

  it('unicast_src_ip together with mcast_src_ip is refused', () => {
    const text = baseWith({}, ['    mcast_src_ip: 10.0.0.51']);
    expect(errorsOf(parse(text)).map(where)).toEqual([`conflicting_source vrrp_instance.VI_1.mcast_src_ip @${at(text, 23, '10.0.0.51')}`]);
  });

  it('PASS without a password is refused', () => {
    const text = baseWith({ 14: '    priority: 100'.replace('priority', 'advert_int').replace('100', '1') });
    expect(errorsOf(parse(text)).map(where)).toEqual([`missing_auth_pass vrrp_instance.VI_1.authentication.auth_pass @${at(text, 12, 'authentication')}`]);
  });

  it('a vrrp_script without a command is refused', () => {
    const text = baseWith({ 3: '    rise: 2' });
    expect(errorsOf(parse(text)).map(where)).toEqual([`missing_check vrrp_script.check @${at(text, 2, 'check')}`]);
  });

  it('instance names must be plain words', () => {
    const text = baseWith({ 7: '  "VI 1":' });
    expect(errorsOf(parse(text)).map(where)).toEqual([`invalid_name vrrp_instance.VI 1 @${at(text, 7, '"VI 1"')}`]);
  });

  it('all errors of a file come together, in file order', () => {
    const text = baseWith({ 5: '    weight: 999', 8: '    state: primary', 11: '    priority: 0' });
    expect(errorsOf(parse(text)).map((e) => e.line)).toEqual([5, 8, 11]);
  });
});

describe('warnings (keepalived corrects these, so do we, loudly)', () => {
  it('an auth_pass longer than 8 bytes is kept but warned about', () => {
    const text = baseWith({ 14: '      auth_pass: "0123456789"' });
    const result = acceptedConfig(parse(text));
    expect(result.warnings.map(where)).toEqual([`auth_pass_truncated vrrp_instance.VI_1.authentication.auth_pass @${at(text, 14, '"0123')}`]);
    expect(result.warnings[0]!.message).toContain('only the first 8 are sent');
    expect(formatIssue(result.warnings[0]!, 'warning')).toMatch(/^config warning at \/etc\/vrrpd\/vrrpd.yaml:14:\d+ /);
  });

  it('nopreempt with state MASTER is cleared with a warning', () => {
    const text = baseWith({ 8: '    state: MASTER', 11: '    nopreempt: true' });
    const result = acceptedConfig(parse(text));
    expect(result.warnings.map(where)).toEqual([`nopreempt_cleared vrrp_instance.VI_1.nopreempt @${at(text, 11, 'true')}`]);
    expect(result.config.vrrp_instance['VI_1']!.nopreempt).toBe(false);
  });

  it('nopreempt at priority 255 is cleared with a warning', () => {
    const text = baseWith({ 11: '    priority: 255', 22: '      - {name: check, weight: 0}' }, ['    nopreempt: true']);
    const result = acceptedConfig(parse(text));
    expect(result.warnings.map((w) => w.code)).toEqual(['nopreempt_cleared']);
    expect(result.config.vrrp_instance['VI_1']!.nopreempt).toBe(false);
  });

  it('nopreempt with a weighted tracker warns about the trap; weight 0 does not', () => {
    const trap = acceptedConfig(parse(baseWith({}, ['    nopreempt: true'])));
    expect(trap.warnings.map((w) => `${w.code} ${w.path}`)).toEqual(['nopreempt_with_weight vrrp_instance.VI_1.track_script[0]']);
    expect(trap.config.vrrp_instance['VI_1']!.nopreempt).toBe(true);
    const safe = acceptedConfig(parse(baseWith({ 5: '    weight: 0' }, ['    nopreempt: true'])));
    expect(safe.warnings).toEqual([]);
  });

  it("a peer equal to the node's own address is dropped with a warning", () => {
    const text = baseWith({ 16: '    unicast_peer: [10.0.0.51, 10.0.0.52, 10.0.0.53]', 17: '    advert_int: 1', 18: '    preempt_delay: 0' });
    const result = acceptedConfig(parse(text));
    expect(result.warnings.map(where)).toEqual([`peer_is_self vrrp_instance.VI_1.unicast_peer[0] @${at(text, 16, '10.0.0.51')}`]);
    expect(result.config.vrrp_instance['VI_1']!.unicast_peer).toEqual([0x0a000034, 0x0a000035]);
  });
});

describe('values as the user meant them', () => {
  it('an unquoted numeric auth_pass keeps its text, leading zeros included', () => {
    const config = acceptedConfig(parse(baseWith({ 14: '      auth_pass: 0123' }))).config;
    expect(config.vrrp_instance['VI_1']!.authentication).toEqual({ auth_type: 'PASS', auth_pass: '0123' });
  });

  it('defaults are keepalived\'s, with unicast source checking on', () => {
    const text = ['vrrp_instance:', '  VI_1:', '    interface: eth0', '    virtual_router_id: 7', '    virtual_ipaddress: [192.0.2.1]', ''].join('\n');
    const result = acceptedConfig(parse(text));
    expect(result.warnings).toEqual([]);
    const instance = result.config.vrrp_instance['VI_1']!;
    expect(instance).toMatchObject({
      state: 'BACKUP', priority: 100, advert_int: 1, nopreempt: false, preempt_delay: 0,
      garp_master_delay: 5, garp_master_repeat: 5, garp_master_refresh: 0,
      check_unicast_src: true, skip_check_adv_addr: false, unicast_peer: [], dont_track_primary: false,
    });
    expect(instance.authentication).toBeUndefined();
    expect(result.config.global_defs.vrrp_check_unicast_src).toBe(true);
  });

  it('instance settings fall back to global_defs, and instance values win', () => {
    const text = baseWith({}, ['    garp_master_repeat: 2', 'global_defs:', '  vrrp_garp_master_delay: 10', '  vrrp_garp_master_repeat: 3', '  vrrp_check_unicast_src: false', '  vrrp_skip_check_adv_addr: true']);
    const instance = acceptedConfig(parse(text)).config.vrrp_instance['VI_1']!;
    expect(instance).toMatchObject({ garp_master_delay: 10, garp_master_repeat: 2, check_unicast_src: false, skip_check_adv_addr: true });
  });

  it('VIP strings and objects give the same model', () => {
    const text = baseWith({ 20: '      - 10.0.0.60/24 dev ens33 label ens33:1 brd 10.0.0.255' }, ['      - {address: 10.0.0.61/24, dev: ens33, label: "ens33:2"}', '      - 10.0.0.62']);
    // Lines 23 and 24 follow the track_script list; put them back under virtual_ipaddress.
    const reordered = text.replace('    track_script:\n      - check\n', '') + '    track_script:\n      - check\n';
    const instance = acceptedConfig(parse(reordered)).config.vrrp_instance['VI_1']!;
    expect(instance.virtual_ipaddress).toEqual([
      { address: 0x0a00003c, prefix_len: 24, dev: 'ens33', label: 'ens33:1', brd: 0x0a0000ff },
      { address: 0x0a00003d, prefix_len: 24, dev: 'ens33', label: 'ens33:2' },
      { address: 0x0a00003e, prefix_len: 32, dev: 'ens32' },
    ]);
  });

  it('a script timeout defaults to its interval', () => {
    const config = acceptedConfig(parse(baseWith())).config;
    expect(config.vrrp_script['check']).toEqual({
      name: 'check', check: { kind: 'script', script: 'killall -0 kube-apiserver' },
      interval: 2, timeout: 2, weight: -20, reverse: false, rise: 1, fall: 1, init_fail: false,
    });
  });
});

describe('loadConfigFile', () => {
  it('reads a file and locates issues in it; a missing file is an issue, not an exception', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-config-test-'));
    try {
      const file = join(dir, 'vrrpd.yaml');
      writeFileSync(file, baseWith({ 11: '    priority: 300' }));
      const errors = errorsOf(await loadConfigFile(file));
      expect(errors.map((e) => `${e.file}:${e.line}`)).toEqual([`${file}:11`]);
      const missing = errorsOf(await loadConfigFile(join(dir, 'absent.yaml')));
      expect(missing.map((e) => e.code)).toEqual(['read_failed']);
      expect(formatIssue(missing[0]!)).toContain(`config error at ${join(dir, 'absent.yaml')}: cannot read the file`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses oversized input before parsing it', () => {
    const errors = errorsOf(parseConfigText('#'.repeat(1024 * 1024 + 1), 'big.yaml'));
    expect(errors.map((e) => e.code)).toEqual(['file_too_large']);
  });

  it('an alias bomb is refused, not expanded', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]', 'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]', ''].join('\n');
    const errors = errorsOf(parseConfigText(bomb, 'bomb.yaml'));
    expect(errors.map((e) => e.code)).toEqual(['yaml_syntax']);
  });
});
