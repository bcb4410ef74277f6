/**
 * Peers in status and peer-list reloads, at the engine: what each instance heard from whom, the
 * bound on senders it lists, and a reload that adds or removes a unicast peer changing nothing but
 * where the adverts go (docs/protocol.md#peers-in-status).
 */
import { describe, expect, it } from 'vitest';
import { encodeAdvert, encodeIpv4Packet, passwordToAuthData } from '../../src/core/codec.js';
import { formatIp, parseIpv4, VRRP_MULTICAST_GROUP, type Ipv4 } from '../../src/core/ip.js';
import { Engine, type HostCommand, type HostFacts } from '../../src/daemon/engine.js';
import { MAX_HEARD_SENDERS } from '../../src/daemon/peers.js';
import { formatStatusTable, type InstanceStatus } from '../../src/daemon/status.js';
import { planOf } from './plans.js';

const M1 = parseIpv4('10.0.0.51') as Ipv4;
const M2 = parseIpv4('10.0.0.52') as Ipv4;
const M3 = parseIpv4('10.0.0.53') as Ipv4;
const VIP = parseIpv4('10.0.0.50') as Ipv4;

function config(peers: string, extra = ''): string {
  return `
vrrp_instance:
  VI_1:
    state: BACKUP
    interface: ens32
    virtual_router_id: 51
    priority: 99
    authentication: { auth_type: PASS, auth_pass: "123456" }
    unicast_src_ip: 10.0.0.52
${peers}${extra}    virtual_ipaddress: [10.0.0.50 dev ens32]
`;
}

const UP: HostFacts = { interfaces: new Map([['ens32', { address: M2, up: true, exists: true }]]), capabilities: undefined };

function drain(engine: Engine, nowMs = 0): HostCommand[] {
  const commands: HostCommand[] = [];
  for (let c = engine.pollCommand(nowMs); c !== undefined; c = engine.pollCommand(nowMs)) commands.push(c);
  return commands;
}

function advert(from: Ipv4, priority: number, to: Ipv4 = M2, password = '123456'): Uint8Array {
  const payload = encodeAdvert({ version: 2, type: 1, virtualRouterId: 51, priority, authType: 1, advertIntervalSec: 1, addresses: [VIP], authData: passwordToAuthData(password).authData });
  return encodeIpv4Packet({ source: from, destination: to, ttl: 255, tos: 0xc0, id: 1 }, payload);
}

function started(text: string): Engine {
  const engine = new Engine();
  engine.start(0, planOf(text), UP);
  drain(engine);
  return engine;
}

function instance(engine: Engine, nowMs: number): InstanceStatus {
  return engine.status(nowMs, () => 'now').instances[0]!;
}

/** Fire the engine's timer on time at its deadline. */
function fire(engine: Engine): HostCommand[] {
  const deadline = engine.nextDeadline();
  expect(engine.handleTimer(deadline, deadline)).toBe('decided');
  return drain(engine, deadline);
}

