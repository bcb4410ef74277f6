/**
 * The daemon on a fake host: what it asks of the host, and in which order. The real host is
 * covered by the netns tests; these pin down the ordering rules that make a takeover fast and
 * safe: a new MASTER's VIP add and GARP leave in the same tick as its first advert, before
 * anything is logged, and a slow (`ip` fallback) add still holds the GARP back until it is done.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatIpv4, type Ipv4 } from '../../src/core/ip.js';
import { parseConfigText } from '../../src/config/load.js';
import type { Clock, Scheduler } from '../../src/io/clock.js';
import { Daemon, type InstanceSpec } from '../../src/daemon/daemon.js';
import type { DaemonHost } from '../../src/daemon/host.js';
import { createLogger } from '../../src/daemon/logging.js';
import { planInstances } from '../../src/daemon/plan.js';

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
}

function recorder(addVips: (events: string[]) => Promise<void> | void): Recorder {
  const events: string[] = [];
  const time = fakeTime(() => events.push('timer'));
  const host: DaemonHost = {
    clock: time.clock,
    createScheduler: () => time.scheduler,
    interfaceInfo: (name) => ({ name, address: 0x0a000034, up: true }),
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
  };
  const log = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = JSON.parse(chunk.toString()) as { msg: string };
      events.push(`log ${line.msg}`);
      done();
    },
  });
  return { events, host, advance: time.advance, log };
}

function plan(text: string): InstanceSpec[] {
  const loaded = parseConfigText(text, 'test.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return planInstances(loaded.config);
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
    await daemon.reload([...plan(CONFIG), ...plan(second)]); // VI_2's Master_Down ends 0.4 ms after VI_1's
    rec.events.length = 0;
    await rec.advance(3613, false, false);
    const adverts = rec.events.filter((e) => e.startsWith('advert') || e === 'timer');
    expect(adverts.slice(0, 3)).toEqual(['timer', 'advert priority 99 to 10.0.0.51', 'advert vrid 52 priority 99 to 10.0.0.51']);
  });

  it('holds the GARP back until a slow add (the ip fallback) has finished', async () => {
    let finishAdd!: () => void;
    const rec = recorder(
      (events) =>
        new Promise<void>((resolve) => {
          events.push('add vips started');
          finishAdd = () => {
            events.push('add vips done');
            resolve();
          };
        }),
    );
    await startBackup(rec);
    rec.events.length = 0;
    await rec.advance(3613);
    expect(rec.events).toContain('add vips started');
    expect(rec.events.some((e) => e.startsWith('garp'))).toBe(false);
    finishAdd();
    await new Promise((resolve) => setImmediate(resolve));
    const done = rec.events.indexOf('add vips done');
    expect(done).toBeGreaterThan(-1);
    expect(rec.events.slice(done + 1)).toContain('garp 10.0.0.50 on ens32');
  });

  it('a throwing synchronous add is logged and does not stop the GARP that follows', async () => {
    const rec = recorder(() => {
      throw new Error('EPERM adding 10.0.0.50/32');
    });
    await startBackup(rec);
    rec.events.length = 0;
    await rec.advance(3613);
    expect(rec.events).toContain('log add virtual addresses failed');
    expect(rec.events).toContain('garp 10.0.0.50 on ens32');
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
