/**
 * The release path an operator follows: `npm pack`, then `npm install -g` of the tarball into a
 * scratch prefix (which compiles raw-socket and our own addon), then the installed `vrrpd` runs,
 * and systemd/install.sh points a unit at it that `systemd-analyze verify` accepts.
 *
 * Then the installed package's unit runs under a real systemd (a container booted from this
 * machine's own root through an overlay, see container.ts): readiness, user and capabilities,
 * seccomp with SystemCallErrorNumber=kill, the four check kinds, VIP, reload, SIGKILL + release
 * and restart, stop.
 *
 * npm pack runs in a copy of the package (package.json's `files` plus tsconfig.json), so the build
 * its prepare script runs never rewrites the dist/ other tests in this tree are using. Dependencies
 * come from the npm cache or registry (--prefer-offline).
 */
import { mkdirSync, mkdtempSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpawnSyncReturns } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Container } from './container.js';
import { globalInstall as install, packPackage, run } from './tarball.js';

const scratch = mkdtempSync(join(tmpdir(), 'vrrpd-pack-'));

let tarball = '';
let entries: string[] = [];

function ok(result: SpawnSyncReturns<string>): SpawnSyncReturns<string> {
  expect(result.error).toBeUndefined();
  expect(result.status, `exit ${result.status}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

function globalInstall(name: string, extra: string[]) {
  return install(scratch, tarball, name, extra);
}

beforeAll(() => {
  ({ tarball, entries } = packPackage(scratch));
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
    expect(readFileSync(unit, 'utf8')).toContain(`ExecStart=${join(prefix, 'bin', 'vrrpd')} run --config /etc/vrrpd/vrrpd.yaml --state-dir /var/lib/vrrpd`);
    const verify = run('systemd-analyze', ['verify', unit]);
    expect(verify.error).toBeUndefined();
    expect(verify.stdout + verify.stderr).toBe('');
    expect(verify.status).toBe(0);
  });
});

describe('the installed unit under systemd (container)', { timeout: 60_000 }, () => {
  const CONFIG = `
vrrp_script:
  init:                     # PID 1 is root's: found through /proc by the unprivileged daemon
    process: systemd
    interval: 0.5
    weight: 0
  web:
    http:
      url: http://127.0.0.1:8080/readyz
    interval: 0.5
    weight: 0
  port:
    tcp: 127.0.0.1:8080
    interval: 0.5
    weight: 0
  pgrep:
    script: "pgrep -x systemd"
    interval: 1
    weight: 0
  killall:                  # the seed's kind of check: EPERM on root's process, so it fails
    script: "killall -0 systemd"
    interval: 1
    weight: 0
  caps:                     # what a script holds of vrrpd's capabilities (nothing)
    script: "sh -c 'grep ^Cap /proc/$$/status > /run/vrrpd/script-caps'"
    interval: 1
    weight: 0
vrrp_instance:
  VI_1:
    state: BACKUP
    interface: ens32
    virtual_router_id: 51
    priority: 100
    track_script: [init, web, port, pgrep, caps]
    unicast_src_ip: 10.0.0.51
    unicast_peer: [10.0.0.52]
    virtual_ipaddress: [10.0.0.50 dev ens32]
  VI_2:
    state: BACKUP
    interface: ens32
    virtual_router_id: 52
    priority: 100
    track_script: [killall]
    unicast_src_ip: 10.0.0.51
    unicast_peer: [10.0.0.52]
    virtual_ipaddress: [10.0.0.60 dev ens32]
`;
  let ct: Container;
  let prefix = '';

  type Status = { instances: Array<{ name: string; state: string; trackers: Array<{ name: string; status: string }> }> };
  const sh = async (script: string, input?: string) => {
    const result = await ct.exec(['sh', '-c', script], input);
    expect(result.code, `${script}\n${result.stdout}${result.stderr}`).toBe(0);
    return result.stdout.trim();
  };
  const show = async (property: string) => sh(`systemctl show -p ${property} --value vrrpd`);
  const vips = async () => (await sh('ip -o -4 addr show dev ens32')).match(/10\.0\.0\.\d+\/32/g) ?? [];
  const status = async () => JSON.parse(await sh('/opt/vrrpd/bin/vrrpd status --json')) as Status;
  const states = async () => Object.fromEntries((await status()).instances.map((i) => [i.name, i.state]));
  async function until<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
    let last: T | undefined;
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      try {
        last = await probe();
        if (ok(last)) return last;
      } catch {
        // not yet
      }
    }
    throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms\n${(await ct.exec(['journalctl', '-u', 'vrrpd', '--no-pager', '-o', 'cat'])).stdout}`);
  }

  beforeAll(async () => {
    const installed = globalInstall('for-container', [`--allow-scripts=raw-socket,${tarball}`]);
    ok(installed.result);
    prefix = installed.prefix;
    ct = await Container.boot('vrrpdpkg', [[prefix, '/opt/vrrpd']]);
    await sh('ip link add ens32 type veth peer name peer0 && ip addr add 10.0.0.51/24 dev ens32 && ip link set ens32 up && ip link set peer0 up');
    await sh('sh /opt/vrrpd/lib/node_modules/vrrpd/systemd/install.sh --vrrpd /opt/vrrpd/bin/vrrpd');
    await sh('cat > /etc/vrrpd/vrrpd.yaml', CONFIG);
    // Any system call outside the filter kills the daemon (SIGSYS) instead of failing with EPERM,
    // so a run that survives every step below used nothing the filter refuses.
    await sh('mkdir -p /etc/systemd/system/vrrpd.service.d && cat > /etc/systemd/system/vrrpd.service.d/test.conf && systemctl daemon-reload',
      '[Service]\nSystemCallErrorNumber=kill\nTimeoutStartSec=20s\n');
    ct.spawn(['node', '-e', "require('node:http').createServer((q, r) => r.end('ok')).listen(8080, '127.0.0.1')"]);
    await until('test web server', () => sh('ss -Hltn sport = 8080'), (out) => out.includes('8080'));
  }, 120_000);

  afterAll(async () => {
    await ct?.destroy();
  }, 30_000);

  it('systemctl start returns once vrrpd reported READY=1 (Type=notify)', async () => {
    const started = await ct.exec(['systemctl', 'start', 'vrrpd']);
    // Without READY=1 (src/daemon/sd-notify.ts not called from run.ts) this fails after TimeoutStartSec.
    const journal = (await ct.exec(['journalctl', '-u', 'vrrpd', '--no-pager', '-o', 'cat'])).stdout;
    expect(started.code, `systemctl start vrrpd: ${started.stderr}\n${journal}`).toBe(0);
    expect(await show('ActiveState')).toBe('active');
    expect(await show('SubState')).toBe('running');
  });

  it('runs as user vrrpd with exactly CAP_NET_ADMIN+CAP_NET_RAW, no new privileges, seccomp on; its scripts hold none', async () => {
    const pid = await show('MainPID');
    const status = await sh(`cat /proc/${pid}/status`);
    const field = (name: string, text = status) => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(text)?.[1];
    const uid = await sh('id -u vrrpd');
    expect(field('Uid')!.split(/\s+/)).toEqual([uid, uid, uid, uid]);
    for (const set of ['CapEff', 'CapPrm', 'CapBnd']) expect(field(set), set).toBe('0000000000003000');
    // The ambient set got node its capabilities at exec; vrrpd empties it so its children get none.
    expect(field('CapAmb')).toBe('0000000000000000');
    expect(field('NoNewPrivs')).toBe('1');
    expect(field('Seccomp')).toBe('2');
    const script = await until('the caps script to run', () => sh('cat /run/vrrpd/script-caps'), (text) => text.includes('CapAmb'));
    for (const set of ['CapEff', 'CapPrm', 'CapAmb']) expect(field(set, script), `script ${set}`).toBe('0000000000000000');
  });

  it('every check kind works under the sandbox: VI_1 becomes MASTER with its VIP; the killall check puts VI_2 in FAULT', async () => {
    await until('VI_1 MASTER, VI_2 FAULT', states, (s) => s['VI_1'] === 'MASTER' && s['VI_2'] === 'FAULT');
    expect(await vips()).toEqual(['10.0.0.50/32']);
    const trackers = Object.fromEntries((await status()).instances.map((i) => [i.name, Object.fromEntries(i.trackers.map((t) => [t.name, t.status]))]));
    expect(trackers).toEqual({
      VI_1: { 'interface:ens32': 'ok', 'script:init': 'ok', 'script:web': 'ok', 'script:port': 'ok', 'script:pgrep': 'ok', 'script:caps': 'ok' },
      VI_2: { 'interface:ens32': 'ok', 'script:killall': 'failed' },
    });
  });

  it('reload keeps the same process', async () => {
    const pid = await show('MainPID');
    await sh('systemctl reload vrrpd');
    expect(await show('MainPID')).toBe(pid);
    expect(await show('ActiveState')).toBe('active');
  });

  it('SIGKILL: ExecStopPost releases the VIP at once, Restart brings vrrpd back to MASTER', async () => {
    const pid = await show('MainPID');
    expect(Number(pid)).toBeGreaterThan(1);
    const killedAt = Date.now();
    await sh(`kill -KILL ${pid}`);
    await until('VIP released', vips, (v) => v.length === 0, 3_000);
    const releasedMs = Date.now() - killedAt;
    expect(releasedMs).toBeLessThan(2_000);
    await until('restarted', () => show('NRestarts'), (n) => n === '1');
    await until('MASTER again', states, (s) => s['VI_1'] === 'MASTER', 10_000);
    expect(await vips()).toEqual(['10.0.0.50/32']);
    expect(await sh('journalctl -u vrrpd --no-pager -o cat')).toContain('released 10.0.0.50/32 dev ens32');
  });

  it('systemctl stop: VIP removed, clean result, no SIGSYS anywhere', async () => {
    await sh('systemctl stop vrrpd');
    expect(await vips()).toEqual([]);
    expect(await show('Result')).toBe('success');
    expect(await sh('journalctl -u vrrpd --no-pager -o cat')).not.toMatch(/status=31\/SYS/);
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
