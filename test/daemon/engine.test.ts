/**
 * The daemon's decisions, at the engine, with no host at all: what it asks for and in which order.
 * The ordering guarantees (an advert, then the VIPs, then the GARP that announces them; a removal
 * never overtaking an add), the stall guard, deadline batching, rise/fall and init_fail, reload
 * diffing and dispatch are decisions, so they are pinned down here; the shell that executes the
 * commands is covered in daemon.test.ts and on a real kernel in test/netns.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeAdvert, encodeIpv4Packet, passwordToAuthData, v3Checksum, vrrpChecksum } from '../../src/core/codec.js';
import { formatIp, formatIpv4, type Ipv4, parseIpv4, parseIpv6 } from '../../src/core/ip.js';
import { masterDownIntervalMs, masterDownIntervalV3Ms, skewTimeMs } from '../../src/core/timers.js';
import { Engine, ON_TIME_MS, STALL_WARN_MS, type DaemonPlan, type HostCommand, type HostFacts } from '../../src/daemon/engine.js';
import { planOf } from './plans.js';
import { formatStatusTable } from '../../src/daemon/status.js';

const M2 = parseIpv4('10.0.0.52') as Ipv4;
const M1 = parseIpv4('10.0.0.51') as Ipv4;

const CONFIG = `
vrrp_script:
  check:
    script: /bin/true
    interval: 1
    weight: -20
    rise: 2
    fall: 2
vrrp_instance:
  VI_1:
    state: BACKUP
    interface: ens32
    virtual_router_id: 51
    priority: 99
    authentication: { auth_type: PASS, auth_pass: "123456" }
    unicast_src_ip: 10.0.0.52
    unicast_peer: [10.0.0.51]
    track_script: [check]
    virtual_ipaddress: [10.0.0.50 dev ens32]
`;

function plan(text: string = CONFIG): DaemonPlan {
  return planOf(text);
}

/** A plan the loader would never make (it refuses a VRID used twice), to show the engine refuses it too. */
function twice(): DaemonPlan {
  const good = plan();
  const first = good.instances[0]!;
  return { ...good, instances: [first, { ...first, name: 'VI_2' }] };
}

const UP: HostFacts = { interfaces: new Map([['ens32', { address: M2, up: true, exists: true }]]), capabilities: undefined };

/** Every queued command; the host executes them at `nowMs` (the start's own time by default). */
function drain(engine: Engine, nowMs = 0): HostCommand[] {
  const commands: HostCommand[] = [];
  for (let c = engine.pollCommand(nowMs); c !== undefined; c = engine.pollCommand(nowMs)) commands.push(c);
  return commands;
}

/** Commands as short words, logs left out unless asked for. */
function words(commands: readonly HostCommand[], logs = false): string[] {
  return commands.flatMap((c): string[] => {
    switch (c.type) {
      case 'send':
        return [`send ${c.priority} to ${c.destinations.map(formatIp).join(',')}`];
      case 'mirror_send':
        return [`mirror_send to ${c.destinations.map(formatIpv4).join(',')}`];
      case 'mirror_listen':
        return [`mirror_listen :${c.port} ${c.endpoints.map((e) => `${e.ifname}/${formatIpv4(e.address)}`).join(',')}`];
      case 'mirror_floors':
        return [`mirror_floors ${[...c.floors].map(([peer, counter]) => `${formatIpv4(peer)}=${counter}`).join(',')}`];
      case 'add_vips':
      case 'remove_vips':
        return [`${c.type} ${c.vips.map((v) => formatIp(v.address)).join(',')}`];
      case 'garp':
        return [`garp ${c.addresses.map(formatIp).join(',')} (${c.why})`];
      case 'notify':
        return [`notify ${c.state}`];
      case 'log':
        return logs ? [`log ${c.message}`] : [];
      case 'start_check':
        return [`start_check ${c.check.name}`];
      case 'stop_check':
        return [`stop_check ${c.name}`];
      case 'open_transport':
        return [`open ${c.ifname}${c.multicast ? ' multicast' : ''}`];
      case 'close_transport':
        return [`close ${c.ifname}`];
      case 'watch_links':
        return [`watch ${c.names.join(',')}`];
      case 'probe':
        return [`probe ${c.means}`];
      case 'watch_file':
        return [`watch_file ${c.file.name} ${c.file.path} (${c.initialise})`];
      case 'unwatch_file':
        return [`unwatch_file ${c.name}`];
    }
  });
}

function advert(from: Ipv4, priority: number, vrid = 51, addresses: Ipv4[] = [parseIpv4('10.0.0.50') as Ipv4]): Uint8Array {
  const payload = encodeAdvert({ version: 2, type: 1, virtualRouterId: vrid, priority, authType: 1, advertIntervalSec: 1, addresses, authData: passwordToAuthData('123456').authData });
  return encodeIpv4Packet({ source: from, destination: M2, ttl: 255, tos: 0xc0, id: 1 }, payload);
}

/** An engine started at t = 0 with every command of the start drained. */
function started(text: string = CONFIG): { engine: Engine; first: HostCommand[] } {
  const engine = new Engine();
  engine.start(0, plan(text), UP);
  return { engine, first: drain(engine) };
}

