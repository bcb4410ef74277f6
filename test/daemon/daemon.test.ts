/**
 * The daemon's shell on a fake host: it executes the engine's commands in order, in the same tick
 * (a new MASTER's VIP add and GARP leave right behind its first advert, before anything is logged),
 * defers a late timer until waiting packets are read, reports a failed command back to the engine,
 * and carries check results in and notify commands out. The decisions themselves are tested at the
 * engine (engine.test.ts); the real host is covered by the netns tests.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatIpv4, type Ipv4 } from '../../src/core/ip.js';
import { parseConfigText } from '../../src/config/load.js';
import type { Clock, Scheduler } from '../../src/io/clock.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { DaemonPlan } from '../../src/daemon/engine.js';
import type { DaemonHost } from '../../src/daemon/host.js';
import { createLogger } from '../../src/daemon/logging.js';
import { planDaemon } from '../../src/daemon/plan.js';

const CONFIG = `
vrrp_instance:
  VI_1:
    state: BACKUP
    interface: ens32
    virtual_router_id: 51
    priority: 99
    authentication: { auth_type: PASS, auth_pass: "123456" }
    unicast_src_ip: 10.0.0.52
    unicast_peer: [10.0.0.51]
    virtual_ipaddress: [10.0.0.50 dev ens32]
`;

/** A virtual clock with one pending timer, fired by advance(). */
function fakeTime(onFire: () => void = () => undefined): { clock: Clock; scheduler: Scheduler; advance(ms: number, late?: boolean, settle?: boolean): Promise<void> } {
  let now = 1_000;
  let pending: { deadlineMs: number; fn: (nowMs: number) => void } | undefined;
  const scheduler: Scheduler = {
    schedule(deadlineMs, fn) {
      pending = deadlineMs === undefined ? undefined : { deadlineMs, fn };
    },
    cancel() {
      pending = undefined;
    },
    get pendingDeadlineMs() {
      return pending?.deadlineMs;
    },
  };
  return {
    clock: { nowMs: () => now },
    scheduler,
    /** late: the loop was blocked, so due timers fire only at the end, late. */
    /** settle = false: no loop turn after a timer fires (see what the daemon did synchronously). */
    async advance(ms, late = false, settle = true) {
      const until = now + ms;
      while (pending !== undefined && pending.deadlineMs <= until) {
        const { deadlineMs, fn } = pending;
        pending = undefined;
        now = late ? until : deadlineMs;
        onFire();
        fn(now);
        if (settle) await turn(); // a late timer decides (and re-arms) one loop turn later
      }
      now = until;
    },
  };
}

interface Recorder {
  events: string[];
  host: DaemonHost;
  advance(ms: number, late?: boolean, settle?: boolean): Promise<void>;
  log: Writable;
  /** Report a result of the running check (as its periodic runner would). */
  checkResult(ok: boolean, detail: string): void;
}

function recorder(addVips: (events: string[]) => void): Recorder {
  const events: string[] = [];
  const time = fakeTime(() => events.push('timer'));
  let onCheckResult: ((ok: boolean, detail: string) => void) | undefined;
  const host: DaemonHost = {
    clock: time.clock,
    wallClockMs: () => Date.parse('2026-11-30T00:00:00Z'),
    pid: 4242,
    createScheduler: () => time.scheduler,
    afterPendingIo: (fn) => {
      setImmediate(fn);
    },
    interfaceFacts: () => ({ address: 0x0a000034, up: true }),
    openTransport: () => ({
      send: (payload: Uint8Array, _source: Ipv4, destinations: readonly Ipv4[]) => {
        events.push(`advert${payload[1] === 51 ? '' : ` vrid ${payload[1]}`} priority ${payload[2]} to ${destinations.map(formatIpv4).join(',')}`);
      },
      close: () => undefined,
    }),
    addVips: () => addVips(events),
    removeVips: () => {
      events.push('remove vips');
    },
    removeStaleVips: async () => [],
    sendGarp: (ifname, addresses) => {
      events.push(`garp ${addresses.map(formatIpv4).join(',')} on ${ifname}`);
    },
    watchLinks: () => ({ close: () => undefined }),
    watchDeletedAddresses: () => ({ close: () => undefined }),
    startCheck: (check, onResult) => {
      events.push(`start check ${check.name}`);
      onCheckResult = onResult;
      return { stats: () => ({ runs: 0 }), stop: async () => undefined };
    },
    notify: (instance, state, priority) => {
      events.push(`notify ${instance} ${state} ${priority}`);
    },
  };
  const log = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = JSON.parse(chunk.toString()) as { msg: string };
      events.push(`log ${line.msg}`);
      done();
    },
  });
  return { events, host, advance: time.advance, log, checkResult: (ok, detail) => onCheckResult?.(ok, detail) };
}

