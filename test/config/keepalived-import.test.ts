/**
 * `vrrpd import-keepalived`: for every keepalived fixture, the YAML it prints loads to the identical
 * internal model (VrrpdConfig deep-equal, and equal InstanceConfig for every instance), with
 * comments where keepalived said something YAML has no field for. The command refuses to convert
 * a rejected file and says where it is wrong.
 */
import { chmodSync, chownSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importKeepalivedCommand } from '../../src/cli/import-keepalived.js';
import { toInstanceConfig } from '../../src/config/convert.js';
import { readKeepalivedConfig } from '../../src/config/keepalived.js';
import { processCheckHint, renderKeepalivedAsYaml, yamlString } from '../../src/config/keepalived-yaml.js';
import { detectConfigFormat } from '../../src/config/keepalived.js';
import { parseConfigText } from '../../src/config/load.js';
import { acceptedConfig, ip } from './helpers.js';

const FIXTURES_DIR = fileURLToPath(new URL('./fixtures/keepalived/', import.meta.url));

/** Every .conf under fixtures/keepalived, as a path relative to it. */
function allFixtures(): string[] {
  const found: string[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(FIXTURES_DIR, relative), { withFileTypes: true })) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.conf')) found.push(path);
    }
  };
  walk('');
  return found.sort();
}