describe('peers in status', () => {
  it('each configured peer is listed; never heard is silent with null fields; a heard one shows priority, age, interval and path', () => {
    const engine = started(config('    unicast_peer: [10.0.0.51, 10.0.0.53]\n'));
    expect(instance(engine, 10).peers).toEqual([
      { address: '10.0.0.51', configured: true, silent: true, priority: null, age_ms: null, advert_interval_ms: null, path: null },
      { address: '10.0.0.53', configured: true, silent: true, priority: null, age_ms: null, advert_interval_ms: null, path: null },
    ]);
    engine.handlePacket(100, 'ens32', advert(M1, 100));
    engine.handlePacket(200, 'ens32', advert(M3, 90), 'udp');
    const peers = instance(engine, 700).peers;
    expect(peers).toEqual([
      { address: '10.0.0.51', configured: true, silent: false, priority: 100, age_ms: 600, advert_interval_ms: 1000, path: 'vrrp' },
      { address: '10.0.0.53', configured: true, silent: false, priority: 90, age_ms: 500, advert_interval_ms: 1000, path: 'udp' },
    ]);
    // The age grows; past three of its intervals the peer is silent and keeps its last advert.
    expect(instance(engine, 3200).peers[1]).toMatchObject({ silent: false, priority: 90, age_ms: 3000 });
    expect(instance(engine, 3300).peers[1]).toMatchObject({ silent: true, priority: 90, age_ms: 3100 });
    const table = formatStatusTable({ pid: 1, config_file: 'f', started_at: '', event_loop_lag_ms: 0, last_reload_error: null, interface_dropped: {}, instances: [instance(engine, 3300)] });
    expect(table).toContain('VI_1 peers: 10.0.0.51 silent 3.2s (last prio 100), 10.0.0.53 silent 3.1s (last prio 90 via udp)');
  });

  it('only adverts the instance accepted count: a bad password or a non-peer (check_unicast_src) leaves the table alone', () => {
    const engine = started(config('    unicast_peer: [10.0.0.51]\n'));
    engine.handlePacket(100, 'ens32', advert(M1, 100, M2, 'wrong'));
    engine.handlePacket(100, 'ens32', advert(M3, 200));
    expect(instance(engine, 200).peers).toEqual([{ address: '10.0.0.51', configured: true, silent: true, priority: null, age_ms: null, advert_interval_ms: null, path: null }]);
    expect(instance(engine, 200).dropped).toEqual({ auth_failure: 1, unknown_peer: 1 });
  });

  it('multicast senders are listed as heard, most recent first, and a flood of sources is capped and counted', () => {
    const engine = started(config(''));
    engine.handlePacket(10, 'ens32', advert(M1, 100, VRRP_MULTICAST_GROUP));
    const flood = 3 * MAX_HEARD_SENDERS;
    for (let i = 0; i < flood; i++) engine.handlePacket(20 + i, 'ens32', advert((parseIpv4('10.9.0.1') as Ipv4) + i, 50, VRRP_MULTICAST_GROUP));
    // The real master advertises again: it is listed (the sender heard longest ago went instead).
    engine.handlePacket(1000, 'ens32', advert(M1, 100, VRRP_MULTICAST_GROUP));
    const status = instance(engine, 1000);
    expect(status.peers).toHaveLength(MAX_HEARD_SENDERS);
    expect(status.peers[0]).toMatchObject({ address: '10.0.0.51', configured: false, priority: 100, age_ms: 0 });
    expect(status.peers.every((p) => !p.configured)).toBe(true);
    // 1 + flood senders went into a list of MAX_HEARD_SENDERS; the master came back as a new one.
    expect(status.peers_not_shown).toBe(1 + flood + 1 - MAX_HEARD_SENDERS);
    expect(formatStatusTable({ pid: 1, config_file: 'f', started_at: '', event_loop_lag_ms: 0, last_reload_error: null, interface_dropped: {}, instances: [status] })).toContain(
      `(+${status.peers_not_shown} senders not shown)`,
    );
  });
});

