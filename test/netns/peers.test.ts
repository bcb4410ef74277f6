/**
 * Peers in `vrrpd status` and the notify FIFO on a real kernel, with the seed's three masters in
 * unicast: each node lists its peers with what it last heard from them; a crashed master shows as
 * silent with its age growing; the FIFO gets keepalived's lines in order. And a SIGHUP reload that
 * adds a unicast peer (then removes it) changes nothing but where the adverts go: no transition, no
 * goodbye, no VIP flap.
 */
import { closeSync, constants, existsSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ethernetAdverts } from '../../src/lab/wire.js';
import { VRRPD_MAIN } from '../../src/lab/exec.js';
import { Lab, labUnavailableReason, seedMasters } from './lab.js';
import { seedNodeYaml, sleep, startVrrpd, waitUntil, type VrrpdProcess } from './vrrpd.js';
import { readAvailable } from '../fifo-reader.js';

interface Peer {
  address: string;
  configured: boolean;
  silent: boolean;
  priority: number | null;
  age_ms: number | null;
  advert_interval_ms: number | null;
  path: string | null;
}

async function peersOf(node: VrrpdProcess): Promise<Peer[]> {
  const status = await node.status();
  return status.instances[0]!['peers'] as Peer[];
}

describe.skipIf(labUnavailableReason !== undefined)('peers in status on a real kernel', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.create({ hosts: seedMasters(3) });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('each node lists its peers; a crashed master is silent with a growing age; the FIFO has the lines in order', async () => {
    const fifo = join(lab.place('m2').dir, 'vrrp-notify.fifo');
    const start = (index: number): VrrpdProcess =>
      startVrrpd(lab, `m${index}`, (index === 2 ? `global_defs:\n  vrrp_notify_fifo: ${fifo}\n` : '') + seedNodeYaml({ index, unicast: true }));
    // m1 first, so that on a loaded machine no backup that happens to start earlier is MASTER for a moment.
    const m1 = start(1);
    const nodes = [m1];
    let reader: number | undefined;
    try {
      await m1.waitForState('MASTER', 10_000);
      const m2 = start(2);
      const m3 = start(3);
      nodes.push(m2, m3);
      await m2.waitForState('BACKUP', 5_000);
      // The daemon holds the FIFO open read-write: lines wait in the pipe until someone reads.
      await waitUntil(async () => existsSync(fifo), 5_000, 'the FIFO exists');
      reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      await sleep(1_500);

      // m2 hears the master, and nothing from m3 (a BACKUP does not advertise).
      const before = await peersOf(m2);
      expect(before.map((p) => [p.address, p.configured, p.priority, p.path, p.advert_interval_ms])).toEqual([
        ['10.0.0.51', true, 100, 'vrrp', 1000],
        ['10.0.0.53', true, null, null, null],
      ]);
      expect(before[0]!.age_ms!).toBeLessThan(1_500);
      expect(before[0]!.silent).toBe(false);
      expect(before[1]!.silent).toBe(true);

      // The table has a peers line.
      const table = await lab.exec('m2', process.execPath, [VRRPD_MAIN, 'status', '--socket', m2.socketPath]);
      expect(table.stdout).toMatch(/^VI_1 peers: 10\.0\.0\.51 prio 100 \d+\.\ds ago, 10\.0\.0\.53 never heard$/m);

      // m1 crashes: no goodbye, its adverts stop.
      const crashAt = Date.now();
      m1.signal('SIGKILL');
      await m1.exited;
      await m2.waitForState('MASTER', 8_000);
      await sleep(3_500); // past three of m1's intervals
      const first = (await peersOf(m3)).find((p) => p.address === '10.0.0.51')!;
      await sleep(1_000);
      const m3Peers = await peersOf(m3);
      const second = m3Peers.find((p) => p.address === '10.0.0.51')!;
      expect(first).toMatchObject({ configured: true, silent: true, priority: 100, path: 'vrrp' });
      expect(second.silent).toBe(true);
      expect(second.age_ms!).toBeGreaterThanOrEqual(first.age_ms! + 900); // the age grows
      expect(second.age_ms!).toBeLessThanOrEqual(Date.now() - crashAt + 1_100);
      // m3 hears the new master.
      expect(m3Peers.find((p) => p.address === '10.0.0.52')).toMatchObject({ silent: false, priority: 99, path: 'vrrp' });

      // m2 stops: its FIFO got every transition, in order, then is removed.
      m2.signal('SIGTERM');
      await m2.exited;
      expect(readAvailable(reader)).toBe('INSTANCE "VI_1" BACKUP 99\nINSTANCE "VI_1" MASTER 99\nINSTANCE "VI_1" STOP 99\n');
      expect(existsSync(fifo)).toBe(false);
    } finally {
      if (reader !== undefined) closeSync(reader);
      for (const node of nodes) node.signal('SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
    }
  });
});

