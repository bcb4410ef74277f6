/**
 * Simulator throughput: simulated seconds per wall second for the seed's 3-router cluster
 * (unicast, 1 s adverts, the check script every 2 s), median of several runs.
 *
 *   node --import ./test/register.mjs test/bench/sim.ts [--runs 7] [--hours 2]
 *
 * Two workloads: a quiet LAN, and a 5 % loss LAN with the master's kube-apiserver flapping every
 * minute (so transitions, GARP bursts and answers are in the mix).
 */
import { parseArgs } from 'node:util';
import { seedCluster } from '../sim/seed-cluster.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, hours: { type: 'string', default: '2' } } });
const runs = Number(values.runs);
const simulatedMs = Number(values.hours) * 3_600_000;

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

interface Sample {
  simSecPerWallSec: number;
  stepsPerWallSec: number;
  packetsPerWallSec: number;
}

function measure(workload: 'quiet' | 'lossy-flapping', seed: number): Sample {
  const cluster = seedCluster({ preempt: true, seed, conditions: workload === 'quiet' ? {} : { lossRate: 0.05, jitterMs: 2 } });
  if (workload === 'lossy-flapping') {
    const m1 = cluster.router('m1');
    for (let t = 60_000; t < simulatedMs; t += 60_000) {
      cluster.at(t, 'flap', () => (m1.apiserverAlive ? m1.killApiserver() : m1.startApiserver()));
    }
  }
  const startedMs = performance.now();
  cluster.runFor(simulatedMs);
  const wallSec = (performance.now() - startedMs) / 1000;
  return {
    simSecPerWallSec: simulatedMs / 1000 / wallSec,
    stepsPerWallSec: cluster.steps / wallSec,
    packetsPerWallSec: cluster.network.counters.sent / wallSec,
  };
}

for (const workload of ['quiet', 'lossy-flapping'] as const) {
  measure(workload, 999); // warm-up: let the JIT settle before timing
  const samples = Array.from({ length: runs }, (_, i) => measure(workload, i + 1));
  const simRate = median(samples.map((s) => s.simSecPerWallSec));
  console.log(
    `sim ${workload}: 3 routers, ${values.hours} h simulated x ${runs} runs: median ${Math.round(simRate).toLocaleString('en')} simulated s per wall s ` +
      `(${(simRate / 3600).toFixed(0)} h/s; ${Math.round(median(samples.map((s) => s.stepsPerWallSec))).toLocaleString('en')} steps/s, ` +
      `${Math.round(median(samples.map((s) => s.packetsPerWallSec))).toLocaleString('en')} packets/s)`,
  );
}
