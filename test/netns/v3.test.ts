/**
 * VRRPv3 at advert_int 0.1 on a real kernel: real `vrrpd run` processes (dist/cli/main.js; run
 * `npm run build` first) in network namespaces on one bridge, the seed's addresses (ens32,
 * 10.0.0.51-53, VIP 10.0.0.50), unicast. What is asserted is what the kernel and the wire show:
 * which namespace holds the VIP, the adverts tcpdump sees (and their checksums, with the IPv4
 * pseudo-header), and how long after the master's last advert the backup's first one leaves.
 *
 * The floor of a crash takeover at 0.1 s is Master_Down = 3 x 0.1 s + Skew_Time(99) = 361.328 ms
 * (keepalived 2.2.7 measured 361.6 to 361.9 ms on this kind of machine); the test allows 0.5 s.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeAdvert, v3Checksum } from '../../src/core/codec.js';
import { parseIpv4 } from '../../src/core/ip.js';
import { masterDownIntervalV3Ms } from '../../src/core/timers.js';
import { ethernetAdverts, type WireAdvert } from '../../src/lab/wire.js';
import { Lab, labUnavailableReason, seedMasters } from './lab.js';
import { sleep, startVrrpd, waitUntil, type VrrpdProcess, vipHolders } from './vrrpd.js';

const VIP = '10.0.0.50/32';
const ADDRESS = (n: number): string => `10.0.0.5${n}`;
const FLOOR_MS = masterDownIntervalV3Ms(10, 99);

/** Node n of `nodes`, VRRPv3 at 0.1 s, unicast to the others, priority 101 - n. */
function v3Yaml(n: number, nodes: readonly number[]): string {
  const peers = nodes.filter((i) => i !== n).map((i) => `      - ${ADDRESS(i)}`);
  return `global_defs:
  vrrp_version: 3
vrrp_instance:
  VI_1:
    state: ${n === 1 ? 'MASTER' : 'BACKUP'}
    interface: ens32
    virtual_router_id: 251
    priority: ${101 - n}
    advert_int: 0.1
    unicast_src_ip: ${ADDRESS(n)}
    unicast_peer:
${peers.join('\n')}
    virtual_ipaddress:
      - 10.0.0.50
`;
}

