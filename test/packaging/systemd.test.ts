/**
 * The shipped unit and install script, without a running systemd: `systemd-analyze verify` and the
 * offline security score on the unit, and systemd/install.sh run twice into a scratch root with a
 * fake systemctl on PATH (the second run must change nothing and not reload systemd).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';

const repo = new URL('../../', import.meta.url).pathname;
const unitPath = join(repo, 'systemd', 'vrrpd.service');
const installSh = join(repo, 'systemd', 'install.sh');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function scratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** The unit's settings as key -> values (a key may repeat). */
function unitSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!match) continue;
    settings.set(match[1]!, [...(settings.get(match[1]!) ?? []), match[2]!]);
  }
  return settings;
}

/** A copy of the unit whose vrrpd path exists on this host (verify checks ExecStart* binaries). */
function unitWithExistingBinary(): string {
  const dir = scratch('vrrpd-unit-');
  const fakeVrrpd = join(dir, 'vrrpd');
  writeFileSync(fakeVrrpd, '#!/bin/sh\nexit 0\n');
  chmodSync(fakeVrrpd, 0o755);
  const path = join(dir, 'vrrpd.service');
  writeFileSync(path, readFileSync(unitPath, 'utf8').replaceAll('/usr/local/bin/vrrpd ', `${fakeVrrpd} `));
  return path;
}

