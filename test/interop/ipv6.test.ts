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
 * - Golden: vrrpd's IPv6 advert is byte for byte keepalived's (same node, same config) but for the
 *   flow label the kernel picks, and Wireshark (tshark) reads both as well-formed VRRPv3 over IPv6
 *   with a good checksum.
 * - The client (fd00::10, which has the old master's MAC for fd00::50 in its neighbour table and
 *   sends nothing) is re-pointed to the new master's MAC by its unsolicited neighbour
 *   advertisements within 1 s of the takeover, in both directions (keepalived's NA after vrrpd's
 *   goodbye, vrrpd's after keepalived's).
 * - Hostile input over IPv6, sent from m3 with a raw socket: hop limit 254, a wrong checksum, a
 *   truncated advert, IPv4 addresses under our VRID, a non-peer to a unicast instance; vrrpd drops
 *   and counts each by its reason and stays MASTER.
 *
 * The lab's namespaces have IPv6 off (no chatter in the IPv4 captures); these tests turn it on for
 * ens32 with DAD off, so the link-local address is usable at once. Windows are the protocol's
 * (timing.ts) plus MARGIN_MS, measured between packets of one capture on the switch.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeAdvert } from '../../src/core/codec.js';
import { parseIpv6, VRRP_IPV6_MULTICAST_GROUP, type Ipv6 } from '../../src/core/ip.js';
import { labUnavailableReason } from '../netns/lab.js';
import { sleep } from '../netns/vrrpd.js';
import { MASTER_IDS, type Cluster, type Master } from '../../src/lab/cluster.js';
import { masterDownIntervalV3Ms, skewTimeV3Ms } from '../../src/core/timers.js';
import { brief, ethernetAdverts, Wire, type WireAdvert } from '../../src/lab/wire.js';
import { crashKeepalived, useMixedLab } from './use-mixed-lab.js';
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

const CLIENT = 'client';

/** The client on IPv6 too (fd00::10/64, no DAD), so that it keeps a neighbour entry for the VIP. */
async function enableClientIpv6(mixed: Cluster): Promise<void> {
  for (const setting of ['accept_dad=0', 'dad_transmits=0', 'disable_ipv6=0', 'router_solicitations=0']) {
    const r = await mixed.lab.exec(CLIENT, 'sysctl', ['-q', '-w', `net.ipv6.conf.ens32.${setting}`]);
    expect(r.code, r.stderr).toBe(0);
  }
  const r = await mixed.lab.exec(CLIENT, 'ip', ['-6', 'addr', 'replace', 'fd00::10/64', 'dev', 'ens32', 'nodad']);
  expect(r.code, r.stderr).toBe(0);
}

/** The MAC the client's neighbour table has for the VIP (undefined: no entry, or no address in it). */
async function clientNeighbour(mixed: Cluster): Promise<string | undefined> {
  const out = (await mixed.lab.exec(CLIENT, 'ip', ['-6', 'neigh', 'show', 'fd00::50', 'dev', 'ens32'])).stdout;
  return /lladdr (\S+)/.exec(out)?.[1];
}

/**
 * The client as one that talked to the VIP while `holder` had it: a STALE entry with the holder's
 * MAC (what a client keeps after its last packet). Only an advertisement with Override moves it.
 */
async function clientKnows(mixed: Cluster, holder: Master): Promise<void> {
  const mac = mixed.lab.host(holder).mac;
  const r = await mixed.lab.exec(CLIENT, 'ip', ['-6', 'neigh', 'replace', 'fd00::50', 'lladdr', mac, 'dev', 'ens32', 'nud', 'stale']);
  expect(r.code, r.stderr).toBe(0);
  expect(await clientNeighbour(mixed)).toBe(mac);
}