/** Whether a captured advert's checksum verifies over the pseudo-header with its real destination (RFC 5798 5.2.8). */
function v3ChecksumVerifies(advert: WireAdvert): boolean {
  const vrrp = advert.packet.subarray(20);
  return v3Checksum(vrrp, { source: parseIpv4(advert.source)!, destination: parseIpv4(advert.destination)! }) === 0;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe.skipIf(labUnavailableReason !== undefined)('VRRPv3 at advert_int 0.1 on a real kernel', () => {
  let lab: Lab;
  let running: VrrpdProcess[] = [];

  const start = (host: string, yaml: string): VrrpdProcess => {
    const proc = startVrrpd(lab, host, yaml);
    running.push(proc);
    return proc;
  };

  const holders = (): Promise<string[]> => vipHolders(lab, VIP);

  /** m1 first, the others once m1 is MASTER (node's start-up is longer than a 0.1 s Master_Down). */
  const startNodes = async (nodes: readonly number[]): Promise<VrrpdProcess[]> => {
    const m1 = start('m1', v3Yaml(1, nodes));
    await m1.waitForState('MASTER', 8_000);
    const others = nodes.filter((n) => n !== 1).map((n) => start(`m${n}`, v3Yaml(n, nodes)));
    for (const proc of others) await proc.waitForState('BACKUP', 8_000);
    return [m1, ...others];
  };

  beforeAll(async () => {
    lab = await Lab.create({
      hosts: seedMasters(3),
    });
  });

  afterEach(async () => {
    for (const proc of running) proc.signal('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    running = [];
    for (const host of ['m1', 'm2', 'm3']) await lab.exec(host, 'ip', ['addr', 'del', VIP, 'dev', 'ens32']);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('two nodes: m1 is MASTER and alone holds the VIP, m2 BACKUP; VRRPv3 adverts every 100 ms whose checksums verify with the pseudo-header', async () => {
    const [m1, m2] = (await startNodes([1, 2])) as [VrrpdProcess, VrrpdProcess];
    const wire = await lab.tcpdump('m2', 'ip proto 112');
    await sleep(2_000);
    const adverts = ethernetAdverts(await wire.stop()).filter((a) => a.source === ADDRESS(1));
    expect(await holders()).toEqual(['m1']);
    const s1 = (await m1.status()).instances[0]!;
    const s2 = (await m2.status()).instances[0]!;
    expect(s1).toMatchObject({ state: 'MASTER', version: 3, advert_interval_ms: 100 });
    expect(s2).toMatchObject({ state: 'BACKUP', version: 3, master_address: ADDRESS(1), master_advert_interval_ms: 100, dropped: {} });
    expect(Number(s2.adverts_received)).toBeGreaterThanOrEqual(15);
    // On the wire: version 3, 10 cs, 12 bytes of VRRP, a checksum over the pseudo-header.
    expect(adverts.length).toBeGreaterThanOrEqual(15);
    expect(adverts.every((a) => a.version === 3 && a.advertIntervalCs === 10 && a.packet.length === 32 && a.ttl === 255 && a.tos === 0xc0)).toBe(true);
    expect(adverts.every(v3ChecksumVerifies)).toBe(true);
    const gaps = adverts.slice(1).map((a, i) => a.timeMs - adverts[i]!.timeMs);
    console.log(`[v3 0.1 s] ${adverts.length} adverts in 2 s; gaps min ${Math.min(...gaps).toFixed(2)} median ${median(gaps).toFixed(2)} max ${Math.max(...gaps).toFixed(2)} ms`);
    expect(median(gaps)).toBeGreaterThan(95);
    expect(median(gaps)).toBeLessThan(110);
  });

  it('two nodes: kill -9 of the master is taken over within 0.5 s (three runs; the floor is 361.3 ms)', async () => {
    const results: { sinceLastAdvertMs: number; sinceKillMs: number }[] = [];
    for (let run = 0; run < 3; run++) {
      const [m1, m2] = (await startNodes([1, 2])) as [VrrpdProcess, VrrpdProcess];
      await sleep(1_000);
      const wire = await lab.tcpdump('m2', 'ip proto 112');
      await sleep(500);
      const mark = m2.lines.length;
      const killedAt = Date.now();
      m1.signal('SIGKILL');
      const took = await m2.waitForState('MASTER', 3_000, mark);
      await sleep(300);
      const adverts = ethernetAdverts(await wire.stop());
      const lastFromM1 = adverts.filter((a) => a.source === ADDRESS(1)).at(-1);
      const firstFromM2 = adverts.find((a) => a.source === ADDRESS(2));
      expect(lastFromM1).toBeDefined();
      expect(firstFromM2).toBeDefined();
      expect(firstFromM2!.priority).toBe(99);
      expect(v3ChecksumVerifies(firstFromM2!)).toBe(true);
      const sinceLastAdvertMs = firstFromM2!.timeMs - lastFromM1!.timeMs;
      results.push({ sinceLastAdvertMs, sinceKillMs: took.timeMs - killedAt });
      await waitUntil(async () => (await lab.addrs('m2')).includes(VIP), 1_000, 'VIP on m2');
      // Clean up for the next run: the kill left m1's VIP behind (as with keepalived).
      for (const proc of running) proc.signal('SIGKILL');
      await Promise.all(running.map((p) => p.exited));
      running = [];
      for (const host of ['m1', 'm2']) await lab.exec(host, 'ip', ['addr', 'del', VIP, 'dev', 'ens32']);
    }
    const d = results.map((r) => r.sinceLastAdvertMs);
    console.log(
      `[v3 0.1 s] kill -9 takeover: D (m1's last advert -> m2's first, on the wire) ${d.map((x) => x.toFixed(1)).join(', ')} ms, median ${median(d).toFixed(1)} ms (floor ${FLOOR_MS} ms); ` +
        `kill -> m2 MASTER in its log ${results.map((r) => r.sinceKillMs).join(', ')} ms`,
    );
    for (const { sinceLastAdvertMs, sinceKillMs } of results) {
      // Never before the floor (the backup must not take over while the master's adverts arrive)...
      expect(sinceLastAdvertMs).toBeGreaterThanOrEqual(FLOOR_MS - 1);
      // ...and within 0.5 s of the master's last advert, and of the kill.
      expect(sinceLastAdvertMs).toBeLessThanOrEqual(500);
      expect(sinceKillMs).toBeLessThanOrEqual(500);
    }
  });

  it('the stall guard at 0.1 s: a BACKUP frozen (SIGSTOP) for 1 s, almost three Master_Downs, stays BACKUP on thaw', async () => {
    const [, m2] = (await startNodes([1, 2])) as [VrrpdProcess, VrrpdProcess];
    await sleep(500);
    for (const frozenMs of [1_000, 2_000]) {
      const mark = m2.lines.length;
      m2.signal('SIGSTOP');
      await sleep(frozenMs);
      m2.signal('SIGCONT');
      await sleep(500);
      expect(m2.lines.slice(mark).filter((l) => l.to === 'MASTER')).toEqual([]);
      expect((await m2.status()).instances[0]!.state).toBe('BACKUP');
    }
    expect(await holders()).toEqual(['m1']);
  });

  it('three nodes (100, 99, 98): each unicast copy carries its own checksum, and after a kill -9 exactly one backup stays MASTER within one advert interval', async () => {
    const [m1, m2, m3] = (await startNodes([1, 2, 3])) as [VrrpdProcess, VrrpdProcess, VrrpdProcess];
    await sleep(500);
    const wire = await lab.tcpdump('m1', 'ip proto 112');
    await sleep(500);
    const fromM1 = ethernetAdverts(await wire.stop()).filter((a) => a.source === ADDRESS(1));
    const to2 = fromM1.find((a) => a.destination === ADDRESS(2));
    const to3 = fromM1.find((a) => a.destination === ADDRESS(3));
    expect(to2 && to3 && v3ChecksumVerifies(to2) && v3ChecksumVerifies(to3)).toBe(true);
    const checksumOf = (a: WireAdvert): number => (a.packet[26]! << 8) | a.packet[27]!;
    expect(checksumOf(to2!)).not.toBe(checksumOf(to3!));
    for (const proc of [m2, m3]) expect((await proc.status()).instances[0]!.dropped).toEqual({});

    const marks = [m2.lines.length, m3.lines.length];
    m1.signal('SIGKILL');
    const took = await m2.waitForState('MASTER', 3_000, marks[0]);
    await sleep(100);
    // m3 (98) may have fired in the same millisecond (its Skew_Time is 0.39 ms longer); within one
    // advert interval it is BACKUP again, and only m2 is MASTER.
    const m3States = m3.lines.slice(marks[1]).filter((l) => typeof l.to === 'string').map((l) => l.to);
    console.log(`[v3 0.1 s] three nodes, kill -9 of m1: m3 after the kill went ${m3States.join(' -> ') || 'nowhere (stayed BACKUP)'}`);
    expect((await m2.status()).instances[0]!.state).toBe('MASTER');
    expect((await m3.status()).instances[0]!.state).toBe('BACKUP');
    await waitUntil(async () => {
      const vip = await holders();
      return vip.includes('m2') && !vip.includes('m3');
    }, 1_000, 'the VIP on m2 and not on m3');
    const lastM3Master = m3.lines.filter((l) => l.to === 'MASTER').at(-1);
    if (lastM3Master !== undefined) expect(lastM3Master.timeMs - took.timeMs).toBeLessThanOrEqual(100);
  });
});
