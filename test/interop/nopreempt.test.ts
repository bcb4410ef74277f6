/**
 * Scenario 2 of issue 5: the seed's non-preemptive cluster half-way through a rolling swap the
 * other way round: keepalived 2.2.7 runs master1 (priority 100), vrrpd runs master2 (99) and
 * master3 (98), all with the seed's nopreempt keepalived.conf unchanged.
 *
 * The steps share one cluster and run in order: steady state, graceful stop of keepalived,
 * keepalived's restart (no preemption), and a link failure on master2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUnavailableReason } from '../netns/lab.js';
import { sleep } from '../netns/vrrpd.js';
import { seedConf } from './configs.js';
import { Cluster } from '../../src/lab/cluster.js';
import type { KeepalivedProcess, VrrpdProcess } from '../../src/lab/daemons.js';
import { brief, Wire } from '../../src/lab/wire.js';
import { ADVERT_INT_MS, EARLY_MS, GRACEFUL_HANDOVER_LIMIT_MS, MARGIN_MS, masterDownMs, report, skewTimeMs } from './timing.js';

const SCENARIO = 'nopreempt: keepalived m1, vrrpd m2+m3';
const STEADY_STATE_MS = 10_000;
/** vrrpd's link watcher reports a carrier loss within 500 ms (test/netns/io.test.ts). */
const LINK_WATCH_MS = 500;

