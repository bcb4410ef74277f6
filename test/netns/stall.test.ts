/**
 * The event-loop stall guard. A BACKUP whose process stalls for longer than Master_Down while the
 * master's adverts keep arriving must read those adverts before its overdue timer decides, and so
 * must not take over.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Lab, labUnavailableReason, seedMasters } from './lab.js';
import { seedNodeYaml, sleep, startVrrpd, VRRPD_BIN, type VrrpdProcess } from './vrrpd.js';

describe.skipIf(labUnavailableReason !== undefined)('stall guard on a real kernel', () => {
  let lab: Lab;
  let procs: VrrpdProcess[] = [];
  beforeAll(async () => {
    lab = await Lab.create({ hosts: seedMasters(2) });
  });
  afterEach(async () => {
    for (const p of procs) p.signal('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    procs = [];
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  const pair = async (): Promise<[VrrpdProcess, VrrpdProcess]> => {
    process.env.VRRPD_DEBUG_COMMANDS = '1'; // inherited by the daemons (through ip netns exec)
    const m1 = startVrrpd(lab, 'm1', seedNodeYaml({ index: 1, unicast: true }));
    await m1.waitForLine((l) => l.msg === 'vrrpd started', 5_000);
    const m2 = startVrrpd(lab, 'm2', seedNodeYaml({ index: 2, unicast: true }));
    procs.push(m1, m2);
    await m1.waitForState('MASTER', 8_000);
    await sleep(1_500);
    return [m1, m2];
  };

  it('SIGSTOP/SIGCONT of the BACKUP for longer than Master_Down: it stays BACKUP', async () => {
    const [, m2] = await pair();
    const mark = m2.lines.length;
    m2.signal('SIGSTOP');
    await sleep(5_000); // Master_Down is 3.613 s
    m2.signal('SIGCONT');
    await sleep(1_500);
    expect(m2.lines.slice(mark).filter((l) => l.to === 'MASTER')).toEqual([]);
    expect((await m2.status()).instances[0]!.state).toBe('BACKUP');
  });

  it('an event loop blocked in JavaScript for longer than Master_Down: the overdue timer waits for the queued adverts', async () => {
    const [, m2] = await pair();
    const mark = m2.lines.length;
    // The block runs in a poll-phase callback (the control socket); timers run before the next poll.
    const blocked = await lab.exec('m2', process.execPath, ['-e', `
      const net = require('net');
      const s = net.connect(${JSON.stringify(m2.socketPath)}, () => s.write(JSON.stringify({ command: 'debug-block', ms: 5000 }) + '\\n'));
      s.on('data', (d) => { process.stdout.write(d); s.end(); });
    `], 20_000);
    expect(blocked.stdout).toContain('"blocked_ms":5000');
    await sleep(1_500);
    expect(m2.lines.slice(mark).filter((l) => l.to === 'MASTER')).toEqual([]);
    expect(m2.lines.slice(mark).some((l) => String(l.msg).startsWith('event loop stalled'))).toBe(true);
    const status = await m2.status();
    expect(status.instances[0]!.state).toBe('BACKUP');
    // Master_Down (3613 ms) came due inside the 5 s block, so the timer decided >= 1387 ms late.
    expect(status.daemon.event_loop_lag_ms).toBeGreaterThan(1_300);
  });

  it('without adverts the guard changes nothing: a silent master is still taken over after Master_Down', async () => {
    const [m1, m2] = await pair();
    const mark = m2.lines.length;
    m1.signal('SIGKILL');
    const took = await m2.waitForState('MASTER', 6_000, mark);
    expect(took.reason).toBe('master_down_timer');
  });
});
void VRRPD_BIN;
