/**
 * The host adapters against a real kernel, in network namespaces this file creates and deletes:
 * three hosts (m1..m3, 10.0.0.51-53/24, ens32) on one bridge. Each host runs test/netns/agent.ts,
 * which drives the real src/io code inside its namespace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../src/core/ip.js';
import { buildGarpFrame } from '../../src/io/garp.js';
import { parseMac } from '../../src/io/link.js';
import { Agent, Lab, labUnavailableReason, type AgentEvent, seedMasters } from './lab.js';

// keepalived's captured advert (docs/protocol.md#wire-format): VRID 51, priority 100, one VIP 10.77.0.100, PASS 123456.
const ADVERT_HEX = '2133' + '6401' + '0101' + 'd57c' + '0a4d0064' + '3132333435360000';

function ipField(hex: string): { tos: number; ttl: number; protocol: number; source: string; destination: string; payloadHex: string } {
  const bytes = Buffer.from(hex, 'hex');
  const headerLength = (bytes[0]! & 0x0f) * 4;
  const dotted = (offset: number): string => [...bytes.subarray(offset, offset + 4)].join('.');
  return {
    tos: bytes[1]!,
    ttl: bytes[8]!,
    protocol: bytes[9]!,
    source: dotted(12),
    destination: dotted(16),
    payloadHex: bytes.subarray(headerLength).toString('hex'),
  };
}

const packets = (agent: Agent): AgentEvent[] => agent.events.filter((e) => e.event === 'packet');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(labUnavailableReason !== undefined)('io adapters in network namespaces', () => {
  let lab: Lab;
  let m1: Agent;
  let m2: Agent;
  let m3: Agent;

  beforeAll(async () => {
    lab = await Lab.create({
      hosts: seedMasters(3),
    });
    [m1, m2, m3] = await Promise.all([lab.agent('m1'), lab.agent('m2'), lab.agent('m3')]);
  }, 60_000);

  const mustExec = async (host: string, cmd: string, args: string[]): Promise<void> => {
    const result = await lab.exec(host, cmd, args);
    expect(result, `${cmd} ${args.join(' ')}`).toMatchObject({ code: 0 });
  };

  afterAll(async () => {
    await lab?.destroy();
  });

  it('builds the lab as specified: ens32 with the given address in every host', async () => {
    expect(await lab.addrs('m1')).toEqual(['10.0.0.51/24']);
    const facts = await m2.call<{ ifname: string; up: boolean; running: boolean; macText: string; firstIpv4: string; noarp: boolean }>(
      'link.read',
      { ifname: 'ens32' },
    );
    expect(facts).toMatchObject({ ifname: 'ens32', up: true, running: true, noarp: false, firstIpv4: '10.0.0.52' });
    expect(facts.macText).toBe(lab.host('m2').mac);
  });

  it('exchanges unicast adverts with TTL 255, TOS 0xc0, protocol 112 and the configured source', async () => {
    await Promise.all([m1, m2, m3].map((a) => a.call('transport.open', { ifname: 'ens32', multicast: false })));
    const from2 = m2.events.length;
    const from3 = m3.events.length;
    await m1.call('transport.send', {
      ifname: 'ens32',
      payloadHex: ADVERT_HEX,
      source: '10.0.0.51',
      destinations: ['10.0.0.52', '10.0.0.53'],
    });
    for (const [agent, from, destination] of [
      [m2, from2, '10.0.0.52'],
      [m3, from3, '10.0.0.53'],
    ] as const) {
      const packet = await agent.waitFor((e) => e.event === 'packet', 3000, from);
      expect(packet.ifname).toBe('ens32');
      expect(ipField(String(packet.hex))).toEqual({
        tos: 0xc0,
        ttl: 255,
        protocol: 112,
        source: '10.0.0.51',
        destination,
        payloadHex: ADVERT_HEX,
      });
    }
    // And back, so both directions of the shared per-interface socket work.
    const from1 = m1.events.length;
    await m2.call('transport.send', { ifname: 'ens32', payloadHex: ADVERT_HEX, source: '10.0.0.52', destinations: ['10.0.0.51'] });
    const reply = await m1.waitFor((e) => e.event === 'packet', 3000, from1);
    expect(ipField(String(reply.hex)).source).toBe('10.0.0.52');
  });

  it("hands each packet over with the kernel's receive time, also when it waited in the socket behind a busy loop", async () => {
    await Promise.all([m1, m2].map((a) => a.call('transport.open', { ifname: 'ens32', multicast: false })));
    const from2 = m2.events.length;
    const blocked = m2.call('block', { ms: 400 });
    await sleep(100);
    await m1.call('transport.send', { ifname: 'ens32', payloadHex: ADVERT_HEX, source: '10.0.0.51', destinations: ['10.0.0.52'] });
    await blocked;
    const packet = await m2.waitFor((e) => e.event === 'packet', 3000, from2);
    const readAt = Number(packet.atMs);
    const receivedAt = Number(packet.receivedAtMs);
    // It arrived about 100 ms into m2's 400 ms block and was read after it: it waited ~300 ms.
    expect(readAt - receivedAt).toBeGreaterThan(150);
    expect(readAt - receivedAt).toBeLessThan(400);
    // Not blocked: read at once, the stamp a fraction of a millisecond before the read.
    const from2b = m2.events.length;
    await m1.call('transport.send', { ifname: 'ens32', payloadHex: ADVERT_HEX, source: '10.0.0.51', destinations: ['10.0.0.52'] });
    const prompt = await m2.waitFor((e) => e.event === 'packet', 3000, from2b);
    expect(Number(prompt.atMs) - Number(prompt.receivedAtMs)).toBeGreaterThanOrEqual(0);
    expect(Number(prompt.atMs) - Number(prompt.receivedAtMs)).toBeLessThan(50);
  });

  it('the IPv6 transport hands packets over with their receive time too', async () => {
    // The lab's namespaces have IPv6 off; on for this test, without DAD so the addresses work at once.
    for (const [host, address] of [['m1', 'fd00::51/64'], ['m2', 'fd00::52/64']] as const) {
      for (const setting of ['accept_dad=0', 'dad_transmits=0', 'disable_ipv6=0']) await lab.exec(host, 'sysctl', ['-q', '-w', `net.ipv6.conf.ens32.${setting}`]);
      await lab.exec(host, 'ip', ['-6', 'addr', 'add', address, 'dev', 'ens32', 'nodad']);
    }
    try {
      await Promise.all([m1, m2].map((a) => a.call('transport6.open', { ifname: 'ens32', multicast: false })));
      // A VRRPv3 message (VRID 51, priority 100, 1 s, one IPv6 VIP); the transport does not judge it.
      const payloadHex = '3133640100640000' + 'fd000000000000000000000000000050';
      const send = (): Promise<unknown> => m1.call('transport6.send', { ifname: 'ens32', payloadHex, source: 'fd00::51', destinations: ['fd00::52'] });
      const from2 = m2.events.length;
      const blocked = m2.call('block', { ms: 400 });
      await sleep(100);
      await send();
      await blocked;
      const packet = await m2.waitFor((e) => e.event === 'packet' && String(e.hex).startsWith('6'), 3000, from2);
      expect(Number(packet.atMs) - Number(packet.receivedAtMs)).toBeGreaterThan(150);
      expect(Number(packet.atMs) - Number(packet.receivedAtMs)).toBeLessThan(400);
      const from2b = m2.events.length;
      await send();
      const prompt = await m2.waitFor((e) => e.event === 'packet' && String(e.hex).startsWith('6'), 3000, from2b);
      expect(Number(prompt.atMs) - Number(prompt.receivedAtMs)).toBeGreaterThanOrEqual(0);
      expect(Number(prompt.atMs) - Number(prompt.receivedAtMs)).toBeLessThan(50);
    } finally {
      await Promise.all([m1, m2].map((a) => a.call('transport6.close', { ifname: 'ens32' })));
      for (const host of ['m1', 'm2']) await lab.exec(host, 'sysctl', ['-q', '-w', 'net.ipv6.conf.ens32.disable_ipv6=1']);
    }
  });

  it('sends from unicast_src_ip even when it is not the address the route would pick', async () => {
    await Promise.all([m1, m2].map((a) => a.call('transport.open', { ifname: 'ens32', multicast: false })));
    // 10.0.0.61 is a secondary on m1: a kernel-built header would carry 10.0.0.51 (the route's src).
    await mustExec('m1', 'ip', ['addr', 'add', '10.0.0.61/24', 'dev', 'ens32']);
    try {
      const from = m2.events.length;
      await m1.call('transport.send', { ifname: 'ens32', payloadHex: ADVERT_HEX, source: '10.0.0.61', destinations: ['10.0.0.52'] });
      const packet = await m2.waitFor((e) => e.event === 'packet', 3000, from);
      expect(ipField(String(packet.hex)).source).toBe('10.0.0.61');
    } finally {
      await lab.exec('m1', 'ip', ['addr', 'del', '10.0.0.61/24', 'dev', 'ens32']);
    }
  });

  it('multicasts to 224.0.0.18 out of ens32: group members hear it, a non-member and the sender do not', async () => {
    for (const agent of [m1, m2, m3]) await agent.call('transport.close', { ifname: 'ens32' });
    await m1.call('transport.open', { ifname: 'ens32', multicast: true });
    await m2.call('transport.open', { ifname: 'ens32', multicast: true });
    // m3 stays out of the group: without a membership its kernel drops the group traffic.
    await m3.call('transport.open', { ifname: 'ens32', multicast: false });
    const capture = await lab.tcpdump('m2', 'ip proto 112');
    const [from1, from2, from3] = [m1.events.length, m2.events.length, m3.events.length];
    await m1.call('transport.send', { ifname: 'ens32', payloadHex: ADVERT_HEX, source: '10.0.0.51', destinations: ['224.0.0.18'] });
    const packet = await m2.waitFor((e) => e.event === 'packet', 3000, from2);
    expect(ipField(String(packet.hex))).toEqual({
      tos: 0xc0,
      ttl: 255,
      protocol: 112,
      source: '10.0.0.51',
      destination: '224.0.0.18',
      payloadHex: ADVERT_HEX,
    });
    await sleep(500);
    expect(m1.events.slice(from1).filter((e) => e.event === 'packet'), 'the sender heard its own advert').toEqual([]);
    expect(m3.events.slice(from3).filter((e) => e.event === 'packet'), 'a non-member received group traffic').toEqual([]);
    const frames = await capture.stop();
    expect(frames.map((f) => Buffer.from(f.bytes).toString('hex'))).toHaveLength(1);
    const frame = Buffer.from(frames[0]!.bytes);
    expect(frame.subarray(0, 6).toString('hex')).toBe('01005e000012');
    expect([...frame.subarray(6, 12)].map((b) => b.toString(16).padStart(2, '0')).join(':')).toBe(lab.host('m1').mac);
    // No DF, and a kernel-chosen ID: the IP header as keepalived's (45c0 0028 .... 0000 ff70 ....).
    expect(frame.subarray(14, 18).toString('hex')).toBe('45c00028');
    expect(frame.subarray(20, 24).toString('hex')).toBe('0000ff70');
  });

  it('adds and removes a VIP idempotently, with label and brd, and lists it', async () => {
    const vip = { address: '10.0.0.50', prefixLength: 32, ifname: 'ens32', label: 'ens32:vip', broadcast: '10.0.0.255' };
    expect(await m1.call('vip.add', vip)).toEqual({ ok: true, change: 'added' });
    expect(await m1.call('vip.add', vip)).toEqual({ ok: true, change: 'already_present' });
    expect(await lab.addrs('m1')).toEqual(['10.0.0.51/24', '10.0.0.50/32']);
    const listed = await m1.call<{ ok: true; addresses: Array<Record<string, unknown>> }>('vip.list', { ifname: 'ens32' });
    expect(listed.addresses[1]).toMatchObject({ address: '10.0.0.50/32', label: 'ens32:vip', broadcast: '10.0.0.255', secondary: false });
    expect(await m1.call('vip.remove', vip)).toEqual({ ok: true, change: 'removed' });
    expect(await m1.call('vip.remove', vip)).toEqual({ ok: true, change: 'absent' });
    expect(await lab.addrs('m1')).toEqual(['10.0.0.51/24']);
    // Errors are results with a code, not exceptions.
    expect(await m1.call('vip.add', { ...vip, ifname: 'nosuch0' })).toMatchObject({ ok: false, error: { code: 'ENODEV' } });
  });

  it('removes stale VIPs whatever prefix they were left with, and leaves other addresses alone', async () => {
    await mustExec('m2', 'ip', ['addr', 'add', '10.0.0.50/24', 'dev', 'ens32']);
    const result = await m2.call<{ removed: Array<{ address: string }>; errors: unknown[] }>('vip.removeStale', {
      vips: [
        { address: '10.0.0.50', prefixLength: 32, ifname: 'ens32' },
        { address: '10.0.0.49', prefixLength: 32, ifname: 'ens32' },
        { address: '10.0.0.48', prefixLength: 32, ifname: 'gone0' },
      ],
    });
    expect(result).toEqual({ removed: [{ address: '10.0.0.50/24', prefixLength: 24, ifname: 'ens32' }], errors: [] });
    expect(await lab.addrs('m2')).toEqual(['10.0.0.52/24']);
  });

  it('a GARP burst from m1 re-points an existing neighbour entry, and creates one only with arp_accept', async () => {
    const fakeMac = '02:00:00:00:00:99';
    const m1Mac = lab.host('m1').mac;
    await mustExec('m2', 'ip', ['neigh', 'replace', '10.0.0.50', 'lladdr', fakeMac, 'dev', 'ens32', 'nud', 'stale']);
    expect(await lab.neigh('m2', '10.0.0.50')).toEqual({ lladdr: fakeMac, state: 'STALE' });
    expect(await lab.neigh('m3', '10.0.0.50')).toBeUndefined();
    expect(await m1.call('vip.add', { address: '10.0.0.50', prefixLength: 32, ifname: 'ens32' })).toMatchObject({ ok: true });

    const capture = await lab.tcpdump('m2', 'arp');
    expect(await m1.call('garp', { ifname: 'ens32', addresses: ['10.0.0.50', '10.0.0.60'], repeat: 3 })).toEqual({ ok: true, framesSent: 6 });
    await sleep(300);
    const frames = await capture.stop();
    // The wire carries exactly the frames the pure builder makes (veth does not pad to 60 bytes).
    const expected = (vip: string): string => Buffer.from(buildGarpFrame(parseMac(m1Mac)!, parseIpv4(vip)!)).toString('hex');
    expect(frames.map((f) => Buffer.from(f.bytes).toString('hex'))).toEqual(
      [1, 2, 3].flatMap(() => [expected('10.0.0.50'), expected('10.0.0.60')]),
    );

    // Linux updates an entry it already has (the GARP overrides even within locktime) ...
    expect(await lab.neigh('m2', '10.0.0.50')).toEqual({ lladdr: m1Mac, state: 'STALE' });
    // ... but ignores unsolicited ARP for addresses it has no entry for, unless arp_accept is set.
    expect(await lab.neigh('m3', '10.0.0.50')).toBeUndefined();
    await mustExec('m3', 'sysctl', ['-q', '-w', 'net.ipv4.conf.ens32.arp_accept=1']);
    expect(await m1.call('garp', { ifname: 'ens32', addresses: ['10.0.0.50'], repeat: 1 })).toEqual({ ok: true, framesSent: 1 });
    await sleep(200);
    expect(await lab.neigh('m3', '10.0.0.50')).toEqual({ lladdr: m1Mac, state: 'STALE' });
    await m1.call('vip.remove', { address: '10.0.0.50', prefixLength: 32, ifname: 'ens32' });
  });

  it('sends no GARP on a NOARP interface', async () => {
    await mustExec('m1', 'ip', ['link', 'set', 'ens32', 'arp', 'off']);
    try {
      const capture = await lab.tcpdump('m2', 'arp');
      expect(await m1.call('garp', { ifname: 'ens32', addresses: ['10.0.0.50'], repeat: 2 })).toEqual({
        ok: true,
        framesSent: 0,
        skipped: 'noarp',
      });
      await sleep(200);
      expect(await capture.stop()).toEqual([]);
    } finally {
      await lab.exec('m1', 'ip', ['link', 'set', 'ens32', 'arp', 'on']);
    }
  });

  it('reads interface facts while the carrier is down, including the primary address', async () => {
    await lab.linkDown('m2', 'carrier');
    try {
      const facts = await m2.call<Record<string, unknown>>('link.read', { ifname: 'ens32' });
      // os.networkInterfaces() would hide ens32 entirely now; the primary address must still be known.
      expect(facts).toMatchObject({ up: true, running: false, firstIpv4: '10.0.0.52' });
      expect(facts.operstate).not.toBe('up');
    } finally {
      await lab.linkUp('m2', 'carrier');
    }
  });

  it('the link watcher reports admin down/up and carrier loss within 500 ms', async () => {
    const watch = await lab.agent('m3');
    expect(await watch.call('link.watch', { ifnames: ['ens32'] })).toEqual({ ens32: true });
    // Let `ip monitor` subscribe before the first change.
    await sleep(300);
    const latencies: Record<string, number> = {};
    const step = async (name: string, change: () => Promise<void>, up: boolean): Promise<void> => {
      const from = watch.events.length;
      const startMs = performance.now();
      await change();
      await watch.waitFor((e) => e.event === 'link' && e.ifname === 'ens32' && e.up === up, 2000, from);
      latencies[name] = Math.round(performance.now() - startMs);
    };
    await step('admin down', () => lab.linkDown('m3', 'admin'), false);
    await step('admin up', () => lab.linkUp('m3', 'admin'), true);
    await step('carrier down', () => lab.linkDown('m3', 'carrier'), false);
    await step('carrier up', () => lab.linkUp('m3', 'carrier'), true);
    console.log('link watcher latency (ms, including the ip command):', latencies);
    for (const latencyMs of Object.values(latencies)) expect(latencyMs).toBeLessThan(500);
    // Exactly one event per change: no flapping reports.
    expect(watch.events.filter((e) => e.event === 'link').map((e) => e.up)).toEqual([false, true, false, true]);
  });

  it('reports send errors on a downed link through the callback, and keeps working after it comes back', async () => {
    await m1.call('transport.open', { ifname: 'ens32' });
    await m3.call('transport.open', { ifname: 'ens32' });
    await lab.linkDown('m3', 'admin');
    try {
      const from = m3.events.length;
      await m3.call('transport.send', { ifname: 'ens32', payloadHex: ADVERT_HEX, source: '10.0.0.53', destinations: ['224.0.0.18', '10.0.0.51'] });
      const first = await m3.waitFor((e) => e.event === 'error', 2000, from);
      const second = await m3.waitFor((e) => e.event === 'error' && e !== first, 2000, from);
      // Admin down takes the connected route with it, so the kernel answers ENETUNREACH (for the
      // group too: it is routed by the bound device's routes), not ENETDOWN.
      expect([first.code, second.code]).toEqual(['ENETUNREACH', 'ENETUNREACH']);
      expect(first.operation).toBe('transport.send');
    } finally {
      await lab.linkUp('m3', 'admin');
    }
    const from1 = m1.events.length;
    await m3.call('transport.send', { ifname: 'ens32', payloadHex: ADVERT_HEX, source: '10.0.0.53', destinations: ['10.0.0.51'] });
    const packet = await m1.waitFor((e) => e.event === 'packet', 3000, from1);
    expect(ipField(String(packet.hex)).source).toBe('10.0.0.53');
  });

  it('works as an unprivileged user with ambient CAP_NET_ADMIN + CAP_NET_RAW, and reports EPERM without them', async () => {
    const nobody = 65534;
    const capable = await lab.agent('m2', { user: { uid: nobody, ambientCaps: ['net_admin', 'net_raw'] } });
    const vip = { address: '10.0.0.70', prefixLength: 32, ifname: 'ens32' };
    expect(await capable.call('vip.add', vip)).toEqual({ ok: true, change: 'added' });
    expect(await lab.addrs('m2')).toContain('10.0.0.70/32');
    expect(await capable.call('vip.remove', vip)).toEqual({ ok: true, change: 'removed' });
    expect(await capable.call('garp', { ifname: 'ens32', addresses: ['10.0.0.70'], repeat: 1 })).toEqual({ ok: true, framesSent: 1 });
    expect(await capable.call('transport.open', { ifname: 'ens32' })).toEqual({ isOpen: true });
    await m1.call('transport.open', { ifname: 'ens32' });
    const from1 = m1.events.length;
    await capable.call('transport.send', { ifname: 'ens32', payloadHex: ADVERT_HEX, source: '10.0.0.52', destinations: ['10.0.0.51'] });
    expect(ipField(String((await m1.waitFor((e) => e.event === 'packet', 3000, from1)).hex)).source).toBe('10.0.0.52');
    await capable.call('exit');

    const powerless = await lab.agent('m2', { user: { uid: nobody, ambientCaps: [] } });
    expect(await powerless.call('vip.add', vip)).toMatchObject({ ok: false, error: { code: 'EPERM', operation: 'vip.add' } });
    expect(await powerless.call('garp', { ifname: 'ens32', addresses: ['10.0.0.70'], repeat: 1 })).toMatchObject({
      ok: false,
      error: { code: 'EPERM', operation: 'garp.send' },
    });
    expect(await powerless.call('transport.open', { ifname: 'ens32' })).toEqual({ isOpen: false });
    await powerless.waitFor((e) => e.event === 'error' && e.code === 'EPERM' && e.operation === 'transport.open', 2000);
    await powerless.call('exit');
  });

  it('reports a missing interface and opens once it appears', async () => {
    const agent = await lab.agent('m2');
    const opened = await agent.call<{ isOpen: boolean }>('transport.open', { ifname: 'late0' });
    expect(opened.isOpen).toBe(false);
    await agent.waitFor((e) => e.event === 'error' && e.code === 'ENODEV' && e.operation === 'transport.open', 2000);
    // No dummy module on every kernel: a veth pair with both ends here is an interface that is up.
    await mustExec('m2', 'ip', ['link', 'add', 'late0', 'type', 'veth', 'peer', 'name', 'late1']);
    await mustExec('m2', 'ip', ['link', 'set', 'late1', 'up']);
    await mustExec('m2', 'ip', ['link', 'set', 'late0', 'up']);
    // The agent retries every 200 ms. late1, the other end of the pair, hears what late0 sends.
    await agent.call('transport.open', { ifname: 'late1' });
    await sleep(600);
    const from = agent.events.length;
    // A source that is not ours: the receive filter drops packets from our own addresses.
    await agent.call('transport.send', { ifname: 'late0', payloadHex: ADVERT_HEX, source: '192.0.2.7', destinations: ['224.0.0.18'] });
    const packet = await agent.waitFor((e) => e.event === 'packet', 2000, from);
    expect(packet.ifname).toBe('late1');
    expect(ipField(String(packet.hex)).source).toBe('192.0.2.7');
    expect(agent.events.slice(from).filter((e) => e.event === 'error')).toEqual([]);
    // The same packet from one of our own addresses is ignored.
    const fromOwn = agent.events.length;
    await agent.call('transport.send', { ifname: 'late0', payloadHex: ADVERT_HEX, source: '10.0.0.52', destinations: ['224.0.0.18'] });
    await sleep(300);
    expect(agent.events.slice(fromOwn)).toEqual([]);

    // The pair is deleted and created again (new ifindexes): both transports notice and rebind.
    await mustExec('m2', 'ip', ['link', 'del', 'late0']);
    await mustExec('m2', 'ip', ['link', 'add', 'late0', 'type', 'veth', 'peer', 'name', 'late1']);
    await mustExec('m2', 'ip', ['link', 'set', 'late1', 'up']);
    await mustExec('m2', 'ip', ['link', 'set', 'late0', 'up']);
    await agent.waitFor((e) => e.event === 'error' && e.operation === 'transport.watch' && String(e.message).includes('late1'), 2000, fromOwn);
    await sleep(400);
    const fromNew = agent.events.length;
    await agent.call('transport.send', { ifname: 'late0', payloadHex: ADVERT_HEX, source: '192.0.2.8', destinations: ['224.0.0.18'] });
    const again = await agent.waitFor((e) => e.event === 'packet', 2000, fromNew);
    expect([again.ifname, ipField(String(again.hex)).source]).toEqual(['late1', '192.0.2.8']);
  });
});