describe.skipIf(labUnavailableReason !== undefined)('interop, nopreempt: keepalived on master1, vrrpd on master2 and master3', () => {
  let mixed: Cluster;
  let wire: Wire;
  let m1: KeepalivedProcess;
  let m2: VrrpdProcess;
  let m3: VrrpdProcess;

  beforeAll(async () => {
    mixed = await Cluster.create();
    await mixed.reset();
    wire = await Wire.switch(mixed.lab);
  });

  afterAll(async () => {
    await wire?.stop();
    await mixed?.destroy();
  });

  it('keepalived master1 is MASTER; with vrrpd joining there is no dual master in 10 s of steady state', async () => {
    m1 = await mixed.node('m1').startKeepalived(seedConf('nopreempt', 1));
    await mixed.vips.waitForHolders(['m1'], masterDownMs(100) + 5_000);
    const from = Date.now();
    const mark = wire.mark();
    m2 = await mixed.node('m2').startVrrpd(seedConf('nopreempt', 2), '.conf');
    m3 = await mixed.node('m3').startVrrpd(seedConf('nopreempt', 3), '.conf');
    await sleep(STEADY_STATE_MS);

    expect(mixed.vips.maxHolders(from), mixed.vips.describe(from)).toBe(1);
    expect(mixed.vips.since(from)).toEqual([]);
    expect(await mixed.kernelHolders()).toEqual(['m1']);
    const adverts = wire.since(mark);
    expect(adverts.filter((a) => a.from !== 'm1').map(brief)).toEqual([]);
    // About one advert per second to each of the two peers.
    expect(adverts.length).toBeGreaterThanOrEqual(2 * (STEADY_STATE_MS / ADVERT_INT_MS - 1));
    for (const vrrpd of [m2, m3]) {
      const status = (await vrrpd.status()).instances[0]!;
      expect(status).toMatchObject({ state: 'BACKUP', master_address: '10.0.0.51', master_priority: 100, adverts_sent: 0 });
      expect(status.dropped).toEqual({});
      expect(status.adverts_received as number).toBeGreaterThanOrEqual(STEADY_STATE_MS / ADVERT_INT_MS - 2);
    }
  });

  it('SIGTERM on keepalived: its goodbye hands the VIP to vrrpd master2 within 1.5 s', async () => {
    const mark = wire.mark();
    const stoppedAt = Date.now();
    m1.signal('SIGTERM');
    const tookAt = await mixed.vips.waitForHolders(['m2'], GRACEFUL_HANDOVER_LIMIT_MS + 3_000);
    const goodbye = await wire.waitFor((a) => a.from === 'm1' && a.priority === 0, 500, mark, 'priority-0 advert from keepalived m1');
    const takeover = await wire.waitFor((a) => a.from === 'm2', 500, mark, "master2's first advert");
    await m2.waitForState('MASTER', 1_000);
    const exit = await m1.exited;
    report(SCENARIO, 'SIGTERM on keepalived m1 -> vrrpd m2 holds the VIP', tookAt - stoppedAt, `limit ${GRACEFUL_HANDOVER_LIMIT_MS} ms; protocol: Skew_Time(99) = ${skewTimeMs(99)} ms`);
    report(SCENARIO, '  goodbye advert -> m2 first advert', takeover.timeMs - goodbye.timeMs, `Skew_Time(99) = ${skewTimeMs(99)} ms`);
    expect(exit.code).toBe(0);
    expect(tookAt - stoppedAt).toBeLessThanOrEqual(GRACEFUL_HANDOVER_LIMIT_MS);
    expect(takeover.timeMs - goodbye.timeMs).toBeGreaterThanOrEqual(skewTimeMs(99) - EARLY_MS);
    expect(takeover.timeMs - goodbye.timeMs).toBeLessThanOrEqual(skewTimeMs(99) + MARGIN_MS);
    // Skew_Time(98) is only 4 ms longer than Skew_Time(99), so master3 takes over too when its timer
    // runs out before master2's advert reaches it; that is a race the protocol allows. Then it has
    // master2's advert in hand at once and leaves: a MASTER hearing a higher priority goes BACKUP
    // and removes the VIP without waiting for anything, so any dual master lasts < MARGIN_MS.
    const dualMs = mixed.vips.dualMs(stoppedAt);
    const fanOut = wire.since(mark).filter((a) => a.from === 'm2').slice(0, 2);
    report(SCENARIO, '  transient dual master (m3 racing m2 by Skew_Time 4 ms)', dualMs, `m2's advert went to .51 and .53 ${(fanOut[1]!.timeMs - fanOut[0]!.timeMs).toFixed(2)} ms apart; events: ${mixed.vips.describe(stoppedAt)}`);
    // Who adds the VIP first is that race (CI once saw m3 fire 3 ms before a late m2); what must
    // hold is that the overlap is short and master2 is the one left.
    expect(['m2', 'm3']).toContain(mixed.vips.firstTaker(stoppedAt));
    expect(dualMs, mixed.vips.describe(stoppedAt)).toBeLessThanOrEqual(MARGIN_MS);
    expect(await mixed.kernelHolders()).toEqual(['m2']);
    await sleep(ADVERT_INT_MS + 100);
    const late = wire.since(mark).filter((a) => a.from !== 'm2' && a.timeMs > takeover.timeMs + MARGIN_MS);
    expect(late.map(brief)).toEqual([]);
    expect((await m3.status()).instances[0]).toMatchObject({ state: 'BACKUP', master_address: '10.0.0.52' });
  });

  it('keepalived restarted on master1 (100, nopreempt) does not preempt vrrpd master2 (99)', async () => {
    const from = Date.now();
    const mark = wire.mark();
    m1 = await mixed.node('m1').startKeepalived(seedConf('nopreempt', 1));
    const backupAt = (await m1.waitForState('BACKUP', 5_000)).timeMs;
    // Were it to preempt, it would do so when its Master_Down ran out: wait that long and two more
    // adverts past it.
    await sleep(Math.max(0, backupAt + masterDownMs(100) + 2 * ADVERT_INT_MS - Date.now()));
    report(SCENARIO, 'restarted keepalived m1 watched for', Date.now() - backupAt, `Master_Down(100) ${masterDownMs(100)} + 2 advert_int`);
    expect(m1.states().map((s) => s.state)).toEqual(['BACKUP']);
    expect(wire.since(mark).filter((a) => a.from === 'm1').map(brief)).toEqual([]);
    expect(mixed.vips.since(from)).toEqual([]);
    expect(await mixed.kernelHolders()).toEqual(['m2']);
  });

  it("master2's link goes down: it goes FAULT and drops the VIP, and exactly one other node (keepalived master1) takes over", async () => {
    const mark = wire.mark();
    const linesMark = m2.lines.length;
    const downAt = Date.now();
    await mixed.lab.linkDown('m2', 'carrier'); // its cable: the switch port goes down
    const fault = await m2.waitForState('FAULT', LINK_WATCH_MS + 2_000, linesMark);
    const droppedAt = await mixed.vips.waitForHolders([], LINK_WATCH_MS + 2_000, 'master2 to drop the VIP');
    const tookAt = await mixed.vips.waitForHolders(['m1'], masterDownMs(100) + ADVERT_INT_MS + 3_000);
    const takeover = await wire.waitFor((a) => a.from === 'm1', 500, mark, "keepalived master1's first advert");
    const lastFromM2 = wire.adverts.filter((a) => a.from === 'm2' && a.timeMs < takeover.timeMs).at(-1)!;
    await sleep(2 * ADVERT_INT_MS);

    report(SCENARIO, 'carrier loss on vrrpd m2 -> FAULT', fault.timeMs - downAt, `link watcher bound ${LINK_WATCH_MS} + ${MARGIN_MS}`);
    report(SCENARIO, 'carrier loss on vrrpd m2 -> VIP removed from m2', droppedAt - downAt, `link watcher bound ${LINK_WATCH_MS} + ${MARGIN_MS}`);
    report(SCENARIO, "  m2's last advert -> keepalived m1's first advert", takeover.timeMs - lastFromM2.timeMs, `Master_Down(100) = ${masterDownMs(100)} ms`);
    report(SCENARIO, 'carrier loss on vrrpd m2 -> keepalived m1 holds the VIP', tookAt - downAt, `<= advert_int + Master_Down(100) + ${MARGIN_MS}`);
    expect(fault.timeMs - downAt).toBeLessThanOrEqual(LINK_WATCH_MS + MARGIN_MS);
    expect(droppedAt - downAt).toBeLessThanOrEqual(LINK_WATCH_MS + MARGIN_MS);
    expect(takeover.timeMs - lastFromM2.timeMs).toBeGreaterThanOrEqual(masterDownMs(100) - EARLY_MS);
    expect(takeover.timeMs - lastFromM2.timeMs).toBeLessThanOrEqual(masterDownMs(100) + MARGIN_MS);
    expect(tookAt - downAt).toBeLessThanOrEqual(ADVERT_INT_MS + masterDownMs(100) + MARGIN_MS);
    // Exactly one taker: master3 (98) heard master1's first advert 4 ms before its own timer ran out.
    expect(mixed.vips.maxHolders(downAt), mixed.vips.describe(downAt)).toBe(1);
    expect(await mixed.kernelHolders()).toEqual(['m1']);
    expect(wire.since(mark).filter((a) => a.from === 'm3').map(brief)).toEqual([]);
    expect((await m3.status()).instances[0]).toMatchObject({ state: 'BACKUP', master_address: '10.0.0.51' });
    const s2 = (await m2.status()).instances[0]!;
    expect(s2.state).toBe('FAULT');
    expect(s2.fault_causes).toEqual(expect.arrayContaining([expect.stringContaining('ens32')]));
  });
});
