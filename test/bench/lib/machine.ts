/** The machine a benchmark ran on, and how busy it was: every table in docs/benchmarks.md says so. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  kernel: string;
  node: string;
  keepalived: string;
  /** 1-minute load average when the run started and ended. */
  loadStart: number;
  loadEnd?: number;
  date: string;
}

function keepalivedVersion(): string {
  // keepalived --version prints to stderr.
  const result = spawnSync('keepalived', ['--version'], { encoding: 'utf8' });
  return /Keepalived v(\S+)/.exec(`${result.stdout ?? ''}${result.stderr ?? ''}`)?.[1] ?? 'not installed';
}

function cpuModel(): string {
  const model = cpus()[0]?.model;
  if (model !== undefined && model !== '') return model;
  try {
    return /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  return {
    nproc: cpus().length,
    cpuModel: cpuModel(),
    kernel: release(),
    node: process.version,
    keepalived: keepalivedVersion(),
    loadStart: loadavg()[0]!,
    date: new Date().toISOString(),
  };
}

export function finishMachineInfo(info: MachineInfo): MachineInfo {
  return { ...info, loadEnd: loadavg()[0]! };
}

export function describeMachine(info: MachineInfo): string {
  const load = `load average (1 min) ${info.loadStart.toFixed(2)} at the start${info.loadEnd === undefined ? '' : `, ${info.loadEnd.toFixed(2)} at the end`}`;
  const busy = Math.max(info.loadStart, info.loadEnd ?? 0) >= info.nproc * 0.5 ? ' (a loaded machine: other test runs shared the cores)' : '';
  return `${info.nproc} × ${info.cpuModel}, Linux ${info.kernel}, Node ${info.node}, keepalived ${info.keepalived}; ${info.date}; ${load}${busy}`;
}