describe('reload that adds or removes a unicast peer', () => {
  it('a MASTER keeps its state and timers, says no goodbye, and its next advert goes to the new peer too', () => {
    const engine = started(config('    unicast_peer: [10.0.0.51]\n'));
    fire(engine); // Master_Down: MASTER
    expect(engine.machine('VI_1')?.state).toBe('MASTER');
    engine.handlePacket(1000, 'ens32', advert(M1, 50)); // a lower priority heard: the peer table has it
    drain(engine, 1000);
    const deadline = engine.nextDeadline();
    const transitions = instance(engine, 1000).last_transition;
    const summary = engine.reload(deadline - 500, planOf(config('    unicast_peer: [10.0.0.51, 10.0.0.53]\n')), UP);
    expect(summary.removed).toEqual([]);
    expect(summary.added).toEqual([]);
    const commands = drain(engine, deadline - 500);
    expect(commands.filter((c) => c.type !== 'log').map((c) => c.type)).toEqual([]);
    expect(engine.machine('VI_1')?.state).toBe('MASTER');
    expect(engine.nextDeadline()).toBe(deadline);
    expect(instance(engine, deadline - 500).last_transition).toEqual(transitions);
    // What was heard from the peer that stays is kept; the new one is listed, never heard.
    expect(instance(engine, deadline - 500).peers.map((p) => [p.address, p.priority])).toEqual([['10.0.0.51', 50], ['10.0.0.53', null]]);
    const sends = fire(engine).filter((c): c is Extract<HostCommand, { type: 'send' }> => c.type === 'send');
    expect(sends.map((c) => [c.priority, c.destinations.map(formatIp)])).toEqual([[99, ['10.0.0.51', '10.0.0.53']]]);

    // And back: removing the peer is as quiet.
    engine.reload(deadline + 100, planOf(config('    unicast_peer: [10.0.0.51]\n')), UP);
    expect(drain(engine, deadline + 100).filter((c) => c.type !== 'log')).toEqual([]);
    expect(engine.machine('VI_1')?.state).toBe('MASTER');
    expect(instance(engine, deadline + 100).peers.map((p) => p.address)).toEqual(['10.0.0.51']);
    const next = fire(engine).filter((c): c is Extract<HostCommand, { type: 'send' }> => c.type === 'send');
    expect(next.map((c) => c.destinations.map(formatIp))).toEqual([['10.0.0.51']]);
  });

  it('a BACKUP keeps its Master_Down timer across the reload', () => {
    const engine = started(config('    unicast_peer: [10.0.0.51]\n'));
    engine.handlePacket(100, 'ens32', advert(M1, 100));
    drain(engine, 100);
    const deadline = engine.nextDeadline();
    engine.reload(500, planOf(config('    unicast_peer: [10.0.0.51, 10.0.0.53]\n')), UP);
    expect(drain(engine, 500).filter((c) => c.type !== 'log')).toEqual([]);
    expect(engine.machine('VI_1')?.state).toBe('BACKUP');
    expect(engine.nextDeadline()).toBe(deadline);
  });
});

describe('unicast_fault_no_peer', () => {
  const NO_PEER = '    unicast_fault_no_peer: true\n';

  it('with no peer the instance is FAULT (no_unicast_peer) and the interface opens without multicast; without the keyword it multicasts', () => {
    const engine = new Engine();
    engine.start(0, planOf(config('', NO_PEER)), UP);
    const commands = drain(engine);
    expect(commands.filter((c) => c.type === 'open_transport')).toEqual([{ type: 'open_transport', ifname: 'ens32', multicast: false }]);
    expect(engine.machine('VI_1')?.state).toBe('FAULT');
    expect(engine.machine('VI_1')?.faultCauses).toEqual(['no_unicast_peer']);
    expect(engine.nextDeadline()).toBe(Number.POSITIVE_INFINITY); // never times out into MASTER

    const plain = new Engine();
    plain.start(0, planOf(config('')), UP);
    expect(drain(plain).filter((c) => c.type === 'open_transport')).toEqual([{ type: 'open_transport', ifname: 'ens32', multicast: true }]);
    expect(plain.machine('VI_1')?.state).toBe('BACKUP');
  });

  it('with peers the keyword changes nothing; a reload that removes the last peer of a MASTER says goodbye to it and stays FAULT; one that adds a peer lifts it', () => {
    const engine = started(config('    unicast_peer: [10.0.0.51]\n', NO_PEER));
    fire(engine);
    expect(engine.machine('VI_1')?.state).toBe('MASTER');
    engine.reload(5000, planOf(config('', NO_PEER)), UP);
    const commands = drain(engine, 5000);
    const sends = commands.filter((c): c is Extract<HostCommand, { type: 'send' }> => c.type === 'send');
    expect(sends.map((c) => [c.priority, c.destinations.map(formatIp)])).toEqual([[0, ['10.0.0.51']]]);
    expect(commands.some((c) => c.type === 'remove_vips')).toBe(true);
    expect(engine.machine('VI_1')?.state).toBe('FAULT');
    expect(engine.machine('VI_1')?.faultCauses).toEqual(['no_unicast_peer']);
    engine.reload(6000, planOf(config('    unicast_peer: [10.0.0.53]\n', NO_PEER)), UP);
    drain(engine, 6000);
    expect(engine.machine('VI_1')?.state).toBe('BACKUP');
    expect(engine.machine('VI_1')?.faultCauses).toEqual([]);
  });
});
