/**
 * The UDP mirror's decisions at the engine (docs/protocol.md#udp-mirror): where it listens, that
 * every unicast advert is mirrored right behind its protocol 112 copy, the checks on a datagram
 * (not_peer, replay) and that an accepted one meets the same receive checks and dispatch, that the
 * same advert over both paths is taken once, the UDP-only warning, and the replay floors that a
 * restart gets back from the state directory.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeAdvert, encodeIpv4Packet, passwordToAuthData } from '../../src/core/codec.js';
import { formatIp, formatIpv4, parseIpv4, type Ipv4 } from '../../src/core/ip.js';
import { Engine, type HostCommand, type HostFacts } from '../../src/daemon/engine.js';
import { formatStatusTable } from '../../src/daemon/status.js';
import type { MirrorDecodeResult } from '../../src/io/mirror.js';
import { planOf } from './plans.js';

const M1 = parseIpv4('10.0.0.51') as Ipv4;
const M2 = parseIpv4('10.0.0.52') as Ipv4;
const M3 = parseIpv4('10.0.0.53') as Ipv4;
const STRANGER = parseIpv4('10.0.0.99') as Ipv4;
const VIP = parseIpv4('10.0.0.50') as Ipv4;
const ENDPOINT = { ifname: 'ens32', address: M2 };
const WARNING = 'adverts from 10.0.0.51 arrive only over the UDP mirror: protocol 112 is being dropped';

const MIRROR = `vrrpd:
  udp_mirror: { port: 9651, key_file: /etc/vrrpd/mirror.key }
`;

function config(priority: number, mirror = true): string {
  return `${mirror ? MIRROR : ''}vrrp_instance:
  VI_1:
    state: BACKUP
    interface: ens32
    virtual_router_id: 51
    priority: ${priority}
    authentication: { auth_type: PASS, auth_pass: "123456" }
    unicast_src_ip: 10.0.0.52
    unicast_peer: [10.0.0.51, 10.0.0.53]
    virtual_ipaddress: [10.0.0.50 dev ens32]
`;
}

const UP: HostFacts = { interfaces: new Map([['ens32', { address: M2, up: true, exists: true }]]), capabilities: undefined };

function drain(engine: Engine, nowMs = 0): HostCommand[] {
  const commands: HostCommand[] = [];
  for (let c = engine.pollCommand(nowMs); c !== undefined; c = engine.pollCommand(nowMs)) commands.push(c);
  return commands;
}

function words(commands: readonly HostCommand[]): string[] {
  return commands.flatMap((c): string[] => {
    switch (c.type) {
      case 'send':
        return [`send ${c.priority} to ${c.destinations.map(formatIp).join(',')}`];
      case 'mirror_send':
        return [`mirror_send to ${c.destinations.map(formatIpv4).join(',')}`];
      case 'mirror_listen':
        return [`mirror_listen :${c.port} ${c.endpoints.map((e) => `${e.ifname}/${formatIpv4(e.address)}`).join(',')}`];
      case 'garp':
        return [`garp (${c.why})`];
      case 'add_vips':
      case 'remove_vips':
        return [c.type];
      case 'open_transport':
        return [`open_transport ${c.ifname}`];
      case 'close_transport':
        return [`close_transport ${c.ifname}`];
      default:
        return [];
    }
  });
}

/** The VRRP message of an advert from a peer (PASS 123456, VRID 51, the VIP). */
function message(priority: number, password = '123456'): Uint8Array {
  return encodeAdvert({ version: 2, type: 1, virtualRouterId: 51, priority, authType: 1, advertIntervalSec: 1, addresses: [VIP], authData: passwordToAuthData(password).authData });
}

/** The same advert as protocol 112 delivers it (the kernel's IPv4 header). */
function packet(from: Ipv4, priority: number): Uint8Array {
  return encodeIpv4Packet({ source: from, destination: M2, ttl: 255, tos: 0xc0, id: 7 }, message(priority));
}

function accepted(counter: bigint, priority: number, password?: string): MirrorDecodeResult {
  return { ok: true, counter, advert: message(priority, password) };
}

function started(priority = 99, mirror = true): { engine: Engine; first: HostCommand[] } {
  const engine = new Engine();
  engine.start(0, planOf(config(priority, mirror)), UP);
  return { engine, first: drain(engine) };
}

function fire(engine: Engine): { at: number; commands: HostCommand[] } {
  const at = engine.nextDeadline();
  expect(engine.handleTimer(at, at)).toBe('decided');
  return { at, commands: drain(engine, at) };
}

