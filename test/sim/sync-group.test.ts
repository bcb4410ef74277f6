/**
 * vrrp_sync_group in the simulator (docs/protocol.md#sync-groups): the seed's three masters with a
 * second instance (VRID 252, VIP 10.0.0.60) in one sync group with VI_1. The check is weight 0 (a
 * member's weighted tracker is dropped in a sync group, as keepalived does), so kube-apiserver dying
 * is a FAULT of VI_1, and the group takes VI_2 with it. The SyncGroupChecker runs after every step
 * (members never split on one router, never MASTER on two routers once converged).
 */
import { describe, expect, it } from 'vitest';
import type { Document } from 'yaml';
import { Engine, type SyncGroupRuntime } from '../../src/daemon/engine.js';
import type { VrrpState } from '../../src/core/types.js';
import { SyncGroupChecker } from './checkers.js';
import type { Cluster } from './cluster.js';
import { seedCluster, type SeedClusterOptions } from './seed-cluster.js';

function syncGroup(_name: string, doc: Document): void {
  doc.setIn(['vrrp_script', 'check', 'weight'], 0);
  doc.setIn(['vrrp_script', 'check', 'interval'], 1);
  const first = doc.getIn(['vrrp_instance', 'VI_1']) as { clone(): unknown };
  const second = first.clone() as Document['contents'] & { set(key: string, value: unknown): void; delete(key: string): void };
  second.set('virtual_router_id', 252);
  second.set('virtual_ipaddress', doc.createNode(['10.0.0.60 dev ens32']));
  second.delete('track_script');
  doc.setIn(['vrrp_instance', 'VI_2'], second);
  doc.setIn(['vrrp_sync_group'], doc.createNode({ VG_1: { group: ['VI_1', 'VI_2'] } }));
}

function groupCluster(options: SeedClusterOptions = {}): Cluster {
  return seedCluster({ preempt: true, configure: syncGroup, ...options });
}

/** Which routers are MASTER of each instance. */
function masters(cluster: Cluster): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const instance of ['VI_1', 'VI_2']) {
    out[instance] = cluster.routers.filter((r) => r.running && r.instances.find((i) => i.name === instance)?.machine.state === 'MASTER').map((r) => r.name);
  }
  return out;
}

function stateOf(cluster: Cluster, router: string, instance: string): VrrpState | undefined {
  return cluster.router(router).instances.find((i) => i.name === instance)?.machine.state;
}

describe('sync group in the simulator', () => {
  it('both members come up MASTER on m1 together, and the converged checker really ran', () => {
    const checker = new SyncGroupChecker();
    const cluster = groupCluster({ checkers: [checker] }).runFor(60_000);
    expect(masters(cluster)).toEqual({ VI_1: ['m1'], VI_2: ['m1'] });
    const m1 = cluster.router('m1').transitions.filter((t) => t.to === 'MASTER');
    // m1 says `state MASTER`: in a sync group both members start wanting MASTER and wait one advert
    // interval plus the smallest skew (1 s + 3 ms), not Master_Down (keepalived's vrrp_init_state).
    // Both are due in the same firing and each finds the other wanting MASTER, so both go by their
    // own timer, at once.
    expect(m1.map((t) => `${t.instance} ${t.reason} ${t.atMs}`)).toEqual(['VI_1 master_down_timer 1003', 'VI_2 master_down_timer 1003']);
    // Same millisecond: the group moved as one.
    expect(new Set(m1.map((t) => t.atMs)).size).toBe(1);
    expect(checker.convergedChecks).toBeGreaterThan(0);
  });

  it('kube-apiserver dies on m1: VI_1 FAULT, VI_2 FAULT with it, each says goodbye with priority 0, and m2 takes both in the same millisecond', () => {
    const cluster = groupCluster().runFor(30_000);
    const killedAt = cluster.nowMs;
    cluster.router('m1').killApiserver();
    cluster.runFor(10_000);
    expect(masters(cluster)).toEqual({ VI_1: ['m2'], VI_2: ['m2'] });
    expect(stateOf(cluster, 'm1', 'VI_1')).toBe('FAULT');
    expect(stateOf(cluster, 'm1', 'VI_2')).toBe('FAULT');
    expect(cluster.router('m1').machine.faultCauses.sort()).toEqual(['script:check', 'sync_group:VG_1']);
    const goodbyes = cluster.router('m1').adverts.filter((a) => a.atMs > killedAt && a.priority === 0);
    expect(goodbyes.map((a) => a.instance).sort()).toEqual(['VI_1', 'VI_2']);
    expect(goodbyes[0]!.atMs).toBe(goodbyes[1]!.atMs);
    const took = cluster.router('m2').transitions.filter((t) => t.atMs > killedAt && t.to === 'MASTER');
    expect(took).toHaveLength(2);
    expect(took[0]!.atMs).toBe(took[1]!.atMs);
    // After the goodbye, in Skew_Time (of the slower member) plus the wire, not Master_Down.
    expect(took[0]!.atMs - goodbyes[0]!.atMs).toBeLessThan(1000);
  });

  it('kube-apiserver comes back on m1: the group leaves FAULT for BACKUP together and preempts back together', () => {
    const cluster = groupCluster().runFor(30_000);
    cluster.router('m1').killApiserver();
    cluster.runFor(10_000);
    cluster.router('m1').startApiserver();
    cluster.runFor(20_000);
    expect(masters(cluster)).toEqual({ VI_1: ['m1'], VI_2: ['m1'] });
    const back = cluster.router('m1').transitions.filter((t) => t.from === 'FAULT');
    expect(back.map((t) => `${t.instance} ${t.to}`).sort()).toEqual(['VI_1 BACKUP', 'VI_2 BACKUP']);
    expect(back[0]!.atMs).toBe(back[1]!.atMs);
  });

  it('m1 crashes: m2 takes both members; m1 comes back and takes both back', () => {
    const cluster = groupCluster().runFor(30_000);
    cluster.router('m1').crash();
    cluster.runFor(10_000);
    expect(masters(cluster)).toEqual({ VI_1: ['m2'], VI_2: ['m2'] });
    cluster.router('m1').powerOn();
    cluster.runFor(20_000);
    expect(masters(cluster)).toEqual({ VI_1: ['m1'], VI_2: ['m1'] });
  });

  it('a planted bug (the group never moves its members) is caught by the sync group checker', () => {
    class NoSyncEngine extends Engine {
      protected override reconcileSyncGroup(): void {}
    }
    const run = () => {
      const cluster = groupCluster({ checkers: [new SyncGroupChecker()], engine: () => new NoSyncEngine() }).runFor(30_000);
      cluster.router('m1').killApiserver();
      cluster.runFor(10_000);
    };
    expect(run).toThrow(/sync_group violated: m1 VI_2 is MASTER although VI_1 of sync group VG_1 is in FAULT/);
  });
});

// Kept for the type: the runtime the planted engine would have driven.
export type { SyncGroupRuntime };