/** Fire the engine's timer on time at its deadline; returns what it asked for. */
function fire(engine: Engine): HostCommand[] {
  const deadline = engine.nextDeadline();
  expect(engine.handleTimer(deadline, deadline)).toBe('decided');
  return drain(engine);
}

describe('engine: start', () => {
  it('starts checks, asks whether it may add VIPs and send GARP, opens the transport and watches the link before any machine acts', () => {
    const { first } = started();
    expect(words(first)).toEqual(['start_check script:check', 'probe vip_add', 'probe garp', 'open ens32', 'watch ens32', 'notify BACKUP']);
  });

  it('machines start when the host has carried out what came before (their timers count from then)', () => {
    const engine = new Engine();
    engine.start(0, plan(), UP);
    drain(engine, 65); // opening the socket took 65 ms
    expect(engine.nextDeadline()).toBe(65 + masterDownIntervalMs(1, 99));
  });

  it('a plan with the same VRID twice on an interface is refused before anything is queued', () => {
    const engine = new Engine();
    expect(() => engine.start(0, twice(), UP)).toThrow(/VRID 51 is used twice on ens32/);
    expect(drain(engine)).toEqual([]);
  });

  it('with no source address the instance starts in FAULT and says why', () => {
    const engine = new Engine();
    engine.start(0, plan(CONFIG.replace('    unicast_src_ip: 10.0.0.52\n', '')), { interfaces: new Map([['ens32', { address: undefined, up: true, exists: true }]]), capabilities: undefined });
    drain(engine);
    expect(engine.machine('VI_1')?.state).toBe('FAULT');
    expect(engine.machine('VI_1')?.faultCauses).toEqual(['no_source_address']);
  });

  it('a link that is down at start is a FAULT (the primary interface is tracked with weight 0)', () => {
    const engine = new Engine();
    engine.start(0, plan(), { interfaces: new Map([['ens32', { address: M2, up: false, exists: true }]]), capabilities: undefined });
    drain(engine);
    expect(engine.machine('VI_1')?.faultCauses).toEqual(['interface:ens32']);
    engine.handleLink(10, 'ens32', true);
    expect(engine.machine('VI_1')?.state).toBe('BACKUP');
  });
});