describe.skipIf(labUnavailableReason !== undefined)('reload adding a unicast peer on a real kernel', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.create({ hosts: seedMasters(3) });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  /** The seed's m1 or m2 with only the peers given (m3 runs no vrrpd: it only watches the wire). */
  function node(index: 1 | 2, peers: string[]): string {
    return seedNodeYaml({ index, unicast: false }).replace(
      '    virtual_ipaddress:',
      `    unicast_src_ip: 10.0.0.5${index}\n    unicast_peer: [${peers.join(', ')}]\n    virtual_ipaddress:`,
    );
  }

  it('the new peer gets adverts from the next one on; no transition, no goodbye, no VIP flap; removing it is as quiet', async () => {
    const m1 = startVrrpd(lab, 'm1', node(1, ['10.0.0.52']));
    let m2: VrrpdProcess | undefined;
    try {
      await m1.waitForState('MASTER', 10_000);
      m2 = startVrrpd(lab, 'm2', node(2, ['10.0.0.51']));
      await m2.waitForState('BACKUP', 5_000);
      await sleep(500);

      let watching = true;
      let samples = 0;
      const missing: number[] = [];
      const watcher = (async () => {
        while (watching) {
          if (!(await lab.addrs('m1')).includes('10.0.0.50/32')) missing.push(Date.now());
          samples++;
          await sleep(10);
        }
      })();
      const atM3 = await lab.tcpdump('m3', 'ip proto 112');
      const atM2 = await lab.tcpdump('m2', 'ip proto 112');
      await sleep(1_500);

      const mark = m1.lines.length;
      const markM2 = m2.lines.length;
      writeFileSync(m1.configPath, node(1, ['10.0.0.52', '10.0.0.53']));
      const addedAt = Date.now();
      m1.signal('SIGHUP');
      const added = await m1.waitForLine((l) => l.msg === 'reload applied', 5_000, mark);
      await sleep(2_500);

      const mark2 = m1.lines.length;
      writeFileSync(m1.configPath, node(1, ['10.0.0.52']));
      const removedAt = Date.now();
      m1.signal('SIGHUP');
      const removed = await m1.waitForLine((l) => l.msg === 'reload applied', 5_000, mark2);
      await sleep(2_500);
      watching = false;
      await watcher;
      const toM3 = ethernetAdverts(await atM3.stop()).filter((a) => a.vrid === 251 && a.destination === '10.0.0.53');
      const toM2 = ethernetAdverts(await atM2.stop()).filter((a) => a.vrid === 251 && a.destination === '10.0.0.52');

      expect(added).toMatchObject({ changed: ['VI_1'], added: [], removed: [] });
      expect(removed).toMatchObject({ changed: ['VI_1'], added: [], removed: [] });
      // Nothing before the reload went to m3; from it on, one advert a second until the peer went.
      expect(toM3.filter((a) => a.timeMs < addedAt)).toEqual([]);
      const whileAdded = toM3.filter((a) => a.timeMs >= addedAt && a.timeMs < removedAt);
      expect(whileAdded.length).toBeGreaterThanOrEqual(2);
      expect(whileAdded[0]!.timeMs - addedAt).toBeLessThan(1_300);
      expect(whileAdded.every((a) => a.priority === 100 && a.source === '10.0.0.51')).toBe(true);
      expect(toM3.filter((a) => a.timeMs >= removedAt + 200)).toEqual([]);
      // m2 heard m1 all along at priority 100: no goodbye, no gap longer than an interval and a bit.
      expect(toM2.filter((a) => a.priority === 0)).toEqual([]);
      for (let i = 1; i < toM2.length; i++) expect(toM2[i]!.timeMs - toM2[i - 1]!.timeMs).toBeLessThan(1_300);
      expect(toM2.at(-1)!.timeMs).toBeGreaterThan(removedAt + 1_000);
      // No state change on either node, and the VIP never left m1.
      expect(m1.lines.slice(mark).filter((l) => l.to !== undefined)).toEqual([]);
      expect(m2.lines.slice(markM2).filter((l) => l.to !== undefined)).toEqual([]);
      expect(samples).toBeGreaterThan(30); // `ip addr` in the namespace takes tens of ms per sample
      expect(missing).toEqual([]);
      const status = await m1.status();
      expect(status.instances[0]).toMatchObject({ state: 'MASTER', priority_zero_sent: 0 });
      expect((status.instances[0]!['peers'] as Peer[]).map((p) => p.address)).toEqual(['10.0.0.52']);
    } finally {
      m1.signal('SIGKILL');
      m2?.signal('SIGKILL');
      await Promise.all([m1.exited, m2?.exited]);
    }
  });
});
