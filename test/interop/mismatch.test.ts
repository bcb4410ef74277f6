/**
 * Scenario 4 of issue 5, the field failure `check-config` across nodes warns about: one node's
 * keepalived.conf differs from the others in auth_pass, advert_int or the VIP list. Every
 * receiver drops that node's adverts and it drops theirs, so it becomes MASTER next to the real
 * one: a dual master (split brain), which is exactly what keepalived itself produces.
 *
 * vrrpd runs master1 (seed, 100), keepalived runs master2 (seed with one edit, 99) and master3
 * (seed, 98). master3 is keepalived's own verdict on master2's adverts, next to vrrpd's.
 */
import { describe, expect, it } from 'vitest';
import type { DropReason } from '../../src/core/types.js';
import { labUnavailableReason } from '../netns/lab.js';
import { sleep } from '../netns/vrrpd.js';
import { seedConf, withAdvertInt, withAuthPass, withExtraVip, withVip } from './configs.js';
import { brief } from '../../src/lab/wire.js';
import { useMixedLab } from './use-mixed-lab.js';
import { masterDownIntervalMs, report } from './timing.js';

interface MismatchCase {
  name: string;
  edit: (conf: string) => string;
  /** master2's advert_int, seconds. */
  advertIntSec: number;
  /** A VIP master2 adds that master1 does not have, if any. */
  vip2?: string;
  /** Whether master2's list still holds the seed's 10.0.0.50 (then both hold it: the split brain). */
  m2HasSeedVip: boolean;
  /** vrrpd's drop reason for master2's adverts (status --json `dropped`, and its log). */
  reason: DropReason;
  /** What keepalived logs when it drops such an advert (master3 about master2's, master2 about master1's). */
  keepalivedSays: RegExp;
}

const CASES: MismatchCase[] = [
  { name: 'auth_pass mismatch', edit: (c) => withAuthPass(c, '654321'), advertIntSec: 1, m2HasSeedVip: true, reason: 'auth_failure', keepalivedSays: /received an invalid passwd/ },
  { name: 'advert_int mismatch (2 s on master2)', edit: (c) => withAdvertInt(c, 2), advertIntSec: 2, m2HasSeedVip: true, reason: 'interval_mismatch', keepalivedSays: /advertisement interval mismatch/ },
  // keepalived sizes the expected length with the packet's own address count
  // (vrrp.c expected_vrrp_pkt_len(hd, ...)), so a different count is reported as such, not as a
  // bad length: "received an unexpected ip number count 2, expected 1!".
  { name: 'VIP list mismatch (an extra VIP on master2)', edit: (c) => withExtraVip(c, '10.0.0.49'), advertIntSec: 1, vip2: '10.0.0.49/32', m2HasSeedVip: true, reason: 'address_count_mismatch', keepalivedSays: /received an unexpected ip number count/ },
  { name: 'VIP list mismatch (another VIP on master2)', edit: (c) => withVip(c, '10.0.0.49'), advertIntSec: 1, vip2: '10.0.0.49/32', m2HasSeedVip: false, reason: 'address_list_mismatch', keepalivedSays: /not present in MASTER advert/ },
];

describe.skipIf(labUnavailableReason !== undefined)('interop, mismatched configs: both sides drop, dual master as with keepalived alone', () => {
  const lab = useMixedLab();

  for (const c of CASES) {
    it(`${c.name}: vrrpd counts '${c.reason}', keepalived drops too, master1 and master2 both MASTER`, async () => {
      const m1 = await lab.mixed.node('m1').startVrrpd(seedConf('preempt', 1), '.conf');
      await m1.waitForLine((l) => l.msg === 'vrrpd started', 10_000);
      const m2 = await lab.mixed.node('m2').startKeepalived(c.edit(seedConf('preempt', 2)));
      const m3 = await lab.mixed.node('m3').startKeepalived(seedConf('preempt', 3));
      const startedAt = Date.now();
      // master2 hears nothing it accepts, so it takes over after its own Master_Down.
      const m2Down = masterDownIntervalMs(c.advertIntSec, 99);
      await m1.waitForState('MASTER', 10_000);
      const m2MasterAt = (await m2.waitForState('MASTER', m2Down + 3_000)).timeMs;
      const mark = lab.wire.mark();
      // Let each side receive a few of the other's adverts.
      await sleep(2 * c.advertIntSec * 1000 + 200);
      report(`mismatch: ${c.name}`, 'keepalived m2 MASTER next to vrrpd m1, after its start by', m2MasterAt - startedAt, `Master_Down(99) at advert_int ${c.advertIntSec} = ${m2Down} ms`);

      // The kernel: both hold their VIPs (master2 its own list), master3 none.
      expect(await lab.mixed.kernelHolders()).toEqual(c.m2HasSeedVip ? ['m1', 'm2'] : ['m1']);
      if (c.vip2 !== undefined) expect(await lab.mixed.kernelHolders(c.vip2)).toEqual(['m2']);
      // The wire: both advertised as MASTER, each with its own settings. master2 may fall silent
      // after its first advert: a keepalived MASTER re-arms its advert timer on every packet it
      // receives, dropped or not (vrrp_scheduler.c vrrp_dispatcher_read, "If we have sent an
      // advert, reset the timer"), and master1's adverts arrive every second; whether its own
      // timer wins depends on the phase (always lost at advert_int 2), so only its first is sure.
      const adverts = lab.wire.since(mark);
      expect(adverts.some((a) => a.from === 'm1' && a.priority === 100)).toBe(true);
      const fromM2 = lab.wire.adverts.filter((a) => a.timeMs >= startedAt && a.from === 'm2');
      expect(fromM2.length).toBeGreaterThanOrEqual(1);
      expect(fromM2.every((a) => a.priority === 99 && a.advertIntervalSec === c.advertIntSec)).toBe(true);
      expect(adverts.filter((a) => a.from === 'm3').map(brief)).toEqual([]);

      // vrrpd: counted and logged with the reason, and it stays MASTER.
      const status = (await m1.status()).instances[0]!;
      const dropped = status.dropped as Partial<Record<DropReason, number>>;
      expect(status.state).toBe('MASTER');
      expect(Object.keys(dropped)).toEqual([c.reason]);
      expect(dropped[c.reason]).toBeGreaterThanOrEqual(1);
      const line = m1.lines.find((l) => l.reason === c.reason);
      expect(line).toMatchObject({ source: '10.0.0.52' });

      // keepalived: master2 went MASTER despite master1's priority 100 (it dropped them), and
      // master3 (the seed's config, like master1) drops master2's for the same reason.
      const m2Log = m2.lines.filter((l) => c.keepalivedSays.test(l.text)).map((l) => l.text);
      const m3Log = m3.lines.filter((l) => c.keepalivedSays.test(l.text)).map((l) => l.text);
      console.log(`[interop] mismatch: ${c.name}: vrrpd m1 dropped ${JSON.stringify(dropped)}; keepalived m2 says ${JSON.stringify(m2Log[0])}; keepalived m3 says ${JSON.stringify(m3Log[0])}`);
      expect(m2Log.length, m2.log()).toBeGreaterThanOrEqual(1);
      expect(m3Log.length, m3.log()).toBeGreaterThanOrEqual(1);
      expect(m3.states().map((s) => s.state)).toEqual(['BACKUP']);
    });
  }
});
