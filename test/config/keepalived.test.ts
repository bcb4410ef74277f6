/**
 * keepalived.conf as a configuration format: the seed's six files load unchanged and give the same
 * model as the shipped YAML examples; every grammar feature; every error class with its file, line
 * and column (computed from the test's own text); the same mistake gives the same message in both
 * formats; includes with globs; keepalived's quirks reported.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkConfigCommand } from '../../src/cli/check-config.js';
import { detectConfigFormat } from '../../src/config/keepalived.js';
import { expandGlob } from '../../src/config/keepalived-parse.js';
import { formatIssue, loadConfigFile, parseConfigText, type LoadResult } from '../../src/config/load.js';
import { acceptedConfig, baseWith, errorsOf, exampleFiles, ip, parse as parseYaml, where } from './helpers.js';
import { KEEPALIVED_FIXTURES, seedFixtures } from './keepalived-fixtures.js';

const FILE = '/etc/keepalived/keepalived.conf';

/**
 * A valid keepalived.conf, one setting per line. The same settings as helpers.ts BASE_LINES (YAML).
 *  1 global_defs {       10 vrrp_instance VI_1 {   19 unicast_src_ip
 *  5 vrrp_script check { 11 state 12 interface     20 unicast_peer { (21, 22)
 *  6 script 7 interval   13 virtual_router_id      24 virtual_ipaddress { (25)
 *  8 weight              14 priority               27 track_script { (28)
 *                        15 authentication { (16 auth_type, 17 auth_pass)
 */
const CONF_LINES = [
  'global_defs {',
  '    script_user root',
  '    enable_script_security',
  '}',
  'vrrp_script check {',
  '    script "killall -0 kube-apiserver"',
  '    interval 2',
  '    weight -20',
  '}',
  'vrrp_instance VI_1 {',
  '    state BACKUP',
  '    interface ens32',
  '    virtual_router_id 251',
  '    priority 100',
  '    authentication {',
  '        auth_type PASS',
  '        auth_pass 123456',
  '    }',
  '    unicast_src_ip 10.0.0.51',
  '    unicast_peer {',
  '        10.0.0.52',
  '        10.0.0.53',
  '    }',
  '    virtual_ipaddress {',
  '        10.0.0.50 dev ens32',
  '    }',
  '    track_script {',
  '        check',
  '    }',
  '}',
];

function confWith(replacements: Record<number, string> = {}, appended: string[] = []): string {
  return [...CONF_LINES.map((line, index) => replacements[index + 1] ?? line), ...appended].join('\n') + '\n';
}

function parse(text: string): LoadResult {
  return parseConfigText(text, FILE);
}

/** `line:column` of `needle` on 1-based line `line` of `text`. */
function at(text: string, line: number, needle: string): string {
  const column = text.split('\n')[line - 1]!.indexOf(needle);
  if (column < 0) throw new Error(`'${needle}' is not on line ${line}`);
  return `${line}:${column + 1}`;
}

const SEED = {
  master1: { source: '10.0.0.51', peers: ['10.0.0.52', '10.0.0.53'], priority: 100 },
  master2: { source: '10.0.0.52', peers: ['10.0.0.51', '10.0.0.53'], priority: 99 },
  master3: { source: '10.0.0.53', peers: ['10.0.0.51', '10.0.0.52'], priority: 98 },
} as const;

