/**
 * Never MASTER without the means, on a real kernel: vrrpd run as an ordinary user (uid 65534) with
 * no capability, with CAP_NET_RAW alone, and as root with an instance on an interface that is not
 * there yet. The unprivileged runs use a world-readable copy of what `vrrpd run` needs (dist/, the
 * addon, the runtime dependencies), so they work wherever the checkout is (CI puts it in a 0700
 * directory).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chownSync, chmodSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAdvert, parseIpHeader } from '../../src/core/codec.js';
import { formatIp, formatIpv4 } from '../../src/core/ip.js';
import { Lab, labUnavailableReason, seedMasters } from './lab.js';
import { sleep, startVrrpd, VrrpdProcess, waitUntil, type LogLine } from './vrrpd.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NOBODY = 65534;
const AS_NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

/** A copy of the installed package's runtime files, readable (not writable) by everyone. */
function readablePackage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vrrpd-failclosed-'));
  cpSync(join(REPO, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(dir, 'package.json'));
  cpSync(join(REPO, 'src', 'io', 'native', 'build', 'Release', 'vrrpd_packet.node'), join(dir, 'src', 'io', 'native', 'build', 'Release', 'vrrpd_packet.node'));
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  for (const [path, info] of Object.entries(lock.packages)) {
    if (path !== '' && info.dev !== true && existsSync(join(REPO, path))) cpSync(join(REPO, path), join(dir, path), { recursive: true });
  }
  execFileSync('chmod', ['-R', 'a+rX,go-w', dir]);
  // The control socket is made by the daemon, as uid 65534.
  mkdirSync(join(dir, 'run'));
  chownSync(join(dir, 'run'), NOBODY, NOBODY);
  chmodSync(join(dir, 'run'), 0o700);
  return dir;
}

const CONFIG = `vrrp_instance:
  VI_1:
    state: BACKUP
    interface: ens32
    virtual_router_id: 51
    priority: 100
    advert_int: 1
    authentication: { auth_type: PASS, auth_pass: "123456" }
    unicast_src_ip: 10.0.0.51
    unicast_peer: [10.0.0.52]
    virtual_ipaddress: [10.0.0.50]
`;

/** Lines that are not one line of what failed: a serialised error or a stack trace. */
function stackLines(lines: readonly LogLine[]): LogLine[] {
  return lines.filter((l) => 'err' in l || JSON.stringify(l).includes('stack') || JSON.stringify(l).includes('    at '));
}

