/**
 * CPU time and memory of a process tree from /proc, the way `top` sees them: utime+stime of each
 * live process, plus cutime+cstime (CPU of reaped children, e.g. a check script forked every 2 s),
 * and VmRSS. Clock ticks are USER_HZ, 100 on every Linux this runs on (sysconf is not reachable
 * from Node without a dependency, so it is read from `getconf` once).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface Stat {
  pid: number;
  ppid: number;
  /** Own CPU seconds (utime + stime). */
  ownSec: number;
  /** CPU seconds of reaped children (cutime + cstime). */
  childrenSec: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The comm field may hold spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const num = (i: number): number => Number(fields[i - 3]);
  const hz = clockTicks();
  return { pid, ppid: num(4), ownSec: (num(14) + num(15)) / hz, childrenSec: (num(16) + num(17)) / hz };
}

export function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The pid and all its live descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat === undefined) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(stat.pid);
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

export interface TreeSample {
  timeMs: number;
  /** CPU seconds of the long-lived processes (the daemon's own work). */
  ownSec: number;
  /** CPU seconds including reaped children (check scripts). */
  totalSec: number;
  rssKb: number;
  pids: number[];
}

/**
 * Sample a set of long-lived processes (the daemon, or all of keepalived's). Short-lived script
 * children are counted through their parent's cutime/cstime once reaped.
 */
export function sampleProcesses(pids: readonly number[]): TreeSample {
  let ownSec = 0;
  let childrenSec = 0;
  let rss = 0;
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat === undefined) continue;
    ownSec += stat.ownSec;
    childrenSec += stat.childrenSec;
    rss += rssKb(pid);
  }
  return { timeMs: performance.timeOrigin + performance.now(), ownSec, totalSec: ownSec + childrenSec, rssKb: rss, pids: [...pids] };
}

export interface Footprint {
  seconds: number;
  /** % of one core, the daemon's own processes. */
  ownCpuPercent: number;
  /** % of one core including check scripts it forked. */
  totalCpuPercent: number;
  /** Largest RSS sum seen during the window, MB (1 MB = 1024 kB, like top's MiB). */
  maxRssMb: number;
  endRssMb: number;
}

/** Measure CPU and RSS of the given long-lived processes over `seconds`, sampling RSS every second. */
export async function measureFootprint(pids: readonly number[], seconds: number): Promise<Footprint> {
  const start = sampleProcesses(pids);
  let maxRss = start.rssKb;
  let last = start;
  const end = start.timeMs + seconds * 1000;
  while (performance.timeOrigin + performance.now() < end) {
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(1, end - (performance.timeOrigin + performance.now())))));
    last = sampleProcesses(pids);
    maxRss = Math.max(maxRss, last.rssKb);
  }
  const wallSec = (last.timeMs - start.timeMs) / 1000;
  return {
    seconds: wallSec,
    ownCpuPercent: ((last.ownSec - start.ownSec) / wallSec) * 100,
    totalCpuPercent: ((last.totalSec - start.totalSec) / wallSec) * 100,
    maxRssMb: maxRss / 1024,
    endRssMb: last.rssKb / 1024,
  };
}

export interface TreeFootprint extends Footprint {
  /** Processes in the tree at the end of the window (the daemon, its threads aside, and live children). */
  processes: number;
  /** The comm of each process in the tree at the end (`vrrpd`/`node`, `ip`, `keepalived`). */
  comms: string[];
  /**
   * The part of totalCpuPercent spent by children reaped in the window (cutime+cstime): the check
   * scripts (`killall`), which the daemon starts but does not run itself.
   */
  reapedCpuPercent: number;
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/**
 * CPU seconds of a whole process tree at one instant: utime+stime of every live process in it
 * (which covers every thread, exited ones too: the kernel adds a thread's time to its process when
 * it ends) plus cutime+cstime of each (the children it reaped). A process that lives through the
 * window counts through its own fields; one that is born and reaped inside it through its parent's
 * c-fields; one that ends in it moves from the first to the second without a jump. Only an orphan
 * reaped by init (a script's grandchild) is lost.
 */
export function sampleTree(root: number): { timeMs: number; cpuSec: number; reapedSec: number; rssKb: number; pids: number[] } {
  const pids = processTree(root);
  let cpuSec = 0;
  let reapedSec = 0;
  let rss = 0;
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat === undefined) continue;
    cpuSec += stat.ownSec + stat.childrenSec;
    reapedSec += stat.childrenSec;
    rss += rssKb(pid);
  }
  return { timeMs: performance.timeOrigin + performance.now(), cpuSec, reapedSec, rssKb: rss, pids };
}

/**
 * CPU and RSS of a daemon with everything it runs (threads, `ip monitor` children, check scripts)
 * over `seconds`, sampled every second (RSS is the largest sum of VmRSS over the live tree seen).
 */
export async function measureTreeFootprint(root: number, seconds: number): Promise<TreeFootprint> {
  const start = sampleTree(root);
  let last = start;
  let maxRss = start.rssKb;
  const end = start.timeMs + seconds * 1000;
  while (performance.timeOrigin + performance.now() < end) {
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(1, end - (performance.timeOrigin + performance.now())))));
    last = sampleTree(root);
    maxRss = Math.max(maxRss, last.rssKb);
  }
  const wallSec = (last.timeMs - start.timeMs) / 1000;
  const percent = ((last.cpuSec - start.cpuSec) / wallSec) * 100;
  return {
    seconds: wallSec,
    ownCpuPercent: percent,
    totalCpuPercent: percent,
    maxRssMb: maxRss / 1024,
    endRssMb: last.rssKb / 1024,
    processes: last.pids.length,
    comms: last.pids.map(commOf),
    reapedCpuPercent: ((last.reapedSec - start.reapedSec) / wallSec) * 100,
  };
}
