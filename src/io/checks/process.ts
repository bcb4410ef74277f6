/**
 * The built-in process check: a process of that name exists, found by reading /proc/PID/comm (and
 * argv[0] for names longer than the kernel's 15-character comm), so it works without root, where
 * `killall -0` gets EPERM on root's processes. Zombies do not count. The last match is re-checked
 * first, so a healthy check reads two small files, not all of /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Probe, ProbeOutcome, ProbeRun } from './probe.js';

/** What a process check looks for; the config's `process:` value. */
export interface ProcessProbeOptions {
  name: string;
}

/** TASK_COMM_LEN - 1: the kernel keeps this many bytes of a process name in /proc/PID/comm. */
const COMM_BYTES = 15;

export class ProcessProbe implements Probe {
  readonly kind = 'process' as const;
  private readonly name: Buffer;
  private readonly comm: Buffer;
  private lastPid: string | undefined;
  /** Full /proc scans done (the cached pid spares most of them). */
  scans = 0;

  constructor(
    spec: ProcessProbeOptions,
    private readonly procDir = '/proc',
  ) {
    this.name = Buffer.from(spec.name, 'utf8');
    this.comm = this.name.subarray(0, COMM_BYTES);
  }

  run(): ProbeRun {
    const pid = this.find();
    const outcome: ProbeOutcome = pid !== undefined
      ? { ok: true, detail: `${this.name.toString()} running as pid ${pid}` }
      : { ok: false, detail: `no process named ${this.name.toString()}` };
    return { outcome: Promise.resolve(outcome), settled: Promise.resolve() };
  }

  async close(): Promise<void> {}

  /** A live pid whose name matches, or undefined. Synchronous: a few µs per process. */
  find(): string | undefined {
    if (this.lastPid !== undefined && this.matches(this.lastPid)) return this.lastPid;
    this.lastPid = undefined;
    this.scans++;
    let entries: string[];
    try {
      entries = readdirSync(this.procDir);
    } catch {
      return undefined;
    }
    for (const entry of entries) {
      const first = entry.charCodeAt(0);
      if (first < 48 || first > 57) continue; // not a pid
      if (this.matches(entry)) {
        this.lastPid = entry;
        return entry;
      }
    }
    return undefined;
  }

  private matches(pid: string): boolean {
    try {
      const comm = readFileSync(`${this.procDir}/${pid}/comm`);
      const end = comm.length > 0 && comm[comm.length - 1] === 0x0a ? comm.length - 1 : comm.length;
      if (!this.comm.equals(comm.subarray(0, end))) return false;
      if (this.name.length > COMM_BYTES) {
        // comm is cut at 15 bytes: the full name must be argv[0]'s basename (killall's rule).
        const cmdline = readFileSync(`${this.procDir}/${pid}/cmdline`);
        const nul = cmdline.indexOf(0);
        const argv0 = cmdline.subarray(0, nul < 0 ? cmdline.length : nul);
        const slash = argv0.lastIndexOf(0x2f);
        if (!this.name.equals(argv0.subarray(slash + 1))) return false;
      }
      // A zombie has exited; it only waits for its parent. It is not a running apiserver.
      const stat = readFileSync(`${this.procDir}/${pid}/stat`, 'latin1');
      const state = stat.charAt(stat.lastIndexOf(')') + 2);
      return state !== 'Z' && state !== 'X' && state !== 'x';
    } catch {
      return false; // gone between readdir and read
    }
  }
}
