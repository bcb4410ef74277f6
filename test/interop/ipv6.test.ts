/**
 * VRRPv3 over IPv6 (issue 15), an IPv6-only virtual router mixed both ways with keepalived 2.2.7:
 * one keepalived.conf text per node (`fd00::50/64` as the only VIP, so the instance is IPv6 and
 * VRRPv3, multicast to ff02::12 from the link-local address), read by both daemons.
 *
 * - vrrpd m1 leads keepalived m2+m3: elected, followed, no drops on either side; its goodbye
 *   (SIGTERM, priority 0) hands the VIP to keepalived m2 within Skew_Time.
 * - keepalived m1 leads vrrpd m2 + keepalived m3: vrrpd follows without drops; keepalived is
 *   killed (SIGKILL) and vrrpd m2 takes over Master_Down after keepalived's last advert.
 * - vrrpd m1 leads, crashes (SIGKILL): keepalived m2 takes over after Master_Down.
 * - keepalived m1 leads, stops (SIGTERM): vrrpd m2 takes over within Skew_Time of the goodbye.
 *
 * The lab's namespaces have IPv6 off (no chatter in the IPv4 captures); these tests turn it on for
 * ens32 with DAD off, so the link-local address is usable at once. Windows are the protocol's
 * (timing.ts) plus MARGIN_MS, measured between packets of one capture on the switch.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { labUnavailableReason } from '../netns/lab.js';
import { sleep } from '../netns/vrrpd.js';
import { MASTER_IDS, type Cluster, type Master } from '../../src/lab/cluster.js';
import type { KeepalivedProcess } from '../../src/lab/daemons.js';
import { masterDownIntervalV3Ms, skewTimeV3Ms } from '../../src/core/timers.js';
import { brief, Wire, type WireAdvert } from '../../src/lab/wire.js';
import { useMixedLab } from './use-mixed-lab.js';
import { EARLY_MS, MARGIN_MS, report } from './timing.js';

const VIP6 = 'fd00::50/64';
const GROUP6 = 'ff02::12';
const ADVERT_INT_CS = 100;
const START_TIMEOUT_MS = 10_000;
const PRIORITIES: Record<Master, number> = { m1: 150, m2: 100, m3: 50 };

/** The same keepalived.conf for both daemons: IPv6-only, VRRPv3 (keepalived's default for IPv6). */
export function ipv6Conf(node: Master): string {
  return [
    'global_defs {',
    `    router_id ${node}`,
    '}',
    'vrrp_instance VI_6 {',
    '    state BACKUP',
    '    interface ens32',
    '    virtual_router_id 60',
    `    priority ${PRIORITIES[node]}`,
    '    advert_int 1',
    '    virtual_ipaddress {',
    `        ${VIP6} dev ens32`,
    '    }',
    '}',
    '',
  ].join('\n');
}

/** IPv6 on ens32 of every master, without DAD (link-local usable at once), and fd00::5N/64. */
export async function enableIpv6(mixed: Cluster): Promise<Map<Master, string>> {
  const linkLocal = new Map<Master, string>();
  for (const [index, host] of MASTER_IDS.entries()) {
    for (const setting of ['accept_dad=0', 'dad_transmits=0', 'disable_ipv6=0']) {
      const r = await mixed.lab.exec(host, 'sysctl', ['-q', '-w', `net.ipv6.conf.ens32.${setting}`]);
      expect(r.code, r.stderr).toBe(0);
    }
    await mixed.lab.exec(host, 'ip', ['-6', 'addr', 'add', `fd00::5${index + 1}/64`, 'dev', 'ens32', 'nodad']);
    for (let tries = 0; tries < 50 && !linkLocal.has(host); tries++) {
      const out = (await mixed.lab.exec(host, 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'ens32', 'scope', 'link'])).stdout;
      const m = /inet6 (fe80::[0-9a-f:]+)\/64 scope link(?! tentative)/.exec(out);
      if (m) linkLocal.set(host, m[1]!);
      else await sleep(100);
    }
    expect(linkLocal.has(host), `${host} has a link-local address`).toBe(true);
  }
  return linkLocal;
}

