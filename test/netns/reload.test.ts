/**
 * SIGHUP reload on a real kernel, watched on the wire and in the kernel's address table: an
 * unchanged instance does not flap, a changed priority is in the next advert, an added VIP is
 * added, a removed instance says goodbye with priority 0.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ethernetAdverts } from '../../src/lab/wire.js';
import { Lab, labUnavailableReason, seedMasters } from './lab.js';
import { sleep, startVrrpd } from './vrrpd.js';

function instance(name: string, vrid: number, priority: number, vips: string[]): string {
  return `  ${name}:
    state: MASTER
    interface: ens32
    virtual_router_id: ${vrid}
    priority: ${priority}
    unicast_src_ip: 10.0.0.51
    unicast_peer: [10.0.0.52]
    virtual_ipaddress: [${vips.join(', ')}]
`;
}

describe.skipIf(labUnavailableReason !== undefined)('reload (SIGHUP) on a real kernel', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.create({ hosts: seedMasters(2) });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('applies the difference: no flap for the unchanged, new priority in the next advert, VIP added, goodbye from the removed', async () => {
    const before = `vrrp_instance:\n${instance('VI_1', 51, 100, ['10.0.0.50'])}${instance('VI_2', 52, 100, ['10.0.0.60'])}${instance('VI_3', 53, 100, ['10.0.0.70'])}`;
    const after = `vrrp_instance:\n${instance('VI_1', 51, 100, ['10.0.0.50'])}${instance('VI_2', 52, 150, ['10.0.0.60', '10.0.0.61'])}`;
    const m1 = startVrrpd(lab, 'm1', before);
    try {
      for (const name of ['VI_1', 'VI_2', 'VI_3']) await m1.waitForLine((l) => l.instance === name && l.to === 'MASTER', 8_000);
      await sleep(300);
      expect((await lab.addrs('m1')).sort()).toEqual(['10.0.0.50/32', '10.0.0.51/24', '10.0.0.60/32', '10.0.0.70/32']);

      // Watch the address table every 10 ms for a flap of VI_1's or VI_2's VIP.
      let watching = true;
      const missing: string[] = [];
      const watcher = (async () => {
        while (watching) {
          const addrs = await lab.addrs('m1');
          for (const vip of ['10.0.0.50/32', '10.0.0.60/32']) if (!addrs.includes(vip)) missing.push(vip);
          await sleep(10);
        }
      })();
      const wire = await lab.tcpdump('m2', 'ip proto 112');
      const mark = m1.lines.length;
      writeFileSync(m1.configPath, after);
      const reloadAt = Date.now();
      m1.signal('SIGHUP');
      const applied = await m1.waitForLine((l) => l.msg === 'reload applied', 5_000, mark);
      await sleep(2_300);
      watching = false;
      await watcher;
      const adverts = ethernetAdverts(await wire.stop());

      expect(applied).toMatchObject({ unchanged: ['VI_1'], changed: ['VI_2'], added: [], removed: ['VI_3'] });
      expect(missing).toEqual([]); // no flap
      expect(adverts.filter((a) => a.priority === 0).map((a) => a.vrid)).toEqual([53]); // only the removed one said goodbye
      const vi2After = adverts.filter((a) => a.vrid === 52 && a.timeMs >= reloadAt);
      expect(vi2After.length).toBeGreaterThanOrEqual(1);
      expect(vi2After.every((a) => a.priority === 150)).toBe(true);
      expect(adverts.filter((a) => a.vrid === 51 && a.timeMs >= reloadAt).every((a) => a.priority === 100)).toBe(true);
      expect((await lab.addrs('m1')).sort()).toEqual(['10.0.0.50/32', '10.0.0.51/24', '10.0.0.60/32', '10.0.0.61/32']);
      const status = await m1.status();
      expect(status.instances.map((i) => [i.name, i.state, i.effective_priority])).toEqual([
        ['VI_1', 'MASTER', 100],
        ['VI_2', 'MASTER', 150],
      ]);
    } finally {
      m1.signal('SIGKILL');
      await m1.exited;
    }
  });
});
