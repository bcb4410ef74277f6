/**
 * Scripts never gain vrrpd's privileges (issue 12), on a real kernel: vrrpd runs as the shipped
 * unit runs it (an ordinary user, CAP_NET_ADMIN + CAP_NET_RAW as ambient capabilities, no new
 * privileges), a track script and a notify_master script write their own capability sets to a
 * file, and:
 * - both find CapEff, CapPrm and CapAmb (and CapInh) empty, while the daemon itself still holds
 *   CAP_NET_ADMIN + CAP_NET_RAW, becomes MASTER, adds the VIP (after removing a stale one), sends
 *   GARP and removes the VIP at stop; `vrrpd release` as the same user removes a VIP left by kill -9;
 * - `vrrpd.script_capabilities: inherit` gives the old behaviour (the scripts hold the ambient set);
 * - under enable_script_security, a world-writable script, or one in a world-writable directory,
 *   is refused with exit 3 although it would run as the non-root user: the daemon holds
 *   capabilities, so what it runs must be root's to change.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Lab, labUnavailableReason, type CapturedFrame, seedMasters } from './lab.js';
import { asUnitUser, NOBODY, readablePackage, type ReadablePackage } from './readable-package.js';
import { sleep, VrrpdProcess, waitUntil } from './vrrpd.js';

const VIP = '10.0.0.50/32';
const NO_CAPS = '0000000000000000';
const UNIT_CAPS = '0000000000003000'; // CAP_NET_ADMIN (12) | CAP_NET_RAW (13)

/** The capability lines of a /proc/PID/status text. */
function capabilityLines(status: string): Record<string, string> {
  return Object.fromEntries([...status.matchAll(/^(Cap(?:Inh|Prm|Eff|Amb)):\s*([0-9a-f]+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The sender MAC of a gratuitous ARP for `address`, or undefined for any other frame. */
function garpSender(frame: Uint8Array, address: string): string | undefined {
  if (frame.length < 42 || frame[12] !== 0x08 || frame[13] !== 0x06) return undefined;
  const ip = (at: number) => [...frame.subarray(at, at + 4)].join('.');
  if (ip(28) !== address || ip(38) !== address) return undefined;
  return [...frame.subarray(22, 28)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

describe.skipIf(labUnavailableReason !== undefined)('scripts run without the daemon\'s capabilities', () => {
  let lab: Lab;
  let pkg: ReadablePackage;
  /** Root's, 0755 all the way: passes enable_script_security. */
  let scripts: string;
  /** Where the scripts write; the daemon's user owns it. */
  let out: string;
  /** Configs and control sockets; the daemon's user owns it. */
  let work: string;
  let serial = 0;
  let running: VrrpdProcess[] = [];

  beforeAll(async () => {
    lab = await Lab.create({ hosts: seedMasters(2) });
    pkg = readablePackage();
    scripts = mkdtempSync(join(tmpdir(), 'vrrpd-caps-scripts-'));
    chmodSync(scripts, 0o755);
    writeFileSync(join(scripts, 'caps.sh'), '#!/bin/sh\n# $1: track or notify. What this very process holds, as the kernel says.\ngrep -E "^Cap(Inh|Prm|Eff|Amb):" /proc/$$/status > "$2/.$1.$$" && mv "$2/.$1.$$" "$2/$1.$$"\nexit 0\n', { mode: 0o755 });
    out = mkdtempSync(join(tmpdir(), 'vrrpd-caps-out-'));
    work = mkdtempSync(join(tmpdir(), 'vrrpd-caps-work-'));
    for (const dir of [out, work]) {
      chownSync(dir, NOBODY, NOBODY);
      chmodSync(dir, 0o755);
    }
  }, 120_000);

  afterEach(async () => {
    for (const proc of running) proc.signal('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    running = [];
    await lab.exec('m1', 'ip', ['addr', 'del', VIP, 'dev', 'ens32']);
    for (const name of readdirSync(out)) rmSync(join(out, name), { force: true });
  });

  afterAll(async () => {
    await lab?.destroy();
    pkg?.remove();
    for (const dir of [scripts, out, work]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const config = (options: { script?: string; scriptCapabilities?: 'inherit' } = {}): string => `${options.scriptCapabilities ? `vrrpd:\n  script_capabilities: ${options.scriptCapabilities}\n` : ''}global_defs:
  enable_script_security: true
vrrp_script:
  caps:
    script: "${options.script ?? join(scripts, 'caps.sh')} track ${out}"
    interval: 1
    weight: 0
vrrp_instance:
  VI_1:
    state: MASTER
    interface: ens32
    virtual_router_id: 51
    priority: 100
    advert_int: 1
    track_script: [caps]
    notify_master: "${join(scripts, 'caps.sh')} notify ${out}"
    unicast_src_ip: 10.0.0.51
    unicast_peer: [10.0.0.52]
    virtual_ipaddress: [10.0.0.50 dev ens32]
`;

  /** `vrrpd run` on m1 as the unit's user, from the readable copy. */
  const start = (yaml: string): VrrpdProcess => {
    const id = `m1-${++serial}`;
    const configPath = join(work, `${id}.yaml`);
    const socketPath = join(work, `${id}.sock`);
    writeFileSync(configPath, yaml, { mode: 0o644 });
    const argv = [...asUnitUser(), pkg.node, pkg.cli, 'run', '--config', configPath, '--socket', socketPath, '--log-level', 'debug', '--state-dir', join(work, `${id}-state`)];
    const proc = new VrrpdProcess(lab, 'm1', socketPath, configPath, lab.spawn('m1', argv[0]!, argv.slice(1)));
    running.push(proc);
    return proc;
  };

  /** The capability sets each script run recorded, by kind ('track', 'notify'). */
  const recorded = (kind: string): Record<string, string>[] =>
    readdirSync(out).filter((name) => name.startsWith(`${kind}.`)).map((name) => capabilityLines(readFileSync(join(out, name), 'utf8')));

  it('track and notify scripts hold no capability; the daemon keeps its own, becomes MASTER, adds the VIP, sends GARP, removes the VIP at stop', async () => {
    // A VIP left behind by a crash, with another prefix: removed at start through the addon.
    await lab.exec('m1', 'ip', ['addr', 'add', '10.0.0.50/24', 'dev', 'ens32']);
    const wire = await lab.tcpdump('m2', 'arp');
    const vrrpd = start(config());
    await vrrpd.waitForLine((l) => l.msg === 'vrrpd started', 15_000);
    await vrrpd.waitForState('MASTER', 10_000);
    await waitUntil(async () => (await lab.addrs('m1')).includes(VIP), 2_000, 'the VIP on m1');
    expect(await lab.addrs('m1')).not.toContain('10.0.0.50/24');
    await waitUntil(async () => recorded('track').length >= 2 && recorded('notify').length >= 1, 5_000, 'the scripts to run');
    await sleep(300);
    const frames: CapturedFrame[] = await wire.stop();
    expect(frames.map((f) => garpSender(f.bytes, '10.0.0.50')).filter((mac) => mac !== undefined)).toContain(lab.host('m1').mac);

    for (const kind of ['track', 'notify']) {
      for (const sets of recorded(kind)) expect(sets, kind).toEqual({ CapInh: NO_CAPS, CapPrm: NO_CAPS, CapEff: NO_CAPS, CapAmb: NO_CAPS });
    }
    // The kernel's view of the daemon: the unit's user, its two capabilities in use, none left to hand down.
    const daemon = readFileSync(`/proc/${vrrpd.child.pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)/m.exec(daemon)?.[1]).toBe(String(NOBODY));
    expect(capabilityLines(daemon)).toEqual({ CapInh: NO_CAPS, CapPrm: UNIT_CAPS, CapEff: UNIT_CAPS, CapAmb: NO_CAPS });

    vrrpd.signal('SIGTERM');
    expect((await vrrpd.exited).code).toBe(0);
    expect(await lab.addrs('m1')).not.toContain(VIP);
  });

  it('vrrpd release, as the unit\'s user, removes the VIP a kill -9 left behind', async () => {
    const vrrpd = start(config());
    await vrrpd.waitForState('MASTER', 15_000);
    await waitUntil(async () => (await lab.addrs('m1')).includes(VIP), 2_000, 'the VIP on m1');
    vrrpd.signal('SIGKILL');
    await vrrpd.exited;
    expect(await lab.addrs('m1')).toContain(VIP);
    const released = await lab.exec('m1', asUnitUser()[0]!, [...asUnitUser().slice(1), pkg.node, pkg.cli, 'release', '--config', vrrpd.configPath]);
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toContain('released 10.0.0.50/32 dev ens32');
    expect(await lab.addrs('m1')).not.toContain(VIP);
  });

  it('script_capabilities: inherit hands the ambient capabilities down, as before', async () => {
    const vrrpd = start(config({ scriptCapabilities: 'inherit' }));
    await vrrpd.waitForLine((l) => l.msg === 'vrrpd started', 15_000);
    await waitUntil(async () => recorded('track').length >= 1, 5_000, 'the track script to run');
    expect(recorded('track')[0]).toEqual({ CapInh: UNIT_CAPS, CapPrm: UNIT_CAPS, CapEff: UNIT_CAPS, CapAmb: UNIT_CAPS });
  });

  for (const variant of ['world-writable script', 'script in a world-writable directory'] as const) {
    it(`enable_script_security refuses a ${variant} with exit 3 although it would run as the non-root user`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vrrpd-caps-insecure-'));
      try {
        chmodSync(dir, variant === 'world-writable script' ? 0o755 : 0o777);
        const path = join(dir, 'check.sh');
        writeFileSync(path, '#!/bin/sh\nexit 0\n');
        chmodSync(path, variant === 'world-writable script' ? 0o777 : 0o755);
        const vrrpd = start(config({ script: path }));
        const exit = await Promise.race([vrrpd.exited, sleep(15_000).then(() => ({ code: 'still running after 15 s' }))]);
        expect(exit.code, vrrpd.errors).toBe(3);
        const problem = variant === 'world-writable script' ? `file ${path} is writable by others (mode 0777)` : `directory ${dir} is writable by others (mode 0777)`;
        expect(vrrpd.errors).toContain(`refusing to run ${path} as uid ${NOBODY} (vrrpd itself), which holds CAP_NET_ADMIN, CAP_NET_RAW: ${problem}`);
        expect(vrrpd.errors).toContain('nothing on the host was changed');
        expect(recorded('track')).toEqual([]);
        // check-config says the same for that user.
        const checked = spawnSync(process.execPath, [pkg.cli, 'check-config', '--user', 'nobody', vrrpd.configPath], { encoding: 'utf8' });
        expect(checked.status, checked.stdout + checked.stderr).toBe(3);
        expect(checked.stderr).toContain(`refusing to run ${path} as uid ${NOBODY} (vrrpd itself), which holds CAP_NET_ADMIN, CAP_NET_RAW: ${problem}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
