/**
 * Codec throughput for a typical advert (the Kubernetes masters' VRID 51, one VIP, PASS auth):
 * decode of the VRRP part, the full receive checks on a whole IPv4 packet, and encode.
 * Prints packets/s as the median of several timed runs, after a warm-up so the JIT has settled.
 *
 *   node --import ./test/register.mjs test/bench/core-codec.ts [--runs 7] [--packets 200000]
 */
import { parseArgs } from 'node:util';
import { checkAdvert } from '../../src/core/checks.js';
import { decodeAdvert, encodeAdvert, encodeIpv4Packet, passwordToAuthData, type AdvertInput } from '../../src/core/codec.js';
import { parseIpv4 } from '../../src/core/ip.js';
import type { ReceiveExpectations } from '../../src/core/types.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, packets: { type: 'string', default: '200000' } } });
const runs = Number(values.runs);
const packets = Number(values.packets);

const vip = parseIpv4('10.0.0.50') as number;
const advert: AdvertInput = {
  version: 2,
  type: 1,
  virtualRouterId: 51,
  priority: 100,
  authType: 1,
  advertIntervalSec: 1,
  addresses: [vip],
  authData: passwordToAuthData('123456').authData,
};
const payload = encodeAdvert(advert);
const packet = encodeIpv4Packet({ source: parseIpv4('10.0.0.52') as number, destination: parseIpv4('10.0.0.51') as number }, payload);
const expectations: ReceiveExpectations = {
  version: 2,
  authType: 1,
  authData: advert.authData,
  advertIntervalCs: 100,
  v3Checksum: 'auto',
  virtualAddresses: [vip],
  unicastPeers: [parseIpv4('10.0.0.52') as number, parseIpv4('10.0.0.53') as number],
  checkUnicastSrc: true,
  checkAddressList: true,
};

// Keeps results alive so the work cannot be optimised away.
let sink = 0;

function measure(name: string, work: () => void): void {
  for (let i = 0; i < packets / 4; i++) work(); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < packets; i++) work();
    const elapsedNs = Number(process.hrtime.bigint() - start);
    rates.push(packets / (elapsedNs / 1e9));
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)] as number;
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  console.log(`${name.padEnd(34)} ${fmt(median).padStart(12)} packets/s  (median of ${runs}; min ${fmt(rates[0] as number)}, max ${fmt(rates[rates.length - 1] as number)})`);
}

console.log(`node ${process.version}, ${packets} packets per run, ${payload.length}-byte advert / ${packet.length}-byte packet`);
measure('decodeAdvert (VRRP part)', () => {
  const result = decodeAdvert(packet, 20);
  if (result.ok) sink += result.advert.priority;
});
measure('checkAdvert (whole packet)', () => {
  const result = checkAdvert(packet, expectations);
  if (result.ok) sink += result.advert.priority;
});
measure('encodeAdvert (checksum computed)', () => {
  sink += encodeAdvert(advert)[7] as number;
});
if (sink === 42) console.log('');
