/**
 * Where an idle MASTER's CPU goes (issue 14): the seed's cluster in a throwaway lab, master1's
 * vrrpd started under `node --cpu-prof`, the tree's CPU from /proc over the window, then a graceful
 * stop writes the profile, summarised here by function (self time, window only) and by the process
 * of the tree that spent it. Also a count of the daemon's wake-ups (voluntary context switches of
 * every thread) and, with --strace, the system calls of the window.
 *
 *   npm run build && node --import ./test/register.mjs test/bench/idle-profile.ts [--seconds 60] [--warmup 9.5] [--no-script]
 *     [--no-prof] [--perf] [--strace] [--top 30] [--interval-us 250]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { seedConf } from '../interop/configs.js';
import { Cluster, MASTER_IDS } from '../../src/lab/cluster.js';
import { VrrpdProcess } from '../../src/lab/daemons.js';
import { sleep } from '../../src/lab/exec.js';
import { labUnavailableReason } from '../netns/lab.js';
import { measureTreeFootprint, processTree, sampleTree } from './lib/procstat.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    'no-script': { type: 'boolean', default: false },
    strace: { type: 'boolean', default: false },
    top: { type: 'string', default: '30' },
    'interval-us': { type: 'string', default: '250' },
    /** No --cpu-prof: the daemon as it runs (for the /proc figures and --perf). */
    'no-prof': { type: 'boolean', default: false },
    /** `perf record -g` of the daemon's threads over the window, then the top of `perf report`. */
    perf: { type: 'boolean', default: false },
    /** Seconds from the election to the window. */
    warmup: { type: 'string', default: '9.5' },
    /** Extra node flags for the daemon, space-separated (e.g. "--trace-gc"); its non-JSON stdout lines of the window are printed. */
    'node-flags': { type: 'string', default: '' },
  },
});
const seconds = Number(values.seconds);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function withoutScripts(conf: string): string {
  return conf.replace(/^vrrp_script check \{[^}]*\}\n+/m, '').replace(/^\s*track_script \{[^}]*\}\n/m, '');
}

/** Voluntary context switches of every thread of a process: how often it went to sleep. */
function wakeups(pid: number, mainThreadOnly = false): number {
  let total = 0;
  for (const tid of mainThreadOnly ? [String(pid)] : readdirSync(`/proc/${pid}/task`)) {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    total += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return total;
}

/** Own CPU seconds (utime+stime+cutime+cstime) of each process of the tree, keyed `pid:comm`. */
function perProcess(root: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of processTree(root)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      out.set(`${pid}:${comm}`, (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100);
    } catch {
      // gone
    }
  }
  return out;
}

/** Run time of every live thread of a process in ms, exact (schedstat counts ns, not 10 ms ticks). */
function runtimeMs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
    } catch {
      // the thread ended
    }
  }
  return total;
}

function threads(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    return `${comm}:${Number(fields[11]) + Number(fields[12])}`;
  });
}

function summarise(profile: Profile, fromUs: number, toUs: number, top: number): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    const next = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1]! : 0;
    if (t < fromUs || t > toUs) continue;
    const node = byId.get(profile.samples[i]!)!;
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(src|dist|node_modules)\//, '$1/')}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + next);
    total += next;
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]);
  const busy = rows.filter(([k]) => !k.startsWith('(idle)')).reduce((s, [, v]) => s + v, 0);
  console.log(`\nJS thread over ${((toUs - fromUs) / 1e6).toFixed(0)} s: ${(busy / 1000).toFixed(1)} ms not idle (${((busy / (toUs - fromUs)) * 100).toFixed(3)} % of a core, profiler overhead included)`);
  for (const [key, us] of rows.slice(0, top)) console.log(`${(us / 1000).toFixed(2).padStart(9)} ms  ${((us / total) * 100).toFixed(1).padStart(5)} %  ${key}`);
}