function toMaster(engine: Engine): number {
  let at = 0;
  for (let i = 0; i < 10 && engine.machine('VI_1')!.state !== 'MASTER'; i++) at = fire(engine).at;
  expect(engine.machine('VI_1')!.state).toBe('MASTER');
  return at;
}

function mirrorStatus(engine: Engine, nowMs: number) {
  const status = engine.status(nowMs, () => '');
  return { mirror: status.udp_mirror!, instance: status.instances[0]! };
}

describe('the UDP mirror at the engine', () => {
  it('listens on the unicast source address once the transport is asked for, and not at all without udp_mirror', () => {
    const { first } = started();
    expect(words(first)).toEqual(['open_transport ens32', 'mirror_listen :9651 ens32/10.0.0.52']);
    expect(words(started(99, false).first)).toEqual(['open_transport ens32']);
    expect(started(99, false).engine.status(0, () => '').udp_mirror).toBeNull();
  });

  it('mirrors every advert to the peers right behind its protocol 112 copy, the goodbye too, and closes the mirror after it', () => {
    const { engine } = started(150);
    const becoming = drain(engine);
    expect(becoming).toEqual([]);
    let sends: HostCommand[] = [];
    for (let i = 0; i < 6; i++) sends = sends.concat(fire(engine).commands);
    const list = words(sends).filter((w) => w.startsWith('send') || w.startsWith('mirror_send'));
    expect(list.length).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < list.length; i += 2) {
      expect(list[i]).toMatch(/^send \d+ to 10\.0\.0\.51,10\.0\.0\.53$/);
      expect(list[i + 1]).toBe('mirror_send to 10.0.0.51,10.0.0.53');
    }
    // The mirrored payload is the very advert sent over protocol 112, from the unicast source.
    const send = sends.find((c) => c.type === 'send') as Extract<HostCommand, { type: 'send' }>;
    const mirrored = sends[sends.indexOf(send) + 1] as Extract<HostCommand, { type: 'mirror_send' }>;
    expect(mirrored).toMatchObject({ type: 'mirror_send', source: M2, payload: send.payload });
    engine.shutdown(100_000);
    expect(words(drain(engine, 100_000))).toEqual([
      'send 0 to 10.0.0.51,10.0.0.53',
      'mirror_send to 10.0.0.51,10.0.0.53',
      'remove_vips',
      'close_transport ens32',
      'mirror_listen :9651 ',
    ]);
    expect(engine.status(100_000, () => '').udp_mirror!.sent).toBe(list.length + 2);
  });

  it('hands an accepted datagram on exactly as protocol 112 would: same receive checks, same Master_Down', () => {
    const overUdp = started().engine;
    const overVrrp = started().engine;
    overUdp.handleMirrorDatagram(500, ENDPOINT, M1, accepted(10n, 100));
    overVrrp.handlePacket(500, 'ens32', packet(M1, 100));
    // The risen floor is saved first, before anything the advert causes; then the same commands.
    const [save, ...rest] = drain(overUdp, 500);
    expect(save).toEqual({ type: 'mirror_floors', floors: new Map([[M1, 10n]]) });
    expect(rest).toEqual(drain(overVrrp, 500));
    expect(overUdp.nextDeadline()).toBe(overVrrp.nextDeadline());
    expect(overUdp.machine('VI_1')!.stats.advertsReceived).toBe(1);
    expect(overUdp.machine('VI_1')!.masterAddress).toBe(M1);
    // A wrong password is the receive checks' drop, not the mirror's.
    overUdp.handleMirrorDatagram(600, ENDPOINT, M1, accepted(11n, 100, 'wrong'));
    const { mirror, instance } = mirrorStatus(overUdp, 600);
    expect(instance.dropped).toEqual({ auth_failure: 1 });
    expect(mirror).toMatchObject({ received: 2, accepted: 2, dropped: {} });
  });

  it('drops replays (a counter at or below the last from that sender), non-peers and what the decoder refused, counted by reason, logged once per reason per window', () => {
    const { engine } = started();
    engine.handleMirrorDatagram(10, ENDPOINT, M1, accepted(100n, 100));
    engine.handleMirrorDatagram(20, ENDPOINT, M1, accepted(100n, 100));
    engine.handleMirrorDatagram(30, ENDPOINT, M1, accepted(99n, 100));
    // Another sender has its own floor.
    engine.handleMirrorDatagram(40, ENDPOINT, M3, accepted(5n, 50));
    engine.handleMirrorDatagram(50, ENDPOINT, STRANGER, accepted(1000n, 100));
    // A peer of the instance, but the datagram came to an address the instance does not send from.
    engine.handleMirrorDatagram(60, { ifname: 'ens32', address: STRANGER }, M1, accepted(1000n, 100));
    drain(engine, 60);
    for (let i = 0; i < 100; i++) engine.handleMirrorDatagram(100 + i, ENDPOINT, M1, { ok: false, reason: 'bad_tag' });
    for (const reason of ['too_short', 'too_long', 'bad_magic', 'bad_version'] as const) engine.handleMirrorDatagram(300, ENDPOINT, M1, { ok: false, reason });
    const logs = drain(engine, 300).filter((c) => c.type === 'log');
    expect(logs.map((c) => (c as unknown as { fields: { reason: string } }).fields.reason)).toEqual(['bad_tag', 'too_short', 'too_long', 'bad_magic', 'bad_version']);
    engine.handleMirrorDatagram(10_200, ENDPOINT, M1, { ok: false, reason: 'bad_tag' });
    const again = drain(engine, 10_200).filter((c) => c.type === 'log');
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ fields: { reason: 'bad_tag', suppressed: 99, total: 101 } });
    const { mirror, instance } = mirrorStatus(engine, 10_200);
    expect(mirror).toEqual({ port: 9651, sent: 0, received: 111, accepted: 2, duplicates: 0, dropped: { replay: 2, not_peer: 2, bad_tag: 101, too_short: 1, too_long: 1, bad_magic: 1, bad_version: 1 }, floor_save_failures: 0 });
    expect(instance.adverts_received).toBe(2);
    // The floor moves only with accepted datagrams: the next counter is taken.
    engine.handleMirrorDatagram(10_300, ENDPOINT, M1, accepted(101n, 100));
    expect(mirrorStatus(engine, 10_300).mirror.accepted).toBe(3);
    expect(formatStatusTable({ pid: 1, config_file: 'f', started_at: '', ...engine.status(10_300, () => '') })).toMatch(
      /udp mirror :9651: sent 0, received 112, accepted 3, duplicates 0, dropped replay=2 not_peer=2 bad_tag=101/,
    );
  });

  it('takes the same advert over both paths once: a BACKUP counts it once and its Master_Down runs from the first copy', () => {
    for (const [first, second] of [['vrrp', 'udp'], ['udp', 'vrrp']] as const) {
      const { engine } = started();
      const deliver = (path: 'vrrp' | 'udp', at: number, counter: bigint): void => {
        if (path === 'vrrp') engine.handlePacket(at, 'ens32', packet(M1, 100));
        else engine.handleMirrorDatagram(at, ENDPOINT, M1, accepted(counter, 100));
      };
      deliver(first, 1_000, 1n);
      drain(engine, 1_000);
      const deadline = engine.nextDeadline();
      deliver(second, 1_001, 1n);
      // Nothing but the floor's save when the copy came over the mirror.
      expect(drain(engine, 1_001).filter((c) => c.type !== 'mirror_floors')).toEqual([]);
      expect(engine.nextDeadline()).toBe(deadline);
      const { mirror, instance } = mirrorStatus(engine, 1_001);
      expect(instance.adverts_received).toBe(1);
      expect(mirror.duplicates).toBe(1);
      // The next advert, a second later, is a new one over either path.
      deliver(second, 2_000, 2n);
      expect(mirrorStatus(engine, 2_000).instance.adverts_received).toBe(2);
    }
  });

  it('a MASTER that hears a lower priority over both paths answers with one advert and one GARP burst, not two', () => {
    const { engine } = started(150);
    const at = toMaster(engine) + 10;
    drain(engine, at);
    engine.handlePacket(at, 'ens32', packet(M1, 100));
    engine.handleMirrorDatagram(at + 1, ENDPOINT, M1, accepted(1n, 100));
    const answer = words(drain(engine, at + 1));
    expect(answer.filter((w) => w.startsWith('garp'))).toEqual(['garp (lower_priority_advert)']);
    expect(answer.filter((w) => w.startsWith('send'))).toHaveLength(1);
    expect(engine.machine('VI_1')!.stats.dualMasterSeen).toBe(1);
  });

  it('warns when a peer is heard only over the mirror for 3 advert intervals, counts the episode once, and clears at one advert over protocol 112', () => {
    const { engine } = started();
    let counter = 1n;
    const overUdp = (at: number): void => {
      engine.handleMirrorDatagram(at, ENDPOINT, M1, accepted(counter++, 100));
    };
    for (let at = 0; at <= 2_000; at += 1_000) overUdp(at);
    expect(engine.warnings(2_000, 'VI_1')).toEqual([]);
    overUdp(3_000);
    const logs = drain(engine, 3_000).filter((c) => c.type === 'log').map((c) => (c as unknown as { message: string }).message);
    expect(logs).toEqual([WARNING]);
    expect(mirrorStatus(engine, 3_000).instance).toMatchObject({ warnings: [WARNING], udp_only_warnings: 1 });
    for (let at = 4_000; at <= 9_000; at += 1_000) overUdp(at);
    expect(drain(engine, 9_000).filter((c) => c.type === 'log')).toEqual([]);
    expect(mirrorStatus(engine, 9_000).instance).toMatchObject({ warnings: [WARNING], udp_only_warnings: 1 });
    // One advert over protocol 112 (and its mirror copy, a duplicate) ends the episode.
    engine.handlePacket(10_000, 'ens32', packet(M1, 100));
    overUdp(10_001);
    expect(mirrorStatus(engine, 10_001).instance).toMatchObject({ warnings: [], udp_only_warnings: 1 });
    // Dropped again: a second episode after 3 more intervals.
    for (let at = 11_000; at <= 14_000; at += 1_000) overUdp(at);
    expect(mirrorStatus(engine, 14_000).instance).toMatchObject({ warnings: [WARNING], udp_only_warnings: 2 });
    // Nothing over either path any more: the warning is about adverts that still come.
    expect(engine.warnings(17_500, 'VI_1')).toEqual([]);
  });

  it('adverts over protocol 112 and the mirror both: no warning', () => {
    const { engine } = started();
    for (let i = 0; i < 10; i++) {
      engine.handlePacket(i * 1_000, 'ens32', packet(M1, 100));
      engine.handleMirrorDatagram(i * 1_000 + 1, ENDPOINT, M1, accepted(BigInt(i + 1), 100));
    }
    expect(mirrorStatus(engine, 9_001).instance).toMatchObject({ warnings: [], udp_only_warnings: 0, adverts_received: 10 });
    expect(mirrorStatus(engine, 9_001).mirror.duplicates).toBe(10);
  });

  it('a restart with the saved floors refuses what the previous run took (replays, counted; no advert reaches the instance), and takes the next counter', () => {
    // The run before the restart: two datagrams from 10.0.0.51, one from 10.0.0.53; the shell saves
    // each floor as it rises.
    const before = started().engine;
    before.handleMirrorDatagram(100, ENDPOINT, M1, accepted(1_000n, 100));
    before.handleMirrorDatagram(1_100, ENDPOINT, M1, accepted(1_001n, 100));
    before.handleMirrorDatagram(1_200, ENDPOINT, M3, accepted(50n, 98));
    const saves = drain(before, 1_200).filter((c): c is Extract<HostCommand, { type: 'mirror_floors' }> => c.type === 'mirror_floors');
    expect(saves.map((c) => c.floors)).toEqual([new Map([[M1, 1_000n]]), new Map([[M1, 1_001n]]), new Map([[M1, 1_001n], [M3, 50n]])]);
    const saved = saves.at(-1)!.floors;

    // The restart: a new engine that gets the saved floors before it starts.
    const after = new Engine();
    after.restoreMirrorFloors(saved);
    after.start(0, planOf(config(99)), UP);
    drain(after);
    for (const [from, counter] of [[M1, 1_000n], [M1, 1_001n], [M3, 50n], [M3, 7n]] as const) after.handleMirrorDatagram(10, ENDPOINT, from, accepted(counter, 150));
    expect(drain(after, 10).filter((c) => c.type !== 'log')).toEqual([]); // nothing saved, nothing sent
    const refused = mirrorStatus(after, 10);
    expect(refused.mirror).toMatchObject({ received: 4, accepted: 0, dropped: { replay: 4 } });
    expect(refused.instance.adverts_received).toBe(0);
    expect(after.machine('VI_1')!.masterAddress).toBeUndefined();
    // The peer's next real datagram (a counter above the floor) is taken, and its floor saved.
    after.handleMirrorDatagram(20, ENDPOINT, M1, accepted(1_002n, 100));
    expect(drain(after, 20)[0]).toEqual({ type: 'mirror_floors', floors: new Map([[M1, 1_002n], [M3, 50n]]) });
    expect(mirrorStatus(after, 20).instance.adverts_received).toBe(1);
    expect(after.machine('VI_1')!.masterAddress).toBe(M1);
    // Too late once started: the first datagram may already have been judged.
    expect(() => after.restoreMirrorFloors(saved)).toThrow(/before start/);
  });

  it('saves the floors of current peers only: a peer a reload removed leaves the file at the next save, and its floor stays in memory', () => {
    const { engine } = started();
    engine.handleMirrorDatagram(100, ENDPOINT, M1, accepted(10n, 100));
    engine.handleMirrorDatagram(200, ENDPOINT, M3, accepted(20n, 98));
    drain(engine, 200);
    const onlyM1 = config(99).replace('unicast_peer: [10.0.0.51, 10.0.0.53]', 'unicast_peer: [10.0.0.51]');
    engine.reload(300, planOf(onlyM1), UP);
    drain(engine, 300);
    engine.handleMirrorDatagram(1_100, ENDPOINT, M1, accepted(11n, 100));
    expect(drain(engine, 1_100).find((c) => c.type === 'mirror_floors')).toEqual({ type: 'mirror_floors', floors: new Map([[M1, 11n]]) });
    // Back as a peer: its old datagrams are still replays.
    engine.reload(1_200, planOf(config(99)), UP);
    drain(engine, 1_200);
    engine.handleMirrorDatagram(1_300, ENDPOINT, M3, accepted(20n, 98));
    expect(mirrorStatus(engine, 1_300).mirror.dropped).toEqual({ replay: 1 });
  });

  it('floors that cannot be saved: counted in status, logged at most once a minute, and the running process still refuses replays', () => {
    const { engine } = started();
    const failure = { operation: 'state.write', code: 'EROFS', message: "EROFS: read-only file system, open '/var/lib/vrrpd/.mirror-floors.1.tmp'" };
    const logs: HostCommand[] = [];
    for (let i = 0; i < 5; i++) {
      const at = 1_000 * (i + 1);
      engine.handleMirrorDatagram(at, ENDPOINT, M1, accepted(BigInt(100 + i), 100));
      for (const command of drain(engine, at)) {
        if (command.type === 'mirror_floors') engine.handleHostError(at, 'mirror_floors', undefined, failure);
      }
      logs.push(...drain(engine, at).filter((c) => c.type === 'log'));
    }
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: 'warn', message: "save the UDP mirror's replay floors failed: EROFS", fields: { code: 'EROFS', suppressed: 0 } });
    engine.handleMirrorDatagram(61_000, ENDPOINT, M1, accepted(105n, 100));
    engine.handleHostError(61_000, 'mirror_floors', undefined, failure);
    expect(drain(engine, 61_000).filter((c) => c.type === 'log')).toMatchObject([{ fields: { suppressed: 4 } }]);
    engine.handleMirrorDatagram(61_100, ENDPOINT, M1, accepted(104n, 100));
    const { mirror } = mirrorStatus(engine, 61_100);
    expect(mirror).toMatchObject({ accepted: 6, floor_save_failures: 6, dropped: { replay: 1 } });
    expect(formatStatusTable({ pid: 1, config_file: 'f', started_at: '', ...engine.status(61_100, () => '') })).toMatch(/udp mirror :9651: .*, floor save failures 6$/m);
  });

  it('fuzz: any verdict and any advert bytes behind an authentic datagram, from any sender to any endpoint: the engine never throws', () => {
    const { engine } = started();
    let nowMs = 0;
    const reason = fc.constantFrom('too_short', 'too_long', 'bad_magic', 'bad_version', 'bad_tag');
    const verdict = fc.oneof(
      reason.map((r): MirrorDecodeResult => ({ ok: false, reason: r })),
      fc.tuple(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.uint8Array({ minLength: 0, maxLength: 200 })).map(([counter, advert]): MirrorDecodeResult => ({ ok: true, counter, advert })),
    );
    const sender = fc.constantFrom(M1, M3, STRANGER, 0, 0xffffffff);
    const to = fc.constantFrom(ENDPOINT, { ifname: 'ens32', address: STRANGER }, { ifname: 'eth9', address: M2 });
    fc.assert(
      fc.property(verdict, sender, to, (result, from, endpoint) => {
        nowMs += 13;
        engine.handleMirrorDatagram(nowMs, endpoint, from, result);
        drain(engine, nowMs);
      }),
      { numRuns: 2_000 },
    );
    expect(engine.status(nowMs, () => '').udp_mirror!.received).toBe(2_000);
  });
});
