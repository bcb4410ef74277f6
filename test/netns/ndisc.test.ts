/**
 * IPv6 VIPs and unsolicited Neighbour Advertisements on a real kernel (issue 15), through the io
 * layer the daemon uses (test/netns/agent.ts drives src/io inside a namespace):
 * - an IPv6 VIP goes on with IFA_F_NODAD, so it is never `tentative`, and stays usable while another
 *   node holds the same address (the brief dual master); an address added without the flag in the
 *   same situation ends `dadfailed` (the control that shows what the flag prevents);
 * - add and remove are idempotent and keep the prefix; a stale IPv6 VIP of another prefix is removed
 *   by the cleanup that runs at start and in `vrrpd release`;
 * - an NA burst re-points a client's neighbour entry from the old master's MAC to the new one without
 *   the client sending anything (the re-point time is printed); without the Override flag it does
 *   not (control), and an NA creates no entry where the client had none;
 * - golden: the NA equals keepalived 2.2.7's for the same VIP and MAC byte for byte (keepalived runs
 *   an IPv6 instance on the same host), and tshark reads both as well-formed NAs with a good checksum
 *   (and a corrupted copy as bad).
 *
 * The lab's namespaces start with IPv6 off (no chatter in other tests' captures); this file turns it
 * on for ens32, with DAD off just long enough for the link-local address to be usable at once.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIpv6 } from '../../src/core/ip.js';
import { KeepalivedProcess } from '../../src/lab/daemons.js';
import { parseMac } from '../../src/io/link.js';
import { buildUnsolicitedNa } from '../../src/io/ndisc.js';
import { Lab, labUnavailableReason, seedMasters, type Agent } from './lab.js';
import { sleep, waitUntil } from './vrrpd.js';

const VIP = 'fd00::50';
const NA_FILTER = 'icmp6 and ip6[40] == 136';
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
/** CLOCK_MONOTONIC in ms: one clock for this process and the agents in the namespaces. */
const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

function tshark(home: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('tshark', args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof (error as { code?: unknown }).code === 'number' ? Number((error as { code: number }).code) : 127;
      resolve({ code, stdout, stderr: stderr || (error !== null && code === 127 ? String(error) : '') });
    });
  });
}

