/**
 * The user's three Kubernetes masters as a simulated cluster, from the repository's own example
 * files through the real loader: examples/preempt (or examples/nopreempt) master1-3.yaml, or the
 * seed's keepalived.conf files themselves (examples/keepalived/...). m1/m2/m3 = 10.0.0.51-53,
 * priorities 100/99/98, VRID 251, PASS 123456, unicast peers, VIP 10.0.0.50, and
 * `vrrp_script check { killall -0 kube-apiserver; interval 2; weight -20 }` (keepalived's defaults
 * rise 1, fall 1).
 *
 * `preempt: true` is the seed's preemptive variant (m1 `state MASTER`, the others `state BACKUP`);
 * `preempt: false` is its non-preemptive variant (every node `state BACKUP` + `nopreempt`). Other
 * options edit the YAML before it is loaded, as a user would edit the file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Document } from 'yaml';
import { address, Cluster, type ClusterOptions } from './cluster.js';
import type { LinkConditions } from './network.js';
import { editYaml, type ConfigSource, type EngineFactory, type RouterSpec } from './router.js';

export const VIP = address('10.0.0.50');
export const CHECK_SCRIPT = 'check';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

export interface SeedClusterOptions {
  preempt?: boolean;
  /** The example files to load: vrrpd YAML (default) or the seed's keepalived.conf files. */
  format?: 'yaml' | 'keepalived';
  mode?: 'unicast' | 'multicast';
  /** Defaults to the seed's 100/99/98. */
  priorities?: [number, number, number];
  /** preempt_delay in ms (the file says seconds). */
  preemptDelayMs?: number;
  conditions?: Partial<LinkConditions>;
  seed?: number;
  recordPackets?: boolean;
  /** Do not start the daemons yet (start them with cluster.start() or router.start()). */
  stopped?: boolean;
  /** Edit one node's YAML (e.g. a mismatched password) to show what the checkers catch. */
  configure?: (name: string, doc: Document) => void;
  checkers?: ClusterOptions['checkers'];
  engine?: EngineFactory;
}

export const SEED_NODES = [
  { name: 'm1', address: '10.0.0.51' },
  { name: 'm2', address: '10.0.0.52' },
  { name: 'm3', address: '10.0.0.53' },
] as const;

/** A file under examples/, as it is in the repository. */
export function exampleConfig(file: string): ConfigSource {
  return { fileName: `examples/${file}`, text: readFileSync(`${EXAMPLES}${file}`, 'utf8') };
}

/** The example file of one seed node. */
export function seedConfig(index: number, preempt: boolean, format: 'yaml' | 'keepalived' = 'yaml'): ConfigSource {
  const variant = preempt ? 'preempt' : 'nopreempt';
  return exampleConfig(format === 'yaml' ? `${variant}/master${index + 1}.yaml` : `keepalived/${variant}/master${index + 1}.conf`);
}

const INSTANCE = ['vrrp_instance', 'VI_1'];

export function seedRouterSpec(index: number, options: SeedClusterOptions = {}): RouterSpec {
  const node = SEED_NODES[index];
  if (node === undefined) throw new Error(`no seed node ${index}`);
  let config = seedConfig(index, options.preempt ?? true, options.format);
  const edits: ((doc: Document) => void)[] = [];
  if (options.mode === 'multicast') {
    edits.push((doc) => {
      doc.deleteIn([...INSTANCE, 'unicast_peer']);
      doc.deleteIn([...INSTANCE, 'unicast_src_ip']);
    });
  }
  if (options.priorities !== undefined) {
    const priority = options.priorities[index] as number;
    edits.push((doc) => doc.setIn([...INSTANCE, 'priority'], priority));
  }
  if (options.preemptDelayMs !== undefined) {
    const seconds = options.preemptDelayMs / 1000;
    edits.push((doc) => doc.setIn([...INSTANCE, 'preempt_delay'], seconds));
  }
  const configure = options.configure;
  if (configure !== undefined) edits.push((doc) => configure(node.name, doc));
  if (edits.length > 0) {
    if (options.format === 'keepalived') throw new Error('edits apply to the YAML examples only');
    config = editYaml(config, (doc) => {
      for (const edit of edits) edit(doc);
    });
  }
  return { name: node.name, address: node.address, config };
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
  if (options.engine !== undefined) clusterOptions.engine = options.engine;
  const cluster = new Cluster(clusterOptions);
  if (options.stopped !== true) cluster.start();
  return cluster;
}