describe('engine: the order of a takeover (advert, VIPs, GARP, then the log line and notify)', () => {
  it('a BACKUP whose Master_Down runs out sends its advert, adds the VIP, then GARPs', () => {
    const { engine } = started();
    expect(engine.nextDeadline()).toBe(masterDownIntervalMs(1, 99));
    const commands = fire(engine);
    expect(words(commands, true)).toEqual([
      'send 99 to 10.0.0.51',
      'add_vips 10.0.0.50',
      'garp 10.0.0.50 (become_master)',
      'log BACKUP -> MASTER (master_down_timer)',
      'notify MASTER',
    ]);
  });

  it('under any sequence of inputs, per instance a GARP only follows an add of its addresses, and a removal never overtakes an add', () => {
    const event = fc.oneof(
      fc.record({ kind: fc.constant('advert' as const), priority: fc.integer({ min: 0, max: 254 }), fromM1: fc.boolean() }),
      fc.record({ kind: fc.constant('timer' as const) }),
      fc.record({ kind: fc.constant('check' as const), ok: fc.boolean() }),
      fc.record({ kind: fc.constant('link' as const), up: fc.boolean() }),
      fc.record({ kind: fc.constant('deleted' as const) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 5000 }) }),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const { engine } = started();
        let now = 0;
        let held = false;
        const seen: HostCommand[] = [];
        const take = (): void => {
          for (const c of drain(engine)) {
            seen.push(c);
            if (c.type === 'add_vips') held = true;
            if (c.type === 'remove_vips') held = false;
            // A GARP announces addresses this host holds at that moment.
            if (c.type === 'garp') expect(held).toBe(true);
          }
        };
        for (const e of events) {
          switch (e.kind) {
            case 'advert':
              engine.handlePacket(now, 'ens32', advert(e.fromM1 ? M1 : parseIpv4('10.0.0.53') as Ipv4, e.priority));
              break;
            case 'timer': {
              const due = engine.nextDeadline();
              if (Number.isFinite(due)) {
                now = Math.max(now, due);
                if (engine.handleTimer(now, due) === 'read_sockets_first') engine.handleDeferredTimer(now, due);
              }
              break;
            }
            case 'check':
              engine.handleCheckResult(now, 'script:check', e.ok, 'x');
              break;
            case 'link':
              engine.handleLink(now, 'ens32', e.up);
              break;
            case 'deleted':
              engine.handleAddressDeleted(now, 'ens32', parseIpv4('10.0.0.50') as Ipv4);
              if (held) held = false; // someone else removed it
              break;
            case 'advance':
              now += e.ms;
              break;
          }
          take();
          // The VIP is held exactly while MASTER.
          expect(held).toBe(engine.machine('VI_1')?.state === 'MASTER');
        }
        engine.shutdown(now);
        take();
        expect(held).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('engine: the stall guard and the lag it measures', () => {
  it('an on-time timer decides at once; a late one asks the shell to read its sockets first', () => {
    const { engine } = started();
    const due = engine.nextDeadline();
    expect(engine.handleTimer(due + ON_TIME_MS, due)).toBe('read_sockets_first');
    expect(words(drain(engine))).toEqual([]); // nothing decided yet
    // The master's advert that waited in the socket arrives before the deferred decision.
    engine.handlePacket(due + ON_TIME_MS, 'ens32', advert(M1, 100));
    engine.handleDeferredTimer(due + ON_TIME_MS, due);
    expect(engine.machine('VI_1')?.state).toBe('BACKUP');
  });

  it('a timer more than STALL_WARN_MS late is counted and logged; event_loop_lag_ms is the worst of the last minute or two', () => {
    const { engine } = started();
    const due = engine.nextDeadline();
    engine.handleTimer(due + 250, due);
    expect(words(drain(engine), true)).toEqual(['log event loop stalled: timer fired late; reading pending packets before deciding']);
    engine.handleDeferredTimer(due + 250, due);
    expect(engine.stallCount()).toBe(1);
    expect(250).toBeGreaterThan(STALL_WARN_MS);
    expect(engine.eventLoopLagMs(due + 250)).toBe(250);
    expect(engine.eventLoopLagMs(due + 250 + 60_000)).toBe(250);
    expect(engine.eventLoopLagMs(due + 250 + 120_000)).toBe(0);
  });

  it('deadlines less than 1 ms ahead are handled in the same firing', () => {
    const second = CONFIG.replace('  VI_1:', '  VI_2:').replace('virtual_router_id: 51', 'virtual_router_id: 52').replace('10.0.0.50 dev', '10.0.0.60 dev');
    const engine = new Engine();
    engine.start(0, plan(CONFIG), UP);
    engine.reload(0.4, plan(CONFIG + second.slice(second.indexOf('  VI_2:'))), UP);
    drain(engine);
    const sends = fire(engine).filter((c) => c.type === 'send');
    expect(sends.map((c) => (c as { instance: string }).instance)).toEqual(['VI_1', 'VI_2']);
  });
});

describe('engine: a firing of many instances', () => {
  it('every advert of the firing leaves before any VIP or GARP work; each instance keeps its own order', () => {
    const second = CONFIG.replace('  VI_1:', '  VI_2:').replace('virtual_router_id: 51', 'virtual_router_id: 52').replace('10.0.0.50 dev', '10.0.0.60 dev');
    const engine = new Engine();
    engine.start(0, plan(CONFIG), UP);
    engine.reload(0.4, plan(CONFIG + second.slice(second.indexOf('  VI_2:'))), UP);
    drain(engine);
    // Both Master_Down timers run out in this firing.
    expect(words(fire(engine))).toEqual([
      'send 99 to 10.0.0.51',
      'send 99 to 10.0.0.51',
      'add_vips 10.0.0.50',
      'garp 10.0.0.50 (become_master)',
      'notify MASTER',
      'add_vips 10.0.0.60',
      'garp 10.0.0.60 (become_master)',
      'notify MASTER',
    ]);
  });
});

describe('engine: checks (rise/fall and init_fail live here)', () => {
  it('the first result decides; then fall failures in a row lower the priority, rise successes restore it', () => {
    const { engine } = started();
    const m = engine.machine('VI_1');
    engine.handleCheckResult(1, 'script:check', true, 'exit 0');
    expect(m?.effectivePriority).toBe(99);
    engine.handleCheckResult(2, 'script:check', false, 'exit 1');
    expect(m?.effectivePriority).toBe(99);
    engine.handleCheckResult(3, 'script:check', false, 'exit 1');
    expect(m?.effectivePriority).toBe(79);
    engine.handleCheckResult(4, 'script:check', true, 'exit 0');
    expect(m?.effectivePriority).toBe(79);
    engine.handleCheckResult(5, 'script:check', true, 'exit 0');
    expect(m?.effectivePriority).toBe(99);
    expect(words(drain(engine), true).filter((w) => w.startsWith('log tracker'))).toEqual([
      'log tracker script:check is ok',
      'log tracker script:check is failed',
      'log tracker script:check is ok',
    ]);
  });

  it('init_fail starts the tracker failed before the machine starts', () => {
    const { engine } = started(CONFIG.replace('    fall: 2\n', '    fall: 2\n    init_fail: true\n'));
    expect(engine.machine('VI_1')?.effectivePriority).toBe(79);
    expect(engine.checkStatus('script:check')).toBe('failed');
  });

  it('a result for a check no longer planned is ignored', () => {
    const { engine } = started();
    engine.handleCheckResult(1, 'script:gone', false, 'x');
    expect(drain(engine)).toEqual([]);
  });
});

describe('engine: reload', () => {
  it('an unchanged plan changes nothing: no command but the log line, the check keeps its rise/fall memory', () => {
    const { engine } = started();
    engine.handleCheckResult(1, 'script:check', true, 'ok');
    engine.handleCheckResult(2, 'script:check', false, 'x');
    drain(engine);
    const summary = engine.reload(3, plan(), UP);
    expect(summary).toEqual({ unchanged: ['VI_1'], changed: [], added: [], removed: [] });
    expect(words(drain(engine))).toEqual([]);
    engine.handleCheckResult(4, 'script:check', false, 'x'); // the second failure in a row
    expect(engine.machine('VI_1')?.effectivePriority).toBe(79);
  });

  it('a changed check restarts; a new priority reconfigures in place; a MASTER adds a new VIP and GARPs it', () => {
    const { engine } = started();
    fire(engine); // MASTER
    const next = CONFIG.replace('interval: 1', 'interval: 2').replace('priority: 99', 'priority: 98').replace('[10.0.0.50 dev ens32]', '[10.0.0.50 dev ens32, 10.0.0.60 dev ens32]');
    expect(engine.reload(5000, plan(next), UP)).toEqual({ unchanged: [], changed: ['VI_1'], added: [], removed: [] });
    expect(words(drain(engine))).toEqual(['stop_check script:check', 'start_check script:check', 'add_vips 10.0.0.60', 'garp 10.0.0.60 (vips_added)']);
    expect(engine.machine('VI_1')?.effectivePriority).toBe(98);
  });

  it('a removed MASTER says goodbye and removes its VIPs; a new instance starts in BACKUP', () => {
    const { engine } = started();
    fire(engine);
    const renamed = CONFIG.replace('VI_1:', 'VI_9:').replace('virtual_router_id: 51', 'virtual_router_id: 59');
    expect(engine.reload(5000, plan(renamed), UP)).toEqual({ unchanged: [], changed: [], added: ['VI_9'], removed: ['VI_1'] });
    expect(words(drain(engine))).toEqual(['send 0 to 10.0.0.51', 'remove_vips 10.0.0.50', 'notify STOP', 'notify BACKUP']);
  });

  it('a plan that cannot run is refused and the running one stays', () => {
    const { engine } = started();
    expect(() => engine.reload(1, twice(), UP)).toThrow(/VRID 51 is used twice/);
    expect(engine.instanceNames).toEqual(['VI_1']);
    expect(drain(engine)).toEqual([]);
  });
});

describe('engine: dispatch and drops', () => {
  it('a packet for an unknown VRID or too short is counted per interface; a known VRID reaches its instance', () => {
    const { engine } = started();
    engine.handlePacket(1, 'ens32', advert(M1, 100, 77));
    engine.handlePacket(1, 'ens32', new Uint8Array(10));
    engine.handlePacket(1, 'ens32', advert(M1, 100));
    const status = engine.status(1, () => 'now');
    expect(status.interface_dropped).toEqual({ ens32: { unknown_vrid: 1, too_short: 1 } });
    expect(status.instances[0]).toMatchObject({ adverts_received: 1, master_address: '10.0.0.51' });
  });

  it('dropped adverts are logged once per reason per 10 s, with the number suppressed', () => {
    const { engine } = started();
    for (let i = 0; i < 5; i++) engine.handlePacket(i, 'ens32', advert(M1, 100, 51, [parseIpv4('10.9.9.9') as Ipv4]));
    engine.handlePacket(10_001, 'ens32', advert(M1, 100, 51, [parseIpv4('10.9.9.9') as Ipv4]));
    const logs = drain(engine).filter((c) => c.type === 'log' && c.message.startsWith('dropped'));
    expect(logs.map((c) => (c.type === 'log' ? c.fields['suppressed'] : undefined))).toEqual([0, 4]);
  });

  it('someone deleting a MASTER\'s VIP makes it give the VIPs up and take them back after Skew_Time', () => {
    const { engine } = started();
    const at = engine.nextDeadline();
    fire(engine);
    engine.handleAddressDeleted(at + 10, 'ens32', parseIpv4('10.0.0.50') as Ipv4);
    expect(engine.machine('VI_1')?.state).toBe('BACKUP');
    expect(engine.nextDeadline()).toBe(at + 10 + skewTimeMs(99));
  });

  it('the same for an IPv6 VIP deleted behind our back (an address of the other family or interface is not ours)', () => {
    const engine = new Engine();
    const withV6 = plan(CONFIG);
    withV6.instances[0]!.vips.push({ address: parseIpv6('fd00::50')!, prefixLength: 64, ifname: 'ens32' });
    engine.start(0, withV6, UP);
    drain(engine);
    const at = engine.nextDeadline();
    const commands = fire(engine);
    expect(words(commands)).toContain('garp 10.0.0.50,fd00::50 (become_master)');
    engine.handleAddressDeleted(at + 5, 'ens32', parseIpv6('fd00::51')!);
    engine.handleAddressDeleted(at + 5, 'lo', parseIpv6('fd00::50')!);
    expect(engine.machine('VI_1')?.state).toBe('MASTER');
    engine.handleAddressDeleted(at + 10, 'ens32', parseIpv6('fd00::50')!);
    expect(engine.machine('VI_1')?.state).toBe('BACKUP');
    expect(engine.status(at + 10, () => 'now').instances[0]!.virtual_addresses).toEqual(['10.0.0.50/32', 'fd00::50/64']);
  });
});

describe('engine: VRRPv3 (docs/protocol.md#vrrpv3-checksum)', () => {
  const M3 = parseIpv4('10.0.0.53') as Ipv4;
  const GROUP = parseIpv4('224.0.0.18') as Ipv4;
  /** The seed's master2 in VRRPv3 at 0.1 s, with two unicast peers (or multicast). */
  const v3Config = (peers: string): string => `
vrrp_instance:
  VI_1:
    state: BACKUP
    interface: ens32
    virtual_router_id: 51
    priority: 99
    version: 3
    advert_int: 0.1
    unicast_src_ip: 10.0.0.52
${peers}    virtual_ipaddress: [10.0.0.50 dev ens32]
`;

  it('a unicast advert goes out as one send per peer, each with the checksum of its own destination', () => {
    const { engine } = started(v3Config('    unicast_peer: [10.0.0.51, 10.0.0.53]\n'));
    expect(engine.nextDeadline()).toBe(masterDownIntervalV3Ms(10, 99));
    const sends = fire(engine).filter((c): c is Extract<HostCommand, { type: 'send' }> => c.type === 'send');
    expect(sends.map((c) => c.destinations.map(formatIp))).toEqual([['10.0.0.51'], ['10.0.0.53']]);
    const [to51, to53] = sends;
    expect(v3Checksum(to51!.payload, { source: M2, destination: M1 })).toBe(0);
    expect(v3Checksum(to53!.payload, { source: M2, destination: M3 })).toBe(0);
    expect(to51!.payload.subarray(0, 6)).toEqual(to53!.payload.subarray(0, 6));
    expect(to51!.payload.subarray(6, 8)).not.toEqual(to53!.payload.subarray(6, 8));
    expect(to51!.payload[0]).toBe(0x31);
  });

  it('multicast, and VRRPv2 unicast, stay one send of one payload to every destination', () => {
    const { engine } = started(v3Config(''));
    const [multicast, ...others] = fire(engine).filter((c): c is Extract<HostCommand, { type: 'send' }> => c.type === 'send');
    expect(others).toEqual([]);
    expect(multicast!.destinations).toEqual([GROUP]);
    expect(v3Checksum(multicast!.payload, { source: M2, destination: GROUP })).toBe(0);
    const v2 = started(CONFIG.replace('unicast_peer: [10.0.0.51]', 'unicast_peer: [10.0.0.51, 10.0.0.53]'));
    const v2Sends = fire(v2.engine).filter((c): c is Extract<HostCommand, { type: 'send' }> => c.type === 'send');
    expect(v2Sends.map((c) => c.destinations.map(formatIp))).toEqual([['10.0.0.51', '10.0.0.53']]);
    expect(vrrpChecksum(v2Sends[0]!.payload)).toBe(0);
  });

  it('status says the version, our interval and the Master_Adver_Interval learnt from the master', () => {
    const { engine } = started(v3Config('    unicast_peer: [10.0.0.51]\n'));
    const payload = encodeAdvert({ version: 3, type: 1, virtualRouterId: 51, priority: 100, advertIntervalCs: 100, addresses: [parseIpv4('10.0.0.50') as Ipv4] }, { source: M1, destination: M2 });
    engine.handlePacket(5, 'ens32', encodeIpv4Packet({ source: M1, destination: M2 }, payload));
    expect(engine.status(5, () => 'now').instances[0]).toMatchObject({ version: 3, advert_interval_ms: 100, master_advert_interval_ms: 1000, adverts_received: 1 });
    expect(engine.nextDeadline()).toBe(5 + masterDownIntervalV3Ms(100, 99));
    expect(started().engine.status(0, () => 'now').instances[0]).toMatchObject({ version: 2, advert_interval_ms: 1000, master_advert_interval_ms: 1000 });
    // The table has a VER column.
    const table = formatStatusTable({ pid: 1, config_file: 'f', started_at: '', event_loop_lag_ms: 0, last_reload_error: null, interface_dropped: {}, instances: engine.status(5, () => 'now').instances });
    const [header, row] = table.split('\n');
    expect(header).toMatch(/^INSTANCE +STATE +VRID +VER +IF /);
    expect(row).toMatch(/^VI_1 +BACKUP +51 +v3 +ens32 /);
  });
});

describe('engine: shutdown', () => {
  it('a MASTER says goodbye, removes its VIPs, stops checks, closes its transport, and the engine goes quiet', () => {
    const { engine } = started();
    fire(engine);
    engine.shutdown(6000);
    expect(words(drain(engine))).toEqual(['send 0 to 10.0.0.51', 'remove_vips 10.0.0.50', 'notify STOP', 'stop_check script:check', 'close ens32', 'watch ']);
    expect(engine.nextDeadline()).toBe(Number.POSITIVE_INFINITY);
    engine.handlePacket(6001, 'ens32', advert(M1, 100));
    expect(drain(engine)).toEqual([]);
  });
});

describe('engine: drain (docs/protocol.md#drain)', () => {
  it('a drained MASTER says goodbye with priority 0, removes its VIP and stays in FAULT (cause drained) until undrained', () => {
    const { engine } = started();
    fire(engine);
    expect(engine.machine('VI_1')?.state).toBe('MASTER');
    const next = engine.nextDrain(true);
    expect(next).toEqual({ all: true, instances: [] });
    expect(engine.applyDrain(5000, next)).toEqual({ drained: ['VI_1'], undrained: [] });
    const commands = drain(engine, 5000);
    expect(words(commands, true)).toEqual(['log drained: out of elections until vrrpd undrain', 'send 0 to 10.0.0.51', 'remove_vips 10.0.0.50', 'log MASTER -> FAULT (fault: drained)', 'notify FAULT']);
    const transition = commands.find((c) => c.type === 'log' && c.transition !== undefined);
    expect(transition?.type === 'log' && transition.fields.fault_causes).toEqual(['drained']);
    expect(engine.status(5000, () => '').instances[0]).toMatchObject({ state: 'FAULT', fault_causes: ['drained'], drained: true });
    // Nothing brings it back: not the timer (there is none in FAULT), not a lower-priority peer.
    expect(engine.nextDeadline()).toBe(Number.POSITIVE_INFINITY);
    engine.handlePacket(6000, 'ens32', advert(M1, 50));
    expect(words(drain(engine, 6000), true)).toEqual(['log dropped advert: not_ready']);
    expect(engine.machine('VI_1')?.state).toBe('FAULT');
    expect(engine.applyDrain(7000, engine.nextDrain(false))).toEqual({ drained: [], undrained: ['VI_1'] });
    expect(words(drain(engine, 7000), true)).toEqual(['log undrained: back in elections', 'log FAULT -> BACKUP (fault_cleared)', 'notify BACKUP']);
    expect(engine.status(7000, () => '').instances[0]).toMatchObject({ state: 'BACKUP', fault_causes: [], drained: false });
  });

  it('undraining does not clear another fault cause', () => {
    const engine = new Engine();
    engine.start(0, plan(), { interfaces: new Map([['ens32', { address: M2, up: false, exists: true }]]), capabilities: undefined });
    drain(engine);
    engine.applyDrain(10, engine.nextDrain(true, 'VI_1'));
    engine.applyDrain(20, engine.nextDrain(false, 'VI_1'));
    expect(engine.machine('VI_1')?.state).toBe('FAULT');
    expect(engine.machine('VI_1')?.faultCauses).toEqual(['interface:ens32']);
  });

  it('a drained node starts in FAULT before its machine runs: not one MASTER command, even as the address owner', () => {
    const owner = CONFIG.replace('priority: 99', 'priority: 255').replace('    weight: -20\n', '    weight: 0\n');
    const engine = new Engine();
    engine.restoreDrain({ all: false, instances: ['VI_1'] });
    engine.start(0, plan(owner), UP);
    const commands = drain(engine);
    expect(words(commands).filter((w) => /^(send|add_vips|garp)/.test(w))).toEqual([]);
    expect(engine.machine('VI_1')?.state).toBe('FAULT');
    expect(engine.machine('VI_1')?.lastTransition).toMatchObject({ from: 'INIT', to: 'FAULT' });
    expect(() => engine.restoreDrain({ all: false, instances: [] })).toThrow(/before start/);
  });

  it('a drain of all covers instances a reload adds; undraining one of them leaves the others drained by name', () => {
    const { engine } = started();
    engine.applyDrain(100, engine.nextDrain(true));
    const two = `${CONFIG}  VI_2:\n    interface: ens32\n    virtual_router_id: 52\n    priority: 99\n    unicast_src_ip: 10.0.0.52\n    unicast_peer: [10.0.0.51]\n    virtual_ipaddress: [10.0.0.60]\n`;
    engine.reload(200, plan(two), UP);
    drain(engine, 200);
    expect(engine.machine('VI_2')?.faultCauses).toEqual(['drained']);
    const next = engine.nextDrain(false, 'VI_1');
    expect(next).toEqual({ all: false, instances: ['VI_2'] });
    engine.applyDrain(300, next);
    expect(engine.machine('VI_1')?.state).toBe('BACKUP');
    expect(engine.machine('VI_2')?.state).toBe('FAULT');
    expect(() => engine.nextDrain(true, 'VI_7')).toThrow(/no instance named 'VI_7'/);
  });

  it('the status table says an instance is drained', () => {
    const { engine } = started();
    engine.applyDrain(100, engine.nextDrain(true));
    const table = formatStatusTable({ pid: 1, config_file: 'x', started_at: '', ...engine.status(100, () => 't') });
    expect(table).toMatch(/VI_1 drained: out of elections until 'vrrpd undrain'/);
  });
});

describe('engine: track files (docs/protocol.md#track-files)', () => {
  const withFiles = (instanceTracks: string, files: string): string =>
    `${files}${CONFIG.replace('    track_script: [check]\n', `    track_script: [check]\n${instanceTracks}`)}`;
  const FILES = `vrrp_track_file:
  maint:
    file: /etc/vrrpd/maint
    weight: 0
  prio:
    file: /run/prio
    weight: 5
`;

  it('the host is asked to watch each tracked file before any instance starts; a weight-0 file holding 1 starts the instance in FAULT', () => {
    const engine = new Engine();
    engine.start(0, plan(withFiles('    track_file: [maint, prio]\n', FILES)), UP);
    const first: HostCommand[] = [];
    for (let c = engine.pollCommand(0); c !== undefined; c = engine.pollCommand(0)) {
      first.push(c);
      // The host reads at once, as the real one does.
      if (c.type === 'watch_file') engine.handleTrackFile(0, c.file.name, c.file.name === 'maint' ? '1\n' : '2\n');
    }
    expect(words(first).filter((w) => w.startsWith('watch_file'))).toEqual(['watch_file maint /etc/vrrpd/maint (start)', 'watch_file prio /run/prio (start)']);
    expect(words(first)).not.toContain('notify BACKUP');
    expect(engine.machine('VI_1')?.state).toBe('FAULT');
    expect(engine.machine('VI_1')?.faultCauses).toEqual(['file:maint']);
    expect(engine.machine('VI_1')?.effectivePriority).toBe(99 + 10);
    // 0 clears it; the priority keeps the weighted file's 2 x 5.
    engine.handleTrackFile(10, 'maint', '0\n');
    expect(engine.machine('VI_1')?.state).toBe('BACKUP');
    engine.handleTrackFile(20, 'prio', '-1');
    expect(engine.machine('VI_1')?.effectivePriority).toBe(94);
    // An out-of-range number is ignored and logged; the value stays.
    engine.handleTrackFile(30, 'prio', '99999999999');
    expect(engine.machine('VI_1')?.effectivePriority).toBe(94);
    expect(words(drain(engine, 30), true)).toContain('log track file prio: invalid number read from /run/prio; ignoring it');
    // Weighted down to -254 is FAULT too.
    engine.handleTrackFile(40, 'prio', '-60');
    expect(engine.machine('VI_1')?.faultCauses).toEqual(['file:prio']);
    expect(engine.status(40, () => '').instances[0]!.trackers).toEqual([
      { name: 'script:check', weight: -20, status: 'unknown' },
      { name: 'interface:ens32', weight: 0, status: 'ok' },
      { name: 'file:maint', weight: 0, status: 'ok' },
      { name: 'file:prio', weight: 5, status: 'failed' },
    ]);
  });

  it('a MASTER whose weight-0 file turns non-zero says goodbye and removes its VIP', () => {
    const engine = new Engine();
    engine.start(0, plan(withFiles('    track_file: [maint]\n', FILES)), UP);
    drain(engine);
    fire(engine);
    expect(engine.machine('VI_1')?.state).toBe('MASTER');
    engine.handleTrackFile(5000, 'maint', '1');
    expect(words(drain(engine, 5000))).toEqual(['send 0 to 10.0.0.51', 'remove_vips 10.0.0.50', 'notify FAULT']);
  });

  it('the instance entry\'s weight overrides the file\'s; a reload that drops the file unwatches it and lifts its fault', () => {
    const engine = new Engine();
    engine.start(0, plan(withFiles('    track_file:\n      - { name: maint, weight: -10 }\n', FILES)), UP);
    drain(engine);
    engine.handleTrackFile(0, 'maint', '1');
    expect(engine.machine('VI_1')?.effectivePriority).toBe(89);
    expect(engine.machine('VI_1')?.state).toBe('BACKUP');
    engine.reload(100, plan(withFiles('    track_file: [maint]\n', FILES)), UP);
    expect(engine.machine('VI_1')?.faultCauses).toEqual(['file:maint']);
    drain(engine, 100);
    engine.reload(200, plan(CONFIG), UP);
    expect(words(drain(engine, 200))).toContain('unwatch_file maint');
    expect(engine.machine('VI_1')?.faultCauses).toEqual([]);
    expect(engine.machine('VI_1')?.effectivePriority).toBe(99);
  });
});

describe('engine: sync groups (docs/protocol.md#sync-groups)', () => {
  const GROUP = `
vrrp_script:
  check:
    script: /bin/true
    interval: 1
vrrp_instance:
  VI_1:
    state: BACKUP
    interface: ens32
    virtual_router_id: 51
    priority: 99
    authentication: { auth_type: PASS, auth_pass: "123456" }
    unicast_src_ip: 10.0.0.52
    unicast_peer: [10.0.0.51]
    track_script: [check]
    virtual_ipaddress: [10.0.0.50 dev ens32]
  VI_2:
    state: BACKUP
    interface: ens32
    virtual_router_id: 52
    priority: 99
    authentication: { auth_type: PASS, auth_pass: "123456" }
    unicast_src_ip: 10.0.0.52
    unicast_peer: [10.0.0.51]
    virtual_ipaddress: [10.0.0.60 dev ens32]
vrrp_sync_group:
  VG_1:
    group: [VI_1, VI_2]
    notify_master: /etc/vrrpd/group-master
    notify: /etc/vrrpd/group-notify
`;
  const groupNotifies = (commands: readonly HostCommand[]): string[] =>
    commands.flatMap((c) => (c.type === 'notify' && c.group === true ? [`${c.instance} ${c.state} ${c.priority} ${Object.keys(c.commands).join(',')}`] : []));
  const instanceMoves = (commands: readonly HostCommand[]): string[] =>
    commands.flatMap((c) => (c.type === 'log' && c.transition !== undefined ? [`${c.transition.instance} ${c.transition.from}>${c.transition.to} ${c.transition.reason}`] : []));

  it('the group settles in BACKUP at start (one group notify), goes MASTER with both members, and says so in status', () => {
    const { engine, first } = started(GROUP);
    expect(groupNotifies(first)).toEqual(['VG_1 BACKUP 0 notify_master,notify']);
    const moved = fire(engine);
    // Both are due together: VI_1 first finds VI_2 not wanting MASTER yet and waits (keepalived's
    // vrrp_sync_can_goto_master); VI_2 then finds VI_1 wanting it, goes, and the group takes VI_1.
    expect(instanceMoves(moved)).toEqual(['VI_2 BACKUP>MASTER master_down_timer', 'VI_1 BACKUP>MASTER sync_group']);
    expect(words(moved, true)).toContain('log sync group VG_1: syncing instances to MASTER');
    expect(groupNotifies(moved)).toEqual(['VG_1 MASTER 0 notify_master,notify']);
    const status = engine.status(5000, () => 'now');
    expect(status.sync_groups).toEqual([{ name: 'VG_1', state: 'MASTER', members: ['VI_1', 'VI_2'] }]);
    expect(status.instances.map((i) => i.sync_group)).toEqual([{ name: 'VG_1', state: 'MASTER' }, { name: 'VG_1', state: 'MASTER' }]);
    expect(formatStatusTable({ pid: 1, config_file: 'x', started_at: 'now', ...status })).toContain('sync group VG_1: MASTER (VI_1, VI_2)');
  });

  it('a member in FAULT puts the other in FAULT with its own goodbye; when it recovers both go BACKUP together', () => {
    const { engine } = started(GROUP);
    fire(engine);
    engine.handleCheckResult(6000, 'script:check', false, 'exit 1');
    const fault = drain(engine, 6000);
    expect(words(fault).filter((w) => w.startsWith('send') || w.startsWith('remove'))).toEqual(['send 0 to 10.0.0.51', 'remove_vips 10.0.0.50', 'send 0 to 10.0.0.51', 'remove_vips 10.0.0.60']);
    expect(instanceMoves(fault)).toEqual(['VI_1 MASTER>FAULT fault', 'VI_2 MASTER>FAULT fault']);
    expect(groupNotifies(fault)).toEqual(['VG_1 FAULT 0 notify_master,notify']);
    expect(engine.machine('VI_2')!.faultCauses).toEqual(['sync_group:VG_1']);
    engine.handleCheckResult(7000, 'script:check', true, 'exit 0');
    const back = drain(engine, 7000);
    expect(instanceMoves(back)).toEqual(['VI_1 FAULT>BACKUP fault_cleared', 'VI_2 FAULT>BACKUP fault_cleared']);
    expect(groupNotifies(back)).toEqual(['VG_1 BACKUP 0 notify_master,notify']);
  });

  it('a higher priority for one member takes the other to BACKUP too, without a goodbye', () => {
    const { engine } = started(GROUP);
    fire(engine);
    engine.handlePacket(6000, 'ens32', advert(M1, 150, 51));
    const commands = drain(engine, 6000);
    expect(instanceMoves(commands)).toEqual(['VI_1 MASTER>BACKUP higher_priority_advert', 'VI_2 MASTER>BACKUP sync_group']);
    // No goodbye: each member's parting advert at its own priority (VI_1's on the higher advert,
    // VI_2's on the group's step-down), so both winners re-send their GARP/NA burst.
    expect(words(commands).filter((w) => w.startsWith('send'))).toEqual(['send 99 to 10.0.0.51', 'send 99 to 10.0.0.51']);
    expect(groupNotifies(commands)).toEqual(['VG_1 BACKUP 0 notify_master,notify']);
  });

  it('a reload that removes the group lets the member held only by it leave FAULT; one that adds it back holds it again', () => {
    const { engine } = started(GROUP);
    fire(engine);
    engine.handleCheckResult(6000, 'script:check', false, 'exit 1');
    drain(engine, 6000);
    const ungrouped = GROUP.slice(0, GROUP.indexOf('vrrp_sync_group:'));
    engine.reload(7000, plan(ungrouped), UP);
    const out = drain(engine, 7000);
    expect(instanceMoves(out)).toEqual(['VI_2 FAULT>BACKUP fault_cleared']);
    expect(engine.status(7000, () => 'now').sync_groups).toEqual([]);
    engine.reload(8000, plan(GROUP), UP);
    const again = drain(engine, 8000);
    expect(instanceMoves(again)).toEqual(['VI_2 BACKUP>FAULT fault']);
    expect(groupNotifies(again)).toEqual(['VG_1 FAULT 0 notify_master,notify']);
  });

  it('shutdown: the group notifies STOP after its members', () => {
    const { engine } = started(GROUP);
    engine.shutdown(100);
    expect(groupNotifies(drain(engine, 100))).toEqual(['VG_1 STOP 0 notify_master,notify']);
  });
});
