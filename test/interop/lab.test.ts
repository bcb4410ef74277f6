/**
 * The mixed-cluster lab itself: each master's PID namespace shows only its own processes, so the
 * seed's `killall -0 kube-apiserver` follows that node's fake apiserver alone; and both daemons
 * accept the seed's six keepalived.conf files unchanged.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUnavailableReason } from '../netns/lab.js';
import { VRRPD_BIN } from '../netns/vrrpd.js';
import { fixturePath, seedConf, withAdvertInt, withAuthPass, withExtraVip, withoutUnicast, withPriority, withVip } from './configs.js';
import { MASTERS, MixedLab } from './mixed-lab.js';

const run = promisify(execFile);

describe('tools', () => {
  it('the keepalived under test is 2.2.7 (the version docs/protocol.md and these scenarios describe)', async () => {
    const { stdout, stderr } = await run('keepalived', ['--version']);
    expect(`${stdout}${stderr}`).toMatch(/^Keepalived v2\.2\.7 /m);
  });
});

describe('seed fixtures', () => {
  for (const mode of ['preempt', 'nopreempt'] as const) {
    for (const index of [1, 2, 3] as const) {
      it(`${mode} master${index}: vrrpd check-config accepts it unchanged`, async () => {
        const { stdout } = await run(process.execPath, [VRRPD_BIN, 'check-config', fixturePath(mode, index)]);
        expect(stdout).toMatch(/ok, 1 instance/);
        expect(stdout).toContain(`priority ${101 - index}`);
        expect(stdout).toContain(mode === 'nopreempt' ? 'nopreempt' : ', preempt,');
      });
    }
  }

  it('the edits change exactly the line they name', () => {
    const conf = seedConf('preempt', 2);
    expect(withPriority(conf, 100)).toMatch(/^\s*priority 100\s+#/m);
    expect(withAuthPass(conf, 'other')).toMatch(/^\s*auth_pass other$/m);
    expect(withAdvertInt(conf, 2)).toMatch(/virtual_router_id 251 .*\n\s*advert_int 2\n/);
    expect(withExtraVip(conf, '10.0.0.49')).toMatch(/10\.0\.0\.50 dev ens32 .*\n\s*10\.0\.0\.49 dev ens32\n/);
    expect(withVip(conf, '10.0.0.49')).not.toContain('10.0.0.50');
    const multicast = withoutUnicast(conf);
    expect(multicast).not.toMatch(/unicast|10\.0\.0\.51|10\.0\.0\.53/);
    expect(multicast.split('\n').length).toBe(conf.split('\n').length - 5);
  });
});

describe.skipIf(labUnavailableReason !== undefined)('mixed-cluster lab', () => {
  let mixed: MixedLab;

  beforeAll(async () => {
    mixed = await MixedLab.create();
  });

  afterAll(async () => {
    await mixed?.destroy();
  });

  it("each node's killall -0 kube-apiserver sees only that node's apiserver", async () => {
    for (const name of MASTERS) await mixed.node(name).startApiserver();
    for (const name of MASTERS) expect(await mixed.node(name).checkApiserver()).toBe(0);
    const ps = await mixed.node('m1').exec('ps', ['-e', '-o', 'pid=,comm=']);
    const comms = ps.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)[1]);
    // init, the apiserver and ps itself: nothing of the host or of the other nodes.
    expect(comms.filter((c) => c === 'kube-apiserver')).toHaveLength(1);
    expect(comms).toContain('bash');

    await mixed.node('m1').killApiserver();
    expect(await mixed.node('m1').checkApiserver()).not.toBe(0);
    expect(await mixed.node('m2').checkApiserver()).toBe(0);
    expect(await mixed.node('m3').checkApiserver()).toBe(0);
    await mixed.node('m1').startApiserver();
    expect(await mixed.node('m1').checkApiserver()).toBe(0);
  });

  it('keepalived runs the seed config in a node and its check follows that node only', async () => {
    await mixed.node('m2').killApiserver();
    const ka = await mixed.node('m2').startKeepalived(seedConf('preempt', 2));
    // keepalived runs the script at start: failing here, so 99 - 20 = 79.
    await ka.waitForLine(/Changing effective priority from 99 to 79/, 5_000);
    await mixed.node('m2').startApiserver();
    await ka.waitForLine(/Changing effective priority from 79 to 99/, 5_000);
    ka.signal('SIGTERM');
    const exit = await ka.exited;
    expect(exit.code).toBe(0);
  });
});
