/**
 * `vrrpd lab`, the README's first command, run as a user would run it: the built CLI as a child
 * process. It must show the failovers with sane client-observed outages, and never leave anything
 * behind: not after a normal run, not after Ctrl-C mid-run, and after a kill -9 (which runs no
 * handler) the helpers must die with it and the next run must delete its namespaces. Without root or
 * a tool it must say what is missing and how to get it, and create nothing.
 *
 * Outage windows, from the protocol (advert_int 1 s; Skew_Time(99) = 613 ms, Master_Down(99) = 3.613 s):
 * - graceful: the master's priority-0 goodbye makes master2 take over after Skew_Time;
 * - apiserver, recommended config: fall 3 x 200 ms of the /readyz check, FAULT, goodbye, Skew_Time;
 * - crash: no goodbye, master2 waits Master_Down from the last advert it heard (0-1 s before the cut).
 * A return by preemption overlaps the old and the new holder, so the client sees about one probe interval.
 * With --config-set v3 (VRRPv3 at 0.1 s) a crash is taken over Master_Down = 3 x 0.1 s + Skew_Time(99)
 * = 361.328 ms after master1's last advert, and the lab times it from the wire.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { masterDownIntervalMs, masterDownIntervalV3Ms, skewTimeMs } from '../../src/core/timers.js';
import { labUnavailableReason } from './lab.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const CLI = join(REPO, 'dist', 'cli', 'main.js');
const SKEW_99 = skewTimeMs(99);
const MASTER_DOWN_99 = masterDownIntervalMs(1, 99);
const MASTER_DOWN_98 = masterDownIntervalMs(1, 98);
const MASTER_DOWN_V3_99 = masterDownIntervalV3Ms(10, 99);
const MASTER_DOWN_V3_98 = masterDownIntervalV3Ms(10, 98);
const SKEW_99_V3 = MASTER_DOWN_V3_99 - 300;
/** The lab's preempt_delay for the recommended config (vrrpd lab --help). */
const LAB_PREEMPT_DELAY_MS = 3_000;
const PROBE_INTERVAL_MS = 10;

interface LabEvent {
  t_ms: number;
  scenario: string;
  kind: string;
  node?: string;
  text: string;
  outage_ms?: number;
}

interface SummaryRow {
  scenario: string;
  step: string;
  outage_ms: number | null;
  from: string | null;
  to: string | null;
  ok: boolean;
  failover_ms?: number;
  floor_ms?: number;
  floor?: string;
  outage6_ms?: number | null;
  apart_ms?: number;
}

interface LabResult {
  ok: boolean;
  config_set: string;
  interrupted: boolean;
  prefix: string;
  daemons: Record<string, string>;
  duration_ms: number;
  removed_leftovers: string[];
  events: LabEvent[];
  summary: SummaryRow[];
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const spawned: number[] = [];

class LabRun {
  stdout = '';
  stderr = '';
  readonly done: Promise<Finished>;

