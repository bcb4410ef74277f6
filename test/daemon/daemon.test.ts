/**
 * The daemon's shell and engine on a fake host: what they ask of the host, and in which order. The
 * shell executes the engine's commands in order, in the same tick (a new MASTER's VIP add and GARP
 * leave right behind its first advert, before anything is logged), defers a late timer until
 * waiting packets are read, reports failed commands back to the engine, carries check results in
 * and notify commands out. The decisions themselves are tested at the engine too (engine.test.ts);
 * the real host is covered by the netns tests.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeAdvert, encodeIpv4Packet, passwordToAuthData } from '../../src/core/codec.js';
import { formatIp, formatIpv4, formatIpv6, type Ipv4, parseIpv6 } from '../../src/core/ip.js';
import type { Clock, Scheduler } from '../../src/io/clock.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { DaemonHost, Transport } from '../../src/daemon/host.js';
import { createLogger } from '../../src/daemon/logging.js';
import { IoError } from '../../src/io/errors.js';
import type { MirrorDecodeResult, MirrorEndpoint } from '../../src/io/mirror.js';
import { planOf } from './plans.js';

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
  /** Every log line, parsed. */
  lines: Array<Record<string, unknown>>;
  host: DaemonHost;
  advance(ms: number, late?: boolean, settle?: boolean): Promise<void>;
  log: Writable;
  /** Report a result of the running check (as its periodic runner would). */
  checkResult(ok: boolean, detail: string): void;
}

/** What the fake host's track files hold, by path. */
const trackFileTexts = new Map<string, string>();

function recorder(addVips: (events: string[]) => void, overrides: (events: string[]) => Partial<DaemonHost> = () => ({})): Recorder {
  const events: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
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
    interfaceFacts: () => ({ address: 0x0a000034, up: true, exists: true }),
    capabilities: () => undefined,
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
    sendGarp: (ifname, addresses, repeat) => {
      events.push(`garp ${addresses.map(formatIpv4).join(',')} on ${ifname}${repeat === 5 ? '' : ` x${repeat}`}`);
    },
    sendNeighbourAdvert: (ifname, addresses, repeat) => {
      events.push(`na ${addresses.map(formatIpv6).join(',')} on ${ifname}${repeat === 5 ? '' : ` x${repeat}`}`);
    },
    probeGarp: () => undefined,
    watchLinks: () => ({ close: () => undefined }),
    watchDeletedAddresses: () => ({ close: () => undefined }),
    watchFile: (file, _initialise, onText) => {
      events.push(`watch_file ${file.name}`);
      onText(trackFileTexts.get(file.path) ?? '');
      return { close: () => events.push(`unwatch_file ${file.name}`) };
    },
    startCheck: (check, onResult) => {
      events.push(`start check ${check.name}`);
      onCheckResult = onResult;
      return { stats: () => ({ runs: 0 }), stop: async () => undefined };
    },
    notify: (instance, state, priority) => {
      events.push(`notify ${instance} ${state} ${priority}`);
    },
    ...overrides(events),
  };
  const log = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = JSON.parse(chunk.toString()) as { msg: string };
      lines.push(line);
      events.push(`log ${line.msg}`);
      done();
    },
  });
  return { events, lines, host, advance: time.advance, log, checkResult: (ok, detail) => onCheckResult?.(ok, detail) };
}

