/**
 * A keepalived.conf with vrrp_track_file, run by vrrpd and by the real keepalived 2.2.7 side by side
 * (two namespaces, each the only node of its own VRID): the same values written to each one's file
 * put both in FAULT or take both out of it, and vrrpd's MASTER gives its VIP up with a goodbye.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeepalivedProcess, VrrpdProcess } from '../../src/lab/daemons.js';
import { Lab, labUnavailableReason, seedMasters } from './lab.js';
import { sleep } from './vrrpd.js';

function conf(file: string, vrid: number, self: string, vip: string): string {
  return `vrrp_track_file maint {
    file ${file}
    weight 0
    init_file 0 overwrite
}
vrrp_instance VI_1 {
    state BACKUP
    interface ens32
    virtual_router_id ${vrid}
    priority 100
    advert_int 1
    unicast_src_ip ${self}
    unicast_peer {
        10.0.0.99
    }
    track_file {
        maint
    }
    virtual_ipaddress {
        ${vip}
    }
}
`;
}

describe.skipIf(labUnavailableReason !== undefined)('track files on a real kernel, against keepalived 2.2.7', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.create({ hosts: seedMasters(2) });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('the same file contents put vrrpd and keepalived in FAULT or take them out of it', async () => {
    const vrrpdFile = join(lab.place('m1').dir, 'maint');
    const keepalivedFile = join(lab.place('m2').dir, 'maint');
    writeFileSync(vrrpdFile, '1\n'); // init_file 0 overwrite: both start from 0 whatever was there
    writeFileSync(keepalivedFile, '1\n');
    const vrrpd = await VrrpdProcess.start(lab.place('m1'), conf(vrrpdFile, 61, '10.0.0.51', '10.0.0.60'), { ext: '.conf' });
    const keepalived = await KeepalivedProcess.start(lab.place('m2'), conf(keepalivedFile, 62, '10.0.0.52', '10.0.0.70'));
    try {
      await vrrpd.waitForState('MASTER', 10_000);
      await keepalived.waitForState('MASTER', 10_000);
      expect(await lab.addrs('m1')).toContain('10.0.0.60/32');

      const vrrpdFault = async (): Promise<boolean> => (await vrrpd.status()).instances[0]!.state === 'FAULT';
      const keepalivedFault = (): boolean => keepalived.states().at(-1)?.state === 'FAULT';
      const outcomes: Array<[string, boolean, boolean]> = [];
      // The first write takes vrrpd's MASTER to FAULT: it must say goodbye and drop the VIP.
      for (const text of ['1\n', '0\n', 'abc\n', '0x1', '  -0\n', '7 apples', '']) {
        writeFileSync(vrrpdFile, text);
        writeFileSync(keepalivedFile, text);
        await sleep(700);
        outcomes.push([JSON.stringify(text), await vrrpdFault(), keepalivedFault()]);
        if (text === '1\n') {
          expect(await lab.addrs('m1')).not.toContain('10.0.0.60/32');
          expect((await vrrpd.status()).instances[0]).toMatchObject({ fault_causes: ['file:maint'], priority_zero_sent: 1 });
        }
      }
      console.log(`track file (weight 0), [text, vrrpd FAULT, keepalived FAULT]: ${JSON.stringify(outcomes)}`);
      expect(outcomes.map(([text, v, k]) => [text, v, k === v])).toEqual(outcomes.map(([text, v]) => [text, v, true]));
      expect(outcomes.map(([text, v]) => [text, v])).toEqual([
        ['"1\\n"', true],
        ['"0\\n"', false],
        ['"abc\\n"', false],
        ['"0x1"', true],
        ['"  -0\\n"', false],
        ['"7 apples"', true],
        ['""', false],
      ]);
    } finally {
      vrrpd.signal('SIGKILL');
      keepalived.signal('SIGKILL');
      await Promise.all([vrrpd.exited, keepalived.exited]);
    }
  });
});