async function main(): Promise<void> {
  if (labUnavailableReason !== undefined) throw new Error(labUnavailableReason);
  const profileDir = mkdtempSync(join(tmpdir(), 'vrrpd-idle-profile-'));
  const cluster = await Cluster.create();
  try {
    await cluster.reset();
    const confs = [1, 2, 3].map((i) => {
      const seed = seedConf('preempt', i as 1 | 2 | 3);
      return values['no-script'] ? withoutScripts(seed) : seed;
    });
    const m1 = cluster.node('m1');
    const { cmd, args, socketPath } = VrrpdProcess.command(m1.dir, confs[0]!, { ext: '.conf', logLevel: 'info' });
    const profiling = values['no-prof'] ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-interval=${values['interval-us']}`];
    const nodeFlags = values['node-flags'].split(' ').filter((f) => f !== '');
    const { child, pid } = await m1.spawn(cmd, [...profiling, ...nodeFlags, ...args]);
    const daemon = cluster.track(new VrrpdProcess({ exec: (_h, c, a, t) => m1.exec(c, a, t) }, 'm1', socketPath, '', child, pid));
    await sleep(300);
    for (const [i, host] of MASTER_IDS.entries()) if (i > 0) await cluster.node(host).startVrrpd(confs[i]!, '.conf', { logLevel: 'info' });
    await cluster.vips.waitForHolders(['m1'], 20_000, 'master1 elected');
    await sleep(Number(values.warmup) * 1000);
    console.log(`vrrpd pid ${pid}; tree: ${processTree(pid).join(' ')}; threads (comm:ticks): ${threads(pid).join(' ')}`);
    const rawLines: string[] = [];
    let inWindow = true;
    daemon.onLine((line) => {
      if (inWindow && line.level === 0 && typeof line.msg === 'string') rawLines.push(line.msg);
    });
    rawLines.length = 0;
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const perProcessStart = perProcess(pid);
    const wakeStart = wakeups(pid);
    const mainWakeStart = wakeups(pid, true);
    const runStart = runtimeMs(pid);
    const strace = values.strace ? spawn('strace', ['-c', '-f', '-p', String(pid), '-o', join(profileDir, 'strace.txt')], { stdio: 'ignore' }) : undefined;
    const perfData = join(profileDir, 'perf.data');
    const perf = values.perf ? spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '4999', '-g', '-p', processTree(pid).join(','), '-o', perfData, '--', 'sleep', String(seconds)], { stdio: 'ignore' }) : undefined;
    // The window in 10 s slices too: start-up garbage collected late shows as a slice of its own.
    const slices: string[] = [];
    let sliceStart = sampleTree(pid);
    const footprintDone = measureTreeFootprint(pid, seconds);
    for (let left = seconds; left > 0; left -= 10) {
      await sleep(Math.min(10, left) * 1000);
      const now = sampleTree(pid);
      slices.push((((now.cpuSec - sliceStart.cpuSec) / ((now.timeMs - sliceStart.timeMs) / 1000)) * 100).toFixed(2));
      sliceStart = now;
    }
    const footprint = await footprintDone;
    const perProcessEnd = perProcess(pid);
    console.log(`CPU ms per process over the window: ${[...perProcessEnd].map(([p, v]) => `${p}=${((v - (perProcessStart.get(p) ?? 0)) * 1000).toFixed(0)}`).join(' ')}`);
    console.log(`tree CPU per 10 s slice, %: ${slices.join(' ')}`);
    const toUs = Number(process.hrtime.bigint() / 1000n);
    inWindow = false;
    if (rawLines.length > 0) console.log(`daemon's other output in the window (${rawLines.length} lines):\n${rawLines.slice(0, Number(values.top)).join('\n')}`);
    const wakeEnd = wakeups(pid);
    const mainWakeEnd = wakeups(pid, true);
    const runMs = runtimeMs(pid) - runStart;
    if (strace !== undefined) {
      strace.kill('SIGINT');
      await new Promise((r) => strace.once('exit', r));
    }
    if (perf !== undefined) await new Promise((r) => perf.once('exit', r));
    console.log(`tree CPU ${footprint.totalCpuPercent.toFixed(3)} % of a core over ${footprint.seconds.toFixed(0)} s (${footprint.comms.join(' ')}), RSS ${footprint.maxRssMb.toFixed(1)} MB; ${((wakeEnd - wakeStart) / footprint.seconds).toFixed(1)} wake-ups/s of vrrpd's threads (${((mainWakeEnd - mainWakeStart) / footprint.seconds).toFixed(1)} of its main thread); threads now: ${threads(pid).join(' ')}`);
    console.log(`vrrpd's own threads (schedstat): ${runMs.toFixed(1)} ms = ${((runMs / ((toUs - fromUs) / 1000)) * 100).toFixed(3)} % of a core; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    daemon.signal('SIGTERM');
    await daemon.exited;
    await sleep(500);
    if (perf !== undefined) {
      const report = spawnSync('perf', ['report', '-i', perfData, '--stdio', '--no-children', '--sort', 'comm,dso,sym', '-g', 'none', '--percent-limit', '0.7'], { encoding: 'utf8', maxBuffer: 64 << 20 });
      console.log(`\nperf (${perfData}):\n${report.stdout.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).slice(0, Number(values.top)).join('\n')}`);
    }
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file !== undefined) {
      const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as Profile;
      // The profile's clock is the same monotonic µs as process.hrtime in this process.
      summarise(profile, fromUs, toUs, Number(values.top));
    }
    if (strace !== undefined) console.log(`\n${readFileSync(join(profileDir, 'strace.txt'), 'utf8')}`);
    console.log(`\nfiles: ${profileDir}`);
  } finally {
    await cluster.destroy();
  }
}

await main();
process.exit(0);
