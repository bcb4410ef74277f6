/**
 * An independent reading of vrrpd's adverts: Wireshark's VRRP dissector (`tshark`), which shares
 * no code with vrrpd's codec or with keepalived. vrrpd runs master1 of the seed's config alone (it
 * becomes MASTER after Master_Down), advertises for a while and is stopped with SIGTERM (its
 * priority-0 goodbye); tcpdump writes every VRRP frame on master1's ens32 to a pcap, and tshark
 * must dissect each one as well-formed VRRP of the right version with checksum status Good.
 *
 * Cases: VRRPv2 with PASS unicast and multicast (the seed as is), VRRPv3 at advert_int 0.1 unicast
 * (a checksum per peer, over the IPv4 pseudo-header) and multicast with three VIPs.
 *
 * tshark is required: if it is missing the tests fail (.ci/run installs it). It runs as root here
 * (it says "Running as user root ... could be dangerous" on stderr when it does, which is the only
 * stderr line accepted); reading a file needs no capture privileges. Its HOME points into the lab
 * so that no personal Wireshark profile can change the dissection, and the one VRRP preference is
 * set explicitly: v3 checksums over the pseudo-header (`vrrp.v3_checksum_as_in_v2:FALSE`, the
 * default, and keepalived 2.2.7's default).
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUnavailableReason } from '../netns/lab.js';
import { sleep } from '../netns/vrrpd.js';
import { seedConf, seedV3Conf, withExtraVip, withoutUnicast } from './configs.js';
import { Cluster } from '../../src/lab/cluster.js';
import { ethernetAdverts } from '../../src/lab/wire.js';
import { masterDownMs, masterDownV3Ms } from './timing.js';

const ROOT_WARNING = /^Running as user "root" and group "root"\. This could be dangerous\.$/;
/** vrrp.checksum.status: 0 Bad, 1 Good, 2 Unverified, 3 Not present, 4 Illegal (tshark -G values). */
const CHECKSUM_GOOD = '1';
const CHECKSUM_BAD = '0';
const FIELDS = [
  'frame.number',
  'ip.src',
  'ip.dst',
  'ip.proto',
  'vrrp.version',
  'vrrp.type',
  'vrrp.virt_rtr_id',
  'vrrp.prio',
  'vrrp.addr_count',
  'vrrp.checksum.status',
  'vrrp.adver_int',
  'vrrp.reserved_mbz',
  'vrrp.short_adver_int',
  'vrrp.auth_type',
  'vrrp.auth_string',
  'vrrp.ip_addr',
  '_ws.malformed',
  '_ws.expert',
] as const;
type Row = Record<(typeof FIELDS)[number], string>;

function tshark(home: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('tshark', args, { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 << 20, env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof (error as { code?: unknown }).code === 'number' ? Number((error as { code: number }).code) : 127;
      resolve({ code, stdout, stderr: stderr || (error !== null && code === 127 ? String(error) : '') });
    });
  });
}

/** stderr without the warning tshark prints when run as root. */
function unexpectedStderr(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.trim() !== '' && !ROOT_WARNING.test(line.trim()));
}

interface Case {
  name: string;
  version: 2 | 3;
  unicast: boolean;
  conf: () => string;
  vips: string[];
  /** What to wait for before vrrpd is MASTER: its Master_Down(100). */
  masterDownMs: number;
  /** How long to let it advertise. */
  advertiseMs: number;
  /** The verdict expected on every frame: Good, or Bad for the control case. */
  checksum: typeof CHECKSUM_GOOD | typeof CHECKSUM_BAD;
}

const CASES: Case[] = [
  { name: 'VRRPv2, PASS, unicast (the seed)', version: 2, unicast: true, conf: () => seedConf('preempt', 1), vips: ['10.0.0.50'], masterDownMs: masterDownMs(100), advertiseMs: 2_200, checksum: CHECKSUM_GOOD },
  { name: 'VRRPv2, PASS, multicast', version: 2, unicast: false, conf: () => withoutUnicast(seedConf('preempt', 1)), vips: ['10.0.0.50'], masterDownMs: masterDownMs(100), advertiseMs: 2_200, checksum: CHECKSUM_GOOD },
  { name: 'VRRPv3 at 0.1 s, unicast', version: 3, unicast: true, conf: () => seedV3Conf('preempt', 1), vips: ['10.0.0.50'], masterDownMs: masterDownV3Ms(100), advertiseMs: 1_000, checksum: CHECKSUM_GOOD },
  {
    name: 'VRRPv3 at 0.1 s, multicast, three VIPs',
    version: 3,
    unicast: false,
    conf: () => withExtraVip(withExtraVip(withoutUnicast(seedV3Conf('preempt', 1)), '10.0.0.62'), '10.0.0.61'),
    vips: ['10.0.0.50', '10.0.0.61', '10.0.0.62'],
    masterDownMs: masterDownV3Ms(100),
    advertiseMs: 1_000,
    checksum: CHECKSUM_GOOD,
  },
  // The control: keepalived's `old_unicast_checksum` (its pre-2.0.x unicast v3 checksum, over the
  // multicast group instead of the peer) is wrong on the wire by design, and tshark must say so,
  // as it does for keepalived's own adverts with that option. A check that cannot see a bad
  // checksum would pass the cases above for nothing.
  {
    name: 'control: VRRPv3 at 0.1 s, unicast with old_unicast_checksum',
    version: 3,
    unicast: true,
    conf: () => seedV3Conf('preempt', 1).replace(/^(\s*)(advert_int 0\.1)$/m, '$1$2\n$1old_unicast_checksum'),
    vips: ['10.0.0.50'],
    masterDownMs: masterDownV3Ms(100),
    advertiseMs: 500,
    checksum: CHECKSUM_BAD,
  },
];

