/**
 * `vrrpd drain` / `vrrpd undrain` on the seed's three masters (unicast, VIP 10.0.0.50, priorities
 * 100/99/98), real daemons in network namespaces: the VIP moves to the next node within
 * Skew_Time + 0.5 s of the command, the drain outlives a restart (no MASTER at any 20 ms sample),
 * and a client outside the socket's group is refused while `status` stays open to it.
 */
import { chmodSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { masterDownIntervalMs, skewTimeMs } from '../../src/core/timers.js';
import { Lab, labUnavailableReason, seedMasters } from './lab.js';
import { readablePackage, type ReadablePackage } from './readable-package.js';
import { seedNodeYaml, sleep, startVrrpd, VRRPD_BIN, type VrrpdProcess, vipHolders, waitUntil } from './vrrpd.js';

const VIP = '10.0.0.50/32';

describe.skipIf(labUnavailableReason !== undefined)('drain for upgrades on a real kernel', () => {
  let lab: Lab;
  let running: VrrpdProcess[] = [];

  const start = (host: string, yaml: string): VrrpdProcess => {
    const proc = startVrrpd(lab, host, yaml);
    running.push(proc);
    return proc;
  };

  const holders = (): Promise<string[]> => vipHolders(lab, VIP);

  /** master1 first, so the steady state is master1 MASTER (see daemon.test.ts). */
  const startSeed = async (): Promise<[VrrpdProcess, VrrpdProcess, VrrpdProcess]> => {
    const m1 = start('m1', seedNodeYaml({ index: 1, unicast: true }));
    await m1.waitForState('MASTER', 8_000);
    const m2 = start('m2', seedNodeYaml({ index: 2, unicast: true }));
    const m3 = start('m3', seedNodeYaml({ index: 3, unicast: true }));
    await m2.waitForState('BACKUP', 8_000);
    await m3.waitForState('BACKUP', 8_000);
    // Both backups have heard master1 (polled instead of a fixed 1.2 s wait).
    await waitUntil(
      async () => {
        const backups = await Promise.all([m2, m3].map(async (d) => (await d.status()).instances[0]!));
        return backups.every((b) => b.master_address === '10.0.0.51' && Number(b.adverts_received) >= 1);
      },
      5_000,
      'the backups to hear master1',
      100,
    );
    expect(await holders()).toEqual(['m1']);
    return [m1, m2, m3];
  };

  const cli = (host: string, args: string[]): ReturnType<Lab['exec']> => lab.exec(host, process.execPath, [VRRPD_BIN, ...args], 30_000);

  beforeAll(async () => {
    lab = await Lab.create({
      hosts: seedMasters(3),
    });
  });

  afterEach(async () => {
    for (const proc of running) proc.signal('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    running = [];
    for (const host of ['m1', 'm2', 'm3']) {
      await lab.exec(host, 'ip', ['addr', 'del', VIP, 'dev', 'ens32']);
      await lab.exec(host, 'rm', ['-rf', `${lab.place(host).dir}/vrrpd-state`]);
    }
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('drain: master1 says goodbye and the VIP is on master2 within Skew_Time + 0.5 s of the command; undrain: master1 preempts it back', async () => {
    const [m1, m2, m3] = await startSeed();
    const mark1 = m1.lines.length;
    const mark2 = m2.lines.length;

    // Sample master2's addresses from the moment the command starts.
    const commandAt = Date.now();
    let onM2At: number | undefined;
    const sampler = (async () => {
      while (onM2At === undefined && Date.now() - commandAt < 10_000) {
        if ((await lab.addrs('m2')).includes(VIP)) onM2At = Date.now();
        else await sleep(20);
      }
    })();
    const drained = await cli('m1', ['drain', '--socket', m1.socketPath]);
    await sampler;
    expect(drained).toMatchObject({ code: 0 });
    expect(drained.stdout).toMatch(/^drained VI_1: this node holds none of their virtual addresses \(\d+ ms\)/);
    expect(onM2At).toBeDefined();
    const handoverMs = onM2At! - commandAt;
    const received = await m1.waitForLine((l) => l.msg === 'drained: out of elections until vrrpd undrain', 1_000, mark1);
    const goodbye = await m1.waitForLine((l) => l.to === 'FAULT', 1_000, mark1);
    const m2Master = await m2.waitForState('MASTER', 1_000, mark2);
    const limitMs = skewTimeMs(99) + 500;
    const fromReceiptMs = onM2At! - received.timeMs;
    console.log(
      `drain handover: VIP on master2 (kernel, 20 ms samples) ${fromReceiptMs} ms after master1's daemon took the command, ${handoverMs} ms after the \`vrrpd drain\` process was started ` +
        `(limit Skew_Time(99) + 500 = ${limitMs} ms); log times from the start of the process: master1's goodbye ${goodbye.timeMs - commandAt} ms, master2 MASTER ${m2Master.timeMs - commandAt} ms`,
    );
    expect(fromReceiptMs).toBeLessThanOrEqual(limitMs);
    // From the start of the CLI process, starting node (0.2 s idle, up to 1 s on this shared, loaded
    // machine) comes on top; still well under Master_Down (3.6 s), which is what a handover without
    // the goodbye would take.
    expect(handoverMs).toBeLessThan(masterDownIntervalMs(1, 99));
    expect(goodbye).toMatchObject({ from: 'MASTER', to: 'FAULT', reason: 'fault', fault_causes: ['drained'] });
    expect(goodbye.msg).toBe('MASTER -> FAULT (fault: drained)');
    // master3's Skew_Time is 4 ms longer than master2's: let a brief race settle (at most the 1.5 s
    // this used to sleep), then master2 alone holds the VIP.
    await waitUntil(async () => (await holders()).join() === 'm2', 1_500, 'master2 alone to hold the VIP').catch(() => undefined);
    expect(await holders()).toEqual(['m2']);
    const s1 = (await m1.status()).instances[0]!;
    expect(s1).toMatchObject({ state: 'FAULT', fault_causes: ['drained'], drained: true, priority_zero_sent: 1 });
    expect((await m2.status()).instances[0]).toMatchObject({ state: 'MASTER', drained: false });
    expect((await m3.status()).instances[0]).toMatchObject({ state: 'BACKUP', drained: false });
    const table = await cli('m1', ['status', '--socket', m1.socketPath]);
    expect(table.stdout).toMatch(/VI_1 drained: out of elections until 'vrrpd undrain'/);

    // Drained, master1 stays out however long it waits (its Master_Down would have run out twice).
    await sleep(2 * masterDownIntervalMs(1, 100));
    expect(await holders()).toEqual(['m2']);

    const undrainAt = Date.now();
    const undrained = await cli('m1', ['undrain', '--socket', m1.socketPath]);
    expect(undrained).toMatchObject({ code: 0 });
    expect(undrained.stdout).toMatch(/^undrained VI_1: back in the elections/);
    await m1.waitForLine((l) => l.from === 'FAULT' && l.to === 'BACKUP' && l.reason === 'fault_cleared', 2_000, mark1);
    // preempt: master1 (100) ignores master2's (99) adverts and takes over when its Master_Down runs out.
    await m1.waitForState('MASTER', masterDownIntervalMs(1, 100) + 2_000, mark1);
    const backMs = Date.now() - undrainAt;
    console.log(`undrain: master1 MASTER again ${backMs} ms after 'vrrpd undrain' started (Master_Down(100) = ${masterDownIntervalMs(1, 100)} ms)`);
    // master2 steps down on master1's first advert (at most the 1 s this used to sleep).
    await waitUntil(async () => (await holders()).join() === 'm1', 1_000, 'master1 alone to hold the VIP').catch(() => undefined);
    expect(await holders()).toEqual(['m1']);
    expect((await m1.status()).instances[0]).toMatchObject({ state: 'MASTER', fault_causes: [], drained: false });
  });

  for (const how of ['SIGTERM', 'SIGKILL'] as const) {
    it(`a drain survives a restart of vrrpd (${how}): no MASTER at any 20 ms sample, in the kernel or the log`, async () => {
      const [m1, m2] = await startSeed();
      const drained = await cli('m1', ['drain', '--socket', m1.socketPath]);
      expect(drained).toMatchObject({ code: 0 });
      await m2.waitForState('MASTER', 3_000);

      m1.signal(how);
      await m1.exited;
      // Sample master1's addresses every 20 ms from before the restart until well past the
      // Master_Down interval in which an undrained master1 would preempt master2.
      const samples: string[][] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          samples.push(await lab.addrs('m1'));
          await sleep(20);
        }
      })();
      const again = start('m1', seedNodeYaml({ index: 1, unicast: true }));
      await again.waitForLine((l) => l.msg === 'vrrpd started', 8_000);
      await sleep(masterDownIntervalMs(1, 100) + 1_500);
      sampling = false;
      await sampler;

      expect(samples.length).toBeGreaterThan(100);
      expect(samples.filter((s) => s.includes(VIP))).toEqual([]);
      const transitions = again.transitions().map((l) => `${l.from}->${l.to} (${l.reason})`);
      expect(transitions).toEqual(['INIT->FAULT (fault)']);
      expect(again.lines.some((l) => /starting drained/.test(l.msg))).toBe(true);
      expect((await again.status()).instances[0]).toMatchObject({ state: 'FAULT', fault_causes: ['drained'], drained: true });
      expect(await holders()).toEqual(['m2']);

      const undrained = await cli('m1', ['undrain', '--socket', again.socketPath]);
      expect(undrained).toMatchObject({ code: 0 });
      await again.waitForState('MASTER', masterDownIntervalMs(1, 100) + 2_000);
    });
  }

  it('write commands: a user outside the socket\'s group is refused (status still answers it); root is allowed', async () => {
    let pkg: ReadablePackage | undefined;
    try {
      pkg = readablePackage();
      const m1 = start('m1', seedNodeYaml({ index: 1, unicast: true }));
      await m1.waitForState('MASTER', 8_000);
      // An operator opened the socket to everyone for a monitoring agent: the file mode no longer
      // keeps anyone out, so the daemon itself must tell readers from writers.
      chmodSync(lab.dir, 0o711);
      chmodSync(lab.place('m1').dir, 0o711);
      chmodSync(m1.socketPath, 0o666);
      const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups', pkg.node, pkg.cli];

      const status = await lab.exec('m1', 'setpriv', [...asNobody, 'status', '--json', '--socket', m1.socketPath]);
      expect(status).toMatchObject({ code: 0 });
      expect((JSON.parse(status.stdout) as { instances: Array<{ state: string }> }).instances[0]!.state).toBe('MASTER');

      for (const command of ['drain', 'undrain']) {
        const refused = await lab.exec('m1', 'setpriv', [...asNobody, command, '--socket', m1.socketPath]);
        expect(refused.code).toBe(1);
        expect(refused.stderr.trim()).toMatch(new RegExp(`^vrrpd ${command}: permission denied: '${command}' changes the daemon's state; only root and members of the control socket's group \\(gid 0\\) may run it, not uid 65534$`));
      }
      await sleep(300);
      expect((await m1.status()).instances[0]).toMatchObject({ state: 'MASTER', drained: false });
      expect(await lab.addrs('m1')).toContain(VIP);
      expect(m1.lines.some((l) => l.msg === 'control: drain refused to uid 65534')).toBe(true);

      const allowed = await cli('m1', ['drain', '--socket', m1.socketPath]);
      expect(allowed).toMatchObject({ code: 0 });
      expect((await m1.status()).instances[0]).toMatchObject({ state: 'FAULT', drained: true });
      expect(await lab.addrs('m1')).not.toContain(VIP);
    } finally {
      pkg?.remove();
    }
  });
});