describe("the seed's keepalived.conf files", () => {
  const fixtures = seedFixtures();
  const examples = exampleFiles();

  it.each([...fixtures.entries()])('%s loads unchanged and says what the seed says', (name, text) => {
    expect(detectConfigFormat(text)).toBe('keepalived');
    const [mode, file] = name.split('/') as ['preempt' | 'nopreempt', string];
    const seed = SEED[file.replace('.conf', '') as keyof typeof SEED];
    const result = acceptedConfig(parseConfigText(text, name));
    const instance = result.config.vrrp_instance['VI_1']!;
    expect(result.config.global_defs).toMatchObject({ script_user: 'root', enable_script_security: true });
    expect(result.config.vrrp_script['check']).toEqual({
      name: 'check', check: { kind: 'script', script: 'killall -0 kube-apiserver' },
      interval: 2, timeout: 2, weight: -20, reverse: false, rise: 1, fall: 1, init_fail: false,
    });
    expect(instance).toMatchObject({
      interface: 'ens32', virtual_router_id: 251, priority: seed.priority, advert_int: 1,
      authentication: { auth_type: 'PASS', auth_pass: '123456' },
      unicast_src_ip: ip(seed.source), unicast_peer: seed.peers.map(ip),
      virtual_ipaddress: [{ address: ip('10.0.0.50'), prefix_len: 32, dev: 'ens32' }],
      track_script: [{ name: 'check' }],
    });
    if (mode === 'preempt') {
      expect(instance.state).toBe(file === 'master1.conf' ? 'MASTER' : 'BACKUP');
      expect(instance.nopreempt).toBe(false);
      expect(result.warnings).toEqual([]);
    } else {
      expect(instance.state).toBe('BACKUP');
      expect(instance.nopreempt).toBe(true);
      // The trap warning, at the `check` line inside track_script { }.
      const line = text.split('\n').findIndex((l) => /^\s+check\s/.test(l)) + 1;
      expect(result.warnings.map(where)).toEqual([`nopreempt_with_weight vrrp_instance.VI_1.track_script[0] @${at(text, line, 'check')}`]);
      expect(result.warnings[0]!.file).toBe(name);
    }
  });

  it.each([...fixtures.keys()])('%s gives exactly the model of the shipped YAML example', (name) => {
    const fromConf = acceptedConfig(parseConfigText(fixtures.get(name)!, name)).config;
    const fromYaml = acceptedConfig(parseConfigText(examples.get(name.replace('.conf', '.yaml'))!, 'x.yaml')).config;
    expect(fromConf).toEqual(fromYaml);
  });
});

