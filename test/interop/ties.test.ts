/**
 * Scenario 3 of issue 5: equal priorities across implementations. Two MASTERs with the same
 * priority (a partition healing, or a swap that copied a priority) settle on the higher source
 * address (RFC 3768 6.4.3; keepalived compares its own source address numerically). Tested from
 * both sides: vrrpd holding the higher address, then keepalived holding it.
 *
 * Both nodes run the seed's preempt configs with master2's priority set to 100 like master1's.
 * master2 is first cut off the bridge (its link stays up, so no FAULT), so each becomes MASTER on
 * its own; then the partition heals and the wire decides.
 */
import { describe, expect, it } from 'vitest';
import { labUnavailableReason } from '../netns/lab.js';
import { sleep } from '../netns/vrrpd.js';
import { seedConf, withPriority } from './configs.js';
import type { Daemon, KeepalivedProcess, VrrpdProcess } from '../../src/lab/daemons.js';
import { brief } from '../../src/lab/wire.js';
import { useMixedLab } from './use-mixed-lab.js';
import { ADVERT_INT_MS, MARGIN_MS, masterDownMs, report } from './timing.js';

describe.skipIf(labUnavailableReason !== undefined)('interop, equal priorities: the higher IP wins, from both sides', () => {
  const lab = useMixedLab();

  for (const higher of ['vrrpd', 'keepalived'] as const) {
    const lower = higher === 'vrrpd' ? 'keepalived' : 'vrrpd';
    it(`${higher} on master2 (10.0.0.52) beats ${lower} on master1 (10.0.0.51), both at priority 100`, async () => {
      const conf1 = seedConf('preempt', 1);
      const conf2 = withPriority(seedConf('preempt', 2), 100);
      await lab.mixed.partition('m2');
      let m1: Daemon;
      let m2: Daemon;
      if (higher === 'vrrpd') {
        m1 = await lab.mixed.node('m1').startKeepalived(conf1);
        m2 = await lab.mixed.node('m2').startVrrpd(conf2, '.conf');
      } else {
        m1 = await lab.mixed.node('m1').startVrrpd(conf1, '.conf');
        m2 = await lab.mixed.node('m2').startKeepalived(conf2);
      }
      // Apart, each hears nobody and takes over after its Master_Down.
      await lab.mixed.vips.waitForHolders(['m1', 'm2'], masterDownMs(100) + 5_000, 'both masters alone in their partitions');
      const mark = lab.wire.mark();
      const healedAt = Date.now();
      await lab.mixed.heal('m2');
      // Each MASTER advertises every advert_int; the first advert to cross settles it: if master1
      // hears master2's, it yields; if master2 hears master1's, it answers at once and master1 yields.
      const bound = ADVERT_INT_MS + MARGIN_MS;
      const settledAt = await lab.mixed.vips.waitForHolders(['m2'], bound + 3_000);
      await sleep(2 * ADVERT_INT_MS);
      report(`tie, ${higher} has the higher IP`, 'heal -> VIP only on master2', settledAt - healedAt, `<= advert_int + ${MARGIN_MS}`);

      expect(settledAt - healedAt).toBeLessThanOrEqual(bound);
      expect(await lab.mixed.kernelHolders()).toEqual(['m2']);
      const after = lab.wire.since(mark).filter((a) => a.timeMs > settledAt + MARGIN_MS);
      expect(after.length).toBeGreaterThanOrEqual(2);
      expect(after.filter((a) => a.from !== 'm2').map(brief)).toEqual([]);
      expect(after.every((a) => a.priority === 100)).toBe(true);
      // Both implementations saw it the same way.
      if (higher === 'vrrpd') {
        await (m1 as KeepalivedProcess).waitForState('BACKUP', 1_000, (m1 as KeepalivedProcess).lines.findIndex((l) => /Entering MASTER STATE/.test(l.text)));
        expect((await (m2 as VrrpdProcess).status()).instances[0]).toMatchObject({ state: 'MASTER', priority: 100 });
      } else {
        const yielded = await (m1 as VrrpdProcess).waitForLine((l) => l.from === 'MASTER' && l.to === 'BACKUP', 1_000);
        expect(yielded.timeMs - healedAt).toBeLessThanOrEqual(bound);
        expect((await (m1 as VrrpdProcess).status()).instances[0]).toMatchObject({ state: 'BACKUP', master_address: '10.0.0.52' });
        expect((m2 as KeepalivedProcess).states().map((s) => s.state)).toEqual(['BACKUP', 'MASTER']);
      }
    });
  }
});