  constructor(readonly child: ChildProcess) {
    spawned.push(child.pid!);
    child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.done = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal, stdout: this.stdout, stderr: this.stderr })));
  }

  get prefix(): string {
    return `vrdemo${this.child.pid}`;
  }

  async waitForOutput(text: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stdout.includes(text)) {
      if (this.child.exitCode !== null || Date.now() > deadline) throw new Error(`no '${text}' in the lab's output:\n${this.stdout}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function startLab(args: string[], options: { env?: NodeJS.ProcessEnv; argv0?: string[]; cli?: string } = {}): LabRun {
  const argv = [...(options.argv0 ?? []), process.execPath, options.cli ?? CLI, 'lab', ...args];
  return new LabRun(spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env }));
}

async function runJson(args: string[]): Promise<{ finished: Finished; result: LabResult }> {
  const finished = await startLab(['--json', ...args]).done;
  let result: LabResult;
  try {
    result = JSON.parse(finished.stdout) as LabResult;
  } catch {
    throw new Error(`lab printed no JSON (exit ${finished.code ?? finished.signal}):\n${finished.stdout}\n${finished.stderr}`);
  }
  return { finished, result };
}

function namespaces(prefix: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(prefix));
}

/** Processes of any lab run: helpers started from dist/lab, and everything using a lab's files. */
function labProcesses(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (/dist\/lab\/(probe|apiserver)\.js|vrrpd-demo-/.test(cmdline)) found.push(`${entry}: ${cmdline}`);
  }
  return found;
}

function labTempDirs(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('vrrpd-demo-'));
}

async function eventually(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function row(result: LabResult, scenario: string, index: number): SummaryRow {
  const rows = result.summary.filter((r) => r.scenario === scenario);
  expect(rows.length, JSON.stringify(result.summary)).toBe(2);
  return rows[index]!;
}

function expectNothingLeft(prefix: string, dirsBefore: string[]): void {
  expect(namespaces(prefix)).toEqual([]);
  expect(labProcesses()).toEqual([]);
  expect(labTempDirs().filter((d) => !dirsBefore.includes(d))).toEqual([]);
}

afterAll(() => {
  // If an assertion failed half-way, do not leave this file's labs behind either.
  for (const pid of spawned) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited
    }
    for (const ns of namespaces(`vrdemo${pid}`)) execFileSync('ip', ['netns', 'del', ns]);
  }
});

describe.skipIf(labUnavailableReason !== undefined)('vrrpd lab', () => {
  it('without root: says what is missing and how to get it, exits 2, and creates nothing', async () => {
    // A world-readable copy of the built package, so that uid 65534 can run it wherever the checkout is.
    const pkg = mkdtempSync(join(tmpdir(), 'vrrpd-lab-nobody-'));
    try {
      cpSync(resolve(CLI, '..', '..'), join(pkg, 'dist'), { recursive: true, dereference: true });
      cpSync(join(REPO, 'package.json'), join(pkg, 'package.json'));
      execFileSync('chmod', ['-R', 'a+rX', pkg]);
      const before = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      const run = startLab([], { argv0: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], cli: join(pkg, 'dist', 'cli', 'main.js') });
      const finished = await run.done;
      expect(finished.code, finished.stderr).toBe(2);
      expect(finished.stderr).toContain('nothing was changed');
      expect(finished.stderr).toContain('not running as root (uid 65534)');
      expect(finished.stderr).toContain('sudo npx vrrpd lab');
      expect(finished.stdout).toBe('');
      expect(namespaces(run.prefix)).toEqual([]);
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('vrdemo'))).toEqual(
        before.split('\n').filter((l) => l.startsWith('vrdemo')),
      );
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });

  it('without keepalived (asked for with --keepalived): names it and its package, exits 2, and creates nothing', async () => {
    // A PATH with every tool the lab needs except keepalived.
    const bin = mkdtempSync(join(tmpdir(), 'vrrpd-lab-path-'));
    try {
      for (const tool of ['ip', 'unshare', 'nsenter', 'setpriv', 'bash', 'killall', 'openssl']) {
        symlinkSync(execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
      }
      const run = startLab(['--keepalived', 'm2,m3'], { env: { ...process.env, PATH: bin } });
      const finished = await run.done;
      expect(finished.code, finished.stderr).toBe(2);
      expect(finished.stderr).toContain('nothing was changed');
      expect(finished.stderr).toMatch(/keepalived +\(package keepalived\)/);
      expect(finished.stderr).toContain('Install with: sudo apt-get install keepalived\n');
      expect(finished.stderr).not.toContain('root');
      expect(namespaces(run.prefix)).toEqual([]);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('kill -9 mid-run: every helper dies with the lab, and the next run deletes the namespaces left behind', async () => {
    const dirsBefore = labTempDirs();
    const killed = startLab([]);
    await killed.waitForOutput('client: first reply', 30_000);
    expect(namespaces(killed.prefix)).toHaveLength(5);
    killed.child.kill('SIGKILL');
    await killed.done;
    // PR_SET_PDEATHSIG and each master's PID namespace take every helper down with the lab.
    expect(await eventually(() => labProcesses().length === 0, 5_000), labProcesses().join('\n')).toBe(true);
    // No handler ran: the namespaces are still there, for the next run to find.
    expect(namespaces(killed.prefix)).toHaveLength(5);

    const { finished, result } = await runJson(['--scenario', 'election']);
    expect(finished.code, finished.stderr).toBe(0);
    expect(result.removed_leftovers.sort()).toEqual(['client', 'm1', 'm2', 'm3', 'sw'].map((name) => `${killed.prefix}${name}`));
    expect(namespaces(killed.prefix)).toEqual([]);
    expect(result.summary).toEqual([expect.objectContaining({ scenario: 'election', to: 'master1', ok: true })]);
    // The killed run's files went with its namespaces.
    expectNothingLeft(result.prefix, dirsBefore);
  }, 90_000);

  it('graceful: SIGTERM to master1 hands the VIP to master2 in Skew_Time; the restarted master1 takes it back', async () => {
    const dirsBefore = labTempDirs();
    const { finished, result } = await runJson(['--scenario', 'graceful']);
    expect(finished.code, finished.stderr).toBe(0);
    expect(result).toMatchObject({ ok: true, interrupted: false, daemons: { master1: 'vrrpd', master2: 'vrrpd', master3: 'vrrpd' } });
    expect(result.summary[0]).toMatchObject({ scenario: 'election', to: 'master1', ok: true });

    const handover = row(result, 'graceful', 0);
    expect(handover).toMatchObject({ from: 'master1', to: 'master2', ok: true });
    expect(handover.outage_ms).toBeGreaterThanOrEqual(SKEW_99 - 100);
    expect(handover.outage_ms).toBeLessThanOrEqual(SKEW_99 + 500);
    const back = row(result, 'graceful', 1);
    expect(back).toMatchObject({ from: 'master2', to: 'master1', ok: true });
    expect(back.outage_ms).toBeLessThanOrEqual(300);

    // The timeline tells the story in order, and the client's outage is the summary's.
    const graceful = result.events.filter((e) => e.scenario === 'graceful');
    // Steps in one group may come in either order: a new MASTER adds its VIP in the same
    // millisecond as it logs the transition, and the lab hears the two through different pipes.
    const order: Array<Array<(e: LabEvent) => boolean>> = [
      [(e) => e.kind === 'action' && e.text === 'master1: SIGTERM to vrrpd'],
      [(e) => e.kind === 'state' && e.text.startsWith('master1 vrrpd: MASTER -> INIT (shutdown')],
      [(e) => e.kind === 'state' && e.text.startsWith('master2 vrrpd: BACKUP -> MASTER'), (e) => e.kind === 'vip' && e.text === 'master2 holds 10.0.0.50'],
      [(e) => e.kind === 'client' && e.node === 'master2' && e.outage_ms === handover.outage_ms],
      [(e) => e.kind === 'action' && e.text === 'master1: vrrpd started again'],
      [(e) => e.kind === 'vip' && e.text === 'master1 holds 10.0.0.50'],
      [(e) => e.kind === 'client' && e.node === 'master1' && e.outage_ms === back.outage_ms],
    ];
    let at = 0;
    for (const [i, group] of order.entries()) {
      let last = at;
      for (const match of group) {
        const found = graceful.findIndex((e, index) => index >= at && match(e));
        expect(found, `step ${i} of the story not found in order:\n${graceful.map((e) => `${e.t_ms} ${e.kind} ${e.text}`).join('\n')}`).toBeGreaterThanOrEqual(0);
        last = Math.max(last, found);
      }
      at = last;
    }
    expectNothingLeft(result.prefix, dirsBefore);
  }, 90_000);

  it("apiserver death with the recommended config: the /readyz check fails, FAULT, and master2 serves within fall x interval + Skew_Time", async () => {
    const dirsBefore = labTempDirs();
    const { finished, result } = await runJson(['--scenario', 'apiserver']);
    expect(finished.code, finished.stderr).toBe(0);
    const failover = row(result, 'apiserver', 0);
    expect(failover).toMatchObject({ from: 'master1', to: 'master2', ok: true });
    // At least the Skew_Time after the goodbye; at most 3 failed checks (200 ms apart, the first up
    // to 200 ms after the death) + Skew_Time + margin.
    expect(failover.outage_ms).toBeGreaterThanOrEqual(SKEW_99);
    expect(failover.outage_ms).toBeLessThanOrEqual(800 + SKEW_99 + 500);
    expect(result.events).toContainEqual(expect.objectContaining({ scenario: 'apiserver', kind: 'state', node: 'master1', text: expect.stringMatching(/^master1 vrrpd: MASTER -> FAULT \(fault, priority 100, failing: script:apiserver\)/) }));
    const back = row(result, 'apiserver', 1);
    expect(back).toMatchObject({ from: 'master2', to: 'master1', ok: true });
    expect(back.outage_ms).toBeLessThanOrEqual(300);
    expectNothingLeft(result.prefix, dirsBefore);
  }, 90_000);

  it('crash in a mixed cluster (seed config, keepalived on master2): no goodbye, keepalived takes over after Master_Down', async () => {
    const dirsBefore = labTempDirs();
    const { finished, result } = await runJson(['--scenario', 'crash', '--config-set', 'seed', '--keepalived', 'm2']);
    expect(finished.code, finished.stderr).toBe(0);
    expect(result.daemons).toEqual({ master1: 'vrrpd', master2: 'keepalived', master3: 'vrrpd' });
    const failover = row(result, 'crash', 0);
    expect(failover).toMatchObject({ from: 'master1', to: 'master2', ok: true });
    // Master_Down from master2's last advert heard, which is 0-1 s before the cut; the client's
    // last reply is up to one probe interval before the cut.
    expect(failover.outage_ms).toBeGreaterThanOrEqual(MASTER_DOWN_99 - 1_000);
    expect(failover.outage_ms).toBeLessThanOrEqual(MASTER_DOWN_99 + PROBE_INTERVAL_MS + 500);
    expect(result.events).toContainEqual(expect.objectContaining({ scenario: 'crash', kind: 'state', text: 'master2 keepalived: -> MASTER' }));
    expect(row(result, 'crash', 1)).toMatchObject({ from: 'master2', to: 'master1', ok: true });
    expectNothingLeft(result.prefix, dirsBefore);
  }, 90_000);

  it('--config-set v3: VRRPv3 at 0.1 s, master1 crashes and master2 serves about 0.36 s after its last advert; the summary puts the wire figure next to the floor', async () => {
    const dirsBefore = labTempDirs();
    const run = startLab(['--config-set', 'v3', '--scenario', 'crash']);
    const finished = await run.done;
    expect(finished.code, `${finished.stdout}\n${finished.stderr}`).toBe(0);
    const out = finished.stdout;
    expect(out).toContain('master1, master2, master3: vrrpd with the recommended config switched to VRRPv3, advert_int 0.1, no authentication');
    // The failover on the wire, the floor and the surplus, in the summary's own column.
    // master3's Master_Down (98) is only 0.39 ms longer than master2's: either may answer first
    // (master2 then wins the election); the floor is that of whoever did.
    const failover = /^crash +master1's link down +(\d+) ms +([\d.]+) ms \(Master_Down (361\.[37]) ms, \+(-?[\d.]+)\) +master1 -> (master[23]) +ok$/m.exec(out);
    expect(failover, out).not.toBeNull();
    const [outageMs, wireMs, floorShown, aboveMs] = failover!.slice(1, 5).map(Number) as [number, number, number, number];
    const floorMs = failover![5] === 'master2' ? MASTER_DOWN_V3_99 : MASTER_DOWN_V3_98;
    expect(floorShown).toBe(Number(floorMs.toFixed(1)));
    console.log(`[lab v3] crash: client outage ${outageMs} ms, failover on the wire ${wireMs} ms to ${failover![5]} (floor ${floorMs} ms, +${aboveMs})`);
    // Never before the floor (1 ms: the capture's and the timers' resolution), and well under a second.
    expect(wireMs).toBeGreaterThanOrEqual(floorMs - 1);
    expect(wireMs).toBeLessThanOrEqual(500);
    expect(aboveMs).toBeCloseTo(wireMs - floorMs, 0);
    // The client: Master_Down runs from master1's last advert, 0-100 ms before the cut.
    expect(outageMs).toBeGreaterThanOrEqual(floorMs - 100 - PROBE_INTERVAL_MS);
    expect(outageMs).toBeLessThanOrEqual(600);
    expect(out).toMatch(/^ {2}Master_Down: 3 x 0\.1 s \+ Skew_Time\((99\) 61\.328|98\) 61\.718) ms, VRRPv3$/m);
    expect(out).toMatch(/^crash +master1's link back; preemption +\d+ ms +- +master[23] -> master1 +ok$/m);
    const prefix = /lab removed \(namespaces (vrdemo\d+)\*\)/.exec(out)?.[1];
    expect(prefix).toBeDefined();
    expectNothingLeft(prefix!, dirsBefore);
  }, 90_000);

  it.each([
    ['vrrpd on every node', []],
    ['mixed: keepalived on master2', ['--keepalived', 'm2']],
  ])('--config-set dual-stack (%s): 10.0.0.50 and fd00::50 in one sync group move together in every scenario, never apart for more than one advert interval', async (what, extra) => {
    const dirsBefore = labTempDirs();
    const { finished, result } = await runJson(['--config-set', 'dual-stack', ...extra]);
    expect(finished.code, `${finished.stderr}\n${JSON.stringify(result.summary, null, 1)}`).toBe(0);
    const moves = result.summary.filter((r) => r.scenario !== 'election');
    expect(moves.map((r) => r.scenario)).toEqual(['apiserver', 'apiserver', 'graceful', 'graceful', 'crash', 'crash']);
    for (const move of moves) {
      expect(move, move.step).toMatchObject({ ok: true });
      // The IPv6 VIP answered from the same node as the IPv4 one, and they were apart (held on
      // different nodes, from the kernels' own notifications) for at most one advert interval.
      expect(move.outage6_ms, move.step).not.toBeNull();
      expect(move.apart_ms, move.step).toBeLessThanOrEqual(100);
    }
    const [apiserver, , graceful, , crash] = moves;
    expect(apiserver).toMatchObject({ from: 'master1', to: 'master2' });
    // The check runs every 1 s (weight 0): FAULT within a second, the group's goodbyes, Skew_Time.
    for (const outage of [apiserver!.outage_ms!, apiserver!.outage6_ms!]) expect(outage).toBeLessThanOrEqual(1_000 + SKEW_99_V3 + 400);
    for (const outage of [graceful!.outage_ms!, graceful!.outage6_ms!]) expect(outage).toBeLessThanOrEqual(SKEW_99_V3 + 300);
    for (const outage of [crash!.outage_ms!, crash!.outage6_ms!]) expect(outage).toBeLessThanOrEqual(MASTER_DOWN_V3_99 + 300);
    console.log(`[lab dual-stack, ${what}] client outage IPv4/IPv6 and longest time apart: ${moves.map((m) => `${m.scenario} ${m.to}: ${m.outage_ms}/${m.outage6_ms} ms, apart ${m.apart_ms} ms`).join('; ')}`);
    expectNothingLeft(result.prefix, dirsBefore);
  }, 120_000);

  it('all keepalived, master1 slow to start: master1 still wins, the header names what runs, every column is labelled, exit 0', async () => {
    const dirsBefore = labTempDirs();
    // master1's keepalived starts 1 s after it is launched, as on a busy machine; the others at once.
    const bin = mkdtempSync(join(tmpdir(), 'vrrpd-lab-slow-'));
    try {
      const keepalived = execFileSync('bash', ['-c', 'command -v keepalived'], { encoding: 'utf8' }).trim();
      writeFileSync(join(bin, 'keepalived'), `#!/bin/sh\ncase "$*" in */m1/*) sleep 1;; esac\nexec ${keepalived} "$@"\n`, { mode: 0o755 });
      const finished = await startLab(['--keepalived', 'm1,m2,m3', '--scenario', 'apiserver'], { env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } }).done;
      expect(finished.code, `${finished.stdout}\n${finished.stderr}`).toBe(0);
      expect(finished.stdout.split('\n').slice(0, 2)).toEqual([
        'vrrpd lab, VIP 10.0.0.50:',
        "  master1, master2, master3: keepalived with the seed's keepalived.conf (examples/keepalived/preempt: killall -0 kube-apiserver every 2 s, weight -20)",
      ]);
      expect(finished.stdout).not.toMatch(/recommended|FAILED/);
      expect(finished.stdout).toMatch(/^scenario +what happened +client outage +VIP held by +result$/m);
      expect(finished.stdout).toMatch(/^election +cluster started; VIP answers after [\d.]+ s +- +master1 +ok$/m);
      expect(finished.stdout).toMatch(/^apiserver +master1's kube-apiserver killed +\d+ ms +master1 -> master[23] +ok$/m);
      expect(finished.stdout).toMatch(/^apiserver +apiserver back on master1; preemption +\d+ ms +master[23] -> master1 +ok$/m);
      const prefix = /lab removed \(namespaces (vrdemo\d+)\*\)/.exec(finished.stdout)?.[1];
      expect(prefix).toBeDefined();
      expectNothingLeft(prefix!, dirsBefore);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }, 90_000);

  it('mid-swap (keepalived master1 on the seed config, vrrpd backups on the recommended config): an apiserver death takes preempt_delay + Master_Down', async () => {
    const dirsBefore = labTempDirs();
    const { finished, result } = await runJson(['--keepalived', 'm1', '--scenario', 'apiserver']);
    expect(finished.code, finished.stderr).toBe(0);
    expect(result.daemons).toEqual({ master1: 'keepalived', master2: 'vrrpd', master3: 'vrrpd' });
    const failover = row(result, 'apiserver', 0);
    expect(failover).toMatchObject({ from: 'master1', ok: true });
    expect(['master2', 'master3']).toContain(failover.to);
    // killall notices the death 0-2 s after it, and keepalived's next advert (at 80) follows within
    // 1 s. The backups accept adverts at 80 until preempt_delay after the first (the last one 2-3 s
    // after it), and only then does Master_Down run out: preempt_delay is added to the seed's time.
    expect(failover.outage_ms).toBeGreaterThanOrEqual(LAB_PREEMPT_DELAY_MS - 1_000 + MASTER_DOWN_99 - 100);
    expect(failover.outage_ms).toBeLessThanOrEqual(2_000 + 1_000 + LAB_PREEMPT_DELAY_MS + MASTER_DOWN_98 + 500);
    // The timeline says why the backups wait.
    for (const node of ['master2', 'master3']) {
      expect(result.events).toContainEqual(
        expect.objectContaining({ scenario: 'apiserver', kind: 'state', node, text: `${node} vrrpd: lower-priority master; preempt_delay ${LAB_PREEMPT_DELAY_MS} ms starts, until then it stays BACKUP` }),
      );
    }
    expect(row(result, 'apiserver', 1)).toMatchObject({ to: 'master1', ok: true });
    expectNothingLeft(result.prefix, dirsBefore);
  }, 90_000);

  it('Ctrl-C mid-run: stops, says so, exits 130 and leaves no namespace, process or file', async () => {
    const dirsBefore = labTempDirs();
    const run = startLab([]);
    await run.waitForOutput('client: first reply', 30_000);
    expect(namespaces(run.prefix)).toHaveLength(5);
    run.child.kill('SIGINT');
    const finished = await Promise.race([run.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000))]);
    expect(finished, 'the lab did not exit within 15 s of SIGINT').toBeDefined();
    expect(finished!.code).toBe(130);
    expect(finished!.stdout).toContain('interrupted: stopping everything and deleting the namespaces');
    expect(finished!.stdout).toMatch(/interrupted; lab removed \(namespaces vrdemo\d+\*\)/);
    expectNothingLeft(run.prefix, dirsBefore);
  }, 60_000);
});
