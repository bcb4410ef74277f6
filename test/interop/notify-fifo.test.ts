/**
 * The notify FIFO against keepalived 2.2.7 itself: the seed's master1 config with a
 * `vrrp_notify_fifo`, run alone on master1 by keepalived and then by vrrpd through the same steps
 * (start, MASTER after Master_Down, SIGTERM). Both FIFOs must hold the same lines, byte for byte.
 */
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/lab/cluster.js';
import { labUnavailableReason } from '../netns/lab.js';
import { sleep, waitUntil } from '../netns/vrrpd.js';
import { seedConf } from './configs.js';
import { readAvailable } from '../fifo-reader.js';

function withFifo(conf: string, path: string): string {
  if (!conf.includes('global_defs {\n')) throw new Error('the seed config has no global_defs block');
  return conf.replace('global_defs {\n', `global_defs {\n    vrrp_notify_fifo ${path}\n`);
}

describe.skipIf(labUnavailableReason !== undefined)('interop: notify FIFO lines', () => {
  let mixed: Cluster;
  beforeAll(async () => {
    mixed = await Cluster.create();
    await mixed.reset();
  });
  afterAll(async () => {
    await mixed?.destroy();
  });

  /** Start the daemon, read its FIFO from creation to after its exit. */
  async function run(kind: 'keepalived' | 'vrrpd'): Promise<string> {
    const node = mixed.node('m1');
    const fifo = join(node.dir, `${kind}-notify.fifo`);
    const conf = withFifo(seedConf('preempt', 1), fifo);
    const daemon = kind === 'keepalived' ? await node.startKeepalived(conf) : await node.startVrrpd(conf, '.conf');
    let reader: number | undefined;
    try {
      await waitUntil(async () => existsSync(fifo), 5_000, `${kind} created ${fifo}`);
      reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      await mixed.vips.waitForHolders(['m1'], 10_000);
      await sleep(1_000);
      daemon.signal('SIGTERM');
      await daemon.exited;
      expect(existsSync(fifo)).toBe(false); // both remove the FIFO they created
      return readAvailable(reader);
    } finally {
      if (reader !== undefined) closeSync(reader);
      daemon.signal('SIGKILL');
      await daemon.exited;
    }
  }

  it('vrrpd writes what keepalived writes: the same lines in the same order', async () => {
    const keepalived = await run('keepalived');
    await mixed.reset();
    const vrrpd = await run('vrrpd');
    // What keepalived 2.2.7 wrote in this lab (start in BACKUP, MASTER after Master_Down, SIGTERM).
    expect(keepalived).toBe('INSTANCE "VI_1" BACKUP 100\nINSTANCE "VI_1" MASTER 100\nINSTANCE "VI_1" STOP 100\n');
    expect(vrrpd).toBe(keepalived);
  });
});
