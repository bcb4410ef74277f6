/**
 * Helper of transport-send.test.ts, run inside a lab namespace: open the real transport on ens32,
 * send one advert to two unicast peers, then keep the event loop busy for BUSY_MS. Prints the wall
 * clock (ms, µs resolution) before the send and when the loop was released.
 */
import { openTransport } from '../../src/io/transport.js';
import { parseIpv4 } from '../../src/core/ip.js';

const BUSY_MS = Number(process.argv[2] ?? 100);
const now = (): number => performance.timeOrigin + performance.now();
const ip = (text: string): number => {
  const parsed = parseIpv4(text);
  if (parsed === undefined) throw new Error(`bad address ${text}`);
  return parsed;
};
const errors: string[] = [];
const transport = openTransport('ens32', { onPacket: () => undefined, onError: (error) => errors.push(error.message) }, { multicast: false });
// An advert-shaped payload (VRID 251, priority 100, one address, PASS 123456); only its timing matters here.
const payload = Buffer.from('21fb6401010101fe0a0000323132333435360000', 'hex');
setTimeout(() => {
  const before = now();
  transport.send(payload, { source: ip('10.0.0.51'), destinations: [ip('10.0.0.52'), ip('10.0.0.53')] });
  while (now() - before < BUSY_MS) {
    // the rest of a busy turn of the event loop (a fork, a GC, a burst of work)
  }
  const released = now();
  setTimeout(() => {
    transport.close();
    console.log(JSON.stringify({ before, released, errors }));
    process.exit(0);
  }, 50);
}, 300);
