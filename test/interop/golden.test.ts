/**
 * Golden packets: for the same keepalived.conf (the seed's master1, unicast and multicast), the
 * adverts vrrpd puts on the wire equal keepalived 2.2.7's byte for byte, except the IP ID (the
 * kernel's choice) and so the IP header checksum. Compared: the periodic advert to each
 * destination and the priority-0 goodbye on SIGTERM, whole Ethernet frames captured with tcpdump
 * on master1's ens32.
 *
 * keepalived and vrrpd run at the same time, each in its own lab (the same addresses, different
 * MACs: the Ethernet addresses are compared with each lab's own).
 *
 * VRRPv3 (issue 14) on the seed's config switched to `vrrp_version 3`: at advert_int 0.1 (Max Adver
 * Int field 10 cs) unicast and multicast, and at the default 1 s with the seed's PASS block left in
 * (both daemons ignore it under v3). A v3 checksum covers the IPv4 pseudo-header, so each unicast
 * copy has its own: the two copies must differ exactly there and each must verify with its own
 * destination (RFC 5798 5.2.8).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUnavailableReason } from '../netns/lab.js';
import { sleep } from '../netns/vrrpd.js';
import { seedConf, seedV3Conf, withoutUnicast, withVrrpVersion3 } from './configs.js';
import { v3Checksum } from '../../src/core/codec.js';
import { parseIpv4 } from '../../src/core/ip.js';
import { Cluster } from '../../src/lab/cluster.js';
import type { Daemon } from '../../src/lab/daemons.js';
import { Wire } from '../../src/lab/wire.js';
import { ADVERT_INT_MS, masterDownMs } from './timing.js';

const ETHERNET_HEADER_LENGTH = 14;
const MULTICAST_MAC = '01:00:5e:00:00:12';

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function mac(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The IPv4 packet with the ID (bytes 4-5) and header checksum (10-11) zeroed. */
function comparable(packet: Uint8Array): string {
  const copy = packet.slice();
  copy[4] = copy[5] = copy[10] = copy[11] = 0;
  return hex(copy);
}

interface Golden {
  /** destination -> { periodic advert, goodbye } as comparable hex, with the Ethernet header checked. */
  byDestination: Map<string, { advert: string; goodbye: string; ethernetOk: boolean }>;
  /** ms between the copies of one advert to the two peers (unicast). */
  fanOutGapsMs: number[];
}

async function capture(mixed: Cluster, daemon: 'keepalived' | 'vrrpd', conf: string, unicast: boolean): Promise<Golden> {
  const wire = await Wire.host(mixed.lab, 'm1');
  const node = mixed.node('m1');
  const proc: Daemon = daemon === 'keepalived' ? await node.startKeepalived(conf) : await node.startVrrpd(conf, '.conf');
  await mixed.vips.waitForHolders(['m1'], masterDownMs(100) + 5_000);
  await sleep(2 * ADVERT_INT_MS + 200);
  proc.signal('SIGTERM');
  await proc.exited;
  await sleep(100);
  await wire.stop();

  const ownMac = mixed.lab.host('m1').mac.toLowerCase();
  const peerMac = new Map([
    ['10.0.0.52', mixed.lab.host('m2').mac.toLowerCase()],
    ['10.0.0.53', mixed.lab.host('m3').mac.toLowerCase()],
    ['224.0.0.18', MULTICAST_MAC],
  ]);
  const sent = wire.frames.filter((f) => mac(f.bytes.subarray(6, 12)) === ownMac);
  const byDestination: Golden['byDestination'] = new Map();
  const destinations = unicast ? ['10.0.0.52', '10.0.0.53'] : ['224.0.0.18'];
  for (const destination of destinations) {
    const frames = sent.filter((f) => {
      const ip = f.bytes.subarray(ETHERNET_HEADER_LENGTH);
      return `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}` === destination;
    });
    const priorityOf = (f: { bytes: Uint8Array }): number => f.bytes[ETHERNET_HEADER_LENGTH + 20 + 2]!;
    const advert = frames.find((f) => priorityOf(f) === 100);
    const goodbye = frames.find((f) => priorityOf(f) === 0);
    if (advert === undefined || goodbye === undefined) throw new Error(`${daemon}: no advert and goodbye to ${destination} captured (${frames.length} frames)`);
    const ethernetOk = [advert, goodbye].every(
      (f) => mac(f.bytes.subarray(0, 6)) === peerMac.get(destination) && mac(f.bytes.subarray(6, 12)) === ownMac && f.bytes[12] === 0x08 && f.bytes[13] === 0x00,
    );
    byDestination.set(destination, { advert: comparable(advert.bytes.subarray(ETHERNET_HEADER_LENGTH)), goodbye: comparable(goodbye.bytes.subarray(ETHERNET_HEADER_LENGTH)), ethernetOk });
  }
  const fanOutGapsMs: number[] = [];
  if (unicast) {
    const adverts = wire.adverts.filter((a) => a.source === '10.0.0.51' && a.priority === 100);
    for (let i = 0; i + 1 < adverts.length; i++) {
      if (adverts[i]!.destination === '10.0.0.52' && adverts[i + 1]!.destination === '10.0.0.53') fanOutGapsMs.push(adverts[i + 1]!.timeMs - adverts[i]!.timeMs);
    }
  }
  return { byDestination, fanOutGapsMs };
}

