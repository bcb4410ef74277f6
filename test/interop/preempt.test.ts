/**
 * Scenario 1 of issue 5: a rolling swap in the seed's preemptive cluster has reached master1 only.
 * vrrpd runs master1 (priority 100) and keepalived 2.2.7 runs master2 (99) and master3 (98), each
 * with the seed's keepalived.conf unchanged, each node in its own network and PID namespace with
 * its own fake kube-apiserver watched by the seed's `killall -0 kube-apiserver` (weight -20).
 *
 * The steps share one cluster and run in order: election, apiserver death, recovery (preemption),
 * graceful stop. Each asserts what the kernel (VIP holders) and the wire (adverts) show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUnavailableReason } from '../netns/lab.js';
import { seedConf } from './configs.js';
import { Cluster } from '../../src/lab/cluster.js';
import type { KeepalivedProcess, VrrpdProcess } from '../../src/lab/daemons.js';
import { brief, Wire } from '../../src/lab/wire.js';
import { ADVERT_INT_MS, EARLY_MS, GRACEFUL_HANDOVER_LIMIT_MS, MARGIN_MS, masterDownMs, report, SCRIPT_INTERVAL_MS, SCRIPT_WEIGHT, skewTimeMs } from './timing.js';

const SCENARIO = 'preempt: vrrpd m1, keepalived m2+m3';

describe.skipIf(labUnavailableReason !== undefined)('interop, preempt: vrrpd on master1, keepalived on master2 and master3', () => {
  let mixed: Cluster;
  let wire: Wire;
  let m1: VrrpdProcess;
  let m2: KeepalivedProcess;
  let m3: KeepalivedProcess;

  beforeAll(async () => {
    mixed = await Cluster.create();
    await mixed.reset(); // starts every node's apiserver
    wire = await Wire.switch(mixed.lab);
  });

  afterAll(async () => {
    await wire?.stop();
    await mixed?.destroy();
  });

  it('vrrpd (100) wins the election; keepalived master2 and master3 stay BACKUP and silent', async () => {
    const startedAt = Date.now();
    m1 = await mixed.node('m1').startVrrpd(seedConf('preempt', 1), '.conf');
    await m1.waitForLine((l) => l.msg === 'vrrpd started', 10_000);
    m2 = await mixed.node('m2').startKeepalived(seedConf('preempt', 2));
    m3 = await mixed.node('m3').startKeepalived(seedConf('preempt', 3));
    await mixed.vips.waitForHolders(['m1'], masterDownMs(100) + 5_000);
    const electedIn = Date.now() - startedAt;
    const mark = wire.mark();
    await new Promise((r) => setTimeout(r, 3 * ADVERT_INT_MS));
    const adverts = wire.since(mark);
    report(SCENARIO, 'election (vrrpd start to VIP on m1)', electedIn, `Master_Down(100) = ${masterDownMs(100)} ms after vrrpd's start`);

    expect(await mixed.kernelHolders()).toEqual(['m1']);
    expect(adverts.every((a) => a.from === 'm1' && a.source === '10.0.0.51' && a.priority === 100)).toBe(true);
    // Unicast to both peers, once per advert_int.
    expect(new Set(adverts.map((a) => a.destination))).toEqual(new Set(['10.0.0.52', '10.0.0.53']));
    expect(adverts.length).toBeGreaterThanOrEqual(4);
    for (const ka of [m2, m3]) {
      expect(ka.states().map((s) => s.state)).toEqual(['BACKUP']);
    }
    const status = (await m1.status()).instances[0]!;
    expect(status).toMatchObject({ state: 'MASTER', priority: 100 });
    expect(status.dropped).toEqual({});
  });

  it("vrrpd's apiserver dies: its priority drops to 80 on the wire and keepalived master2 takes over after Master_Down", async () => {
    const mark = wire.mark();
    const killedAt = Date.now();
    await mixed.node('m1').killApiserver();
    // The check runs every 2 s; the lower priority goes out with the next periodic advert.
    const lowered = await wire.waitFor((a) => a.from === 'm1' && a.priority !== 100, SCRIPT_INTERVAL_MS + ADVERT_INT_MS + 2_000, mark, "m1's advert with its lowered priority (is the vrrp_script runner wired? trackers in status --json must leave 'unknown')");
    expect(lowered.priority).toBe(100 + SCRIPT_WEIGHT);
    // vrrpd's own view agrees: the seed's check (the only tracker weighted -20) is failing.
    const trackers = (await m1.status()).instances[0]!.trackers as Array<{ name: string; weight: number; status: string }>;
    expect(trackers.filter((t) => t.weight === SCRIPT_WEIGHT).map((t) => t.status), JSON.stringify(trackers)).toEqual(['failed']);

    const bound = SCRIPT_INTERVAL_MS + masterDownMs(99) + MARGIN_MS;
    const tookAt = await mixed.vips.waitForHolders(['m2'], bound + 3_000);
    const takeover = await wire.waitFor((a) => a.from === 'm2', 1_000, mark, "master2's first advert");
    const last100 = wire.since(mark).filter((a) => a.from === 'm1' && a.priority === 100 && a.timeMs < takeover.timeMs).at(-1);
    const sinceLast100 = takeover.timeMs - (last100?.timeMs ?? killedAt);
    report(SCENARIO, 'apiserver death on vrrpd m1 -> keepalived m2 holds the VIP', tookAt - killedAt, `bound: script interval ${SCRIPT_INTERVAL_MS} + Master_Down(99) ${masterDownMs(99)} + ${MARGIN_MS}`);
    report(SCENARIO, "  m1's last priority-100 advert -> m2's first advert", sinceLast100, `Master_Down(99) = ${masterDownMs(99)} ms`);

    expect(tookAt - killedAt).toBeLessThanOrEqual(bound);
    // keepalived ignores the lower-priority adverts and waits out Master_Down from the last 100.
    expect(sinceLast100).toBeGreaterThanOrEqual(masterDownMs(99) - EARLY_MS);
    expect(sinceLast100).toBeLessThanOrEqual(masterDownMs(99) + MARGIN_MS);
    expect(takeover).toMatchObject({ priority: 99, source: '10.0.0.52' });
    await m1.waitForState('BACKUP', 2_000);
    expect(await mixed.kernelHolders()).toEqual(['m2']);
    expect(m3.states().map((s) => s.state)).toEqual(['BACKUP']);
  });

  it('the apiserver comes back: vrrpd preempts keepalived master2', async () => {
    expect(mixed.vips.holders(), 'precondition (previous step): master2 holds the VIP').toEqual(['m2']);
    const mark = wire.mark();
    const linesMark = m2.lines.length;
    const restartedAt = Date.now();
    await mixed.node('m1').startApiserver();
    // The check sees it within one interval; master2's 99 adverts are then ignored by vrrpd (100,
    // preempt), whose Master_Down runs out from the last one it accepted (at most one advert_int
    // before the check noticed).
    const bound = SCRIPT_INTERVAL_MS + masterDownMs(100) + MARGIN_MS;
    const tookAt = await mixed.vips.waitForHolders(['m1'], bound + 3_000);
    const takeover = await wire.waitFor((a) => a.from === 'm1' && a.priority === 100, 1_000, mark, "m1's advert at 100");
    report(SCENARIO, 'apiserver back on vrrpd m1 -> m1 preempts and holds the VIP', tookAt - restartedAt, `window: Master_Down(100) ${masterDownMs(100)} - advert_int .. script interval + Master_Down(100) + ${MARGIN_MS}`);
    expect(tookAt - restartedAt).toBeLessThanOrEqual(bound);
    expect(takeover.timeMs - restartedAt).toBeGreaterThanOrEqual(masterDownMs(100) - ADVERT_INT_MS - EARLY_MS);
    await m2.waitForState('BACKUP', 2_000, linesMark);
    expect(await mixed.kernelHolders()).toEqual(['m1']);
    // After master2 heard the 100 it fell silent.
    await new Promise((r) => setTimeout(r, 2 * ADVERT_INT_MS));
    const late = wire.since(mark).filter((a) => a.from !== 'm1' && a.timeMs > takeover.timeMs + 100);
    expect(late.map(brief)).toEqual([]);
  });

  it('SIGTERM on vrrpd: priority-0 goodbye, keepalived master2 holds the VIP within 1.5 s', async () => {
    const mark = wire.mark();
    const stoppedAt = Date.now();
    m1.signal('SIGTERM');
    const tookAt = await mixed.vips.waitForHolders(['m2'], GRACEFUL_HANDOVER_LIMIT_MS + 3_000);
    const exit = await m1.exited;
    const goodbye = await wire.waitFor((a) => a.from === 'm1' && a.priority === 0, 500, mark, 'priority-0 advert from m1');
    const takeover = await wire.waitFor((a) => a.from === 'm2', 500, mark, "master2's first advert");
    report(SCENARIO, 'SIGTERM on vrrpd m1 -> keepalived m2 holds the VIP', tookAt - stoppedAt, `limit ${GRACEFUL_HANDOVER_LIMIT_MS} ms; protocol: Skew_Time(99) = ${skewTimeMs(99)} ms`);
    report(SCENARIO, '  goodbye advert -> m2 first advert', takeover.timeMs - goodbye.timeMs, `Skew_Time(99) = ${skewTimeMs(99)} ms`);
    expect(exit.code).toBe(0);
    expect(tookAt - stoppedAt).toBeLessThanOrEqual(GRACEFUL_HANDOVER_LIMIT_MS);
    expect(takeover.timeMs - goodbye.timeMs).toBeGreaterThanOrEqual(skewTimeMs(99) - EARLY_MS);
    expect(takeover.timeMs - goodbye.timeMs).toBeLessThanOrEqual(skewTimeMs(99) + MARGIN_MS);
    // The goodbye went to both peers; the VIP never had two holders; master3 stayed BACKUP.
    expect(new Set(wire.since(mark).filter((a) => a.priority === 0).map((a) => a.destination))).toEqual(new Set(['10.0.0.52', '10.0.0.53']));
    expect(mixed.vips.maxHolders(stoppedAt), mixed.vips.describe(stoppedAt)).toBe(1);
    expect(await mixed.kernelHolders()).toEqual(['m2']);
    expect(m3.states().map((s) => s.state)).toEqual(['BACKUP']);
  });
});
