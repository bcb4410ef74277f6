/**
 * VRRPv3 at advert_int 0.1 (issue 14), mixed both ways with keepalived 2.2.7 on the seed's
 * keepalived.conf switched to v3 the way a user would (configs.ts seedV3Conf: `vrrp_version 3`,
 * `advert_int 0.1`, no PASS block; the script check and the unicast peers stay).
 *
 * - vrrpd leads, keepalived follows: ten adverts a second for 10 s with no flap on either side,
 *   then vrrpd's goodbye (SIGTERM, priority 0) hands the VIP to keepalived master2 in Skew_Time.
 * - keepalived leads, vrrpd follows: 10 s with no flap, then keepalived is killed (SIGKILL) and
 *   vrrpd master2 takes over Master_Down after keepalived's last advert.
 * - Without unicast_peer (multicast), the two other directions: keepalived's goodbye taken over
 *   by vrrpd in Skew_Time, and a crashed vrrpd replaced by keepalived in Master_Down.
 *
 * Every window is the protocol's interval (timing.ts: Skew_Time and Master_Down in keepalived's µs
 * arithmetic at 10 cs) plus V3_MARGIN_MS, measured between packets of one capture on the switch.
 */
import { describe, expect, it } from 'vitest';
import { labUnavailableReason } from '../netns/lab.js';
import { sleep } from '../netns/vrrpd.js';
import { seedV3Conf, withoutUnicast } from './configs.js';
import type { Cluster, Master } from '../../src/lab/cluster.js';
import { parseKeepalivedLine, type Daemon, type VrrpdProcess } from '../../src/lab/daemons.js';
import { brief, type Wire, type WireAdvert } from '../../src/lab/wire.js';
import { crashKeepalived, useMixedLab } from './use-mixed-lab.js';
import { masterDownV3Ms, report, skewV3Ms, V3_ADVERT_INT_CS, V3_ADVERT_INT_MS, V3_EARLY_MS, V3_MARGIN_MS } from './timing.js';

const STEADY_STATE_MS = 10_000;
/** vrrpd (Node) takes about a second to start; keepalived's backups are started once it leads. */
const START_TIMEOUT_MS = 10_000;

/** The state changes a daemon logged from line index `from` on (either daemon's log). */
function transitionsSince(daemon: Daemon, from: number): string[] {
  if (daemon.kind === 'vrrpd') return daemon.lines.slice(from).flatMap((l) => (typeof l.to === 'string' ? [`${String(l.from)} -> ${l.to}`] : []));
  return daemon.lines.slice(from).flatMap((l) => (parseKeepalivedLine(l.text).news?.kind === 'state' ? [l.text] : []));
}

function isV3At10cs(a: WireAdvert): boolean {
  return a.version === 3 && a.advertIntervalCs === V3_ADVERT_INT_CS && a.authType === 0 && a.ttl === 255;
}

/**
 * Watch a steady cluster for `durationMs`: the VIP's holders from each node's kernel, sampled as
 * fast as `ip addr` answers, and every event of the address monitors; the daemons' logs; the wire.
 * Asserts that `master` alone held the VIP at every sample and every instant, that no daemon
 * logged a state change, and that only `master` advertised, about ten times a second to each
 * destination. Returns the largest gap between two adverts to one destination.
 */