describe('systemd/vrrpd.service', () => {
  const settings = unitSettings(readFileSync(unitPath, 'utf8'));

  it('runs as user vrrpd with exactly CAP_NET_RAW and CAP_NET_ADMIN, ambient so that ip inherits them', () => {
    expect(settings.get('User')).toEqual(['vrrpd']);
    for (const key of ['AmbientCapabilities', 'CapabilityBoundingSet']) {
      expect(settings.get(key)?.flatMap((v) => v.split(/\s+/)).sort()).toEqual(['CAP_NET_ADMIN', 'CAP_NET_RAW']);
    }
    expect(settings.get('NoNewPrivileges')).toEqual(['yes']);
    expect(settings.get('RestrictAddressFamilies')).toEqual(['AF_UNIX AF_NETLINK AF_INET AF_INET6 AF_PACKET']);
    expect(settings.get('RuntimeDirectory')).toEqual(['vrrpd']);
    expect(settings.get('Type')).toEqual(['notify']);
    expect(settings.get('NotifyAccess')).toEqual(['all']);
    expect(settings.get('ExecStopPost')).toEqual(['/usr/local/bin/vrrpd release --config /etc/vrrpd/vrrpd.yaml']);
    expect(settings.get('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(settings.get('Restart')).toEqual(['always']);
  });

  it('passes systemd-analyze verify', () => {
    const result = spawnSync('systemd-analyze', ['verify', unitWithExistingBinary()], { encoding: 'utf8' });
    expect(result.error).toBeUndefined();
    expect(result.stderr + result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it('scores 2.5 or lower ("OK") in systemd-analyze security --offline', () => {
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', '--no-pager', unitWithExistingBinary()], { encoding: 'utf8' });
    const match = /Overall exposure level for vrrpd\.service: (\d+\.\d) (\w+)/.exec(out);
    expect(match, out).not.toBeNull();
    expect(Number(match![1])).toBeLessThanOrEqual(2.5);
    expect(match![2]).toBe('OK');
  });

  it('ships a default config that loads', async () => {
    const result = await loadConfigFile(join(repo, 'systemd', 'vrrpd.yaml'));
    expect(result.ok ? [] : result.errors).toEqual([]);
  });
});

describe('systemd/install.sh', () => {
  function fakeRoot(): { root: string; env: NodeJS.ProcessEnv; vrrpd: string; log: string } {
    const root = scratch('vrrpd-root-');
    mkdirSync(join(root, 'etc'));
    mkdirSync(join(root, 'run', 'systemd', 'system'), { recursive: true }); // "systemd is running"
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\n');
    const bin = join(root, 'fakebin');
    mkdirSync(bin);
    const log = join(root, 'systemctl.log');
    writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "$@" >> ${log}\n`);
    chmodSync(join(bin, 'systemctl'), 0o755);
    // Stands in for npm's bin link: <prefix>/bin/vrrpd -> lib/node_modules/vrrpd/dist/cli/main.js
    const main = join(root, 'prefix', 'lib', 'node_modules', 'vrrpd', 'dist', 'cli', 'main.js');
    mkdirSync(join(main, '..'), { recursive: true });
    writeFileSync(main, '#!/usr/bin/env node\n');
    chmodSync(main, 0o755);
    mkdirSync(join(root, 'prefix', 'bin'));
    execFileSync('ln', ['-s', '../lib/node_modules/vrrpd/dist/cli/main.js', join(root, 'prefix', 'bin', 'vrrpd')]);
    return { root, env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` }, vrrpd: join(root, 'prefix', 'bin', 'vrrpd'), log };
  }

  function install(t: ReturnType<typeof fakeRoot>): string {
    return execFileSync('sh', [installSh, '--root', t.root, '--vrrpd', t.vrrpd], { env: t.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  it('creates the user, unit and config once; a second run changes nothing and does not reload', () => {
    const t = fakeRoot();
    const first = install(t);
    expect(first).toContain('created user and group vrrpd');
    expect(readFileSync(t.log, 'utf8')).toBe('daemon-reload\n');

    const passwd = readFileSync(join(t.root, 'etc', 'passwd'), 'utf8');
    expect(passwd.match(/^vrrpd:x:\d+:\d+:[^:]*:\/:\/usr\/sbin\/nologin$/gm)).toHaveLength(1);
    const gid = Number(/^vrrpd:x:(\d+):/m.exec(readFileSync(join(t.root, 'etc', 'group'), 'utf8'))![1]);

    const unit = readFileSync(join(t.root, 'etc', 'systemd', 'system', 'vrrpd.service'), 'utf8');
    expect(unitSettings(unit).get('ExecStart')).toEqual([`${t.vrrpd} run --config /etc/vrrpd/vrrpd.yaml --state-dir /var/lib/vrrpd`]);
    expect(unitSettings(unit).get('ExecStopPost')).toEqual([`${t.vrrpd} release --config /etc/vrrpd/vrrpd.yaml`]);
    expect(unit).toContain(`file://${join(t.root, 'prefix', 'lib', 'node_modules', 'vrrpd')}/README.md`);

    const config = statSync(join(t.root, 'etc', 'vrrpd', 'vrrpd.yaml'));
    expect({ mode: config.mode & 0o777, uid: config.uid, gid: config.gid }).toEqual({ mode: 0o640, uid: 0, gid });
    expect(statSync(join(t.root, 'etc', 'vrrpd')).mode & 0o777).toBe(0o750);

    const snapshot = (): string => execFileSync('sh', ['-c', `cd ${t.root} && find . -path ./fakebin -prune -o -type f -print0 | sort -z | xargs -0 sha256sum; find . -printf '%p %m %U %G\\n' | sort`], { encoding: 'utf8' });
    const before = snapshot();
    const second = install(t);
    expect(second).not.toMatch(/installed|created/);
    expect(second.match(/unchanged:/g)).toHaveLength(5);
    expect(snapshot()).toBe(before);
    expect(readFileSync(t.log, 'utf8')).toBe('daemon-reload\n');
  });

  it('never overwrites an existing config', () => {
    const t = fakeRoot();
    mkdirSync(join(t.root, 'etc', 'vrrpd'));
    writeFileSync(join(t.root, 'etc', 'vrrpd', 'vrrpd.yaml'), '# mine\n');
    install(t);
    expect(readFileSync(join(t.root, 'etc', 'vrrpd', 'vrrpd.yaml'), 'utf8')).toBe('# mine\n');
  });

  it('refuses a vrrpd the sandbox cannot see (ProtectHome) and a relative path', () => {
    const t = fakeRoot();
    const run = (vrrpd: string) => spawnSync('sh', [installSh, '--root', t.root, '--vrrpd', vrrpd], { env: t.env, encoding: 'utf8' });
    const home = spawnSync('sh', ['-c', 'mkdir -p /root/.vrrpd-install-test && cp "$1" /root/.vrrpd-install-test/vrrpd && echo /root/.vrrpd-install-test/vrrpd', 'sh', '/bin/true'], { encoding: 'utf8' }).stdout.trim();
    try {
      const underRoot = run(home);
      expect(underRoot.status).toBe(1);
      expect(underRoot.stderr).toContain('ProtectHome');
    } finally {
      rmSync('/root/.vrrpd-install-test', { recursive: true, force: true });
    }
    const relative = run('bin/vrrpd');
    expect(relative.status).toBe(1);
    expect(relative.stderr).toContain('absolute path');
    expect(existsSync(join(t.root, 'etc', 'systemd'))).toBe(false);
  });
});