describe('the fixtures are keepalived syntax', () => {
  // keepalived 2.2.7 itself (`keepalived -t`, config test only: nothing starts) accepts each fixture;
  // the only things it may say are that this machine lacks the interfaces.
  it.each(['preempt/master1.conf', 'nopreempt/master2.conf', 'features/every-keyword.conf'])('keepalived -t accepts %s', (name) => {
    const path = fileURLToPath(new URL(name, KEEPALIVED_FIXTURES));
    // Its exit code is the same (5) for a missing interface and for a real error, so read what it says.
    const run = spawnSync('keepalived', ['-t', '-f', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    expect(run.error).toBeUndefined();
    const said = `${run.stdout}${run.stderr}`.split('\n').filter((line) => line.trim() !== '');
    expect(said.filter((line) => !/interface \S+ for .* doesn't exist|Non-existent interface specified|tracked interface \S+ doesn't exist/.test(line))).toEqual([]);
  });
});

describe('format detection by content', () => {
  it.each([
    ['keepalived blocks', 'vrrp_instance VI_1 {\n}\n', 'keepalived'],
    ['the brace on the next line', '! comment\nglobal_defs\n{\n}\n', 'keepalived'],
    ['a top-level keyword alone', 'include /etc/keepalived/conf.d/*.conf\n', 'keepalived'],
    ['YAML mappings', 'vrrp_instance:\n  VI_1:\n    interface: ens32\n', 'yaml'],
    ['YAML with a flow mapping', 'vrrp_instance: {VI_1: {interface: ens32}}\n', 'yaml'],
    ['YAML whose values contain braces', '# c\nvrrp_script:\n  c:\n    script: "echo {}"\n', 'yaml'],
    ['an empty file', '', 'yaml'],
    ['a document marker', '---\n', 'yaml'],
  ])('%s', (_name, text, format) => {
    expect(detectConfigFormat(text)).toBe(format);
  });

  it('the examples are YAML whatever their extension; the fixtures keepalived', () => {
    for (const text of exampleFiles().values()) expect(detectConfigFormat(text)).toBe('yaml');
  });
});

describe('grammar', () => {
  it('the base file is accepted and gives the same model as the same settings in YAML', () => {
    const fromConf = acceptedConfig(parse(confWith()));
    expect(fromConf.warnings).toEqual([]);
    const yaml = baseWith({}, ['global_defs:', '  script_user: root', '  enable_script_security: true']);
    expect(fromConf.config).toEqual(acceptedConfig(parseYaml(yaml)).config);
  });

  it('blocks on one line, braces on the next line, several values on a line', () => {
    const text = [
      'vrrp_instance VI_1',
      '{',
      '    interface ens32',
      '    virtual_router_id 251',
      '    authentication { auth_type PASS',
      '        auth_pass 123456 }',
      '    unicast_peer { 10.0.0.52 10.0.0.53 }',
      '    virtual_ipaddress { 10.0.0.50 dev ens32 }',
      '    track_script',
      '    {',
      '        check weight -30',
      '    }',
      '    track_interface { eth1 weight -10 }',
      '}',
      'vrrp_script check { script "killall -0 kube-apiserver" }',
    ].join('\n');
    const result = acceptedConfig(parse(text));
    const instance = result.config.vrrp_instance['VI_1']!;
    // keepalived itself would read only the first peer of that line: said, not hidden.
    expect(result.warnings.map(where)).toEqual([`invalid_value vrrp_instance.VI_1.unicast_peer[1] @${at(text, 7, '10.0.0.53')}`]);
    expect(result.warnings[0]!.message).toContain('keepalived 2.2.7 reads only the first address of a line');
    expect(instance.authentication).toEqual({ auth_type: 'PASS', auth_pass: '123456' });
    expect(instance.unicast_peer).toEqual([ip('10.0.0.52'), ip('10.0.0.53')]);
    expect(instance.virtual_ipaddress).toEqual([{ address: ip('10.0.0.50'), prefix_len: 32, dev: 'ens32' }]);
    expect(instance.track_script).toEqual([{ name: 'check', weight: -30 }]);
    expect(instance.track_interface).toEqual([{ name: 'eth1', weight: -10 }]);
  });

  it('# and ! comments, whole-line and at the end of a line, in any script; # inside quotes is text', () => {
    const text = confWith({
      2: '    script_user root   # 脚本执行者',
      3: '    enable_script_security   ! 标记脚本安全 ✓',
      6: '    script "/usr/bin/check --tag=#1 !x"   # 脚本路径',
      7: '!   interval 9',
      8: '#   weight -5',
    });
    const { config, warnings } = acceptedConfig(parse(text));
    expect(warnings).toEqual([]);
    expect(config.global_defs).toMatchObject({ script_user: 'root', enable_script_security: true });
    expect(config.vrrp_script['check']).toMatchObject({ check: { kind: 'script', script: '/usr/bin/check --tag=#1 !x' }, interval: 1, weight: 0 });
  });

  it("a # in the middle of a word starts a comment, as in keepalived, with a warning; \\# is a literal #", () => {
    const cut = confWith({ 17: '        auth_pass abc#def' });
    const result = acceptedConfig(parse(cut));
    expect(result.config.vrrp_instance['VI_1']!.authentication!.auth_pass).toBe('abc');
    expect(result.warnings.map(where)).toEqual([`invalid_value  @${at(cut, 17, '#')}`]);
    // The column says where the word is cut; the word itself (here a password) is not repeated.
    expect(result.warnings[0]!.message).toContain('the word ends here and the rest of the line is ignored');
    expect(result.warnings[0]!.message).not.toMatch(/abc|def/);

    const escaped = confWith({ 17: '        auth_pass abc\\#de\\!f' });
    const kept = acceptedConfig(parse(escaped));
    expect(kept.warnings).toEqual([]);
    expect(kept.config.vrrp_instance['VI_1']!.authentication!.auth_pass).toBe('abc#de!f');
  });

  it('quoted and unquoted commands, with their arguments; user and script_user with a group', () => {
    const text = confWith({ 6: '    script /usr/local/bin/check  --port 6443', 7: '    user nobody nogroup' }, [
      'vrrp_instance VI_2 {', '    interface ens33', '    virtual_router_id 7', '    virtual_ipaddress { 192.0.2.1 }',
      '    notify_master "/etc/keepalived/notify.sh master"', '    notify /etc/keepalived/all.sh', '}',
    ]);
    const { config } = acceptedConfig(parse(text));
    expect(config.vrrp_script['check']).toMatchObject({ check: { kind: 'script', script: '/usr/local/bin/check --port 6443' }, user: 'nobody nogroup' });
    expect(config.vrrp_instance['VI_2']).toMatchObject({ notify_master: '/etc/keepalived/notify.sh master', notify: '/etc/keepalived/all.sh' });
  });

  it('virtual_ipaddress ADDR[/LEN] [dev X] [label X] [brd B], scope global and broadcast', () => {
    const text = confWith({ 25: '        10.0.0.50/24 dev ens32 label ens32:vip brd 10.0.0.255' }, []).replace(
      '        10.0.0.50/24 dev ens32 label ens32:vip brd 10.0.0.255\n',
      '        10.0.0.50/24 dev ens32 label ens32:vip brd 10.0.0.255\n        10.0.0.60 scope global\n        10.0.1.60/24 dev ens33 broadcast 10.0.1.255\n',
    );
    const vips = acceptedConfig(parse(text)).config.vrrp_instance['VI_1']!.virtual_ipaddress;
    expect(vips).toEqual([
      { address: ip('10.0.0.50'), prefix_len: 24, dev: 'ens32', label: 'ens32:vip', brd: ip('10.0.0.255') },
      { address: ip('10.0.0.60'), prefix_len: 32, dev: 'ens32' },
      { address: ip('10.0.1.60'), prefix_len: 24, dev: 'ens33', brd: ip('10.0.1.255') },
    ]);
  });

  it('every global_defs, vrrp_script and vrrp_instance keyword of docs/protocol.md#configuration-keywords', () => {
    const text = readFileSync(new URL('features/every-keyword.conf', KEEPALIVED_FIXTURES), 'utf8');
    const { config, warnings } = acceptedConfig(parseConfigText(text, 'every-keyword.conf'));
    expect(config.global_defs).toEqual({
      router_id: 'k8s-master-1', vrrp_version: 2, script_user: 'root root', enable_script_security: true, vrrp_garp_master_delay: 10,
      vrrp_garp_master_repeat: 3, vrrp_garp_master_refresh: 60, vrrp_skip_check_adv_addr: true, vrrp_startup_delay: 1.5,
      vrrp_check_unicast_src: true,
    });
    expect(config.vrrp_script['check_apiserver']).toEqual({
      name: 'check_apiserver', check: { kind: 'script', script: '/usr/local/bin/check-apiserver --port 6443 --tag #1' },
      interval: 2, timeout: 1, weight: -20, reverse: true, rise: 2, fall: 3, user: 'nobody nogroup', init_fail: true,
    });
    expect(config.vrrp_instance['VI_1']).toEqual({
      name: 'VI_1', state: 'BACKUP', interface: 'ens32', virtual_router_id: 51, priority: 150, version: 2, family: 4, advert_int: 2, nopreempt: true,
      preempt_delay: 5, authentication: { auth_type: 'PASS', auth_pass: 's3cret' }, unicast_src_ip: ip('10.0.0.51'),
      unicast_peer: [ip('10.0.0.52'), ip('10.0.0.53')],
      virtual_ipaddress: [
        { address: ip('10.0.0.50'), prefix_len: 24, dev: 'ens32', label: 'ens32:vip', brd: ip('10.0.0.255') },
        { address: ip('10.0.0.60'), prefix_len: 32, dev: 'ens32' },
        { address: ip('10.0.1.60'), prefix_len: 24, dev: 'ens32', brd: ip('10.0.1.255') },
      ],
      track_script: [{ name: 'check_apiserver' }, { name: 'check_haproxy', weight: -30 }],
      track_interface: [{ name: 'ens33', weight: -10 }, { name: 'ens34' }],
      track_file: [],
      dont_track_primary: true, garp_master_delay: 3, garp_master_repeat: 2, garp_master_refresh: 30,
      check_unicast_src: true, skip_check_adv_addr: true,
      notify_master: '/etc/keepalived/notify.sh master', notify_backup: '/etc/keepalived/notify.sh backup',
      notify_fault: '/etc/keepalived/notify.sh fault', notify_stop: '/etc/keepalived/notify.sh stop', notify: '/etc/keepalived/notify-all.sh',
    });
    expect(config.vrrp_instance['VI_2']).toMatchObject({ mcast_src_ip: ip('192.168.1.10'), garp_master_delay: 10, garp_master_repeat: 3, garp_master_refresh: 60 });
    // The ignored keywords are reported, each at its line; the nopreempt trap as usual.
    expect(warnings.filter((w) => w.code === 'unsupported_key').map((w) => `${w.path} @${w.line}`)).toEqual([
      'global_defs.notification_email @15', 'global_defs.smtp_server @18', 'vrrp_instance.VI_1.smtp_alert @75',
    ]);
    expect(warnings.filter((w) => w.code === 'unsupported_key').every((w) => w.message.includes('is ignored: vrrpd sends no e-mail'))).toBe(true);
  });

  it('numbers may be quoted, as keepalived strips the quotes before reading them', () => {
    const text = confWith({ 8: '    weight "-20"', 14: '    priority "100"', 28: '        check weight " -30"' });
    const { config } = acceptedConfig(parse(text));
    expect(config.vrrp_script['check']!.weight).toBe(-20);
    expect(config.vrrp_instance['VI_1']!.priority).toBe(100);
    expect(config.vrrp_instance['VI_1']!.track_script).toEqual([{ name: 'check', weight: -30 }]);
  });

  it('preempt undoes an earlier nopreempt (keepalived order: the last one wins)', () => {
    const text = confWith({ 14: '    nopreempt', 19: '    preempt' });
    expect(acceptedConfig(parse(text)).config.vrrp_instance['VI_1']!.nopreempt).toBe(false);
  });
});

describe('errors, each with its file, line and column', () => {
  it('an unbalanced } is an error at the brace, and nothing else is checked', () => {
    const text = confWith({ 4: '}}' });
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`conf_syntax  @4:2`]);
    expect(formatIssue(errors[0]!)).toBe(`config error at ${FILE}:4:2: unbalanced '}': no block is open here`);
  });

  it('a block that is never closed is an error at its {', () => {
    const text = confWith({ 26: '' });
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`conf_syntax  @${at(text, 10, '{')}`]);
    expect(errors[0]!.message).toBe("the '{' of 'vrrp_instance' is never closed: '}' missing");
  });

  it('an unterminated quote is an error at the quote', () => {
    const text = confWith({ 6: '    script "killall -0 kube-apiserver' });
    expect(errorsOf(parse(text)).map(where)).toEqual([`conf_syntax  @${at(text, 6, '"')}`]);
  });

  it.each([
    ['priority out of range', 14, '    priority 300', '300', 11, '    priority: 300'],
    ['virtual_router_id 0', 13, '    virtual_router_id 0', '0', 10, '    virtual_router_id: 0'],
    ['a word for a number', 14, '    priority high', 'high', 11, '    priority: high'],
    ['weight -254', 8, '    weight -254', '-254', 5, '    weight: -254'],
    ['lower-case state', 11, '    state master', 'master', 8, '    state: master'],
    ['AH authentication', 16, '        auth_type AH', 'AH', 13, '      auth_type: AH'],
    ['a bad address', 22, '        10.0.0.256', '10.0.0.256', 18, '      - 10.0.0.256'],
    ['a misspelt keyword', 14, '    prority 100', 'prority', 11, '    prority: 100'],
    ['an unsupported keyword', 14, '    use_vmac', 'use_vmac', 11, '    use_vmac: true'],
    ['an unknown VIP option', 25, '        10.0.0.50 dev ens32 scope host', '10.0.0.50', 20, '      - 10.0.0.50 dev ens32 scope host'],
  ])('%s: located in the keepalived.conf, with the message the YAML path gives', (_name, line, replacement, needle, yamlLine, yamlReplacement) => {
    const text = confWith({ [line]: replacement });
    const errors = errorsOf(parse(text));
    expect(errors).toHaveLength(1);
    expect(`${errors[0]!.line}:${errors[0]!.column}`).toBe(at(text, line, needle));
    expect(errors[0]!.file).toBe(FILE);
    const yamlErrors = errorsOf(parseYaml(baseWith({ [yamlLine]: yamlReplacement })));
    expect(errors.map((e) => `${e.code} ${e.path} ${e.message}`)).toEqual(yamlErrors.map((e) => `${e.code} ${e.path} ${e.message}`));
  });

  it.each([
    ['virtual_router_id', 13],
    ['interface', 12],
  ])('a missing %s is an error at the instance name', (key, line) => {
    const text = confWith({ [line]: '' });
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`missing_key vrrp_instance.VI_1.${key} @${at(text, 10, 'VI_1')}`]);
    expect(errors[0]!.message).toBe('is required');
  });

  it('a boolean keyword with a value is an error (keepalived would read `nopreempt false` as nopreempt on)', () => {
    const text = confWith({ 14: '    nopreempt false' });
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual([`invalid_value vrrp_instance.VI_1.nopreempt @${at(text, 14, 'false')}`]);
    expect(errors[0]!.message).toContain('takes no value');
  });

  it.each(['dont_track_primary', 'enable_script_security', 'vrrp_skip_check_adv_addr', 'vrrp_check_unicast_src', 'check_unicast_src', 'skip_check_adv_addr'])(
    '%s takes no value either',
    (flag) => {
      const line = flag.startsWith('vrrp_') || flag === 'enable_script_security' ? 3 : 14;
      const text = confWith({ [line]: `    ${flag} yes` });
      expect(errorsOf(parse(text)).map(where)).toEqual([`invalid_value ${line === 3 ? 'global_defs' : 'vrrp_instance.VI_1'}.${flag} @${at(text, line, 'yes')}`]);
    },
  );

  it('a list keyword without its block, and a value keyword with a block, are errors', () => {
    const text = confWith({ 24: '    virtual_ipaddress 10.0.0.50', 25: '    priority { 100 }', 26: '' });
    expect(errorsOf(parse(text)).map(where)).toEqual([
      `conf_syntax vrrp_instance.VI_1.virtual_ipaddress @${at(text, 24, 'virtual_ipaddress')}`,
      `conf_syntax vrrp_instance.VI_1.priority @${at(text, 25, '{')}`,
    ]);
  });

  it('an instance without a name, and a name defined twice, are errors', () => {
    const unnamed = confWith({ 10: 'vrrp_instance {' });
    // Then there is no instance at all, which is said too, at the same place.
    expect(errorsOf(parse(unnamed)).map((e) => `${where(e)} ${e.message}`)).toEqual([
      `missing_key vrrp_instance @${at(unnamed, 10, 'vrrp_instance')} 'vrrp_instance' needs a name, as in 'vrrp_instance VI_1 {'`,
      `missing_key vrrp_instance @${at(unnamed, 10, 'vrrp_instance')} must define at least one instance`,
    ]);
    const twice = confWith({}, ['vrrp_instance VI_1 {', '    interface ens33', '}']);
    expect(errorsOf(parse(twice)).map(where)).toEqual([`duplicate_key vrrp_instance.VI_1 @31:15`]);
    expect(errorsOf(parse(twice))[0]!.message).toBe('vrrp_instance VI_1 is defined twice (first at line 10)');
  });

  it('a track_script entry with words it does not know is an error at the word', () => {
    const text = confWith({ 28: '        check weight -30 extra' });
    expect(errorsOf(parse(text)).map(where)).toEqual([`invalid_value vrrp_instance.VI_1.track_script[0] @${at(text, 28, 'extra')}`]);
  });

  it("keepalived's preprocessor is refused at its line", () => {
    const text = confWith({}, ['$VIP=10.0.0.50']);
    expect(errorsOf(parse(text)).map(where)).toEqual([`unsupported_key  @31:1`]);
  });

  it('a vrrp_sync_group naming an instance that does not exist is an error at that name', () => {
    const text = confWith({}, ['vrrp_sync_group G1 {', '    group {', '        VI_1 VI_9', '    }', '}']);
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual(['unknown_sync_member vrrp_sync_group.G1.group[1] @33:14']);
    expect(errors[0]!.message).toBe("no vrrp_instance named 'VI_9' (did you mean 'VI_1'?); keepalived would ignore it and move the group without it");
  });

  it('an unknown top-level keyword is an error with a suggestion', () => {
    const text = confWith({}, ['vrrp_instanse VI_2 {', '}']);
    const errors = errorsOf(parse(text));
    expect(errors.map(where)).toEqual(['unknown_key vrrp_instanse @31:1']);
    expect(errors[0]!.message).toBe("unknown key 'vrrp_instanse' (did you mean 'vrrp_instance'?)");
  });

  it('all errors of a file come together, in file order', () => {
    const text = confWith({ 8: '    weight -999', 14: '    priority 0', 17: '        auth_pass', 16: '        auth_typ PASS' });
    expect(errorsOf(parse(text)).map((e) => `${e.line} ${e.path}`)).toEqual([
      '8 vrrp_script.check.weight',
      '14 vrrp_instance.VI_1.priority',
      // auth_type is missing: said at the authentication block that lacks it.
      '15 vrrp_instance.VI_1.authentication.auth_type',
      '16 vrrp_instance.VI_1.authentication.auth_typ',
      '17 vrrp_instance.VI_1.authentication.auth_pass',
    ]);
  });
});

