/**
 * The UDP mirror on the seed's three masters (unicast, VIP 10.0.0.50, priorities 100/99/98), real
 * daemons in network namespaces, with nftables dropping IP protocol 112 on the backups' input:
 * - the control: without the mirror the cluster splits (more than one node holds the VIP);
 * - with it one MASTER holds the VIP at every sample for 30 s, and the backups' status warns that
 *   10.0.0.51's adverts arrive only over the mirror;
 * - a crash of the master (SIGKILL) still fails over within Master_Down;
 * - forged, replayed, non-peer, oversize and malformed datagrams are counted by reason, logged at
 *   most once per reason, and an authentic one goes through the same receive checks as protocol 112;
 * - real datagrams recorded off the wire before a receiver's restart are replays after it (the
 *   receiver's floors are kept in its state directory).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeAdvert, passwordToAuthData } from '../../src/core/codec.js';
import { parseIpv4, type Ipv4 } from '../../src/core/ip.js';
import { masterDownIntervalMs } from '../../src/core/timers.js';
import { Lab, labUnavailableReason, seedMasters } from './lab.js';
import { seedNodeYaml, sleep, startVrrpd, VRRPD_BIN, type VrrpdProcess, vipHolders, waitUntil } from './vrrpd.js';

const VIP = '10.0.0.50/32';
const PORT = 9651;
const KEY = Buffer.from('0123456789abcdef0123456789abcdef-mirror-test-key');

describe.skipIf(labUnavailableReason !== undefined)('UDP mirror on a real kernel with protocol 112 dropped', () => {
  let lab: Lab;
  let running: VrrpdProcess[] = [];

  const keyPath = (host: string): string => join(lab.place(host).dir, 'mirror.key');
  const yaml = (index: number, mirror: boolean): string =>
    seedNodeYaml({ index, unicast: true, ...(mirror ? { extraTopYaml: `vrrpd:\n  udp_mirror:\n    port: ${PORT}\n    key_file: ${keyPath(`m${index}`)}\n` } : {}) });

  const start = (host: string, text: string): VrrpdProcess => {
    const proc = startVrrpd(lab, host, text);
    running.push(proc);
    return proc;
  };

  const startSeed = async (mirror: boolean): Promise<[VrrpdProcess, VrrpdProcess, VrrpdProcess]> => {
    const m1 = start('m1', yaml(1, mirror));
    await m1.waitForState('MASTER', 8_000);
    const m2 = start('m2', yaml(2, mirror));
    const m3 = start('m3', yaml(3, mirror));
    await m2.waitForState('BACKUP', 8_000);
    await m3.waitForState('BACKUP', 8_000);
    await sleep(1_200);
    expect(await vipHolders(lab, VIP)).toEqual(['m1']);
    return [m1, m2, m3];
  };

  /** nftables in the host's namespace: drop every IP protocol 112 packet it receives. */
  const drop112 = async (host: string): Promise<void> => {
    for (const args of [
      ['add', 'table', 'inet', 'vrrpdrop'],
      ['add', 'chain', 'inet', 'vrrpdrop', 'in', '{ type filter hook input priority 0; }'],
      ['add', 'rule', 'inet', 'vrrpdrop', 'in', 'ip', 'protocol', '112', 'drop'],
    ]) {
      expect(await lab.exec(host, 'nft', args)).toMatchObject({ code: 0 });
    }
  };

  beforeAll(async () => {
    lab = await Lab.create({ hosts: seedMasters(3) });
    for (const host of ['m1', 'm2', 'm3']) writeFileSync(keyPath(host), KEY, { mode: 0o600 });
  });

  afterEach(async () => {
    for (const proc of running) proc.signal('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    running = [];
    for (const host of ['m1', 'm2', 'm3']) {
      // Each test starts a fresh cluster: the floors a node saved from the last test's datagrams
      // (real counters, or the crafted ones below) must not judge this one's.
      rmSync(join(lab.place(host).dir, 'vrrpd-state', 'mirror-floors'), { force: true });
      await lab.exec(host, 'nft', ['delete', 'table', 'inet', 'vrrpdrop']);
      await lab.exec(host, 'nft', ['delete', 'table', 'inet', 'mirrorhold']);
      await lab.exec(host, 'ip', ['addr', 'del', VIP, 'dev', 'ens32']);
      await lab.exec(host, 'ip', ['addr', 'del', '10.0.0.99/24', 'dev', 'ens32']);
    }
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('control: without the mirror, dropping protocol 112 on the backups splits the cluster', async () => {
    await startSeed(false);
    await drop112('m2');
    await drop112('m3');
    // Master_Down of the backups (3.6 s) and a margin: each declares m1 dead and takes the VIP.
    await waitUntil(async () => (await vipHolders(lab, VIP)).length >= 2, 10_000, 'a second VIP holder');
    const holders = await vipHolders(lab, VIP);
    expect(holders.length).toBeGreaterThanOrEqual(2);
    expect(holders).toContain('m1');
  }, 40_000);

  it('with the mirror: one MASTER at every sample for 30 s, the backups warn that protocol 112 is dropped, and a crash of the master fails over within Master_Down; after its restart its datagrams are taken again (a new epoch)', async () => {
    const [m1, m2, m3] = await startSeed(true);
    const marks = [m2.lines.length, m3.lines.length];
    await drop112('m2');
    await drop112('m3');

    const samples: string[][] = [];
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      samples.push(await vipHolders(lab, VIP));
      await sleep(50);
    }
    // Each sample reads three namespaces (about 0.3 s on a busy machine).
    console.log(`mirror on, protocol 112 dropped: ${samples.length} samples of the VIP holders in 30 s`);
    expect(samples.length).toBeGreaterThan(50);
    const bad = samples.filter((s) => s.length !== 1 || s[0] !== 'm1');
    expect(bad).toEqual([]);
    expect(m2.transitions().map((l) => l.to).filter((to) => to === 'MASTER')).toEqual([]);
    expect(m3.transitions().map((l) => l.to).filter((to) => to === 'MASTER')).toEqual([]);

    for (const [proc, mark] of [[m2, marks[0]!], [m3, marks[1]!]] as const) {
      const status = (await proc.status()) as unknown as { instances: Array<{ state: string; warnings: string[]; udp_only_warnings: number; adverts_received: number }>; daemon: { udp_mirror: { accepted: number; duplicates: number; dropped: Record<string, number> } } };
      const instance = status.instances[0]!;
      expect(instance.state).toBe('BACKUP');
      expect(instance.warnings).toEqual(['adverts from 10.0.0.51 arrive only over the UDP mirror: protocol 112 is being dropped']);
      expect(instance.udp_only_warnings).toBe(1);
      // About one advert a second for 30 s came over the mirror; before the drop the same adverts
      // also came over protocol 112 and were taken once (duplicates), not twice.
      expect(status.daemon.udp_mirror.accepted).toBeGreaterThan(30);
      expect(status.daemon.udp_mirror.duplicates).toBeGreaterThan(0);
      expect(instance.adverts_received).toBeLessThanOrEqual(status.daemon.udp_mirror.accepted + 2);
      expect(status.daemon.udp_mirror.dropped).toEqual({});
      // One warning line per episode, not one per advert.
      const warned = proc.lines.slice(mark).filter((l) => /arrive only over the UDP mirror/.test(String(l.msg)));
      expect(warned).toHaveLength(1);
    }
    const table = await lab.exec('m2', process.execPath, [VRRPD_BIN, 'status', '--socket', m2.socketPath]);
    expect(table.stdout).toMatch(/VI_1 warning: adverts from 10\.0\.0\.51 arrive only over the UDP mirror/);
    const backup = (await m2.status()) as unknown as { daemon: { udp_mirror: { sent: number } } };
    expect(backup.daemon.udp_mirror.sent).toBe(0); // a backup sends nothing

    // The master crashes: m2 (priority 99) takes over within its Master_Down, hearing nobody.
    const killedAt = Date.now();
    m1.signal('SIGKILL');
    let onM2At: number | undefined;
    while (onM2At === undefined && Date.now() - killedAt < 10_000) {
      if ((await lab.addrs('m2')).includes(VIP)) onM2At = Date.now();
      else await sleep(20);
    }
    expect(onM2At).toBeDefined();
    const failoverMs = onM2At! - killedAt;
    const limitMs = masterDownIntervalMs(1, 99);
    console.log(`mirror on, protocol 112 dropped: failover after SIGKILL of the master ${failoverMs} ms (Master_Down ${limitMs.toFixed(1)} ms)`);
    expect(failoverMs).toBeLessThanOrEqual(limitMs + 250);
    // m3 hears the new master over the mirror and stays BACKUP (a SIGKILLed daemon leaves its VIP
    // on m1's interface, as a crashed machine's would be gone with it: only the live nodes count).
    await sleep(3_000);
    expect(await vipHolders(lab, VIP, ['m2', 'm3'])).toEqual(['m2']);
    expect((await m3.status()).instances[0]).toMatchObject({ state: 'BACKUP', master_address: '10.0.0.52' });

    // master1 comes back with the same state directory: a new counter epoch, so its datagrams are
    // above every one m2 and m3 took from it before the crash; they follow it again, none is a replay.
    const m2Mark = m2.lines.length;
    const again = start('m1', yaml(1, true));
    await again.waitForState('MASTER', 10_000);
    await m2.waitForState('BACKUP', 10_000, m2Mark);
    await sleep(2_000);
    expect(await vipHolders(lab, VIP)).toEqual(['m1']);
    for (const proc of [m2, m3]) {
      const after = (await proc.status()) as unknown as { instances: Array<{ state: string; master_address: string }>; daemon: { udp_mirror: { dropped: Record<string, number> } } };
      expect(after.instances[0]).toMatchObject({ state: 'BACKUP', master_address: '10.0.0.51' });
      expect(after.daemon.udp_mirror.dropped).toEqual({});
    }
  }, 90_000);

  it('forged, replayed, non-peer, oversize and malformed datagrams are counted by reason, logged once per reason; an authentic one meets the same receive checks', async () => {
    const [, m2] = await startSeed(true);
    const mark = m2.lines.length;
    // A second address on m3 that no instance lists as a peer.
    expect(await lab.exec('m3', 'ip', ['addr', 'add', '10.0.0.99/24', 'dev', 'ens32'])).toMatchObject({ code: 0 });
    // An advert from m3 with the wrong password: authentic as a datagram, refused as an advert.
    const advert = encodeAdvert({
      version: 2, type: 1, virtualRouterId: 251, priority: 50, authType: 1, advertIntervalSec: 1,
      authData: passwordToAuthData('wrong').authData, addresses: [parseIpv4('10.0.0.50') as Ipv4],
    });
    const script = `
import socket, hmac, hashlib, struct, sys
key = open(sys.argv[1], 'rb').read()
advert = bytes.fromhex(sys.argv[2])
def seal(src, dst, counter, tag=None):
    body = b'VRM\\x01' + struct.pack('>Q', counter) + advert
    good = hmac.new(key, socket.inet_aton(src) + socket.inet_aton(dst) + body, hashlib.sha256).digest()
    return body + (tag if tag is not None else good)
def send(src, payload):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.sendto(payload, ('10.0.0.52', ${PORT}))
    s.close()
counter = (2**32 + 7) << 20
send('10.0.0.53', seal('10.0.0.53', '10.0.0.52', counter))          # authentic: goes on to the receive checks
send('10.0.0.53', seal('10.0.0.53', '10.0.0.52', counter))          # replay: the same counter
send('10.0.0.53', seal('10.0.0.53', '10.0.0.52', counter - 1))      # replay: an older counter
for i in range(50):
    send('10.0.0.53', seal('10.0.0.53', '10.0.0.52', counter + 1 + i, tag=bytes(32)))   # forged
send('10.0.0.53', seal('10.0.0.53', '10.0.0.51', counter + 100))    # sealed for another node: the tag fails
send('10.0.0.99', seal('10.0.0.99', '10.0.0.52', counter + 200))    # authentic but not a peer
send('10.0.0.53', b'x' * 500)                                       # oversize
send('10.0.0.53', b'VRM')                                           # malformed
send('10.0.0.53', b'XYZ\\x01' + bytes(60))                          # bad magic
`;
    const sent = await lab.exec('m3', 'python3', ['-c', script, keyPath('m3'), Buffer.from(advert).toString('hex')]);
    expect(sent).toMatchObject({ code: 0 });
    await sleep(500);
    const status = (await m2.status()) as unknown as { instances: Array<{ state: string; dropped: Record<string, number> }>; daemon: { udp_mirror: { received: number; accepted: number; dropped: Record<string, number> } } };
    expect(status.daemon.udp_mirror.dropped).toEqual({ replay: 2, bad_tag: 51, not_peer: 1, too_long: 1, too_short: 1, bad_magic: 1 });
    // The authentic one went through the receive checks of protocol 112 and failed the password.
    expect(status.instances[0]!.dropped).toMatchObject({ auth_failure: 1 });
    expect(status.instances[0]!.state).toBe('BACKUP');
    const dropLines = m2.lines.slice(mark).filter((l) => /dropped UDP mirror datagram/.test(String(l.msg)));
    expect(dropLines.map((l) => l.reason).sort()).toEqual(['bad_magic', 'bad_tag', 'not_peer', 'replay', 'too_long', 'too_short']);
    expect(await vipHolders(lab, VIP)).toEqual(['m1']);
  }, 60_000);

  it('datagrams recorded off the wire before a receiver restarts are replays after it (its floors are kept in the state directory); fresh ones are taken', async () => {
    const [, m2] = await startSeed(true);
    // Record what m1 mirrors to m2 while m2 runs and takes it (one datagram a second).
    const capture = await lab.tcpdump('m2', `udp and src host 10.0.0.51 and dst host 10.0.0.52 and dst port ${PORT}`);
    await sleep(3_500);
    const frames = await capture.stop();
    expect(frames.length).toBeGreaterThanOrEqual(2);
    const recorded = frames.map((f) => {
      const ipHeader = ((f.bytes[14] as number) & 0x0f) * 4;
      return Buffer.from(f.bytes.subarray(14 + ipHeader + 8));
    });
    const counters = recorded.map((d) => d.readBigUInt64BE(4));
    await sleep(300); // the last one reached vrrpd too
    const taken = (await m2.status()) as unknown as { daemon: { udp_mirror: { accepted: number } } };
    expect(taken.daemon.udp_mirror.accepted).toBeGreaterThanOrEqual(recorded.length);

    // m2 dies without a chance to save anything at exit: each floor was saved as it rose.
    m2.signal('SIGKILL');
    await m2.exited;
    const floorsFile = join(lab.place('m2').dir, 'vrrpd-state', 'mirror-floors');
    const savedAtDeath = existsSync(floorsFile) ? readFileSync(floorsFile, 'utf8') : '';
    // Hold m1's own fresh datagrams (from its mirror socket, source port 9651) away from the new
    // m2, so that the replays come first: the first fresh one would otherwise raise the floor above
    // them, with or without a saved floor.
    for (const args of [
      ['add', 'table', 'inet', 'mirrorhold'],
      ['add', 'chain', 'inet', 'mirrorhold', 'in', '{ type filter hook input priority 0; }'],
      ['add', 'rule', 'inet', 'mirrorhold', 'in', 'ip', 'saddr', '10.0.0.51', 'udp', 'sport', String(PORT), 'drop'],
    ]) {
      expect(await lab.exec('m2', 'nft', args)).toMatchObject({ code: 0 });
    }
    const again = start('m2', yaml(2, true));
    await again.waitForState('BACKUP', 10_000);

    // The recorded datagrams again, from m1's address (another source port), in their order.
    const script = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('10.0.0.51', 0))
for payload in sys.argv[1:]:
    s.sendto(bytes.fromhex(payload), ('10.0.0.52', ${PORT}))
`;
    expect(await lab.exec('m1', 'python3', ['-c', script, ...recorded.map((d) => d.toString('hex'))])).toMatchObject({ code: 0 });
    await sleep(500);
    type Mirrored = { instances: Array<{ state: string; peers: Array<{ address: string; path: string | null }> }>; daemon: { udp_mirror: { received: number; accepted: number; duplicates: number; dropped: Record<string, number> } } };
    const after = (await again.status()) as unknown as Mirrored;
    expect(after.daemon.udp_mirror).toMatchObject({ received: recorded.length, accepted: 0, duplicates: 0, dropped: { replay: recorded.length } });
    // No advert of theirs reached the instance: m1's adverts still come over protocol 112 only.
    expect(after.instances[0]!.state).toBe('BACKUP');
    expect(after.instances[0]!.peers.find((p) => p.address === '10.0.0.51')).toMatchObject({ path: 'vrrp' });
    expect(again.lines.filter((l) => /dropped UDP mirror datagram/.test(String(l.msg))).map((l) => l.reason)).toEqual(['replay']);

    // m1's fresh datagrams, let through again, are taken.
    expect(await lab.exec('m2', 'nft', ['delete', 'table', 'inet', 'mirrorhold'])).toMatchObject({ code: 0 });
    await waitUntil(async () => ((await again.status()) as unknown as Mirrored).daemon.udp_mirror.accepted >= 2, 5_000, 'fresh datagrams from m1 taken');
    const fresh = (await again.status()) as unknown as Mirrored;
    expect(fresh.daemon.udp_mirror.dropped).toEqual({ replay: recorded.length });
    // What the killed m2 had saved: a line for m1 at or above every recorded counter.
    const saved = /^10\.0\.0\.51 (\d+)$/m.exec(savedAtDeath);
    expect(saved).not.toBeNull();
    expect(BigInt(saved![1]!)).toBeGreaterThanOrEqual(counters.reduce((a, b) => (a > b ? a : b)));
    expect(await vipHolders(lab, VIP)).toEqual(['m1']);

    // A floors file that cannot be parsed: one error line naming it, and the node runs, takes m1's
    // datagrams and writes a good file again.
    again.signal('SIGKILL');
    await again.exited;
    writeFileSync(floorsFile, '10.0.0.51 not-a-counter\n');
    const third = start('m2', yaml(2, true));
    await third.waitForState('BACKUP', 10_000);
    const complaint = third.lines.filter((l) => String(l.msg).includes('the UDP mirror starts without replay floors'));
    expect(complaint).toHaveLength(1);
    expect(complaint[0]).toMatchObject({ level: 50 });
    expect(String(complaint[0]!.msg)).toContain(`${floorsFile} line 1: expected "IPv4-address counter"`);
    await waitUntil(async () => ((await third.status()) as unknown as Mirrored).daemon.udp_mirror.accepted >= 1, 5_000, 'a datagram from m1 taken');
    expect(readFileSync(floorsFile, 'utf8')).toMatch(/^10\.0\.0\.51 \d+\n$/);
  }, 90_000);
});