describe.skipIf(labUnavailableReason !== undefined)('interop, golden packets: vrrpd sends what keepalived sends', () => {
  let keepalivedLab: Cluster;
  let vrrpdLab: Cluster;

  beforeAll(async () => {
    [keepalivedLab, vrrpdLab] = await Promise.all([Cluster.create(), Cluster.create()]);
    await Promise.all([keepalivedLab.reset(), vrrpdLab.reset()]);
  });

  afterAll(async () => {
    await Promise.all([keepalivedLab?.destroy(), vrrpdLab?.destroy()]);
  });

  const passHex = hex(new TextEncoder().encode('123456'));
  const cases: Array<{ name: string; unicast: boolean; version: 2 | 3; intervalCs: number; conf: () => string }> = [
    { name: "v2 unicast: the seed's master1 config", unicast: true, version: 2, intervalCs: 100, conf: () => seedConf('preempt', 1) },
    { name: "v2 multicast: the seed's master1 config", unicast: false, version: 2, intervalCs: 100, conf: () => withoutUnicast(seedConf('preempt', 1)) },
    { name: 'v3 unicast at advert_int 0.1', unicast: true, version: 3, intervalCs: 10, conf: () => seedV3Conf('preempt', 1) },
    { name: 'v3 multicast at advert_int 0.1', unicast: false, version: 3, intervalCs: 10, conf: () => withoutUnicast(seedV3Conf('preempt', 1)) },
    { name: "v3 unicast at the default 1 s, the seed's PASS block left in (ignored)", unicast: true, version: 3, intervalCs: 100, conf: () => withVrrpVersion3(seedConf('preempt', 1)) },
  ];

  for (const { name, unicast, version, intervalCs, conf: makeConf } of cases) {
    const mode = unicast ? 'unicast' : 'multicast';
    it(`${name}: periodic advert and priority-0 goodbye`, async () => {
      const conf = makeConf();
      const [ka, vr] = await Promise.all([capture(keepalivedLab, 'keepalived', conf, unicast), capture(vrrpdLab, 'vrrpd', conf, unicast)]);
      for (const [destination, golden] of ka.byDestination) {
        const ours = vr.byDestination.get(destination)!;
        console.log(`[interop] golden v${version} ${mode} to ${destination}: keepalived ${golden.advert} / goodbye ${golden.goodbye}`);
        expect(golden.ethernetOk).toBe(true);
        expect(ours.ethernetOk).toBe(true);
        expect(ours.advert).toBe(golden.advert);
        expect(ours.goodbye).toBe(golden.goodbye);
      }
      expect([...vr.byDestination.keys()]).toEqual([...ka.byDestination.keys()]);
      // The known shape (docs/protocol.md#wire-format): TOS 0xc0, no DF, TTL 255, protocol 112; VRID 251, priority 100, one VIP.
      const advert = ka.byDestination.get(unicast ? '10.0.0.52' : '224.0.0.18')!.advert;
      expect(advert.slice(0, 4)).toBe('45c0');
      expect(advert.slice(12, 20)).toBe('0000ff70');
      if (version === 2) {
        // Version 2, type 1; auth type 1 (PASS), 1 s; the VIP, then "123456" padded to 8 bytes.
        expect(advert.slice(40, 52)).toBe('21fb64010101');
        expect(advert.slice(56)).toBe(`0a000032${passHex}0000`);
      } else {
        // Version 3, type 1; 4 reserved bits zero and 12 bits of centiseconds; the VIP, no auth data.
        expect(advert.slice(4, 8)).toBe('0020');
        expect(advert.slice(40, 52)).toBe(`31fb6401${intervalCs.toString(16).padStart(4, '0')}`);
        expect(advert.slice(56)).toBe('0a000032');
        for (const [destination, golden] of ka.byDestination) {
          for (const packet of [golden.advert, golden.goodbye]) {
            const vrrp = Uint8Array.from(Buffer.from(packet.slice(40), 'hex'));
            expect(v3Checksum(vrrp, { source: parseIpv4('10.0.0.51')!, destination: parseIpv4(destination)! }), `${destination}: ${packet}`).toBe(0);
          }
        }
        if (unicast) {
          // Per-peer checksums: the copies to .52 and .53 differ in the checksum and nowhere else in VRRP.
          const [to52, to53] = ['10.0.0.52', '10.0.0.53'].map((d) => ka.byDestination.get(d)!.advert);
          expect(to52!.slice(52, 56)).not.toBe(to53!.slice(52, 56));
          expect(to52!.slice(40, 52) + to52!.slice(56)).toBe(to53!.slice(40, 52) + to53!.slice(56));
        }
      }
      if (unicast) {
        const fmt = (gaps: number[]): string => gaps.map((g) => g.toFixed(2)).join(', ');
        console.log(`[interop] golden v${version} unicast fan-out (ms between the copies to .52 and .53): keepalived ${fmt(ka.fanOutGapsMs)}; vrrpd ${fmt(vr.fanOutGapsMs)}`);
      }
    });
  }
});
