/**
 * The lab life cycle most interop files share: one Cluster and one Wire capture per describe
 * block, every node reset (daemons stopped, apiservers up, VIPs cleared) before each test, both
 * torn down after the block, also when a test failed. Kept out of src/lab because it is
 * vitest's (the benchmarks use the cluster outside vitest).
 */
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { Cluster, type Master } from '../../src/lab/cluster.js';
import type { KeepalivedProcess } from '../../src/lab/daemons.js';
import { Wire } from '../../src/lab/wire.js';

export interface MixedLabContext {
  readonly mixed: Cluster;
  readonly wire: Wire;
}

/** Call inside describe(); the fields are set once beforeAll has run. */
export function useMixedLab(): MixedLabContext {
  const context: { mixed?: Cluster; wire?: Wire } = {};
  beforeAll(async () => {
    context.mixed = await Cluster.create();
    context.wire = await Wire.switch(context.mixed.lab);
  });
  beforeEach(async () => {
    await context.mixed!.reset();
  });
  afterAll(async () => {
    await context.wire?.stop();
    await context.mixed?.destroy();
  });
  return {
    get mixed() {
      return context.mixed!;
    },
    get wire() {
      return context.wire!;
    },
  };
}

/**
 * Crash keepalived on a node: no goodbye. A SIGKILL to its parent alone is a graceful stop in effect
 * (its VRRP child asks for SIGTERM when the parent dies, PR_SET_PDEATHSIG, then sends priority 0),
 * and `killall -9 keepalived` can reach the parent first: the backups then take over after
 * Skew_Time, not Master_Down (seen once in the IPv6 interop test). Killing the children first and
 * then the parent was not enough: the parent respawned the VRRP child in between (a full netns run
 * saw the crashed node's VIP gone). So every process is stopped first, then killed. Both run in
 * the node's own PID namespace, so only that node's keepalived is hit.
 */
export async function crashKeepalived(mixed: Cluster, node: Master, keepalived: KeepalivedProcess): Promise<void> {
  // Freeze every keepalived process first: the parent cannot respawn a child killed before it (its
  // SIGCHLD handler would start a new VRRP child, which removes the VIP the crash must leave
  // behind), and a stopped child cannot act on the SIGTERM its parent's death sends it
  // (PR_SET_PDEATHSIG), so it never says goodbye; SIGKILL then ends them all where they stand.
  const result = await mixed.node(node).exec('bash', ['-c', 'killall -STOP keepalived && killall -9 keepalived']);
  expect(result.code, result.stderr).toBe(0);
  // nsenter, which started keepalived in the node's PID namespace, copies its stopped child's stop
  // onto itself (job control) and stays stopped, its child unreaped, until it gets SIGCONT.
  let gone = false;
  void keepalived.exited.then(() => (gone = true));
  while (!gone) {
    try {
      process.kill(keepalived.child.pid!, 'SIGCONT');
    } catch {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await keepalived.exited;
}