describe.skipIf(labUnavailableReason !== undefined)("interop, Wireshark's dissector reads every advert vrrpd sends as well-formed VRRP with a good checksum", () => {
  let mixed: Cluster;
  let home: string;
  /** Why tshark cannot run here; every case fails with it (not a skip: the check would silently not happen). */
  let tsharkMissing: string | undefined;

  beforeAll(async () => {
    const version = await tshark('/tmp', ['--version']);
    if (version.code !== 0) tsharkMissing = `tshark is required for this test and did not run (exit ${version.code}: ${version.stderr.trim()}); install the Debian package tshark (.ci/run does)`;
    else console.log(`[interop] tshark: ${version.stdout.split('\n')[0]}`);
    mixed = await Cluster.create();
    await mixed.reset();
    home = join(mixed.lab.dir, 'tshark-home');
    mkdirSync(home);
  });

  afterAll(async () => {
    await mixed?.destroy();
  });

  for (const c of CASES) {
    it(`${c.name}: periodic adverts and the priority-0 goodbye`, async () => {
      if (tsharkMissing !== undefined) throw new Error(tsharkMissing);
      const file = join(mixed.lab.dir, `tshark-${CASES.indexOf(c)}.pcap`);
      const capture = await mixed.lab.tcpdump('m1', 'ip proto 112', 'ens32', { file });
      const vrrpd = await mixed.node('m1').startVrrpd(c.conf(), '.conf');
      await vrrpd.waitForState('MASTER', c.masterDownMs + 10_000);
      await sleep(c.advertiseMs);
      vrrpd.signal('SIGTERM');
      expect((await vrrpd.exited).code).toBe(0);
      await sleep(100);
      const frames = await capture.stop();
      const ours = ethernetAdverts(frames);
      expect(ours.length).toBe(frames.length);

      const prefs = ['-o', 'vrrp.v3_checksum_as_in_v2:FALSE'];
      const out = await tshark(home, ['-n', '-r', file, ...prefs, '-Y', 'ip.proto == 112', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,', ...FIELDS.flatMap((f) => ['-e', f])]);
      expect(out.code, out.stderr).toBe(0);
      expect(unexpectedStderr(out.stderr)).toEqual([]);
      const rows: Row[] = out.stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const values = line.split('\t');
          return Object.fromEntries(FIELDS.map((f, i) => [f, values[i] ?? ''])) as Row;
        });

      // Every VRRP frame of the capture, and tshark's reading of each.
      expect(rows.length).toBe(frames.length);
      const destinations = c.unicast ? ['10.0.0.52', '10.0.0.53'] : ['224.0.0.18'];
      const summary = new Map<string, number>();
      for (const row of rows) {
        const key = `v${row['vrrp.version']} prio ${row['vrrp.prio']} -> ${row['ip.dst']} checksum ${row['vrrp.checksum.status']}`;
        summary.set(key, (summary.get(key) ?? 0) + 1);
      }
      console.log(`[interop] tshark, ${c.name}: ${rows.length} frames: ${[...summary].map(([k, n]) => `${n} x ${k}`).join('; ')}`);
      for (const row of rows) {
        const where = `frame ${row['frame.number']}: ${JSON.stringify(row)}`;
        expect(row['_ws.malformed'], where).toBe('');
        // A bad checksum is tshark's only expert note on a well-formed VRRP packet.
        expect(row['_ws.expert'] !== '', where).toBe(c.checksum === CHECKSUM_BAD);
        expect(row['vrrp.checksum.status'], where).toBe(c.checksum);
        expect(row['vrrp.version'], where).toBe(String(c.version));
        expect(row['vrrp.type'], where).toBe('1');
        expect(row['vrrp.virt_rtr_id'], where).toBe('251');
        expect(row['ip.src'], where).toBe('10.0.0.51');
        expect(destinations, where).toContain(row['ip.dst']);
        expect(row['vrrp.addr_count'], where).toBe(String(c.vips.length));
        expect(row['vrrp.ip_addr'].split(',').sort(), where).toEqual([...c.vips].sort());
        if (c.version === 2) {
          expect([row['vrrp.auth_type'], row['vrrp.auth_string'], row['vrrp.adver_int']], where).toEqual(['1', '123456', '1']);
        } else {
          expect([row['vrrp.reserved_mbz'], row['vrrp.short_adver_int'], row['vrrp.auth_type'], row['vrrp.auth_string']], where).toEqual(['0', '10', '', '']);
        }
      }
      // Both kinds of advert were there: periodic ones to every destination, and one goodbye to each.
      for (const destination of destinations) {
        expect(rows.filter((r) => r['ip.dst'] === destination && r['vrrp.prio'] === '100').length).toBeGreaterThanOrEqual(2);
        expect(rows.filter((r) => r['ip.dst'] === destination && r['vrrp.prio'] === '0').length).toBe(1);
      }
    });
  }
});