const plan = planOf;

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

  it('a throwing synchronous add (not a permission error) is logged and does not stop the GARP that follows', async () => {
    const rec = recorder(() => {
      throw Object.assign(new Error('adding 10.0.0.50/32: Invalid argument'), { code: 'EINVAL' });
    });
    await startBackup(rec);
    rec.events.length = 0;
    await rec.advance(3613);
    expect(rec.events).toContain('log add virtual addresses failed: EINVAL');
    expect(rec.events).toContain('garp 10.0.0.50 on ens32');
  });

  it('check results reach the engine, notify commands reach the host, and status carries the host\'s facts', async () => {
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

describe('daemon: announcing IPv4 and IPv6 VIPs', () => {
  /** The seed's plan with IPv6 VIPs added to VI_1 (the config cannot say it before IPv6 instances). */
  function withIpv6Vips(text: string, ...addresses: string[]): ReturnType<typeof plan> {
    const next = plan(text);
    next.instances[0]!.vips.push(...addresses.map((a) => ({ address: parseIpv6(a)!, prefixLength: 64, ifname: 'ens32' })));
    return next;
  }

  it('the engine\'s GARP burst goes out per family: gratuitous ARP for IPv4, neighbour advertisements for IPv6, with the same repeat', async () => {
    const rec = recorder((events) => {
      events.push('add vips');
    });
    const daemon = await startBackup(rec);
    await rec.advance(3613);
    expect(rec.events).toContain('garp 10.0.0.50 on ens32');
    rec.events.length = 0;
    // A reload that gives a MASTER two more VIPs: the engine adds them and announces them (one
    // command), and the host gets an NA burst for the IPv6 ones and no ARP for them.
    await daemon.reload(withIpv6Vips(CONFIG.replace('priority: 99', 'priority: 99\n    garp_master_repeat: 3'), 'fd00::50', 'fd00::51'));
    expect(rec.events.filter((e) => !e.startsWith('log'))).toEqual(['add vips', 'na fd00::50,fd00::51 on ens32 x3']);
    expect(daemon.status().instances[0]!.virtual_addresses).toEqual(['10.0.0.50/32', 'fd00::50/64', 'fd00::51/64']);
  });

  it('a new MASTER announces every VIP it added, the IPv6 ones by NA, also when the GARP of the same burst is refused (which still reaches the engine)', async () => {
    const rec = recorder(
      (events) => {
        events.push('add vips');
      },
      () => ({
        sendGarp: () => {
          throw new IoError('ENETDOWN', 'garp.send', 'Network is down');
        },
      }),
    );
    const daemon = await startBackup(rec);
    await daemon.reload(withIpv6Vips(CONFIG, 'fd00::50'));
    rec.events.length = 0;
    await rec.advance(3613);
    expect(rec.events).toContain('na fd00::50 on ens32');
    expect(rec.events).toContain('log gratuitous ARP failed: ENETDOWN');
  });
});

describe('daemon: never MASTER without the means', () => {
  const eperm = (operation: string): IoError => new IoError('EPERM', operation, 'Operation not permitted');
  const TEN_MINUTES_MS = 10 * 60_000;
  /** Adverts that claim MASTER (priority > 0). */
  const claims = (events: string[]): string[] => events.filter((e) => /^advert.* priority [1-9]/.test(e));
  /** Every failure line: one line, no stack, no serialised error object. */
  const failureLines = (rec: Recorder): Array<Record<string, unknown>> => rec.lines.filter((l) => Number(l.level) >= 40 && String(l.msg).includes('failed'));
  const noStacks = (rec: Recorder): void => {
    for (const line of rec.lines) {
      expect(line).not.toHaveProperty('err');
      expect(JSON.stringify(line)).not.toContain('stack');
    }
  };

  it('VIP add and removal refused (EPERM): FAULT from the start, never a MASTER advert, at most a line a minute', async () => {
    const rec = recorder(
      () => {
        throw eperm('vip.add');
      },
      () => ({
        removeVips: () => {
          throw eperm('vip.remove');
        },
      }),
    );
    const daemon = await startBackup(rec);
    await rec.advance(TEN_MINUTES_MS);
    expect(claims(rec.events)).toEqual([]);
    expect(rec.events).toContain('log INIT -> FAULT (fault: no_permission:vip_add)');
    expect(daemon.status().instances[0]).toMatchObject({ state: 'FAULT', fault_causes: ['no_permission:vip_add'] });
    const failures = failureLines(rec);
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures.length).toBeLessThanOrEqual(11);
    expect(failures[0]).toMatchObject({ code: 'EPERM', instance: 'VI_1', interface: 'ens32' });
    noStacks(rec);
  });

  it('without CAP_NET_ADMIN (CapEff): FAULT from the start; the VIP is never added', async () => {
    const rec = recorder(
      (events) => {
        events.push('add vips');
      },
      () => ({
        capabilities: () => ({ netRaw: true, netAdmin: false }),
        removeVips: () => {
          throw eperm('vip.remove');
        },
      }),
    );
    const daemon = await startBackup(rec);
    await rec.advance(TEN_MINUTES_MS);
    expect(rec.events).not.toContain('add vips');
    expect(claims(rec.events)).toEqual([]);
    expect(daemon.status().instances[0]).toMatchObject({ state: 'FAULT', fault_causes: ['no_permission:vip_add'] });
    expect(failureLines(rec).length).toBeLessThanOrEqual(11);
    noStacks(rec);
  });

  it('a MASTER whose VIP add is refused says goodbye (priority 0), sends no GARP, goes FAULT, and is re-tested ever more rarely', async () => {
    const rec = recorder(
      () => {
        throw eperm('vip.add');
      },
      () => ({ capabilities: () => ({ netRaw: true, netAdmin: true }) }),
    );
    const daemon = await startBackup(rec);
    rec.events.length = 0;
    await rec.advance(3613);
    expect(rec.events.filter((e) => !e.startsWith('log') && !e.startsWith('notify') && e !== 'timer')).toEqual([
      'advert priority 99 to 10.0.0.51',
      'advert priority 0 to 10.0.0.51',
      'remove vips',
    ]);
    expect(rec.events).toContain('log MASTER -> FAULT (fault: no_permission:vip_add)');
    expect(daemon.status().instances[0]).toMatchObject({ state: 'FAULT', fault_causes: ['no_permission:vip_add'], priority_zero_sent: 1 });
    // Here removal (the re-test) passes while the add is still refused: the re-test is not proof,
    // so each new attempt waits twice as long (60 s, 120 s, 240 s ...), not once a second.
    await rec.advance(TEN_MINUTES_MS);
    expect(claims(rec.events).length).toBe(4);
    expect(rec.events.some((e) => e.startsWith('garp'))).toBe(false);
    expect(daemon.status().instances[0]).toMatchObject({ state: 'FAULT' });
    noStacks(rec);
  });

  it('a GARP refused with EPERM: FAULT with its cause and a goodbye', async () => {
    const rec = recorder(
      (events) => {
        events.push('add vips');
      },
      () => ({
        sendGarp: () => {
          throw eperm('garp.send');
        },
      }),
    );
    const daemon = await startBackup(rec);
    rec.events.length = 0;
    await rec.advance(3613);
    expect(rec.events.filter((e) => !e.startsWith('log') && !e.startsWith('notify') && e !== 'timer')).toEqual([
      'advert priority 99 to 10.0.0.51',
      'add vips',
      'advert priority 0 to 10.0.0.51',
      'remove vips',
    ]);
    expect(daemon.status().instances[0]).toMatchObject({ state: 'FAULT', fault_causes: ['no_permission:garp'] });
  });

  it('a VRRP socket that cannot open (EPERM): FAULT, never MASTER, one line a minute while it retries; BACKUP once it opens', async () => {
    let onError!: (error: Error) => void;
    let onOpen!: () => void;
    const rec = recorder(
      () => undefined,
      (events) => ({
        openTransport: (_ifname, _multicast, _onPacket, reportError, reportOpen): Transport => {
          onError = reportError;
          onOpen = reportOpen;
          reportError(eperm('transport.open'));
          return { send: (payload) => void events.push(`advert priority ${payload[2]}`), close: () => undefined };
        },
      }),
    );
    const daemon = await startBackup(rec);
    expect(daemon.status().instances[0]).toMatchObject({ state: 'FAULT', fault_causes: ['no_permission:vrrp_socket'] });
    // The transport retries every second (src/io/transport.ts); each retry reports again.
    for (let second = 0; second < 600; second++) {
      await rec.advance(1000);
      onError(eperm('transport.open'));
    }
    expect(claims(rec.events)).toEqual([]);
    expect(rec.events.filter((e) => e.includes('-> MASTER'))).toEqual([]);
    const failures = failureLines(rec);
    expect(failures.length).toBeLessThanOrEqual(11);
    expect(failures[0]).toMatchObject({ code: 'EPERM', operation: 'transport.open', interface: 'ens32', msg: 'transport.open failed on ens32: EPERM' });
    expect(failures.at(-1)?.suppressed).toBeGreaterThan(50);
    noStacks(rec);

    onOpen();
    expect(daemon.status().instances[0]).toMatchObject({ state: 'BACKUP', fault_causes: [] });
    await rec.advance(3613);
    expect(daemon.status().instances[0]).toMatchObject({ state: 'MASTER' });
  });

  it('a send refused by a firewall (EPERM on transport.send) is logged, not a FAULT', async () => {
    let onError!: (error: Error) => void;
    const rec = recorder(
      () => undefined,
      () => ({
        openTransport: (_ifname, _multicast, _onPacket, reportError): Transport => {
          onError = reportError;
          return { send: () => undefined, close: () => undefined };
        },
      }),
    );
    const daemon = await startBackup(rec);
    await rec.advance(3613);
    onError(eperm('transport.send'));
    expect(daemon.status().instances[0]).toMatchObject({ state: 'MASTER', fault_causes: [] });
  });

  it('an interface missing at start: FAULT with its name; recovers (source address too) when it appears', async () => {
    let created = false;
    let onError!: (error: Error) => void;
    let onOpen!: () => void;
    let onLink!: (ifname: string, up: boolean) => void;
    const sources: string[] = [];
    const rec = recorder(
      () => undefined,
      () => ({
        interfaceFacts: () => (created ? { address: 0x0a000034, up: true, exists: true } : { address: undefined, up: false, exists: false }),
        openTransport: (_ifname, _multicast, _onPacket, reportError, reportOpen): Transport => {
          onError = reportError;
          onOpen = reportOpen;
          reportError(new IoError('ENODEV', 'transport.open', 'no interface eth9'));
          return { send: (payload, source) => void (payload[2]! > 0 && sources.push(formatIp(source))), close: () => undefined };
        },
        watchLinks: (_names, onChange) => {
          onLink = onChange;
          return { close: () => undefined };
        },
      }),
    );
    // Multicast, no mcast_src_ip: the source is the interface's address, unknown while it is missing.
    const multicast = `
vrrp_instance:
  VI_1:
    interface: eth9
    virtual_router_id: 51
    priority: 99
    virtual_ipaddress: [10.0.0.50 dev eth9]
`;
    const daemon = new Daemon({ host: rec.host, logger: createLogger('info', rec.log), configFile: 'test.yaml' });
    await daemon.start(plan(multicast));
    expect(daemon.status().instances[0]!.state).toBe('FAULT');
    expect(daemon.status().instances[0]!.fault_causes).toEqual(expect.arrayContaining(['missing_interface:eth9']));
    for (let second = 0; second < 10; second++) {
      await rec.advance(1000);
      onError(new IoError('ENODEV', 'transport.open', 'no interface eth9'));
    }
    expect(failureLines(rec).length).toBeLessThanOrEqual(2);
    noStacks(rec);

    created = true;
    onOpen();
    onLink('eth9', true);
    expect(daemon.status().instances[0]).toMatchObject({ state: 'BACKUP', fault_causes: [] });
    await rec.advance(3613);
    expect(daemon.status().instances[0]).toMatchObject({ state: 'MASTER' });
    expect(sources[0]).toBe('10.0.0.52');
  });
});

describe('daemon: the time a packet is handed over with', () => {
  /** An advert from the master (10.0.0.51, priority 100) to us (10.0.0.52). */
  const masterAdvert = (): Uint8Array => {
    const payload = encodeAdvert({ version: 2, type: 1, virtualRouterId: 51, priority: 100, authType: 1, advertIntervalSec: 1, addresses: [0x0a000032], authData: passwordToAuthData('123456').authData });
    return encodeIpv4Packet({ source: 0x0a000033, destination: 0x0a000034, ttl: 255, tos: 0xc0, id: 1 }, payload);
  };

  /** A backup whose transport hands packets over with the kernel's receive time. */
  async function backupWithPackets(): Promise<{ rec: Recorder; deliver(receivedAtMs: number | undefined): void; now(): number; deadline(): number | undefined }> {
    let onPacket: ((packet: Uint8Array, receivedAtMs?: number) => void) | undefined;
    let scheduler: Scheduler | undefined;
    const rec = recorder(
      () => undefined,
      () => ({
        openTransport: (_ifname, _multicast, packets) => {
          onPacket = packets;
          return { send: () => undefined, close: () => undefined };
        },
      }),
    );
    const createScheduler = rec.host.createScheduler;
    rec.host.createScheduler = () => (scheduler = createScheduler());
    await startBackup(rec);
    return {
      rec,
      deliver: (receivedAtMs) => onPacket!(masterAdvert(), receivedAtMs),
      now: () => rec.host.clock.nowMs(),
      deadline: () => scheduler?.pendingDeadlineMs,
    };
  }

  it('Master_Down runs from when the kernel received the advert, not from when the loop got to it', async () => {
    const b = await backupWithPackets();
    await b.rec.advance(500);
    b.deliver(b.now() - 40); // it waited 40 ms in the socket
    expect(b.deadline()).toBe(b.now() - 40 + 3613);
    b.deliver(undefined); // no stamp: the time it was read
    expect(b.deadline()).toBe(b.now() + 3613);
  });

  it('never hands the engine a time before one it was already given', async () => {
    const b = await backupWithPackets();
    await b.rec.advance(500);
    b.deliver(b.now()); // an input at the current time...
    b.deliver(b.now() - 400); // ...then a stamp from before it: taken as the later time
    expect(b.deadline()).toBe(b.now() + 3613);
  });
});

describe('daemon: the UDP mirror\'s replay floors', () => {
  const M1 = 0x0a000033 as Ipv4;
  const advert = (priority: number): Uint8Array =>
    encodeAdvert({ version: 2, type: 1, virtualRouterId: 51, priority, authType: 1, advertIntervalSec: 1, addresses: [0x0a000032], authData: passwordToAuthData('123456').authData });

  /** A recorder whose host has a mirror: datagrams are delivered by hand, saves recorded (or refused). */
  function withMirror(save: (events: string[], floors: ReadonlyMap<Ipv4, bigint>) => void) {
    let deliver: ((endpoint: MirrorEndpoint, source: Ipv4, result: MirrorDecodeResult) => void) | undefined;
    let endpoint: MirrorEndpoint | undefined;
    const rec = recorder(
      (events) => events.push('add vips'),
      (events) => ({
        mirror: {
          listen: (_port, endpoints, onDatagram) => {
            endpoint = endpoints[0];
            deliver = onDatagram;
          },
          send: () => undefined,
          saveFloors: (floors) => save(events, floors),
        },
      }),
    );
    const datagram = (counter: bigint, priority: number): void => deliver!(endpoint!, M1, { ok: true, counter, advert: advert(priority) });
    return { rec, datagram };
  }

  const mirrored = `vrrpd:\n  udp_mirror: { port: 9651, key_file: /etc/vrrpd/mirror.key }\n${CONFIG}`;

  it('saves the risen floor before anything the advert causes reaches the host', async () => {
    const { rec, datagram } = withMirror((events, floors) => events.push(`save floors ${[...floors].map(([p, c]) => `${formatIpv4(p)}=${c}`).join(',')}`));
    const daemon = new Daemon({ host: rec.host, logger: createLogger('info', rec.log), configFile: 'test.yaml' });
    await daemon.start(plan(mirrored));
    await rec.advance(3613);
    expect(daemon.status().instances[0]).toMatchObject({ state: 'MASTER' });
    rec.events.length = 0;
    // A lower priority over the mirror: a MASTER answers with its advert and a GARP burst.
    datagram(5n, 50);
    expect(rec.events.slice(0, 3)).toEqual(['save floors 10.0.0.51=5', 'advert priority 99 to 10.0.0.51', 'garp 10.0.0.50 on ens32']);
    rec.events.length = 0;
    datagram(5n, 50);
    expect(rec.events.filter((e) => e.startsWith('save'))).toEqual([]); // a replay raises nothing
    expect(daemon.status().udp_mirror).toMatchObject({ accepted: 1, dropped: { replay: 1 }, floor_save_failures: 0 });
  });

  it('a save that fails is logged and counted; the advert still goes on and the floor still holds', async () => {
    const { rec, datagram } = withMirror(() => {
      throw new IoError('EROFS', 'state.write', "EROFS: read-only file system, open '/var/lib/vrrpd/.mirror-floors.1.tmp'");
    });
    const daemon = new Daemon({ host: rec.host, logger: createLogger('info', rec.log), configFile: 'test.yaml' });
    await daemon.start(plan(mirrored));
    rec.events.length = 0;
    datagram(7n, 100);
    datagram(8n, 100);
    datagram(8n, 100);
    expect(rec.events.filter((e) => e.includes('floors'))).toEqual(["log save the UDP mirror's replay floors failed: EROFS"]);
    expect(daemon.status().udp_mirror).toMatchObject({ accepted: 2, dropped: { replay: 1 }, floor_save_failures: 2 });
    expect(daemon.status().instances[0]).toMatchObject({ adverts_received: 2, master_address: '10.0.0.51' });
  });
});