async function expectNoFlap(mixed: Cluster, wire: Wire, master: Master, daemons: readonly Daemon[], destinations: readonly string[], scenario: string): Promise<number> {
  const from = Date.now();
  const mark = wire.mark();
  const lineMarks = daemons.map((d) => d.lines.length);
  const samples: Master[][] = [];
  while (Date.now() - from < STEADY_STATE_MS) {
    samples.push(await mixed.kernelHolders());
    await sleep(50);
  }
  const adverts = wire.since(mark);
  let maxGapMs = 0;
  const counts: number[] = [];
  for (const destination of destinations) {
    const times = adverts.filter((a) => a.destination === destination).map((a) => a.timeMs);
    counts.push(times.length);
    for (let i = 1; i < times.length; i++) maxGapMs = Math.max(maxGapMs, times[i]! - times[i - 1]!);
  }
  report(scenario, `${STEADY_STATE_MS / 1000} s steady: ${samples.length} VIP samples, adverts per destination ${counts.join('/')}, largest gap`, maxGapMs, `Master_Down(99) ${masterDownV3Ms(99)} ms`);

  expect(samples.filter((s) => s.join(',') !== master).map((s) => s.join(',') || 'none'), 'VIP samples with another holder set').toEqual([]);
  expect(samples.length).toBeGreaterThanOrEqual(10);
  expect(mixed.vips.since(from), mixed.vips.describe(from)).toEqual([]);
  for (const [i, daemon] of daemons.entries()) expect(transitionsSince(daemon, lineMarks[i]!), `${daemon.kind} on ${daemon.host}`).toEqual([]);
  // keepalived found nothing wrong with what it received (it logs every dropped advert).
  for (const [i, daemon] of daemons.entries()) {
    if (daemon.kind === 'keepalived') expect(daemon.lines.slice(lineMarks[i]).map((l) => l.text).filter((t) => /invalid|bad|wrong|mismatch|error|discard|unexpected/i.test(t)), `keepalived on ${daemon.host}`).toEqual([]);
  }
  expect(adverts.filter((a) => a.from !== master).map(brief)).toEqual([]);
  expect(adverts.every(isV3At10cs)).toBe(true);
  // Ten a second to each destination; a tenth fewer allows for the capture's start and stop.
  for (const count of counts) expect(count).toBeGreaterThanOrEqual(0.9 * (STEADY_STATE_MS / V3_ADVERT_INT_MS));
  // No gap so long that a backup's Master_Down could have run out (the logs say none did).
  expect(maxGapMs).toBeLessThan(masterDownV3Ms(99));
  return maxGapMs;
}

/** A vrrpd BACKUP that follows `masterAddress` at 0.1 s and dropped nothing; `silent`: it never advertised. */
async function vrrpdBackup(vrrpd: VrrpdProcess, masterAddress: string, silent: boolean): Promise<void> {
  const status = (await vrrpd.status()).instances[0]!;
  expect(status).toMatchObject({ state: 'BACKUP', version: 3, master_address: masterAddress, master_advert_interval_ms: V3_ADVERT_INT_MS });
  if (silent) expect(status.adverts_sent).toBe(0);
  expect(status.dropped).toEqual({});
}

