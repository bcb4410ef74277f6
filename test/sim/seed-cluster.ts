/**
 * The user's three Kubernetes masters (examples/keepalived/preempt and nopreempt) as a simulated
 * cluster: m1/m2/m3 = 10.0.0.51-53, priorities 100/99/98, VRID 251, PASS 123456, unicast peers,
 * VIP 10.0.0.50, and `vrrp_script check { killall -0 kube-apiserver; interval 2; weight -20 }`
 * (keepalived's defaults rise 1, fall 1).
 *
 * `preempt: true` is the seed's preemptive variant (m1 `state MASTER`, the others `state BACKUP`);
 * `preempt: false` is its non-preemptive variant (every node `state BACKUP` + `nopreempt`).
 */
import { passwordToAuthData } from '../../src/core/codec.js';
import type { InstanceConfig } from '../../src/core/types.js';
import { address, Cluster, type ClusterOptions } from './cluster.js';
import type { LinkConditions } from './network.js';
import type { RouterSpec, ScriptSpec } from './router.js';

export const VIP = address('10.0.0.50');
export const CHECK_SCRIPT = 'check';

export interface SeedClusterOptions {
  preempt?: boolean;
  mode?: 'unicast' | 'multicast';
  /** Defaults to the seed's 100/99/98. */
  priorities?: [number, number, number];
  preemptDelayMs?: number;
  conditions?: Partial<LinkConditions>;
  seed?: number;
  recordPackets?: boolean;
  /** Do not start the daemons yet (start them with cluster.start() or router.start()). */
  stopped?: boolean;
  /** Change one node's config (e.g. a mismatched password) to show what the checkers catch. */
  configure?: (name: string, config: InstanceConfig) => InstanceConfig;
  checkers?: ClusterOptions['checkers'];
}

export const SEED_NODES = [
  { name: 'm1', address: '10.0.0.51' },
  { name: 'm2', address: '10.0.0.52' },
  { name: 'm3', address: '10.0.0.53' },
] as const;

export function seedRouterSpec(index: number, options: SeedClusterOptions = {}): RouterSpec {
  const node = SEED_NODES[index];
  if (node === undefined) throw new Error(`no seed node ${index}`);
  const preempt = options.preempt ?? true;
  const priorities = options.priorities ?? [100, 99, 98];
  const self = address(node.address);
  const peers = SEED_NODES.filter((n) => n !== node).map((n) => address(n.address));
  const script: ScriptSpec = { name: CHECK_SCRIPT, weight: -20, intervalMs: 2000, rise: 1, fall: 1, probe: 'apiserver' };
  let config: InstanceConfig = {
    name: 'VI_1',
    virtualRouterId: 251,
    priority: priorities[index] as number,
    advertIntervalSec: 1,
    initialState: preempt && index === 0 ? 'MASTER' : 'BACKUP',
    nopreempt: !preempt,
    preemptDelayMs: options.preemptDelayMs ?? 0,
    authType: 1,
    authData: passwordToAuthData('123456').authData,
    virtualAddresses: [VIP],
    sourceAddress: self,
    unicastPeers: (options.mode ?? 'unicast') === 'unicast' ? peers : [],
    checkUnicastSrc: true,
    skipCheckAdvAddr: false,
    garpMasterDelayMs: 5000,
    garpMasterRepeat: 5,
    garpMasterRefreshMs: 0,
    trackers: [{ name: CHECK_SCRIPT, weight: script.weight, reverse: false }],
  };
  if (options.configure !== undefined) config = options.configure(node.name, config);
  return { name: node.name, config, scripts: [script] };
}

/** The seed's three masters, started at t = 0 on a clean 1 ms LAN unless told otherwise. */
export function seedCluster(options: SeedClusterOptions = {}): Cluster {
  const clusterOptions: ClusterOptions = {
    seed: options.seed ?? 1,
    routers: SEED_NODES.map((_, i) => seedRouterSpec(i, options)),
  };
  if (options.conditions !== undefined) clusterOptions.conditions = options.conditions;
  if (options.recordPackets !== undefined) clusterOptions.recordPackets = options.recordPackets;
  if (options.checkers !== undefined) clusterOptions.checkers = options.checkers;
  const cluster = new Cluster(clusterOptions);
  if (options.stopped !== true) cluster.start();
  return cluster;
}
