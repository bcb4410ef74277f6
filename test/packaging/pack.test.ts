/**
 * The release path an operator follows: `npm pack`, then `npm install -g` of the tarball into a
 * scratch prefix (which compiles raw-socket and our own addon), then the installed `vrrpd` runs,
 * and systemd/install.sh points a unit at it that `systemd-analyze verify` accepts.
 *
 * npm pack runs in a copy of the package (package.json's `files` plus tsconfig.json), so the build
 * its prepare script runs never rewrites the dist/ other tests in this tree are using. Dependencies
 * come from the npm cache or registry (--prefer-offline).
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = new URL('../../', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'vrrpd-pack-'));
const npmFlags = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=warn'];

let tarball = '';
let entries: string[] = [];

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, ...options });
}

function ok(result: SpawnSyncReturns<string>): SpawnSyncReturns<string> {
  expect(result.error).toBeUndefined();
  expect(result.status, `exit ${result.status}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

/** npm install -g of the tarball into a fresh prefix; returns the prefix and npm's output. */
function globalInstall(name: string, extra: string[]): { prefix: string; result: SpawnSyncReturns<string> } {
  const prefix = join(scratch, name);
  mkdirSync(join(prefix, 'lib'), { recursive: true }); // npm 11's strict preflight lstat()s prefix/lib
  const result = run('npm', ['install', '-g', '--prefix', prefix, ...npmFlags, ...extra, tarball], { cwd: scratch });
  return { prefix, result };
}

beforeAll(() => {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { files: string[] };
  const source = join(scratch, 'source');
  mkdirSync(source);
  const copied = ['package.json', 'tsconfig.json', ...pkg.files.filter((f) => !f.startsWith('!') && f !== 'dist')];
  for (const entry of copied) {
    if (!existsSync(join(repo, entry))) continue;
    cpSync(join(repo, entry), join(source, entry), {
      recursive: true,
      filter: (path) => !path.includes('/src/io/native/build') && !path.endsWith('.tgz'),
    });
  }
  symlinkSync(join(repo, 'node_modules'), join(source, 'node_modules'));
  const packed = ok(run('npm', ['pack', '--json', '--pack-destination', scratch, ...npmFlags], { cwd: source }));
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(scratch, info[0]!.filename);
  entries = info[0]!.files.map((f) => f.path).sort();
}, 120_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('npm pack', { timeout: 60_000 }, () => {
  it('holds the built CLI, the addon sources, the unit and docs, and nothing from tests or builds', () => {
    expect(tarball).toMatch(/vrrpd-\d+\.\d+\.\d+\.tgz$/);
    for (const needed of [
      'package.json', 'README.md', 'dist/cli/main.js', 'dist/daemon/sd-notify.js', 'dist/io/native.js',
      'src/io/native/binding.gyp', 'src/io/native/packet.c',
      'systemd/vrrpd.service', 'systemd/install.sh', 'systemd/vrrpd.sysusers', 'systemd/vrrpd.yaml',
      'native-notes/raw-socket.md', 'examples/preempt/master1.yaml',
    ]) {
      expect(entries, needed).toContain(needed);
    }
    expect(entries.filter((p) => /^(test|node_modules|docs-draft|\.ci)\/|\.test\.ts$|\/build\/|\.node$/.test(p))).toEqual([]);
  });
});

describe('npm install -g of the tarball', { timeout: 60_000 }, () => {
  let prefix = '';
  beforeAll(() => {
    // The tarball's own allowScripts is not consulted for a global install (there is no project
    // root), so both packages with install scripts are allowed explicitly; a local tarball is
    // matched by its resolved path, not by its name.
    const installed = globalInstall('strict', ['--strict-allow-scripts', `--allow-scripts=raw-socket,${tarball}`]);
    ok(installed.result);
    prefix = installed.prefix;
  }, 120_000);

  it('builds raw-socket and the vrrpd_packet addon', () => {
    const pkg = join(prefix, 'lib', 'node_modules', 'vrrpd');
    expect(existsSync(join(pkg, 'node_modules', 'raw-socket', 'build', 'Release', 'raw.node'))).toBe(true);
    expect(existsSync(join(pkg, 'src', 'io', 'native', 'build', 'Release', 'vrrpd_packet.node'))).toBe(true);
    // Both load, from where the installed dist/ looks for them.
    const script = `
      const { createRequire } = await import('node:module');
      const native = await import(${JSON.stringify(join(pkg, 'dist', 'io', 'native.js'))});
      const addresses = native.loadPacketAddon().ipv4Addresses();
      const raw = createRequire(${JSON.stringify(join(pkg, 'dist', 'io', 'transport.js'))})('raw-socket');
      console.log(JSON.stringify({ lo: addresses.some((a) => a.ifname === 'lo'), raw: typeof raw.createSocket }));`;
    const out = ok(run(process.execPath, ['--input-type=module', '-e', script]));
    expect(JSON.parse(out.stdout)).toEqual({ lo: true, raw: 'function' });
  });

  it('puts a working vrrpd on PATH', () => {
    const help = ok(run(join(prefix, 'bin', 'vrrpd'), ['--help']));
    expect(help.stdout).toContain('Usage:');
    expect(help.stdout).toContain('vrrpd run --config FILE');
    const env = { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env['PATH'] ?? ''}` };
    const check = ok(run('vrrpd', ['check-config', join(prefix, 'lib', 'node_modules', 'vrrpd', 'systemd', 'vrrpd.yaml')], { env }));
    expect(check.stdout).toContain('ok, 1 instance');
  });

  it('gets a unit from systemd/install.sh that systemd-analyze verify accepts', () => {
    const root = join(scratch, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\n');
    const installSh = join(prefix, 'lib', 'node_modules', 'vrrpd', 'systemd', 'install.sh');
    ok(run('sh', [installSh, '--root', root, '--vrrpd', join(prefix, 'bin', 'vrrpd')]));
    const unit = join(root, 'etc', 'systemd', 'system', 'vrrpd.service');
    expect(readFileSync(unit, 'utf8')).toContain(`ExecStart=${join(prefix, 'bin', 'vrrpd')} run --config /etc/vrrpd/vrrpd.yaml`);
    const verify = run('systemd-analyze', ['verify', unit]);
    expect(verify.error).toBeUndefined();
    expect(verify.stdout + verify.stderr).toBe('');
    expect(verify.status).toBe(0);
  });
});

describe('plain npm install -g ./vrrpd-*.tgz (no allow-scripts flags)', { timeout: 60_000 }, () => {
  it('still builds both native parts, with npm noting the scripts it ran unreviewed', () => {
    const { prefix, result } = globalInstall('plain', []);
    ok(result);
    const pkg = join(prefix, 'lib', 'node_modules', 'vrrpd');
    expect(existsSync(join(pkg, 'node_modules', 'raw-socket', 'build', 'Release', 'raw.node'))).toBe(true);
    expect(existsSync(join(pkg, 'src', 'io', 'native', 'build', 'Release', 'vrrpd_packet.node'))).toBe(true);
    // What native-notes/raw-socket.md documents: the tarball's "allowScripts": {"raw-socket": true}
    // does not count for a global install, so npm lists raw-socket as not yet covered.
    expect(result.stderr).toMatch(/install scripts not yet covered by allowScripts[\s\S]*raw-socket@/);
    expect(ok(run(join(prefix, 'bin', 'vrrpd'), ['--help'])).stdout).toContain('Usage:');
  }, 120_000);
});