function plan(text: string): DaemonPlan {
  const loaded = parseConfigText(text, 'test.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return planDaemon(loaded.config);
}

async function startBackup(rec: Recorder): Promise<Daemon> {
  const daemon = new Daemon({ host: rec.host, logger: createLogger('info', rec.log), configFile: 'test.yaml' });
  await daemon.start(plan(CONFIG));
  return daemon;
}

/** setImmediate: the daemon's stall guard decides one loop turn after its timer fired. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('daemon: a new MASTER', () => {
  it('adds the VIP and sends the GARP in the same tick as its first advert, before logging the transition', async () => {
    const rec = recorder((events) => {
      events.push('add vips');
    });
    await startBackup(rec);
    rec.events.length = 0;
    await rec.advance(3 * 1000 + 613); // Master_Down_Interval for priority 99
    const fromAdvert = rec.events.slice(rec.events.indexOf('advert priority 99 to 10.0.0.51'));
    expect(fromAdvert.slice(0, 4)).toEqual(['advert priority 99 to 10.0.0.51', 'add vips', 'garp 10.0.0.50 on ens32', 'log BACKUP -> MASTER (master_down_timer)']);
  });

  it('an on-time timer decides at once; a late one first lets the loop read its sockets (the stall guard)', async () => {
    const onTime = recorder(() => undefined);
    await startBackup(onTime);
    await onTime.advance(3613, false, false);
    expect(onTime.events).toContain('advert priority 99 to 10.0.0.51');

    const late = recorder(() => undefined);
    await startBackup(late);
    await late.advance(3613 + 5, true, false);
    expect(late.events).not.toContain('advert priority 99 to 10.0.0.51');
    await turn();
    expect(late.events).toContain('advert priority 99 to 10.0.0.51');
  });

  it('handles deadlines less than 1 ms ahead in the same firing (no 1 ms timer per instance)', async () => {
    const rec = recorder(() => undefined);
    const daemon = await startBackup(rec);
    const second = CONFIG.replace('VI_1:', 'VI_2:').replace('virtual_router_id: 51', 'virtual_router_id: 52');
    await rec.advance(0.4);
    const both = plan(CONFIG);
    both.instances.push(...plan(second).instances);
    await daemon.reload(both); // VI_2's Master_Down ends 0.4 ms after VI_1's
    rec.events.length = 0;
    await rec.advance(3613, false, false);
    const adverts = rec.events.filter((e) => e.startsWith('advert') || e === 'timer');
    expect(adverts.slice(0, 3)).toEqual(['timer', 'advert priority 99 to 10.0.0.51', 'advert vrid 52 priority 99 to 10.0.0.51']);
  });

  it('a command that throws is reported back to the engine, which logs it (once a minute), and the next commands still run', async () => {
    const rec = recorder(() => {
      throw Object.assign(new Error('adding 10.0.0.50/32 on ens32: Operation not permitted'), { code: 'EPERM' });
    });
    await startBackup(rec);
    rec.events.length = 0;
    await rec.advance(3613);
    expect(rec.events).toContain('log add_vips failed: adding 10.0.0.50/32 on ens32: Operation not permitted');
    expect(rec.events).toContain('notify VI_1 MASTER 99');
  });

  it('check results reach the engine and notify commands reach the host', async () => {
    const rec = recorder(() => undefined);
    const text = CONFIG.replace('vrrp_instance:', 'vrrp_script:\n  check:\n    script: /bin/true\n    interval: 1\n    weight: -20\nvrrp_instance:').replace('    virtual_ipaddress:', '    track_script: [check]\n    virtual_ipaddress:');
    const daemon = new Daemon({ host: rec.host, logger: createLogger('info', rec.log), configFile: 'test.yaml' });
    await daemon.start(plan(text));
    expect(rec.events).toContain('start check script:check');
    expect(rec.events).toContain('notify VI_1 BACKUP 99');
    rec.checkResult(false, 'exit status 1');
    expect(daemon.status().instances[0]).toMatchObject({ effective_priority: 79 });
    expect(daemon.status()).toMatchObject({ pid: 4242, config_file: 'test.yaml', started_at: '2026-11-30T00:00:00.000Z' });
  });

  it('event_loop_lag_ms reports how late the timer decided, and logs a stall', async () => {
    const rec = recorder(() => undefined);
    const daemon = await startBackup(rec);
    expect(daemon.status().event_loop_lag_ms).toBe(0);
    await rec.advance(3613 + 250, true);
    expect(daemon.status().event_loop_lag_ms).toBe(250);
    expect(daemon.stallCount()).toBe(1);
    expect(rec.events).toContain('log event loop stalled: timer fired late; reading pending packets before deciding');
    // The worst of the current and the previous minute, then forgotten.
    await rec.advance(60_000);
    expect(daemon.status().event_loop_lag_ms).toBe(250);
    await rec.advance(120_000);
    expect(daemon.status().event_loop_lag_ms).toBe(0);
  });
});
