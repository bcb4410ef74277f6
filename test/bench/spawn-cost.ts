/**
 * What starting one check command costs the daemon (issue 14), by the two ways runCommand has:
 * the addon's spawnCommand (clone with CLONE_VM | CLONE_VFORK) and Node's spawn (fork). --runs
 * sequential runs of a command each, in a process whose resident size is made about the daemon's
 * (--rss-mb, default 75: the idle MASTER's RSS in bench:scale); CPU of this process
 * (process.cpuUsage: user+system, the children excluded) and of the reaped children (/proc/self/stat
 * cutime+cstime), per run, in µs. Interleaved in blocks so that machine load hits both alike.
 *
 *   node --import ./test/register.mjs test/bench/spawn-cost.ts [--runs 400] [--rss-mb 75] [--command "killall -0 nothing-here"]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveExecutable, runCommand, splitCommand, type Spawner } from '../../src/io/command.js';
import { median } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '400' },
    'rss-mb': { type: 'string', default: '75' },
    command: { type: 'string', default: '/bin/true' },
  },
});
const runs = Number(values.runs);
const argv = splitCommand(values.command);
const file = resolveExecutable(argv[0]!);

function childrenCpuUs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10_000; // cutime, cstime in 10 ms ticks
}

function rssMb(): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
}

// Make this process as big as the daemon: fork's cost grows with the pages it maps.
const ballast: Buffer[] = [];
while (rssMb() < Number(values['rss-mb'])) ballast.push(Buffer.alloc(4 << 20, 1));

const BLOCK = 20;
const samples: Record<Spawner, { parentUs: number[]; childUs: number; wallMs: number[] }> = {
  native: { parentUs: [], childUs: 0, wallMs: [] },
  node: { parentUs: [], childUs: 0, wallMs: [] },
};
for (let done = 0; done < runs; done += BLOCK) {
  for (const via of ['native', 'node'] as const) {
    const childStart = childrenCpuUs();
    for (let i = 0; i < BLOCK; i++) {
      const before = process.cpuUsage();
      const started = performance.now();
      const run = runCommand(file, argv, { timeoutMs: 10_000, via });
      const result = await run.result;
      await run.exited;
      const used = process.cpuUsage(before);
      if (!result.ok && result.exitCode === null) throw new Error(`${via}: ${JSON.stringify(result)}`);
      samples[via].parentUs.push(used.user + used.system);
      samples[via].wallMs.push(performance.now() - started);
    }
    samples[via].childUs += childrenCpuUs() - childStart;
  }
}
console.log(`${runs} runs each of ${argv.join(' ')}; this process's RSS ${rssMb().toFixed(0)} MB (ballast ${ballast.length * 4} MB)`);
for (const via of ['native', 'node'] as const) {
  const s = samples[via];
  console.log(
    `${via.padEnd(6)} parent CPU per run: median ${median(s.parentUs).toFixed(0)} µs; children ${(s.childUs / s.parentUs.length).toFixed(0)} µs per run (10 ms ticks); wall median ${median(s.wallMs).toFixed(2)} ms`,
  );
}
