/**
 * IPv6 instances at the engine: their own transport per interface (next to the IPv4 one), adverts
 * from the link-local address to ff02::12, dispatch by family (one VRID may serve both families on
 * a link), FAULT until a link-local address exists, and the status with the family and the IPv6
 * VIPs as text.
 */
import { describe, expect, it } from 'vitest';
import { encodeAdvert, encodeIpv6Packet, v3Checksum } from '../../src/core/codec.js';
import { formatIp, parseIpv4, parseIpv6, VRRP_IPV6_MULTICAST_GROUP, type Ipv6 } from '../../src/core/ip.js';
import { Engine, type HostCommand, type HostFacts } from '../../src/daemon/engine.js';
import { planOf } from './plans.js';

const LL = parseIpv6('fe80::51') as Ipv6;
const PEER_LL = parseIpv6('fe80::52') as Ipv6;
const VIP6 = parseIpv6('fd00::50') as Ipv6;

const CONFIG = `
vrrp_instance:
  VI_4:
    interface: ens32
    virtual_router_id: 60
    priority: 100
    version: 3
    virtual_ipaddress: [10.0.0.50/24 dev ens32]
  VI_6:
    interface: ens32
    virtual_router_id: 60
    priority: 100
    virtual_ipaddress: [fd00::50/64 dev ens32]
`;

function facts(linkLocal6: Ipv6 | undefined): HostFacts {
  return { interfaces: new Map([['ens32', { address: parseIpv4('10.0.0.51'), linkLocal6, up: true, exists: true }]]), capabilities: undefined };
}

function drain(engine: Engine, nowMs = 0): HostCommand[] {
  const out: HostCommand[] = [];
  for (let c = engine.pollCommand(nowMs); c !== undefined; c = engine.pollCommand(nowMs)) out.push(c);
  return out;
}

function runUntil(engine: Engine, untilMs: number): HostCommand[] {
  const out: HostCommand[] = [];
  for (let deadline = engine.nextDeadline(); deadline <= untilMs; deadline = engine.nextDeadline()) {
    engine.handleTimer(deadline, deadline);
    out.push(...drain(engine, deadline));
  }
  return out;
}

describe('engine: IPv6 instances', () => {
  it('opens an IPv6 transport next to the IPv4 one and sends from the link-local address to ff02::12', () => {
    const engine = new Engine();
    engine.start(0, planOf(CONFIG), facts(LL));
    const first = drain(engine);
    const opens = first.filter((c) => c.type === 'open_transport').map((c) => c.type === 'open_transport' && `${c.ifname} ${c.family ?? 4} ${c.multicast}`);
    expect(opens).toEqual(['ens32 4 true', 'ens32 6 true']);

    const sends = runUntil(engine, 5_000).filter((c): c is Extract<HostCommand, { type: 'send' }> => c.type === 'send');
    const v6 = sends.filter((c) => c.instance === 'VI_6');
    expect(v6.length).toBeGreaterThan(0);
    for (const send of v6) {
      expect(send.family).toBe(6);
      expect(send.source).toBe(LL);
      expect(send.destinations).toEqual([VRRP_IPV6_MULTICAST_GROUP]);
      expect(send.payload.length).toBe(8 + 16);
      expect(v3Checksum(send.payload, { source: LL, destination: VRRP_IPV6_MULTICAST_GROUP })).toBe(0);
    }
    expect(sends.filter((c) => c.instance === 'VI_4').every((c) => c.family === undefined && formatIp(c.destinations[0]!) === '224.0.0.18')).toBe(true);

    const status = engine.status(0, () => '').instances;
    expect(status.map((i) => [i.name, i.state, i.family, i.virtual_addresses, i.master_address])).toEqual([
      ['VI_4', 'MASTER', 'ipv4', ['10.0.0.50/24'], '10.0.0.51'],
      ['VI_6', 'MASTER', 'ipv6', ['fd00::50/64'], 'fe80::51'],
    ]);
  });

  it('an IPv6 advert for VRID 60 goes to the IPv6 instance only, though the IPv4 one has VRID 60 too', () => {
    const engine = new Engine();
    engine.start(0, planOf(CONFIG), facts(LL));
    drain(engine);
    runUntil(engine, 5_000);
    const payload = encodeAdvert({ version: 3, type: 1, virtualRouterId: 60, priority: 200, advertIntervalCs: 100, addresses: [VIP6] }, { source: PEER_LL, destination: VRRP_IPV6_MULTICAST_GROUP });
    engine.handlePacket(5_001, 'ens32', encodeIpv6Packet({ source: PEER_LL, destination: VRRP_IPV6_MULTICAST_GROUP }, payload));
    drain(engine, 5_001);
    const status = engine.status(0, () => '').instances;
    expect(status.map((i) => [i.name, i.state, i.master_address])).toEqual([
      ['VI_4', 'MASTER', '10.0.0.51'],
      ['VI_6', 'BACKUP', 'fe80::52'],
    ]);
  });

  it('without a link-local address the IPv6 instance is FAULT (no_source_address) until the link brings one', () => {
    const engine = new Engine();
    engine.start(0, planOf(CONFIG), facts(undefined));
    drain(engine);
    const before = engine.status(0, () => '').instances.find((i) => i.name === 'VI_6')!;
    expect(before).toMatchObject({ state: 'FAULT', fault_causes: ['no_source_address'] });
    // The IPv4 address alone does not resolve it: the family must match.
    engine.handleLink(100, 'ens32', true, parseIpv4('10.0.0.51'), undefined);
    drain(engine, 100);
    expect(engine.status(0, () => '').instances.find((i) => i.name === 'VI_6')!.fault_causes).toEqual(['no_source_address']);
    engine.handleLink(200, 'ens32', true, parseIpv4('10.0.0.51'), LL);
    drain(engine, 200);
    expect(engine.status(0, () => '').instances.find((i) => i.name === 'VI_6')).toMatchObject({ state: 'BACKUP', fault_causes: [] });
  });
});
