/**
 * Multicast mode interop: the seed's preempt cluster with unicast_src_ip and unicast_peer removed
 * from every node's keepalived.conf, so adverts go to 224.0.0.18 with TTL 255. Mixed both ways:
 * vrrpd master1 with keepalived master2/3, then keepalived master1 with vrrpd master2/3.
 */
import { describe, expect, it } from 'vitest';
import { labUnavailableReason } from '../netns/lab.js';
import { sleep } from '../netns/vrrpd.js';
import { seedConf, withoutUnicast } from './configs.js';
import { brief } from '../../src/lab/wire.js';
import { useMixedLab } from './use-mixed-lab.js';
import { ADVERT_INT_MS, EARLY_MS, GRACEFUL_HANDOVER_LIMIT_MS, MARGIN_MS, masterDownMs, report, skewTimeMs } from './timing.js';

const multicastConf = (index: 1 | 2 | 3): string => withoutUnicast(seedConf('preempt', index));

describe.skipIf(labUnavailableReason !== undefined)('interop, multicast: the same cluster without unicast_peer', () => {
  const lab = useMixedLab();

  it('vrrpd master1 wins over keepalived master2/3, hands over on SIGTERM within 1.5 s, and preempts again when restarted', async () => {
    const SCENARIO = 'multicast: vrrpd m1, keepalived m2+m3';
    let m1 = await lab.mixed.node('m1').startVrrpd(multicastConf(1), '.conf');
    await m1.waitForLine((l) => l.msg === 'vrrpd started', 10_000);
    const m2 = await lab.mixed.node('m2').startKeepalived(multicastConf(2));
    const m3 = await lab.mixed.node('m3').startKeepalived(multicastConf(3));
    await lab.mixed.vips.waitForHolders(['m1'], masterDownMs(100) + 5_000);
    let mark = lab.wire.mark();
    await sleep(2 * ADVERT_INT_MS + 200);
    const steady = lab.wire.since(mark);
    expect(steady.length).toBeGreaterThanOrEqual(2);
    // One multicast packet per advert_int, nothing from the keepalived backups.
    expect(steady.every((a) => a.from === 'm1' && a.destination === '224.0.0.18' && a.ttl === 255 && a.priority === 100)).toBe(true);
    expect(m2.states().map((s) => s.state)).toEqual(['BACKUP']);
    expect(m3.states().map((s) => s.state)).toEqual(['BACKUP']);

    // vrrpd -> keepalived.
    mark = lab.wire.mark();
    const stoppedAt = Date.now();
    m1.signal('SIGTERM');
    const tookAt = await lab.mixed.vips.waitForHolders(['m2'], GRACEFUL_HANDOVER_LIMIT_MS + 3_000);
    const goodbye = await lab.wire.waitFor((a) => a.from === 'm1' && a.priority === 0, 500, mark, 'goodbye from m1');
    const takeover = await lab.wire.waitFor((a) => a.from === 'm2', 500, mark, "master2's first advert");
    report(SCENARIO, 'SIGTERM on vrrpd m1 -> keepalived m2 holds the VIP', tookAt - stoppedAt, `limit ${GRACEFUL_HANDOVER_LIMIT_MS}; Skew_Time(99) = ${skewTimeMs(99)} ms`);
    expect((await m1.exited).code).toBe(0);
    expect(goodbye.destination).toBe('224.0.0.18');
    expect(tookAt - stoppedAt).toBeLessThanOrEqual(GRACEFUL_HANDOVER_LIMIT_MS);
    expect(takeover.timeMs - goodbye.timeMs).toBeGreaterThanOrEqual(skewTimeMs(99) - EARLY_MS);
    expect(takeover.timeMs - goodbye.timeMs).toBeLessThanOrEqual(skewTimeMs(99) + MARGIN_MS);
    expect(lab.mixed.vips.maxHolders(stoppedAt), lab.mixed.vips.describe(stoppedAt)).toBe(1);

    // A restarted vrrpd (100, preempt) ignores master2's 99 adverts and takes over after Master_Down.
    mark = lab.wire.mark();
    const linesMark = m2.lines.length;
    m1 = await lab.mixed.node('m1').startVrrpd(multicastConf(1), '.conf');
    const startedAt = (await m1.waitForLine((l) => l.msg === 'vrrpd started', 10_000)).timeMs;
    const backAt = await lab.mixed.vips.waitForHolders(['m1'], masterDownMs(100) + MARGIN_MS + 3_000);
    const first = await lab.wire.waitFor((a) => a.from === 'm1' && a.priority === 100, 500, mark, "m1's first advert");
    report(SCENARIO, 'restarted vrrpd m1 preempts keepalived m2 (from its start)', backAt - startedAt, `Master_Down(100) = ${masterDownMs(100)} ms`);
    expect(first.timeMs - startedAt).toBeGreaterThanOrEqual(masterDownMs(100) - EARLY_MS);
    expect(backAt - startedAt).toBeLessThanOrEqual(masterDownMs(100) + MARGIN_MS);
    await m2.waitForState('BACKUP', 1_000, linesMark);
    await sleep(ADVERT_INT_MS + 100);
    expect(await lab.mixed.kernelHolders()).toEqual(['m1']);
    expect(lab.wire.since(mark).filter((a) => a.from !== 'm1' && a.timeMs > first.timeMs + MARGIN_MS).map(brief)).toEqual([]);
  });

  it('keepalived master1 wins over vrrpd master2/3 and hands over to vrrpd master2 on SIGTERM within 1.5 s', async () => {
    const SCENARIO = 'multicast: keepalived m1, vrrpd m2+m3';
    const m1 = await lab.mixed.node('m1').startKeepalived(multicastConf(1));
    await lab.mixed.vips.waitForHolders(['m1'], masterDownMs(100) + 5_000);
    const m2 = await lab.mixed.node('m2').startVrrpd(multicastConf(2), '.conf');
    const m3 = await lab.mixed.node('m3').startVrrpd(multicastConf(3), '.conf');
    await m2.waitForState('BACKUP', 10_000);
    await m3.waitForState('BACKUP', 10_000);
    await sleep(2 * ADVERT_INT_MS);
    for (const vrrpd of [m2, m3]) {
      const status = (await vrrpd.status()).instances[0]!;
      expect(status).toMatchObject({ state: 'BACKUP', master_address: '10.0.0.51', master_priority: 100, adverts_sent: 0 });
      expect(status.dropped).toEqual({});
    }

    const mark = lab.wire.mark();
    const stoppedAt = Date.now();
    m1.signal('SIGTERM');
    const tookAt = await lab.mixed.vips.waitForHolders(['m2'], GRACEFUL_HANDOVER_LIMIT_MS + 3_000);
    const goodbye = await lab.wire.waitFor((a) => a.from === 'm1' && a.priority === 0, 500, mark, 'goodbye from keepalived m1');
    const takeover = await lab.wire.waitFor((a) => a.from === 'm2', 500, mark, "master2's first advert");
    report(SCENARIO, 'SIGTERM on keepalived m1 -> vrrpd m2 holds the VIP', tookAt - stoppedAt, `limit ${GRACEFUL_HANDOVER_LIMIT_MS}; Skew_Time(99) = ${skewTimeMs(99)} ms`);
    expect((await m1.exited).code).toBe(0);
    expect(tookAt - stoppedAt).toBeLessThanOrEqual(GRACEFUL_HANDOVER_LIMIT_MS);
    expect(takeover.timeMs - goodbye.timeMs).toBeGreaterThanOrEqual(skewTimeMs(99) - EARLY_MS);
    expect(takeover.timeMs - goodbye.timeMs).toBeLessThanOrEqual(skewTimeMs(99) + MARGIN_MS);
    // master3 may race master2 by the 4 ms between Skew_Time(98) and Skew_Time(99) (see the
    // nopreempt scenario), and on a loaded machine it may even add the VIP first; what the
    // protocol guarantees is a short overlap that ends with master2 alone (asserted below).
    expect(['m2', 'm3'], lab.mixed.vips.describe(stoppedAt)).toContain(lab.mixed.vips.firstTaker(stoppedAt));
    expect(lab.mixed.vips.dualMs(stoppedAt), lab.mixed.vips.describe(stoppedAt)).toBeLessThanOrEqual(MARGIN_MS);
    await sleep(ADVERT_INT_MS + 100);
    expect(await lab.mixed.kernelHolders()).toEqual(['m2']);
    expect((await m3.status()).instances[0]).toMatchObject({ state: 'BACKUP', master_address: '10.0.0.52' });
  });
});
