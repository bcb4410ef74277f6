/**
 * The lab life cycle most interop files share: one Cluster and one Wire capture per describe
 * block, every node reset (daemons stopped, apiservers up, VIPs cleared) before each test, both
 * torn down after the block, also when a test failed. Kept out of src/lab because it is
 * vitest's (the benchmarks use the cluster outside vitest).
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { Cluster } from '../../src/lab/cluster.js';
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