class Sink {
  text = '';
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

const fixtures = allFixtures();

describe('import-keepalived output is the same configuration', () => {
  it('covers the six seed files and the feature files', () => {
    expect(fixtures).toEqual([
      'features/every-keyword.conf', 'features/v3.conf',
      'nopreempt/master1.conf', 'nopreempt/master2.conf', 'nopreempt/master3.conf',
      'preempt/master1.conf', 'preempt/master2.conf', 'preempt/master3.conf',
    ]);
  });

  it.each(fixtures)('%s: YAML and keepalived.conf give a deep-equal VrrpdConfig and equal InstanceConfigs', (name) => {
    const text = readFileSync(join(FIXTURES_DIR, name), 'utf8');
    const original = acceptedConfig(parseConfigText(text, name));
    const yaml = renderKeepalivedAsYaml(readKeepalivedConfig(text, name), { sourceFile: name });
    expect(detectConfigFormat(yaml)).toBe('yaml');
    const imported = acceptedConfig(parseConfigText(yaml, 'imported.yaml'));
    expect(imported.config).toEqual(original.config);
    const fallbackSource = ip('192.0.2.99');
    for (const [instanceName, instance] of Object.entries(original.config.vrrp_instance)) {
      expect(toInstanceConfig(imported.config.vrrp_instance[instanceName]!, imported.config, fallbackSource)).toEqual(
        toInstanceConfig(instance, original.config, fallbackSource),
      );
    }
    // The warnings that come from the model (the nopreempt trap) come from the YAML too.
    const modelWarnings = (warnings: { code: string; path: string }[]) => warnings.filter((w) => w.code !== 'unsupported_key').map((w) => `${w.code} ${w.path}`);
    expect(modelWarnings(imported.warnings)).toEqual(modelWarnings(original.warnings));
  });

  it('carries comments: the original line comments, ignored keywords and why, the process-check hint', () => {
    const name = 'features/every-keyword.conf';
    const yaml = renderKeepalivedAsYaml(readKeepalivedConfig(readFileSync(join(FIXTURES_DIR, name), 'utf8'), name), { sourceFile: name });
    expect(yaml).toContain('  script: "/usr/local/bin/check-apiserver --port 6443 --tag #1"  # the # inside quotes is not a comment\n');
    // notification_email and smtp_server are comments inside global_defs, with their line.
    const globalDefs = yaml.split('global_defs:\n')[1]!.split('  router_id:')[0]!;
    expect(globalDefs.split('\n').filter((line) => line !== '').every((line) => line.startsWith('  # '))).toBe(true);
    expect(globalDefs.replace(/\n {2}# /g, ' ')).toContain(
      "# keepalived 'notification_email { ... }' (features/every-keyword.conf:15) is ignored: vrrpd sends no e-mail; use notify scripts",
    );
    expect(yaml).toContain('# keepalived \'smtp_alert\' (features/every-keyword.conf:75) is ignored');
    expect(yaml).toContain('`process: haproxy`');
  });

  it('the seed master1 prints as the YAML a person would write, with the seed\'s Chinese comments', () => {
    const name = 'preempt/master1.conf';
    const yaml = renderKeepalivedAsYaml(readKeepalivedConfig(readFileSync(join(FIXTURES_DIR, name), 'utf8'), name), { sourceFile: name });
    const body = yaml.split('\n').filter((line) => !line.trimStart().startsWith('#')).join('\n');
    expect(body).toBe([
      '', 'global_defs:', '  script_user: root  # 脚本执行者', '  enable_script_security: true  # 标记脚本安全', '',
      'vrrp_script:', '  check:', '    script: killall -0 kube-apiserver  # 脚本路径', '    interval: 2  # 脚本执行间隔，单位s',
      '    weight: -20  # -254-254之间，检测失败权重减少', '', 'vrrp_instance:', '  VI_1:  # 实例名',
      '    state: MASTER  # 3个实例，1个配置MASTER，另外2个配置BACKUP', '    interface: ens32', '    virtual_router_id: 251  # ID主备需一致',
      '    priority: 100  # 默认权重，3个节点保持不一致，并且MASTER最大，priority之间的差值要小于weight', '    authentication:',
      '      auth_type: PASS  # 主备验证信息，需一致', '      auth_pass: "123456"', '    track_script:',
      '      - check  # 调用脚本,若脚本最后的执行结果是非0的，则判断端口down掉，此时vip会漂移到keepalived-BACKUP上',
      '    unicast_src_ip: 10.0.0.51  # 配置源地址的IP地址，自己的ip', '    unicast_peer:', '      - 10.0.0.52',
      '      - 10.0.0.53  # 配置其他keepalived节点', '    virtual_ipaddress:', '      - 10.0.0.50 dev ens32  # vip', '',
    ].join('\n'));
    // The hint for the seed's check, which fails when vrrpd is not root; following it gives a
    // built-in process check.
    expect(yaml).toContain('`process: kube-apiserver` in place of `script`');
    const followed = acceptedConfig(parseConfigText(yaml.replace('script: killall -0 kube-apiserver', 'process: kube-apiserver'), 'x.yaml'));
    expect(followed.config.vrrp_script['check']!.check).toMatchObject({ kind: 'process' });
  });
});

describe('YAML scalars', () => {
  it.each([
    ['ens32', 'ens32'], ['123456', '"123456"'], ['0123', '"0123"'], ['1.5', '"1.5"'], ['yes', '"yes"'], ['NO', '"NO"'], ['null', '"null"'],
    ['10.0.0.50 dev ens32', '10.0.0.50 dev ens32'], ['a: b', '"a: b"'], ['#x', '"#x"'], ['x #y', '"x #y"'], ['-1', '"-1"'],
    ['', '""'], ['中文', '"中文"'], ['a"b', '"a\\"b"'], ['*alias', '"*alias"'],
  ])('%j is written as %s and reads back the same', (text, written) => {
    expect(yamlString(text)).toBe(written);
    const loaded = parseConfigText(`vrrp_instance:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 1\n    virtual_ipaddress: [192.0.2.1]\n    notify: ${written}\n`, 'x.yaml');
    if (text.trim() === '') return; // an empty command is refused, which is not what this checks
    expect(acceptedConfig(loaded).config.vrrp_instance['VI_1']!.notify).toBe(text.trim());
  });

  it('the process-check hint recognises killall -0, pidof and pgrep, and nothing else', () => {
    expect(processCheckHint('killall -0 kube-apiserver')).toContain('`process: kube-apiserver`');
    expect(processCheckHint('/usr/bin/killall -0 haproxy')).toContain('`process: haproxy`');
    expect(processCheckHint('pidof nginx')).toContain('`process: nginx`');
    expect(processCheckHint('pgrep -x etcd')).toContain('`process: etcd`');
    expect(processCheckHint('curl -fsk https://localhost:6443/healthz')).toBeUndefined();
    expect(processCheckHint('killall -0 a b')).toBeUndefined();
  });
});

describe('vrrpd import-keepalived FILE [-o OUT]', () => {
  it('prints the YAML to stdout, warnings to stderr, exit 0', async () => {
    const out = new Sink();
    const err = new Sink();
    const code = await importKeepalivedCommand(join(FIXTURES_DIR, 'nopreempt/master2.conf'), undefined, out, err);
    expect(code).toBe(0);
    expect(acceptedConfig(parseConfigText(out.text, 'x.yaml')).config.vrrp_instance['VI_1']!.priority).toBe(99);
    expect(err.text).toContain('config warning at');
    expect(err.text).toContain('nopreempt/master2.conf:25:9 vrrp_instance.VI_1.track_script[0]: with nopreempt');
  });

  it('-o writes the file; the written file loads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-import-'));
    try {
      const outFile = join(dir, 'vrrpd.yaml');
      const out = new Sink();
      const err = new Sink();
      expect(await importKeepalivedCommand(join(FIXTURES_DIR, 'preempt/master3.conf'), outFile, out, err)).toBe(0);
      expect(out.text).toBe('');
      expect(err.text).toContain(`converted to ${outFile}`);
      expect(acceptedConfig(parseConfigText(readFileSync(outFile, 'utf8'), outFile)).config.vrrp_instance['VI_1']!.unicast_src_ip).toBe(ip('10.0.0.53'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a rejected keepalived.conf: exit 3, every error located, nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-import-'));
    try {
      const input = join(dir, 'keepalived.conf');
      const outFile = join(dir, 'vrrpd.yaml');
      writeFileSync(input, readFileSync(join(FIXTURES_DIR, 'preempt/master1.conf'), 'utf8').replace('priority 100', 'priority 300').replace('    interface ens32\n', '    use_vmac\n'));
      const out = new Sink();
      const err = new Sink();
      expect(await importKeepalivedCommand(input, outFile, out, err)).toBe(3);
      expect(err.text).toContain(`config error at ${input}:15:5 vrrp_instance.VI_1.use_vmac: 'use_vmac' is a keepalived keyword that vrrpd does not support`);
      expect(err.text).toContain(`config error at ${input}:17:14 vrrp_instance.VI_1.priority: must be a whole number 1..255, got 300`);
      expect(err.text).toContain(`config error at ${input}:13:15 vrrp_instance.VI_1.interface: is required`);
      expect(err.text).toContain('rejected (3 errors); nothing was converted');
      expect(existsSync(outFile)).toBe(false);
      expect(out.text).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a YAML file is not imported (exit 2); a missing file is exit 3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-import-'));
    try {
      const yamlFile = join(dir, 'keepalived.conf');
      writeFileSync(yamlFile, 'vrrp_instance:\n  VI_1:\n    interface: eth0\n');
      const err = new Sink();
      expect(await importKeepalivedCommand(yamlFile, undefined, new Sink(), err)).toBe(2);
      expect(err.text).toContain('reads as YAML');
      const missing = new Sink();
      expect(await importKeepalivedCommand(join(dir, 'nope.conf'), undefined, new Sink(), missing)).toBe(3);
      expect(missing.text).toContain('cannot read');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('import-keepalived -o OUT: the file holds auth_pass', () => {
  const INPUT = join(FIXTURES_DIR, 'preempt/master1.conf');

  function withDir(body: (dir: string) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-import-'));
    return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
  }

  it('a new file is written with mode 0640, whatever the umask', () =>
    withDir(async (dir) => {
      const outFile = join(dir, 'vrrpd.yaml');
      expect(await importKeepalivedCommand(INPUT, outFile, new Sink(), new Sink())).toBe(0);
      expect(statSync(outFile).mode & 0o777).toBe(0o640);
      expect(readFileSync(outFile, 'utf8')).toContain('auth_pass');
    }));

  it('an existing file is refused without --force, and left as it was', () =>
    withDir(async (dir) => {
      const outFile = join(dir, 'vrrpd.yaml');
      writeFileSync(outFile, 'my hand-edited config\n', { mode: 0o600 });
      const err = new Sink();
      expect(await importKeepalivedCommand(INPUT, outFile, new Sink(), err)).toBe(1);
      expect(err.text).toContain(`${outFile} already exists; nothing was written (give --force to replace it)`);
      expect(readFileSync(outFile, 'utf8')).toBe('my hand-edited config\n');
      expect(statSync(outFile).mode & 0o777).toBe(0o600);
    }));

  it('--force replaces it whole: mode 0640, owner and group kept (install.sh gives it to root:vrrpd)', () =>
    withDir(async (dir) => {
      const outFile = join(dir, 'vrrpd.yaml');
      writeFileSync(outFile, 'old\n');
      chmodSync(outFile, 0o644);
      chownSync(outFile, 0, 4321);
      expect(await importKeepalivedCommand(INPUT, outFile, new Sink(), new Sink(), { force: true })).toBe(0);
      const info = statSync(outFile);
      expect(info.mode & 0o777).toBe(0o640);
      expect([info.uid, info.gid]).toEqual([0, 4321]);
      expect(acceptedConfig(parseConfigText(readFileSync(outFile, 'utf8'), outFile)).config.vrrp_instance['VI_1']!.priority).toBe(100);
      // Nothing is left behind next to it.
      expect(readdirSync(dir)).toEqual(['vrrpd.yaml']);
    }));

  it('the command line: --force is an option of import-keepalived, and means nothing without -o', () =>
    withDir(async (dir) => {
      const outFile = join(dir, 'vrrpd.yaml');
      writeFileSync(outFile, 'old\n');
      const vrrpd = (...args: string[]) =>
        spawnSync(process.execPath, ['--import', resolve(import.meta.dirname, '..', 'register.mjs'), resolve(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8', timeout: 30_000 });
      const refused = vrrpd('import-keepalived', INPUT, '-o', outFile);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('already exists');
      const forced = vrrpd('import-keepalived', INPUT, '-o', outFile, '--force');
      expect(forced.status).toBe(0);
      expect(statSync(outFile).mode & 0o777).toBe(0o640);
      expect(vrrpd('import-keepalived', INPUT, '--force').status).toBe(2);
    }), 60_000);
});
