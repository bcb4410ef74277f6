/**
 * The long soak: many swarm seeds (see swarm.ts) in one process, on demand.
 *
 *   node test/sim/soak.mjs --seeds 10000            seeds 1..10000
 *   node test/sim/soak.mjs --seeds 10000 --first 50001
 *   node test/sim/soak.mjs --seed 123 [--verbose]   replay one seed, printing its options and trace on failure
 *
 * Prints every failing seed with its options, the violation, the trace tail and the replay command;
 * exits 1 if any seed failed.
 */
import { parseArgs } from 'node:util';
import { deriveOptions, describeOptions, replayCommands, runSwarm } from './swarm.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    first: { type: 'string', default: '1' },
    seed: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});

const seeds: number[] =
  values.seed !== undefined ? [Number(values.seed)] : Array.from({ length: Number(values.seeds) }, (_, i) => Number(values.first) + i);
for (const seed of seeds) if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`bad seed ${seed}`);

const startedMs = performance.now();
const failures: number[] = [];
let simulatedMs = 0;
let steps = 0;
let faults = 0;
let transitions = 0;
for (const [index, seed] of seeds.entries()) {
  const options = deriveOptions(seed);
  if (values.verbose || seeds.length === 1) console.log(describeOptions(options));
  try {
    const result = runSwarm(options);
    simulatedMs += result.simulatedMs;
    steps += result.steps;
    faults += result.faultsApplied;
    transitions += result.transitions;
    if (seeds.length === 1) console.log(`seed ${seed} ok: ${JSON.stringify(result)}`);
  } catch (error) {
    failures.push(seed);
    // A SimulationError already ends with the options and the replay command; anything else gets them here.
    const text = error instanceof Error ? error.message : String(error);
    console.log(`\nFAILED seed ${seed}\n${text}${text.includes('replay:') ? '' : `\n${describeOptions(options)}\nreplay: ${replayCommands(seed)}`}\n`);
  }
  if ((index + 1) % 1000 === 0) console.log(`${index + 1}/${seeds.length} seeds, ${failures.length} failed, ${((performance.now() - startedMs) / 1000).toFixed(1)} s`);
}
const wallSec = (performance.now() - startedMs) / 1000;
console.log(
  `soak: ${seeds.length} seeds, ${failures.length} failed${failures.length > 0 ? ` (${failures.join(' ')})` : ''}; ` +
    `${(simulatedMs / 3_600_000).toFixed(1)} simulated hours, ${steps} steps, ${faults} faults, ${transitions} transitions in ${wallSec.toFixed(1)} s wall`,
);
process.exitCode = failures.length > 0 ? 1 : 0;
