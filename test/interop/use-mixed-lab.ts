/**
 * The lab life cycle most interop files share: one MixedLab and one Wire capture per describe
 * block, every node reset (daemons stopped, apiservers up, VIPs cleared) before each test, both
 * torn down after the block, also when a test failed. Kept out of mixed-lab.ts because the
 * benchmarks use that file outside vitest.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { MixedLab, Wire } from './mixed-lab.js';

export interface MixedLabContext {
  readonly mixed: MixedLab;
  readonly wire: Wire;
}

/** Call inside describe(); the fields are set once beforeAll has run. */
export function useMixedLab(): MixedLabContext {
  const context: { mixed?: MixedLab; wire?: Wire } = {};
  beforeAll(async () => {
    context.mixed = await MixedLab.create();
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