describe("keepalived's quirks, reproduced and reported", () => {
  it('an auth_pass longer than 8 characters is kept, warned about at its value', () => {
    const text = confWith({ 17: '        auth_pass 0123456789' });
    const result = acceptedConfig(parse(text));
    expect(result.config.vrrp_instance['VI_1']!.authentication!.auth_pass).toBe('0123456789');
    expect(result.warnings.map(where)).toEqual([`auth_pass_truncated vrrp_instance.VI_1.authentication.auth_pass @${at(text, 17, '0123456789')}`]);
  });

  it('nopreempt with state MASTER is cleared, with a warning at nopreempt', () => {
    const text = confWith({ 11: '    state MASTER', 14: '    nopreempt' });
    const result = acceptedConfig(parse(text));
    expect(result.config.vrrp_instance['VI_1']!.nopreempt).toBe(false);
    expect(result.warnings.map(where)).toEqual([`nopreempt_cleared vrrp_instance.VI_1.nopreempt @${at(text, 14, 'nopreempt')}`]);
  });

  it('a keyword given twice: the last wins, as in keepalived, with a warning at the second', () => {
    const text = confWith({ 19: '    priority 90' });
    const result = acceptedConfig(parse(text));
    expect(result.config.vrrp_instance['VI_1']!.priority).toBe(90);
    expect(result.warnings.map(where)).toEqual([`duplicate_key vrrp_instance.VI_1.priority @${at(text, 19, 'priority')}`]);
    expect(result.warnings[0]!.message).toContain('first at line 14');
  });

  it('words after a single value are ignored with a warning, as keepalived ignores them', () => {
    const text = confWith({ 14: '    priority 100 200' });
    const result = acceptedConfig(parse(text));
    expect(result.config.vrrp_instance['VI_1']!.priority).toBe(100);
    expect(result.warnings.map(where)).toEqual([`invalid_value vrrp_instance.VI_1.priority @${at(text, 14, '200')}`]);
  });

  it.each([
    ['notification_email { ops@example.com }', 2, 'vrrpd sends no e-mail'],
    ['vrrp_mcast_group4 224.0.0.18', 2, 'always uses 224.0.0.18'],
    ['max_auto_priority', 2, 'systemd'],
  ])('global_defs `%s` is ignored with a warning that says what that means', (line, at, reason) => {
    const text = confWith({ [at]: `    ${line}` });
    const result = acceptedConfig(parse(text));
    expect(result.warnings.map((w) => `${w.code} @${w.line}:${w.column}`)).toEqual([`unsupported_key @${at}:5`]);
    expect(result.warnings[0]!.message).toContain(reason);
  });

  it('vrrp_version 3 makes the instances VRRPv3, and an invalid version is an error at its value', () => {
    const text = confWith({ 2: '    vrrp_version 3' });
    const { config, warnings } = acceptedConfig(parse(text));
    expect(config.global_defs.vrrp_version).toBe(3);
    expect(config.vrrp_instance['VI_1']!.version).toBe(3);
    // The fixture's PASS block is ignored in VRRPv3, with keepalived's words.
    expect(warnings.map((w) => `${w.code} ${w.path}`)).toContain('v3_authentication_ignored vrrp_instance.VI_1.authentication');
    const bad = confWith({ 2: '    vrrp_version 4' });
    expect(errorsOf(parse(bad)).map((e) => `${e.code} ${e.path} @${e.line}:${e.column}`)).toEqual([`invalid_value global_defs.vrrp_version @${at(bad, 2, '4')}`]);
  });

  it('unicast_peer min_ttl/max_ttl are ignored with a warning', () => {
    const text = confWith({ 21: '        10.0.0.52 min_ttl 255' });
    const result = acceptedConfig(parse(text));
    expect(result.config.vrrp_instance['VI_1']!.unicast_peer).toEqual([ip('10.0.0.52'), ip('10.0.0.53')]);
    expect(result.warnings.map(where)).toEqual([`unsupported_key vrrp_instance.VI_1.unicast_peer @${at(text, 21, 'min_ttl')}`]);
  });
});

