/**
 * Randomised swarm runs (see swarm.ts). CI runs a fixed, bounded set of seeds; each prints its seed and
 * every option it derived before it runs, and a failure prints the exact command that replays it.
 *
 *   VRRPD_SIM_SEEDS=200 npx vitest run test/sim/swarm.test.ts      more seeds (default 100, from 1)
 *   VRRPD_SIM_FIRST_SEED=5000                                       start elsewhere
 *   VRRPD_SIM_SEED=123 npx vitest run test/sim/swarm.test.ts       replay one seed
 *   node test/sim/soak.mjs --seeds 10000                           the long soak
 */
import { describe, expect, it } from 'vitest';
import { SimulationError } from './cluster.js';
import { deriveOptions, describeOptions, FAULT_KINDS, runSwarm } from './swarm.js';

function seedsFromEnv(): number[] {
  const single = process.env.VRRPD_SIM_SEED;
  if (single !== undefined && single !== '') return [Number(single)];
  const count = Number(process.env.VRRPD_SIM_SEEDS ?? 100);
  const first = Number(process.env.VRRPD_SIM_FIRST_SEED ?? 1);
  return Array.from({ length: count }, (_, i) => first + i);
}

describe('swarm', () => {
  for (const seed of seedsFromEnv()) {
    it(`seed ${seed}`, () => {
      const options = deriveOptions(seed);
      console.log(describeOptions(options));
      const result = runSwarm(options);
      // The calm tail must have let the liveness checker assert its invariant (runSwarm also insists).
      expect(result.livenessChecks).toBeGreaterThan(0);
      // With a sync group, members never MASTER on two routers once converged was asserted too.
      if (options.syncGroup) expect(result.syncGroupChecks).toBeGreaterThan(0);
    });
  }
});

describe('swarm harness', () => {
  it('a seed replays bit for bit: same options, same run', () => {
    expect(deriveOptions(77)).toEqual(deriveOptions(77));
    expect(runSwarm(deriveOptions(77))).toEqual(runSwarm(deriveOptions(77)));
    expect(deriveOptions(78)).not.toEqual(deriveOptions(77));
  });

  it('seeds cover the space the brief asks for: 2..5 routers, both versions and their intervals, ties, owners, both modes, nopreempt, preempt_delay, every fault kind', () => {
    const all = Array.from({ length: 200 }, (_, i) => deriveOptions(i + 1));
    expect(new Set(all.map((o) => o.routers.length))).toEqual(new Set([2, 3, 4, 5]));
    expect(new Set(all.map((o) => o.mode))).toEqual(new Set(['unicast', 'multicast']));
    expect(all.some((o) => o.routers.some((r) => r.priority === 255))).toBe(true);
    expect(all.some((o) => new Set(o.routers.map((r) => r.priority)).size < o.routers.length)).toBe(true);
    expect(all.some((o) => o.routers.some((r) => r.nopreempt))).toBe(true);
    expect(all.some((o) => o.routers.some((r) => r.preemptDelayMs > 0))).toBe(true);
    expect(all.some((o) => o.chaos.lossRate > 0 && o.chaos.duplicateRate > 0 && o.chaos.reorderRate > 0)).toBe(true);
    expect(new Set(all.flatMap((o) => o.faults))).toEqual(new Set(FAULT_KINDS));
    // VRRPv3 from 0.01 to 2 s, and VRRPv2's whole seconds.
    expect(new Set(all.map((o) => o.version))).toEqual(new Set([2, 3]));
    expect(new Set(all.filter((o) => o.version === 3).map((o) => o.advertIntervalSec))).toEqual(new Set([0.01, 0.05, 0.1, 0.5, 1, 2]));
    expect(all.filter((o) => o.version === 2).every((o) => Number.isInteger(o.advertIntervalSec))).toBe(true);
    expect(all.some((o) => o.v3WithAuthentication)).toBe(true);
    expect(all.some((o) => o.syncGroup)).toBe(true);
  });

  it('a failing run reports the checker, the options and the replay command', () => {
    const options = deriveOptions(3);
    // A VIP list that differs (dropped as address_list_mismatch in both versions; a password would
    // be ignored if the seed draws VRRPv3).
    const wrongVip = (name: string, file: { vrrp_instance: { VI_1: Record<string, unknown> } }): void => {
      // Every instance of r2 (seed 3 draws a sync group: a member that still hears its master would
      // hold the other in BACKUP, as in keepalived, and hide the mismatch).
      if (name === 'r2') for (const instance of Object.values(file.vrrp_instance)) instance['virtual_ipaddress'] = ['10.0.0.70 dev ens32'];
    };
    let error: unknown;
    try {
      runSwarm(options, { configure: wrongVip });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SimulationError);
    const message = (error as Error).message;
    expect(message).toMatch(/violated/);
    expect(message).toContain(describeOptions(options));
    expect(message).toContain('VRRPD_SIM_SEED=3 npx vitest run test/sim/swarm.test.ts');
    expect(message).toContain('node test/sim/soak.mjs --seed 3');
  });
});