describe.skipIf(labUnavailableReason !== undefined)('interop, VRRPv3 at advert_int 0.1', () => {
  const lab = useMixedLab();

  it("vrrpd m1 leads keepalived m2+m3 for 10 s without a flap; its goodbye hands the VIP to keepalived m2 within Skew_Time", async () => {
    const SCENARIO = 'v3 0.1: vrrpd m1, keepalived m2+m3';
    const { mixed, wire } = lab;
    const m1 = await mixed.node('m1').startVrrpd(seedV3Conf('preempt', 1), '.conf');
    await m1.waitForState('MASTER', START_TIMEOUT_MS);
    const m2 = await mixed.node('m2').startKeepalived(seedV3Conf('preempt', 2));
    const m3 = await mixed.node('m3').startKeepalived(seedV3Conf('preempt', 3));
    await Promise.all([m2.waitForState('BACKUP', START_TIMEOUT_MS), m3.waitForState('BACKUP', START_TIMEOUT_MS)]);
    await mixed.vips.waitForHolders(['m1'], 1_000);

    await expectNoFlap(mixed, wire, 'm1', [m1, m2, m3], ['10.0.0.52', '10.0.0.53'], SCENARIO);
    for (const ka of [m2, m3]) expect(ka.states().map((s) => s.state)).toEqual(['BACKUP']);
    expect((await m1.status()).instances[0]).toMatchObject({ state: 'MASTER', version: 3, advert_interval_ms: V3_ADVERT_INT_MS });

    const mark = wire.mark();
    const stoppedAt = Date.now();
    m1.signal('SIGTERM');
    const tookAt = await mixed.vips.waitForHolders(['m2'], 3_000);
    expect((await m1.exited).code).toBe(0);
    const goodbye = await wire.waitFor((a) => a.from === 'm1' && a.priority === 0 && a.destination === '10.0.0.52', 500, mark, 'goodbye from m1 to m2');
    const takeover = await wire.waitFor((a) => a.from === 'm2', 500, mark, "keepalived m2's first advert");
    await sleep(V3_ADVERT_INT_MS + V3_MARGIN_MS);
    const dualMs = mixed.vips.dualMs(stoppedAt);
    report(SCENARIO, 'SIGTERM -> vrrpd goodbye on the wire', goodbye.timeMs - stoppedAt, 'vrrpd shutting down');
    report(SCENARIO, 'goodbye -> keepalived m2 first advert', takeover.timeMs - goodbye.timeMs, `Skew_Time(99) at 0.1 s = ${skewV3Ms(99)} ms`);
    report(SCENARIO, 'SIGTERM -> VIP on m2', tookAt - stoppedAt, `VIP events: ${mixed.vips.describe(stoppedAt)}`);
    report(SCENARIO, '  dual holders (keepalived m3, Skew_Time 0.39 ms behind m2, may race it)', dualMs, `<= advert_int + ${V3_MARGIN_MS}`);

    // Both goodbye copies are v3, priority 0; keepalived m2 waits Skew_Time from it (RFC 5798 6.4.2),
    // not Master_Down: a goodbye it ignored would put its first advert >= 2 x advert_int + skew later.
    expect(wire.since(mark).filter((a) => a.from === 'm1' && a.priority === 0).map((a) => a.destination).sort()).toEqual(['10.0.0.52', '10.0.0.53']);
    expect(isV3At10cs(goodbye)).toBe(true);
    expect(takeover.timeMs - goodbye.timeMs).toBeGreaterThanOrEqual(skewV3Ms(99) - V3_EARLY_MS);
    expect(takeover.timeMs - goodbye.timeMs).toBeLessThanOrEqual(skewV3Ms(99) + V3_MARGIN_MS);
    expect(takeover).toMatchObject({ priority: 99, source: '10.0.0.52', version: 3 });
    // The VIP: vrrpd's shutdown and keepalived's Skew_Time, each within the margin.
    expect(tookAt - stoppedAt).toBeLessThanOrEqual(skewV3Ms(99) + 2 * V3_MARGIN_MS);
    // m3 may have fired in the same millisecond; it hears m2's next advert within one interval.
    expect(dualMs, mixed.vips.describe(stoppedAt)).toBeLessThanOrEqual(V3_ADVERT_INT_MS + V3_MARGIN_MS);
    expect(await mixed.kernelHolders()).toEqual(['m2']);
    expect(m2.states().at(-1)?.state).toBe('MASTER');
    expect(m3.states().at(-1)?.state).toBe('BACKUP');
  });

  it('keepalived m1 leads vrrpd m2+m3 for 10 s without a flap; killed (SIGKILL), it is replaced by vrrpd m2 within Master_Down', async () => {
    const SCENARIO = 'v3 0.1: keepalived m1, vrrpd m2+m3';
    const { mixed, wire } = lab;
    const m1 = await mixed.node('m1').startKeepalived(seedV3Conf('preempt', 1));
    await m1.waitForState('MASTER', START_TIMEOUT_MS);
    const m2 = await mixed.node('m2').startVrrpd(seedV3Conf('preempt', 2), '.conf');
    const m3 = await mixed.node('m3').startVrrpd(seedV3Conf('preempt', 3), '.conf');
    await Promise.all([m2.waitForState('BACKUP', START_TIMEOUT_MS), m3.waitForState('BACKUP', START_TIMEOUT_MS)]);
    await mixed.vips.waitForHolders(['m1'], 1_000);

    await expectNoFlap(mixed, wire, 'm1', [m1, m2, m3], ['10.0.0.52', '10.0.0.53'], SCENARIO);
    for (const vrrpd of [m2, m3]) await vrrpdBackup(vrrpd, '10.0.0.51', true);

    const mark = wire.mark();
    const marks = [m2.lines.length, m3.lines.length];
    const killedAt = Date.now();
    await crashKeepalived(mixed, 'm1', m1);
    // A killed keepalived leaves its VIP behind (as in production), so m1 keeps holding it here.
    const tookAt = await mixed.vips.waitForHolders(['m1', 'm2'], 3_000);
    const took = await m2.waitForState('MASTER', 1_000, marks[0]);
    const takeover = await wire.waitFor((a) => a.from === 'm2', 500, mark, "vrrpd m2's first advert");
    const last = wire.adverts.filter((a) => a.from === 'm1' && a.destination === '10.0.0.52' && a.timeMs < takeover.timeMs).at(-1)!;
    await sleep(V3_ADVERT_INT_MS + V3_MARGIN_MS);
    const m3Moves = transitionsSince(m3, marks[1]!);
    report(SCENARIO, "keepalived m1's last advert -> vrrpd m2's first advert", takeover.timeMs - last.timeMs, `Master_Down(99) at 0.1 s = ${masterDownV3Ms(99)} ms`);
    report(SCENARIO, 'SIGKILL -> VIP on m2', tookAt - killedAt, `<= Master_Down(99) + ${V3_MARGIN_MS}`);
    report(SCENARIO, '  SIGKILL -> m2 MASTER in its log', took.timeMs - killedAt, `m3 went: ${m3Moves.join(', ') || 'nowhere'}`);

    expect(takeover).toMatchObject({ priority: 99, source: '10.0.0.52' });
    expect(isV3At10cs(takeover)).toBe(true);
    expect(takeover.timeMs - last.timeMs).toBeGreaterThanOrEqual(masterDownV3Ms(99) - V3_EARLY_MS);
    expect(takeover.timeMs - last.timeMs).toBeLessThanOrEqual(masterDownV3Ms(99) + V3_MARGIN_MS);
    expect(tookAt - killedAt).toBeLessThanOrEqual(masterDownV3Ms(99) + V3_MARGIN_MS);
    // m3 (98) may race m2 by its 0.39 ms longer skew; within an interval it is BACKUP under m2.
    expect(await mixed.kernelHolders()).toEqual(['m1', 'm2']);
    const s2 = (await m2.status()).instances[0]!;
    expect(s2).toMatchObject({ state: 'MASTER', version: 3 });
    await vrrpdBackup(m3, '10.0.0.52', false);
  });

  it('multicast, the other two directions: keepalived m1 says goodbye and vrrpd m2 takes over in Skew_Time; vrrpd m2 crashes and keepalived m3 takes over in Master_Down', async () => {
    const SCENARIO = 'v3 0.1 multicast: keepalived m1, vrrpd m2, keepalived m3';
    const { mixed, wire } = lab;
    const conf = (index: 1 | 2 | 3): string => withoutUnicast(seedV3Conf('preempt', index));
    const m1 = await mixed.node('m1').startKeepalived(conf(1));
    await m1.waitForState('MASTER', START_TIMEOUT_MS);
    const m2 = await mixed.node('m2').startVrrpd(conf(2), '.conf');
    const m3 = await mixed.node('m3').startKeepalived(conf(3));
    await Promise.all([m2.waitForState('BACKUP', START_TIMEOUT_MS), m3.waitForState('BACKUP', START_TIMEOUT_MS)]);
    let mark = wire.mark();
    await sleep(1_000);
    const steady = wire.since(mark);
    expect(steady.length).toBeGreaterThanOrEqual(9);
    expect(steady.every((a) => a.from === 'm1' && a.destination === '224.0.0.18' && a.priority === 100 && isV3At10cs(a))).toBe(true);
    await vrrpdBackup(m2, '10.0.0.51', true);

    // keepalived -> vrrpd: its goodbye, then vrrpd's Skew_Time(99) at the learnt 10 cs.
    mark = wire.mark();
    const stoppedAt = Date.now();
    m1.signal('SIGTERM');
    await mixed.vips.waitForHolders(['m2'], 3_000);
    const goodbye = await wire.waitFor((a) => a.from === 'm1' && a.priority === 0, 500, mark, 'goodbye from keepalived m1');
    const takeover = await wire.waitFor((a) => a.from === 'm2', 500, mark, "vrrpd m2's first advert");
    report(SCENARIO, 'keepalived goodbye -> vrrpd m2 first advert', takeover.timeMs - goodbye.timeMs, `Skew_Time(99) = ${skewV3Ms(99)} ms`);
    expect(goodbye.destination).toBe('224.0.0.18');
    expect(isV3At10cs(goodbye)).toBe(true);
    expect(takeover).toMatchObject({ priority: 99, destination: '224.0.0.18' });
    expect(takeover.timeMs - goodbye.timeMs).toBeGreaterThanOrEqual(skewV3Ms(99) - V3_EARLY_MS);
    expect(takeover.timeMs - goodbye.timeMs).toBeLessThanOrEqual(skewV3Ms(99) + V3_MARGIN_MS);
    expect((await m1.exited).code).toBe(0);
    await sleep(V3_ADVERT_INT_MS + V3_MARGIN_MS);
    // keepalived m3 (98) may race vrrpd m2 by 0.39 ms; it leaves within an interval.
    expect(mixed.vips.dualMs(stoppedAt), mixed.vips.describe(stoppedAt)).toBeLessThanOrEqual(V3_ADVERT_INT_MS + V3_MARGIN_MS);
    expect(await mixed.kernelHolders()).toEqual(['m2']);
    expect(m3.states().at(-1)?.state).toBe('BACKUP');

    // vrrpd -> keepalived: vrrpd m2 killed, keepalived m3 waits Master_Down(98) from its last advert.
    mark = wire.mark();
    const linesMark = m3.lines.length;
    const killedAt = Date.now();
    m2.signal('SIGKILL');
    const tookAt = await mixed.vips.waitForHolders(['m2', 'm3'], 3_000);
    await m3.waitForState('MASTER', 1_000, linesMark);
    const m3First = await wire.waitFor((a) => a.from === 'm3', 500, mark, "keepalived m3's first advert");
    const last = wire.adverts.filter((a) => a.from === 'm2' && a.timeMs < m3First.timeMs).at(-1)!;
    report(SCENARIO, "vrrpd m2's last advert -> keepalived m3's first advert", m3First.timeMs - last.timeMs, `Master_Down(98) = ${masterDownV3Ms(98)} ms`);
    report(SCENARIO, 'SIGKILL -> VIP on m3', tookAt - killedAt, `<= Master_Down(98) + ${V3_MARGIN_MS}`);
    expect(m3First).toMatchObject({ priority: 98, destination: '224.0.0.18' });
    expect(m3First.timeMs - last.timeMs).toBeGreaterThanOrEqual(masterDownV3Ms(98) - V3_EARLY_MS);
    expect(m3First.timeMs - last.timeMs).toBeLessThanOrEqual(masterDownV3Ms(98) + V3_MARGIN_MS);
    expect(tookAt - killedAt).toBeLessThanOrEqual(masterDownV3Ms(98) + V3_MARGIN_MS);
  });
});