describe('include', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  function tree(files: Record<string, string>): string {
    dir = mkdtempSync(join(tmpdir(), 'vrrpd-keepalived-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  }

  const instanceBody = CONF_LINES.slice(10, 29).join('\n');

  it('globs relative to the including file, in sorted order, at any depth, also inside a block', async () => {
    const root = tree({
      'keepalived.conf': '! main\ninclude conf.d/*.conf\n',
      'conf.d/10-global.conf': CONF_LINES.slice(0, 9).join('\n'),
      'conf.d/20-instance.conf': `vrrp_instance VI_1 {\n    include ../body/vi_1.{inc,body}\n}\n`,
      'conf.d/readme.txt': 'not a config',
      'conf.d/sub.conf/ignored.conf': 'a directory named like a config is skipped',
      'body/vi_1.inc': instanceBody,
    });
    // Loaded from another working directory: the include is relative to keepalived.conf.
    const result = acceptedConfig(await loadConfigFile(join(root, 'keepalived.conf')));
    expect(result.config).toEqual(acceptedConfig(parse(confWith())).config);
  });

  it('an issue in an included file names that file and its line', async () => {
    const root = tree({
      'keepalived.conf': 'include vi_1.conf\n',
      'vi_1.conf': CONF_LINES.join('\n').replace('priority 100', 'priority 300'),
    });
    const errors = errorsOf(await loadConfigFile(join(root, 'keepalived.conf')));
    expect(errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.code} ${e.path}`)).toEqual([`${join(root, 'vi_1.conf')}:14:14 out_of_range vrrp_instance.VI_1.priority`]);
  });

  it('a pattern that matches nothing is a warning (keepalived goes on); an include loop is an error', async () => {
    const root = tree({ 'keepalived.conf': `${confWith()}include conf.d/*.conf\n`, 'loop.conf': `${confWith()}include loop.conf\n` });
    const missing = acceptedConfig(await loadConfigFile(join(root, 'keepalived.conf')));
    expect(missing.warnings.map((w) => `${w.code} @${w.line}:${w.column}`)).toEqual(['read_failed @31:9']);
    expect(missing.warnings[0]!.message).toContain('matches no file');
    const loop = errorsOf(await loadConfigFile(join(root, 'loop.conf')));
    expect(loop.map((e) => `${e.code} @${e.line}:${e.column}`)).toEqual(['read_failed @31:9']);
    expect(loop[0]!.message).toContain('include loop');
  });

  it('include with more than one word is an error', () => {
    const text = confWith({}, ['include a.conf b.conf']);
    expect(errorsOf(parse(text)).map(where)).toEqual(['conf_syntax  @31:1']);
  });

  it('the glob supports *, ?, [...] and {a,b}, and leaves dot files alone', () => {
    const root = tree({ 'a1.conf': '', 'a2.conf': '', 'b1.conf': '', '.hidden.conf': '', 'x/c.conf': '' });
    const names = (pattern: string) => expandGlob(join(root, pattern)).map((p) => p.slice(root.length + 1));
    expect(names('*.conf')).toEqual(['a1.conf', 'a2.conf', 'b1.conf']);
    expect(names('a?.conf')).toEqual(['a1.conf', 'a2.conf']);
    expect(names('[ab]1.conf')).toEqual(['a1.conf', 'b1.conf']);
    expect(names('{b1,a2}.conf')).toEqual(['a2.conf', 'b1.conf']);
    expect(names('*/c.conf')).toEqual(['x/c.conf']);
    expect(names('nothing*')).toEqual([]);
  });
});

describe('the loaders', () => {
  it('vrrpd check-config accepts the seed trio as keepalived.conf, with the trap warning located in each file', async () => {
    const files = [1, 2, 3].map((n) => fileURLToPath(new URL(`nopreempt/master${n}.conf`, KEEPALIVED_FIXTURES)));
    let out = '';
    let err = '';
    const code = await checkConfigCommand(files, { write: (t: string) => (out += t) }, { write: (t: string) => (err += t) });
    expect(code).toBe(0);
    for (const file of files) {
      expect(out).toContain(`${file}: ok, 1 instance`);
      expect(err).toContain(`config warning at ${file}:25:9 vrrp_instance.VI_1.track_script[0]: with nopreempt`);
    }
  });

  it('loadConfigFile reads /etc/keepalived/keepalived.conf as it is, whatever the name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-keepalived-'));
    try {
      const path = join(dir, 'vrrpd.yaml');
      writeFileSync(path, seedFixtures().get('preempt/master1.conf')!);
      const result = acceptedConfig(await loadConfigFile(path));
      expect(result.config.vrrp_instance['VI_1']!.state).toBe('MASTER');
      expect(result.locate?.(['vrrp_instance', 'VI_1', 'priority'])).toMatchObject({ line: 17, column: 14 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
