/**
 * The simulator runs the product's engine, so a bug planted in the engine must be caught by the
 * checkers. Planted here: a packet for the second VRID on an interface is dispatched to the first
 * instance (the kind of slip a change to the dispatch table could make). VI_2's adverts then never
 * reach VI_2, every node's VI_2 becomes MASTER, and the safety checker must say so.
 */
import { describe, expect, it } from 'vitest';
import type { Document } from 'yaml';
import { Engine, type InstanceRuntime, type InterfaceState } from '../../src/daemon/engine.js';
import { SafetyChecker } from './checkers.js';
import { seedCluster } from './seed-cluster.js';

/** VRID 252 goes to whatever serves VRID 251. */
class MisroutingEngine extends Engine {
  protected override route(state: InterfaceState, vrid: number): InstanceRuntime | undefined {
    return super.route(state, vrid === 252 ? 251 : vrid);
  }
}

/** The seed's node plus a second virtual router on the same interface: VRID 252, VIP 10.0.0.60. */
function addSecondInstance(_name: string, doc: Document): void {
  const first = doc.getIn(['vrrp_instance', 'VI_1']) as { clone(): unknown };
  const second = first.clone() as Document['contents'] & { set(key: string, value: unknown): void };
  second.set('virtual_router_id', 252);
  second.set('virtual_ipaddress', doc.createNode(['10.0.0.60 dev ens32']));
  doc.setIn(['vrrp_instance', 'VI_2'], second);
}

describe('a bug planted in the engine is caught by the checkers', () => {
  it('with the real engine, two VRIDs on one interface each elect one master', () => {
    const cluster = seedCluster({ preempt: true, configure: addSecondInstance, checkers: [new SafetyChecker()] }).runFor(30_000);
    for (const instance of ['VI_1', 'VI_2']) {
      const masters = cluster.routers.filter((r) => r.instances.find((i) => i.name === instance)?.machine.state === 'MASTER');
      expect(masters.map((r) => r.name)).toEqual(['m1']);
    }
  });

  it('with VRID 252 dispatched to VI_1, the safety checker reports the dual master', () => {
    const run = (checkers: SafetyChecker[]) =>
      seedCluster({ preempt: true, configure: addSecondInstance, checkers, engine: () => new MisroutingEngine() }).runFor(30_000);
    expect(() => run([new SafetyChecker()])).toThrow(/safety violated: dual MASTER for VRID 252/);
    // Without the checker nothing stops the run: the bug is real, and only the checker notices it.
    const unchecked = run([]);
    const vi2Masters = unchecked.routers.filter((r) => r.instances.find((i) => i.name === 'VI_2')?.machine.state === 'MASTER');
    expect(vi2Masters.map((r) => r.name)).toEqual(['m1', 'm2', 'm3']);
  });
});