describe.skipIf(labUnavailableReason !== undefined)('never MASTER without the means (real kernel)', () => {
  let lab: Lab;
  let pkg: string;
  const running: VrrpdProcess[] = [];

  beforeAll(async () => {
    pkg = readablePackage();
    lab = await Lab.create({ hosts: seedMasters(1) });
  });

  afterAll(async () => {
    for (const proc of running) proc.signal('SIGKILL');
    await lab?.destroy();
    if (pkg !== undefined) rmSync(pkg, { recursive: true, force: true });
  });

  /** `vrrpd run` from the readable copy as uid 65534 with these capabilities (setpriv names). */
  const runAsNobody = (caps: string[], name: string): VrrpdProcess => {
    const configPath = join(pkg, `${name}.yaml`);
    const socketPath = join(pkg, 'run', `${name}.sock`);
    writeFileSync(configPath, CONFIG, { mode: 0o644 });
    const capArgs = caps.length === 0 ? ['--inh-caps=-all'] : [`--inh-caps=-all,${caps.map((c) => `+${c}`).join(',')}`, `--ambient-caps=${caps.map((c) => `+${c}`).join(',')}`];
    const child = lab.spawn('m1', 'setpriv', [...AS_NOBODY, ...capArgs, process.execPath, join(pkg, 'dist', 'cli', 'main.js'), 'run', '--config', configPath, '--socket', socketPath, '--state-dir', join(pkg, 'run', `${name}-state`)]);
    const proc = new VrrpdProcess(lab, 'm1', socketPath, configPath, child);
    running.push(proc);
    return proc;
  };

  it('as an ordinary user without capabilities: one line naming what is missing, exit 1, nothing touched', async () => {
    const proc = runAsNobody([], 'nocaps');
    const exited = await Promise.race([proc.exited, sleep(15_000).then(() => undefined)]);
    proc.signal('SIGKILL');
    expect(exited, `still running after 15 s; log:\n${proc.lines.map((l) => JSON.stringify(l)).join('\n')}`).toEqual({ code: 1, signal: null });
    // The lab's process handle gives stderr trimmed: exactly this one line, nothing before or after.
    expect(proc.errors).toBe(
      'vrrpd: cannot run: CAP_NET_RAW and CAP_NET_ADMIN are missing (needed for the VRRP socket, gratuitous ARP and the virtual addresses); ' +
        'run as root or with AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN',
    );
    expect(proc.lines.map((l) => l.msg)).not.toContain('vrrpd started');
    expect(existsSync(proc.socketPath)).toBe(false);
    expect(await lab.addrs('m1')).toEqual(['10.0.0.51/24']);
  });

  it('with CAP_NET_RAW but not CAP_NET_ADMIN: never MASTER, FAULT no_permission:vip_add in status --json, no advert on the wire', async () => {
    const capture = await lab.tcpdump('m1', 'ip proto 112');
    const proc = runAsNobody(['net_raw'], 'rawonly');
    await proc.waitForLine((l) => l.msg === 'vrrpd started', 15_000);
    // Well past Master_Down_Interval (3 x 1 s + skew): an instance with the means would be MASTER.
    await sleep(5_000);
    const frames = await capture.stop();
    const status = await proc.status();
    expect(status.instances[0]).toMatchObject({ name: 'VI_1', state: 'FAULT', fault_causes: ['no_permission:vip_add'], adverts_sent: 0 });
    expect(proc.transitions().map((l) => l.msg)).toEqual(['INIT -> FAULT (fault: no_permission:vip_add)']);
    expect(proc.transitions()[0]).toMatchObject({ fault_causes: ['no_permission:vip_add'] });
    expect(proc.lines.find((l) => l.level === 40 && String(l.msg).includes('CAP_NET_ADMIN is missing'))).toBeDefined();
    const ours = frames.filter((f) => {
      const ip = parseIpHeader(f.bytes.subarray(14));
      return ip.ok && formatIp(ip.ip.source) === '10.0.0.51' && decodeAdvert(f.bytes.subarray(14), ip.ip.headerLength).ok;
    });
    expect(ours).toEqual([]);
    expect(await lab.addrs('m1')).toEqual(['10.0.0.51/24']);
    expect(stackLines(proc.lines)).toEqual([]);
    proc.signal('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
  });

  it('an instance on a missing interface: FAULT saying so, a line or two in 10 s without stacks, and it recovers when the interface is created', async () => {
    // VI_1 on ens32 keeps the daemon running; VI_2 waits for late0 (created by the network manager
    // after vrrpd started, at boot). No source address configured: it is late0's, once it has one.
    const config = `${CONFIG}  VI_2:
    interface: late0
    virtual_router_id: 52
    priority: 100
    advert_int: 1
    virtual_ipaddress: [10.9.0.50 dev late0]
`;
    const proc = startVrrpd(lab, 'm1', config);
    running.push(proc);
    await proc.waitForLine((l) => l.msg === 'vrrpd started', 15_000);
    expect(proc.lines.find((l) => l.to === 'FAULT' && l.instance === 'VI_2')).toMatchObject({
      from: 'INIT',
      fault_causes: expect.arrayContaining(['missing_interface:late0']),
    });
    expect(proc.lines.some((l) => l.level === 40 && String(l.msg).includes('interface late0 does not exist (needed by VI_2)'))).toBe(true);
    const mark = proc.lines.length;
    await sleep(10_000);
    const about = proc.lines.slice(mark).filter((l) => l.interface === 'late0' || JSON.stringify(l).includes('late0'));
    expect(about.length, JSON.stringify(about)).toBeLessThanOrEqual(2);
    expect(stackLines(proc.lines)).toEqual([]);
    expect((await proc.status()).instances.find((i) => i.name === 'VI_2')).toMatchObject({ state: 'FAULT' });

    const must = async (...args: string[]): Promise<void> => {
      const result = await lab.exec('m1', 'ip', args);
      expect(result.code, result.stderr).toBe(0);
    };
    // No dummy module on every kernel: a veth pair with both ends here is an interface that is up.
    await must('link', 'add', 'late0', 'type', 'veth', 'peer', 'name', 'late1');
    await must('addr', 'add', '10.9.0.1/24', 'dev', 'late0');
    await must('link', 'set', 'late1', 'up');
    await must('link', 'set', 'late0', 'up');
    const recovered = await proc.waitForLine((l) => l.instance === 'VI_2' && l.from === 'FAULT' && l.to === 'BACKUP', 10_000, mark);
    expect(recovered.reason).toBe('fault_cleared');
    await proc.waitForLine((l) => l.instance === 'VI_2' && l.to === 'MASTER', 10_000, mark);
    await waitUntil(async () => (await lab.addrs('m1', 'late0')).includes('10.9.0.50/32'), 3_000, 'VI_2 to add 10.9.0.50 on late0');
    expect((await proc.status()).instances.find((i) => i.name === 'VI_2')).toMatchObject({ state: 'MASTER', fault_causes: [] });
    expect(stackLines(proc.lines)).toEqual([]);
    proc.signal('SIGTERM');
    await proc.exited;
  });
});