/** Wait until the client's entry for the VIP names `holder`'s MAC; the wall-clock time it was seen. */
async function clientRepointed(mixed: Cluster, holder: Master, timeoutMs: number): Promise<number> {
  const mac = mixed.lab.host(holder).mac;
  const until = Date.now() + timeoutMs;
  for (;;) {
    const seen = await clientNeighbour(mixed);
    if (seen === mac) return Date.now();
    if (Date.now() > until) throw new Error(`the client's neighbour entry for fd00::50 is ${seen ?? 'gone'}, not ${holder}'s ${mac}, ${timeoutMs} ms after the takeover`);
    await sleep(5);
  }
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

function keepalivedComplaints(lines: readonly { text: string }[]): string[] {
  return lines.map((l) => l.text).filter((t) => /invalid|bad|wrong|mismatch|error|discard|unexpected|too (short|long)/i.test(t));
}

describe.skipIf(labUnavailableReason !== undefined)('interop, VRRPv3 over IPv6 with keepalived 2.2.7', () => {
  const lab = useMixedLab();
  let wire6: Wire;
  let linkLocal: Map<Master, string>;

  beforeAll(async () => {
    linkLocal = await enableIpv6(lab.mixed);
    await enableClientIpv6(lab.mixed);
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

    await clientKnows(mixed, 'm1');
    const mark = wire6.mark();
    m1.signal('SIGTERM');
    const goodbye = await wire6.waitFor((a) => a.from === 'm1' && a.priority === 0, 3_000, mark, 'goodbye from m1');
    const takeover = await wire6.waitFor((a) => a.from === 'm2', 3_000, mark, "keepalived m2's first advert");
    const repointedMs = await clientRepointed(mixed, 'm2', 1_000);
    report(SCENARIO, "client re-pointed to keepalived m2's MAC after its first advert", repointedMs - takeover.timeMs, 'limit 1000 ms, by its neighbour advertisement');
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
    await clientKnows(mixed, 'm1');
    const mark = wire6.mark();
    m1.signal('SIGTERM');
    const goodbye = await wire6.waitFor((a) => a.from === 'm1' && a.priority === 0, 3_000, mark, 'goodbye from keepalived m1');
    const takeover = await wire6.waitFor((a) => a.from === 'm2', 3_000, mark, "vrrpd m2's first advert");
    const repointedMs = await clientRepointed(mixed, 'm2', 1_000);
    report(SCENARIO, "client re-pointed to vrrpd m2's MAC after its first advert", repointedMs - takeover.timeMs, 'limit 1000 ms, by its neighbour advertisement');
    await waitForHolders6(mixed, ['m2'], 2_000);
    const skew = skewTimeV3Ms(100, ADVERT_INT_CS);
    report(SCENARIO, 'keepalived goodbye -> vrrpd m2 first advert', takeover.timeMs - goodbye.timeMs, `Skew_Time(100) = ${skew} ms`);
    expect(takeover.timeMs - goodbye.timeMs).toBeGreaterThanOrEqual(skew - EARLY_MS);
    expect(takeover.timeMs - goodbye.timeMs).toBeLessThan(skew + MARGIN_MS);
    expect((await m2.status()).instances[0]).toMatchObject({ state: 'MASTER', family: 'ipv6', priority_zero_received: 1, dropped: {} });
  });
  it("golden: vrrpd's IPv6 advert is keepalived's byte for byte but the flow label; tshark reads both as well formed with a good checksum", async () => {
    const { mixed } = lab;
    await clearVip6(mixed);
    const home = join(mixed.lab.dir, 'tshark-home-ipv6');
    mkdirSync(home, { recursive: true });
    const packets: Record<'keepalived' | 'vrrpd', Uint8Array[]> = { keepalived: [], vrrpd: [] };
    const files: Record<'keepalived' | 'vrrpd', string> = { keepalived: '', vrrpd: '' };
    for (const kind of ['keepalived', 'vrrpd'] as const) {
      const file = join(mixed.lab.dir, `golden6-${kind}.pcap`);
      files[kind] = file;
      const capture = await mixed.lab.tcpdump('m1', 'ip6 proto 112', 'ens32', { file });
      const daemon = kind === 'vrrpd' ? await mixed.node('m1').startVrrpd(ipv6Conf('m1'), '.conf') : await mixed.node('m1').startKeepalived(ipv6Conf('m1'));
      await daemon.waitForState('MASTER', START_TIMEOUT_MS);
      await sleep(2_200);
      daemon.signal('SIGTERM');
      await daemon.exited;
      await sleep(200);
      const frames = await capture.stop();
      packets[kind] = ethernetAdverts(frames).map((a) => a.packet);
      await clearVip6(mixed);
    }
    const periodic = (kind: 'keepalived' | 'vrrpd'): Uint8Array => packets[kind].find((p) => p[40 + 2] === 150)!;
    const goodbye = (kind: 'keepalived' | 'vrrpd'): Uint8Array => packets[kind].find((p) => p[40 + 2] === 0)!;
    // The flow label (the low 20 bits of bytes 1..3) is the kernel's choice per socket.
    const masked = (p: Uint8Array): string => {
      const copy = p.slice();
      copy[1] = copy[1]! & 0xf0;
      copy[2] = 0;
      copy[3] = 0;
      return Buffer.from(copy).toString('hex');
    };
    console.log(`[interop] keepalived 2.2.7 IPv6 advert from m1: ${Buffer.from(periodic('keepalived')).toString('hex')}`);
    console.log(`[interop] keepalived 2.2.7 IPv6 goodbye from m1: ${Buffer.from(goodbye('keepalived')).toString('hex')}`);
    console.log(`[interop] vrrpd IPv6 advert from m1:              ${Buffer.from(periodic('vrrpd')).toString('hex')}`);
    expect(masked(periodic('vrrpd'))).toBe(masked(periodic('keepalived')));
    expect(masked(goodbye('vrrpd'))).toBe(masked(goodbye('keepalived')));

    for (const kind of ['keepalived', 'vrrpd'] as const) {
      const fields = ['ipv6.src', 'ipv6.dst', 'ipv6.hlim', 'ipv6.tclass', 'vrrp.version', 'vrrp.virt_rtr_id', 'vrrp.prio', 'vrrp.addr_count', 'vrrp.ipv6_addr', 'vrrp.short_adver_int', 'vrrp.checksum.status', '_ws.malformed', '_ws.expert'];
      const out = await tshark(home, ['-n', '-r', files[kind], '-o', 'vrrp.v3_checksum_as_in_v2:FALSE', '-Y', 'vrrp', '-T', 'fields', '-E', 'separator=/t', ...fields.flatMap((f) => ['-e', f])]);
      expect(out.code, out.stderr).toBe(0);
      const rows = out.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
      expect(rows.length).toBe(packets[kind].length);
      console.log(`[interop] tshark, ${kind} over IPv6: ${rows.length} frames, e.g. ${rows[0]!.join(' ')}`);
      for (const row of rows) {
        const [src, dst, hlim, tclass, version, vrid, prio, count, addr, interval, checksum, malformed, expert] = row;
        expect({ src, dst, hlim, tclass, version, vrid, count, addr, interval, checksum, malformed, expert }, row.join(' ')).toEqual({
          src: linkLocal.get('m1'), dst: GROUP6, hlim: '255', tclass: '0x000000c0', version: '3', vrid: '60', count: '1', addr: 'fd00::50', interval: '100', checksum: '1', malformed: '', expert: '',
        });
        expect(['150', '0']).toContain(prio);
      }
    }
  });

  it('hostile input over IPv6 is dropped and counted by reason; the MASTER stays MASTER', async () => {
    const { mixed } = lab;
    await clearVip6(mixed);
    // Two instances: VI_6 (multicast) and VI_7, unicast from fd00::51 to the peer fd00::52 only.
    const conf = `${ipv6Conf('m1')}vrrp_instance VI_7 {
    state BACKUP
    interface ens32
    virtual_router_id 61
    priority 150
    advert_int 1
    unicast_src_ip fd00::51
    unicast_peer {
        fd00::52
    }
    virtual_ipaddress {
        fd00::70/64 dev ens32
    }
}
`;
    const m1 = await mixed.node('m1').startVrrpd(conf, '.conf');
    await m1.waitForState('MASTER', START_TIMEOUT_MS);
    await sleep(500);
    const before = await m1.status();
    expect(before.instances.map((i) => [i.name, i.state, i.family])).toEqual([['VI_6', 'MASTER', 'ipv6'], ['VI_7', 'MASTER', 'ipv6']]);

    const from = parseIpv6(linkLocal.get('m3')!)!;
    const m3Global = parseIpv6('fd00::53')!;
    const m1Global = parseIpv6('fd00::51')!;
    const vip = parseIpv6('fd00::50')!;
    const advert = (vrid: number, addresses: Ipv6[], source: Ipv6, destination: Ipv6): Uint8Array =>
      encodeAdvert({ version: 3, type: 1, virtualRouterId: vrid, priority: 200, advertIntervalCs: 100, addresses }, { source, destination });
    const good = advert(60, [vip], from, VRRP_IPV6_MULTICAST_GROUP);
    const badChecksum = good.slice();
    badChecksum[7] = badChecksum[7]! ^ 0xff;
    // One IPv4 address (10.0.0.50) in place of the 16 bytes, checksum right for what is sent.
    const ipv4Addresses = encodeAdvert({ version: 3, type: 1, virtualRouterId: 60, priority: 200, advertIntervalCs: 100, addresses: [0x0a000032] }, { source: from, destination: VRRP_IPV6_MULTICAST_GROUP });
    const sends: Array<{ what: string; hex: string; hops: number; to: string; src: string }> = [
      { what: 'hop limit 254', hex: Buffer.from(good).toString('hex'), hops: 254, to: GROUP6, src: '' },
      { what: 'wrong checksum', hex: Buffer.from(badChecksum).toString('hex'), hops: 255, to: GROUP6, src: '' },
      { what: 'truncated', hex: Buffer.from(good.subarray(0, 16)).toString('hex'), hops: 255, to: GROUP6, src: '' },
      { what: 'IPv4 addresses', hex: Buffer.from(ipv4Addresses).toString('hex'), hops: 255, to: GROUP6, src: '' },
      {
        what: 'a non-peer to the unicast instance',
        hex: Buffer.from(advert(61, [parseIpv6('fd00::70')!], m3Global, m1Global)).toString('hex'),
        hops: 255,
        to: 'fd00::51',
        src: 'fd00::53',
      },
    ];
    const script = join(mixed.lab.dir, 'send6.py');
    writeFileSync(script, SEND6_PY);
    for (const send of sends) {
      const r = await mixed.lab.exec('m3', 'python3', [script, send.hex, String(send.hops), send.to, send.src]);
      expect(r.code, `${send.what}: ${r.stderr}`).toBe(0);
    }
    await sleep(500);
    const after = await m1.status();
    const [vi6, vi7] = after.instances;
    expect(vi6).toMatchObject({ state: 'MASTER', dropped: { bad_ttl: 1, bad_checksum: 1, bad_length: 1, address_family_mismatch: 1 } });
    expect(vi7).toMatchObject({ state: 'MASTER', dropped: { unknown_peer: 1 } });
    expect(Object.keys(vi6!.dropped as object).sort()).toEqual(['address_family_mismatch', 'bad_checksum', 'bad_length', 'bad_ttl']);
    expect(Object.keys(vi7!.dropped as object)).toEqual(['unknown_peer']);
    // The control: the same sender with a well-formed advert of a higher priority is obeyed.
    const lineMark = m1.lines.length;
    const r = await mixed.lab.exec('m3', 'python3', [script, Buffer.from(good).toString('hex'), '255', GROUP6, '']);
    expect(r.code, r.stderr).toBe(0);
    await m1.waitForState('BACKUP', 2_000, lineMark);
  });
});

/** One raw IPv6 VRRP packet: payload hex, hop limit, destination, optional source address to bind. */
const SEND6_PY = `
import socket, sys
payload, hops, dest, src = bytes.fromhex(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 112)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'ens32')
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hops)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, hops)
if src:
    s.bind((src, 0))
scope = socket.if_nametoindex('ens32') if dest.startswith('ff02') or dest.startswith('fe80') else 0
s.sendto(payload, (dest, 0, 0, scope))
`;

function tshark(home: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('tshark', args, { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 << 20, env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof (error as { code?: unknown }).code === 'number' ? Number((error as { code: number }).code) : 127;
      resolve({ code, stdout, stderr });
    });
  });
}