async function holders6(mixed: Cluster): Promise<Master[]> {
  const out: Master[] = [];
  for (const host of MASTER_IDS) {
    const text = (await mixed.lab.exec(host, 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'ens32'])).stdout;
    if (text.includes(`inet6 ${VIP6} `)) out.push(host);
  }
  return out;
}

async function waitForHolders6(mixed: Cluster, want: Master[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let seen: Master[] = [];
  while (Date.now() < until) {
    seen = await holders6(mixed);
    if (seen.join(',') === want.join(',')) return;
    await sleep(50);
  }
  throw new Error(`IPv6 VIP holders ${seen.join(',') || 'none'}, wanted ${want.join(',')}`);
}

async function clearVip6(mixed: Cluster): Promise<void> {
  for (const host of MASTER_IDS) await mixed.lab.exec(host, 'ip', ['-6', 'addr', 'del', VIP6, 'dev', 'ens32']);
}

/** What every IPv6 advert on the wire must be: VRRPv3 from a link-local source to ff02::12, hop limit 255, class 0xc0. */
function wellFormed(a: WireAdvert, linkLocal: Map<Master, string>): boolean {
  return (
    a.version === 3 && a.vrid === 60 && a.ttl === 255 && a.tos === 0xc0 && a.destination === GROUP6 && a.source === linkLocal.get(a.from as Master) &&
    a.advertIntervalCs === ADVERT_INT_CS && a.addresses.join(',') === 'fd00::50'
  );
}

async function crashKeepalived(mixed: Cluster, node: Master, keepalived: KeepalivedProcess): Promise<void> {
  const result = await mixed.node(node).exec('killall', ['-9', 'keepalived']);
  expect(result.code, result.stderr).toBe(0);
  await keepalived.exited;
}

function keepalivedComplaints(lines: readonly { text: string }[]): string[] {
  return lines.map((l) => l.text).filter((t) => /invalid|bad|wrong|mismatch|error|discard|unexpected|too (short|long)/i.test(t));
}

describe.skipIf(labUnavailableReason !== undefined)('interop, VRRPv3 over IPv6 with keepalived 2.2.7', () => {
  const lab = useMixedLab();
  let wire6: Wire;
  let linkLocal: Map<Master, string>;

  beforeAll(async () => {
    linkLocal = await enableIpv6(lab.mixed);
    wire6 = await Wire.switch(lab.mixed.lab, 'ip6 proto 112');
    return async () => {
      await wire6.stop();
    };
  });

  it('vrrpd m1 is elected over keepalived m2+m3 and followed without drops; its goodbye hands the VIP to keepalived m2 within Skew_Time', async () => {
    const SCENARIO = 'IPv6: vrrpd m1, keepalived m2+m3';
    const { mixed } = lab;
    await clearVip6(mixed);
    // vrrpd first: Node takes about a second to start, and keepalived started with it would be
    // MASTER first (then preempted, a needless flap).
    const m1 = await mixed.node('m1').startVrrpd(ipv6Conf('m1'), '.conf');
    await m1.waitForState('MASTER', START_TIMEOUT_MS);
    const m2 = await mixed.node('m2').startKeepalived(ipv6Conf('m2'));
    const m3 = await mixed.node('m3').startKeepalived(ipv6Conf('m3'));
    await Promise.all([m2.waitForState('BACKUP', START_TIMEOUT_MS), m3.waitForState('BACKUP', START_TIMEOUT_MS)]);
    await waitForHolders6(mixed, ['m1'], 2_000);
    const steady = wire6.mark();
    const lineMarks = [m2.lines.length, m3.lines.length];
    await sleep(3_000);

    const status = (await m1.status()).instances[0]!;
    expect(status).toMatchObject({ state: 'MASTER', version: 3, family: 'ipv6', virtual_addresses: [VIP6], master_address: linkLocal.get('m1'), dropped: {} });
    const adverts = wire6.since(steady);
    expect(adverts.length).toBeGreaterThanOrEqual(2);
    expect(adverts.filter((a) => a.from !== 'm1').map(brief)).toEqual([]);
    expect(adverts.filter((a) => !wellFormed(a, linkLocal)).map(brief)).toEqual([]);
    expect(adverts.every((a) => a.priority === 150)).toBe(true);
    expect(keepalivedComplaints(m2.lines.slice(lineMarks[0]))).toEqual([]);
    expect(keepalivedComplaints(m3.lines.slice(lineMarks[1]))).toEqual([]);
    for (const ka of [m2, m3]) expect(ka.states().map((s) => s.state)).toEqual(['BACKUP']);

    const mark = wire6.mark();
    m1.signal('SIGTERM');
    const goodbye = await wire6.waitFor((a) => a.from === 'm1' && a.priority === 0, 3_000, mark, 'goodbye from m1');
    const takeover = await wire6.waitFor((a) => a.from === 'm2', 3_000, mark, "keepalived m2's first advert");
    expect((await m1.exited).code).toBe(0);
    await waitForHolders6(mixed, ['m2'], 2_000);
    const skew = skewTimeV3Ms(100, ADVERT_INT_CS);
    report(SCENARIO, 'vrrpd goodbye -> keepalived m2 first advert', takeover.timeMs - goodbye.timeMs, `Skew_Time(100) = ${skew} ms`);
    expect(wellFormed(goodbye, linkLocal)).toBe(true);
    expect(takeover.timeMs - goodbye.timeMs).toBeGreaterThanOrEqual(skew - EARLY_MS);
    expect(takeover.timeMs - goodbye.timeMs).toBeLessThan(skew + MARGIN_MS);
  });

  it('keepalived m1 leads vrrpd m2 (follows, drops nothing); keepalived killed: vrrpd m2 takes over after Master_Down', async () => {
    const SCENARIO = 'IPv6: keepalived m1 crash, vrrpd m2';
    const { mixed } = lab;
    await clearVip6(mixed);
    const m1 = await mixed.node('m1').startKeepalived(ipv6Conf('m1'));
    await m1.waitForState('MASTER', START_TIMEOUT_MS);
    const m2 = await mixed.node('m2').startVrrpd(ipv6Conf('m2'), '.conf');
    const m3 = await mixed.node('m3').startKeepalived(ipv6Conf('m3'));
    await Promise.all([m2.waitForState('BACKUP', START_TIMEOUT_MS), m3.waitForState('BACKUP', START_TIMEOUT_MS)]);
    await waitForHolders6(mixed, ['m1'], 2_000);
    await sleep(2_500);
    const status = (await m2.status()).instances[0]!;
    expect(status).toMatchObject({ state: 'BACKUP', version: 3, family: 'ipv6', master_address: linkLocal.get('m1'), master_priority: 150, adverts_sent: 0, dropped: {} });
    expect(Number(status.adverts_received)).toBeGreaterThanOrEqual(2);

    const mark = wire6.mark();
    await crashKeepalived(mixed, 'm1', m1);
    const last = wire6.since(mark).filter((a) => a.from === 'm1').at(-1) ?? [...wire6.adverts].reverse().find((a) => a.from === 'm1')!;
    const takeover = await wire6.waitFor((a) => a.from === 'm2', 6_000, mark, "vrrpd m2's first advert");
    // keepalived killed with -9 leaves its VIP behind, as in production: m2 holds it too now.
    await waitForHolders6(mixed, ['m1', 'm2'], 2_000);
    const masterDown = masterDownIntervalV3Ms(ADVERT_INT_CS, 100);
    report(SCENARIO, "keepalived m1's last advert -> vrrpd m2 first advert", takeover.timeMs - last.timeMs, `Master_Down(100) = ${masterDown} ms`);
    expect(wellFormed(takeover, linkLocal)).toBe(true);
    expect(takeover.priority).toBe(100);
    expect(takeover.timeMs - last.timeMs).toBeGreaterThanOrEqual(masterDown - EARLY_MS);
    expect(takeover.timeMs - last.timeMs).toBeLessThan(masterDown + MARGIN_MS);
    expect(m3.states().map((s) => s.state)).toEqual(['BACKUP']);
  });

  it('vrrpd m1 crashes (SIGKILL): keepalived m2 takes over after Master_Down', async () => {
    const SCENARIO = 'IPv6: vrrpd m1 crash, keepalived m2';
    const { mixed } = lab;
    await clearVip6(mixed);
    const m1 = await mixed.node('m1').startVrrpd(ipv6Conf('m1'), '.conf');
    await m1.waitForState('MASTER', START_TIMEOUT_MS);
    const m2 = await mixed.node('m2').startKeepalived(ipv6Conf('m2'));
    await m2.waitForState('BACKUP', START_TIMEOUT_MS);
    await sleep(2_000);
    const mark = wire6.mark();
    m1.signal('SIGKILL');
    await m1.exited;
    const takeover = await wire6.waitFor((a) => a.from === 'm2', 6_000, mark, "keepalived m2's first advert");
    const last = [...wire6.adverts].filter((a) => a.from === 'm1' && a.timeMs < takeover.timeMs).at(-1)!;
    const masterDown = masterDownIntervalV3Ms(ADVERT_INT_CS, 100);
    report(SCENARIO, "vrrpd m1's last advert -> keepalived m2 first advert", takeover.timeMs - last.timeMs, `Master_Down(100) = ${masterDown} ms`);
    expect(last.priority).toBe(150);
    expect(takeover.timeMs - last.timeMs).toBeGreaterThanOrEqual(masterDown - EARLY_MS);
    expect(takeover.timeMs - last.timeMs).toBeLessThan(masterDown + MARGIN_MS);
  });

  it('keepalived m1 stops (SIGTERM): vrrpd m2 takes over within Skew_Time of the goodbye', async () => {
    const SCENARIO = 'IPv6: keepalived m1 goodbye, vrrpd m2';
    const { mixed } = lab;
    await clearVip6(mixed);
    const m1 = await mixed.node('m1').startKeepalived(ipv6Conf('m1'));
    await m1.waitForState('MASTER', START_TIMEOUT_MS);
    const m2 = await mixed.node('m2').startVrrpd(ipv6Conf('m2'), '.conf');
    await m2.waitForState('BACKUP', START_TIMEOUT_MS);
    await sleep(2_000);
    const mark = wire6.mark();
    m1.signal('SIGTERM');
    const goodbye = await wire6.waitFor((a) => a.from === 'm1' && a.priority === 0, 3_000, mark, 'goodbye from keepalived m1');
    const takeover = await wire6.waitFor((a) => a.from === 'm2', 3_000, mark, "vrrpd m2's first advert");
    await waitForHolders6(mixed, ['m2'], 2_000);
    const skew = skewTimeV3Ms(100, ADVERT_INT_CS);
    report(SCENARIO, 'keepalived goodbye -> vrrpd m2 first advert', takeover.timeMs - goodbye.timeMs, `Skew_Time(100) = ${skew} ms`);
    expect(takeover.timeMs - goodbye.timeMs).toBeGreaterThanOrEqual(skew - EARLY_MS);
    expect(takeover.timeMs - goodbye.timeMs).toBeLessThan(skew + MARGIN_MS);
    expect((await m2.status()).instances[0]).toMatchObject({ state: 'MASTER', family: 'ipv6', priority_zero_received: 1, dropped: {} });
  });
});