describe.skipIf(labUnavailableReason !== undefined)('IPv6 VIPs and unsolicited neighbour advertisements on a real kernel', () => {
  let lab: Lab;
  let m1: Agent;
  let m2: Agent;

  /** `ip -6 addr` lines of ens32 that mention an address. */
  async function v6addrs(host: string): Promise<string[]> {
    const out = await lab.exec(host, 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'ens32']);
    return out.stdout.split('\n').filter((l) => l.includes('inet6')).map((l) => l.replace(/^\d+:\s+ens32\s+/, '').replace(/\\.*$/, '').trim());
  }

  async function neigh(host: string, address: string): Promise<{ lladdr: string | undefined; state: string } | undefined> {
    const out = await lab.exec(host, 'ip', ['-6', 'neigh', 'show', address, 'dev', 'ens32']);
    const line = out.stdout.trim();
    if (line === '') return undefined;
    return { lladdr: /lladdr (\S+)/.exec(line)?.[1], state: line.split(/\s+/).at(-1) ?? '' };
  }

  /**
   * A neighbour-table reader that stays running in a namespace (`ip -batch -`), so a look costs a
   * fraction of a millisecond instead of the tens of ms of starting `ip`: each question is followed
   * by `link show dev lo`, whose `1: lo:` line marks the end of the answer.
   */
  function neighbourReader(host: string): { look(address: string): Promise<string>; close(): void } {
    const child = lab.spawn(host, 'ip', ['-batch', '-']);
    let buffer = '';
    let waiting: ((text: string) => void) | undefined;
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const end = /^1: lo:.*\n.*\n/m.exec(buffer);
      if (end === null || waiting === undefined) return;
      const answer = buffer.slice(0, end.index);
      buffer = buffer.slice(end.index + end[0].length);
      const resolve = waiting;
      waiting = undefined;
      resolve(answer);
    });
    return {
      look: (address) =>
        new Promise((resolve) => {
          waiting = resolve;
          child.stdin!.write(`neigh show ${address} dev ens32\nlink show dev lo\n`);
        }),
      close: () => child.stdin!.end(),
    };
  }

  beforeAll(async () => {
    lab = await Lab.create({ hosts: seedMasters(2, { name: 'client', addresses: ['10.0.0.10/24'] }) });
    for (const host of ['m1', 'm2', 'client']) {
      const sysctl = (...settings: string[]) => lab.exec(host, 'sysctl', ['-q', '-w', ...settings]);
      // No router solicitations: the client must be seen sending nothing while its entry moves.
      await sysctl('net.ipv6.conf.ens32.accept_dad=0', 'net.ipv6.conf.ens32.router_solicitations=0', 'net.ipv6.conf.ens32.disable_ipv6=0');
      await waitUntil(async () => (await v6addrs(host)).some((l) => l.startsWith('inet6 fe80:')), 5_000, `${host}: no link-local address`);
      // From here on an address added without NODAD goes through DAD, as on a real host.
      await sysctl('net.ipv6.conf.ens32.accept_dad=1');
    }
    [m1, m2] = await Promise.all([lab.agent('m1'), lab.agent('m2')]);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('adds an IPv6 VIP with NODAD, idempotently, with its prefix; never tentative or dadfailed, also while another node holds it; removes it idempotently', async () => {
    const vip = { address: VIP, prefixLength: 64, ifname: 'ens32' };
    expect(await m2.call('vip.add', vip)).toEqual({ ok: true, change: 'added' });
    expect(await m1.call('vip.add', vip)).toEqual({ ok: true, change: 'added' });
    expect(await m1.call('vip.add', vip)).toEqual({ ok: true, change: 'already_present' });
    // The control: the same situation without the flag, on another address.
    expect(await m2.call('vip.add', { ...vip, address: 'fd00::52' })).toEqual({ ok: true, change: 'added' });
    await lab.exec('m1', 'ip', ['addr', 'add', 'fd00::52/64', 'dev', 'ens32']);
    // DAD: 1 probe, 1 s retransmit timer (the kernel's defaults), then the verdict.
    await sleep(2_500);
    const m1Addrs = await v6addrs('m1');
    const ours = m1Addrs.find((l) => l.startsWith(`inet6 ${VIP}/`));
    expect(ours, m1Addrs.join('\n')).toMatch(/^inet6 fd00::50\/64 scope global nodad\s*$/);
    expect((await v6addrs('m2')).find((l) => l.startsWith(`inet6 ${VIP}/`))).toMatch(/nodad/);
    for (const line of [...m1Addrs, ...(await v6addrs('m2'))].filter((l) => l.includes('fd00::50'))) {
      expect(line).not.toMatch(/tentative|dadfailed/);
    }
    expect(m1Addrs.find((l) => l.startsWith('inet6 fd00::52/'))).toMatch(/dadfailed/);
    // listAddresses (what the cleanup reads) sees both families with their prefixes.
    const listed = (await m1.call('vip.list', { ifname: 'ens32' })) as { ok: boolean; addresses: Array<{ address: string }> };
    expect(listed.addresses.map((a) => a.address)).toEqual(expect.arrayContaining(['10.0.0.51/24', 'fd00::50/64', 'fd00::52/64']));

    expect(await m1.call('vip.remove', vip)).toEqual({ ok: true, change: 'removed' });
    expect(await m1.call('vip.remove', vip)).toEqual({ ok: true, change: 'absent' });
    expect(await m1.call('vip.add', { ...vip, label: 'ens32:v6' })).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(await m1.call('vip.add', { ...vip, ifname: 'nosuch0' })).toMatchObject({ ok: false, error: { code: 'ENODEV' } });
    expect((await v6addrs('m1')).filter((l) => l.includes('fd00::50'))).toEqual([]);
    await m2.call('vip.remove', vip);
    await m2.call('vip.remove', { ...vip, address: 'fd00::52' });
    await lab.exec('m1', 'ip', ['addr', 'del', 'fd00::52/64', 'dev', 'ens32']);
  });

  it('the cleanup of start and `vrrpd release` removes a stale IPv6 VIP whatever its prefix, next to an IPv4 one, and leaves other addresses alone', async () => {
    await lab.exec('m1', 'ip', ['addr', 'add', `${VIP}/128`, 'dev', 'ens32', 'nodad']);
    await lab.exec('m1', 'ip', ['addr', 'add', 'fd00::99/64', 'dev', 'ens32', 'nodad']);
    await lab.exec('m1', 'ip', ['addr', 'add', '10.0.0.50/32', 'dev', 'ens32']);
    const result = (await m1.call('vip.removeStale', {
      vips: [
        { address: VIP, prefixLength: 64, ifname: 'ens32' },
        { address: '10.0.0.50', prefixLength: 32, ifname: 'ens32' },
      ],
    })) as { removed: Array<{ address: string }>; errors: unknown[] };
    expect(result.errors).toEqual([]);
    expect(result.removed.map((r) => r.address).sort()).toEqual(['10.0.0.50/32', 'fd00::50/128']);
    const left = await v6addrs('m1');
    expect(left.some((l) => l.includes('fd00::50'))).toBe(false);
    expect(left.some((l) => l.startsWith('inet6 fd00::99/64'))).toBe(true);
    expect(await lab.addrs('m1')).toEqual(['10.0.0.51/24']);
    await lab.exec('m1', 'ip', ['addr', 'del', 'fd00::99/64', 'dev', 'ens32']);
  });

  it('`vrrpd drain` sees an IPv6 VIP held and gone, by address and interface', async () => {
    const vip = (address: string, ifname = 'ens32') => ({ instance: 'V6', address, prefix_length: 64, ifname });
    const asked = [vip(VIP), vip('fd00::51'), vip(VIP, 'lo'), { ...vip('10.0.0.51'), prefix_length: 24 }];
    expect(await m1.call('vip.add', { address: VIP, prefixLength: 64, ifname: 'ens32' })).toEqual({ ok: true, change: 'added' });
    expect(await m1.call('drain.held', { vips: asked })).toEqual([VIP, '10.0.0.51']);
    await m1.call('vip.remove', { address: VIP, prefixLength: 64, ifname: 'ens32' });
    expect(await m1.call('drain.held', { vips: asked })).toEqual(['10.0.0.51']);
  });

  it("an NA burst re-points a client's neighbour entry to the new master's MAC without the client sending anything; without Override it does not; it creates no entry", async () => {
    const m1Mac = lab.host('m1').mac.toLowerCase();
    const m2Mac = lab.host('m2').mac.toLowerCase();
    const clientMac = lab.host('client').mac.toLowerCase();
    const vip = { address: VIP, prefixLength: 64, ifname: 'ens32' };
    const setOld = (nud: string) => lab.exec('client', 'ip', ['-6', 'neigh', 'replace', VIP, 'lladdr', m2Mac, 'dev', 'ens32', 'nud', nud]);

    // Control first: the same NA with the Override flag cleared (and its checksum redone) leaves the
    // old MAC in place, so what moves the entry below is the flag, not any NA.
    await setOld('stale');
    const frame = buildUnsolicitedNa(parseMac(m1Mac)!, parseIpv6(VIP)!, false);
    frame[58] = 0;
    const view = new DataView(frame.buffer);
    view.setUint16(56, 0);
    const { icmpv6Checksum } = await import('../../src/io/ndisc.js');
    view.setUint16(56, icmpv6Checksum(frame.subarray(22, 38), frame.subarray(38, 54), frame.subarray(54)));
    await m1.call('frames', { ifname: 'ens32', frames: [hex(frame)] });
    await sleep(200);
    expect((await neigh('client', VIP))?.lladdr).toBe(m2Mac);

    // The takeover: m2 (the old master) drops the VIP, m1 adds it and sends its burst, as a new
    // MASTER does. The client only listens.
    const times: number[] = [];
    for (const nud of ['stale', 'reachable', 'stale', 'reachable', 'stale', 'reachable']) {
      await m1.call('vip.remove', vip);
      await setOld(nud);
      expect(await neigh('client', VIP)).toEqual({ lladdr: m2Mac, state: nud.toUpperCase() });
      // Everything the client sends but MLD reports (behind a hop-by-hop header): no solicitation, nothing to the VIP.
      const capture = await lab.tcpdump('client', `ether src ${clientMac} and not (ip6 and ip6[6] == 0)`);
      // The client's table is read back to back from before the burst until it shows the new MAC.
      const reader = neighbourReader('client');
      expect(await reader.look(VIP)).toContain(m2Mac);
      const watching = (async () => {
        const started = monotonicMs();
        let looks = 0;
        while (monotonicMs() - started < 2_000) {
          const answer = await reader.look(VIP);
          looks++;
          if (answer.includes(m1Mac)) return { seenAt: monotonicMs(), looks };
        }
        return { seenAt: undefined, looks };
      })();
      const sent = (await m1.call('na', { ifname: 'ens32', addresses: [VIP], repeat: 5, vips: [vip] })) as { ok: boolean; framesSent: number; startedAtMs: number };
      const sentAt = sent.startedAtMs;
      expect(sent).toMatchObject({ ok: true, framesSent: 5 });
      const looked = await watching;
      reader.close();
      const seenAt = looked.seenAt;
      const entry = await neigh('client', VIP);
      await sleep(100);
      const fromClient = await capture.stop();
      expect(seenAt, `still ${JSON.stringify(entry)} 1 s after the burst`).toBeDefined();
      times.push(seenAt! - sentAt);
      // The issue's bound for a client after a takeover; here it is the NA's share of it.
      expect(seenAt! - sentAt).toBeLessThan(1_000);
      expect(entry!.state).toBe('STALE'); // RFC 4861 7.2.5: updated, to be confirmed on next use
      expect(fromClient.map((f) => hex(f.bytes.subarray(0, 34)))).toEqual([]);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`[netns] NA re-point at the client (entries STALE, REACHABLE alternately): ${times.map((t) => `${t.toFixed(2)} ms`).join(', ')}; median ${sorted[3]!.toFixed(2)} ms, max ${sorted[5]!.toFixed(2)} ms, from the start of the burst on m1 (its VIP already added) to the client's table showing m1's MAC (read back to back with ip -batch; CLOCK_MONOTONIC on both sides)`);

    // No entry, no new entry: an unsolicited NA only updates (Linux's accept_untracked_na=0).
    await lab.exec('client', 'ip', ['-6', 'neigh', 'del', VIP, 'dev', 'ens32']);
    await m1.call('na', { ifname: 'ens32', addresses: [VIP], repeat: 1 });
    await sleep(200);
    expect(await neigh('client', VIP)).toBeUndefined();
    await m1.call('vip.remove', vip);
  });

  it("golden: the NA equals keepalived 2.2.7's for the same VIP and MAC byte for byte; tshark reads both as well-formed NAs with a good checksum", async () => {
    const m1Mac = lab.host('m1').mac.toLowerCase();
    const expected = hex(buildUnsolicitedNa(parseMac(m1Mac)!, parseIpv6(VIP)!, false));
    const keepalivedFile = join(lab.dir, 'na-keepalived.pcap');
    const capture = await lab.tcpdump('m1', NA_FILTER, 'ens32', { file: keepalivedFile });
    const conf = ['global_defs {', '  router_id m1', '  vrrp_garp_master_repeat 2', '}', 'vrrp_instance V6 {', '  state MASTER', '  interface ens32', '  virtual_router_id 60', '  priority 150', '  advert_int 0.1', '  virtual_ipaddress {', `    ${VIP}/64`, '  }', '}', ''].join('\n');
    const keepalived = await KeepalivedProcess.start(lab.place('m1'), conf);
    await keepalived.waitForLine(/Sending unsolicited Neighbour Advert on ens32 for fd00::50/, 10_000);
    await sleep(300);
    keepalived.signal('SIGTERM');
    await keepalived.exited;
    const theirs = await capture.stop();
    expect(theirs.length, keepalived.log()).toBe(2);
    for (const frame of theirs) expect(hex(frame.bytes)).toBe(expected);

    const oursFile = join(lab.dir, 'na-vrrpd.pcap');
    const ourCapture = await lab.tcpdump('m1', NA_FILTER, 'ens32', { file: oursFile });
    await m1.call('na', { ifname: 'ens32', addresses: [VIP], repeat: 2 });
    const corrupted = buildUnsolicitedNa(parseMac(m1Mac)!, parseIpv6(VIP)!, false);
    corrupted[57]! ^= 0xff;
    await m1.call('frames', { ifname: 'ens32', frames: [hex(corrupted)] });
    await sleep(200);
    const ours = await ourCapture.stop();
    expect(ours.map((f) => hex(f.bytes))).toEqual([expected, expected, hex(corrupted)]);

    const home = join(lab.dir, 'tshark-home');
    mkdirSync(home, { recursive: true });
    const fields = ['eth.dst', 'ipv6.src', 'ipv6.dst', 'ipv6.hlim', 'icmpv6.type', 'icmpv6.code', 'icmpv6.checksum.status', 'icmpv6.nd.na.flag.r', 'icmpv6.nd.na.flag.s', 'icmpv6.nd.na.flag.o', 'icmpv6.nd.na.target_address', 'icmpv6.opt.type', 'icmpv6.opt.linkaddr', '_ws.malformed'];
    const read = async (file: string): Promise<string[][]> => {
      const out = await tshark(home, ['-n', '-r', file, '-T', 'fields', '-E', 'separator=/t', ...fields.flatMap((f) => ['-e', f])]);
      expect(out.code, out.stderr).toBe(0);
      return out.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
    };
    const good = ['33:33:00:00:00:01', VIP, 'ff02::1', '255', '136', '0', '1', '0', '0', '1', VIP, '2', m1Mac, ''];
    expect(await read(keepalivedFile)).toEqual([good, good]);
    // checksum status 1 = Good, 0 = Bad.
    expect(await read(oursFile)).toEqual([good, good, good.map((v, i) => (fields[i] === 'icmpv6.checksum.status' ? '0' : v))]);
  });
});
