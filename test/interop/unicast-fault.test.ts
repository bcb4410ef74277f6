/**
 * unicast_fault_no_peer against keepalived 2.2.7: the seed's master1 config with its unicast_peer
 * block emptied and the keyword added. keepalived goes to FAULT and sends nothing; so does vrrpd
 * with the same file. Without the keyword both fall back to multicast (keepalived with its
 * deprecation warning) and take the VIP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/lab/cluster.js';
import { Wire } from '../../src/lab/wire.js';
import { labUnavailableReason } from '../netns/lab.js';
import { sleep } from '../netns/vrrpd.js';
import { seedConf } from './configs.js';

/** The seed's master1 with an empty unicast_peer block, and unicast_fault_no_peer if asked. */
function noPeers(faultNoPeer: boolean): string {
  const conf = seedConf('preempt', 1);
  const emptied = conf.replace(/^(\s*unicast_peer \{)[^}]*\}/m, '$1\n    }');
  if (emptied === conf) throw new Error('the seed config has no unicast_peer block');
  return faultNoPeer ? emptied.replace(/^(\s*unicast_src_ip .*)$/m, '$1\n    unicast_fault_no_peer') : emptied;
}

describe.skipIf(labUnavailableReason !== undefined)('interop: unicast_fault_no_peer', () => {
  let mixed: Cluster;
  let wire: Wire;
  beforeAll(async () => {
    mixed = await Cluster.create();
    await mixed.reset();
    wire = await Wire.switch(mixed.lab);
  });
  afterAll(async () => {
    await wire?.stop();
    await mixed?.destroy();
  });

  it('keepalived and vrrpd both stay in FAULT, silent and without the VIP, for longer than Master_Down', async () => {
    const conf = noPeers(true);
    const keepalived = await mixed.node('m1').startKeepalived(conf);
    const mark = wire.mark();
    // keepalived starts such an instance in FAULT without an "Entering FAULT STATE" line.
    await keepalived.waitForLine(/\(VI_1\) Cannot use unicast without any peers - going to fault state/, 5_000);
    await sleep(4_500);
    expect(keepalived.states().map((s) => s.state)).not.toContain('MASTER');
    expect(await mixed.kernelHolders()).toEqual([]);
    expect(wire.since(mark)).toEqual([]);
    keepalived.signal('SIGTERM');
    await keepalived.exited;

    await mixed.reset();
    const vrrpd = await mixed.node('m1').startVrrpd(conf, '.conf');
    const vrrpdMark = wire.mark();
    await vrrpd.waitForState('FAULT', 5_000);
    await sleep(4_500);
    const status = (await vrrpd.status()).instances[0]!;
    expect(status).toMatchObject({ state: 'FAULT', fault_causes: ['no_unicast_peer'], adverts_sent: 0 });
    expect(vrrpd.lines.filter((l) => l.to === 'MASTER')).toEqual([]);
    expect(await mixed.kernelHolders()).toEqual([]);
    expect(wire.since(vrrpdMark)).toEqual([]);
  });

  it('without the keyword both multicast and take the VIP', async () => {
    const conf = noPeers(false);
    const keepalived = await mixed.node('m1').startKeepalived(conf);
    await keepalived.waitForState('MASTER', 8_000);
    expect(keepalived.log()).toMatch(/unicast keyword has been specified without any unicast peers\. Defaulting to multicast/);
    const mark = wire.mark();
    await sleep(1_500);
    expect(wire.since(mark).map((a) => a.destination)).toContain('224.0.0.18');
    keepalived.signal('SIGTERM');
    await keepalived.exited;

    await mixed.reset();
    const vrrpd = await mixed.node('m1').startVrrpd(conf, '.conf');
    await vrrpd.waitForState('MASTER', 8_000);
    const vrrpdMark = wire.mark();
    await sleep(1_500);
    expect(wire.since(vrrpdMark).map((a) => a.destination)).toContain('224.0.0.18');
  });
});
