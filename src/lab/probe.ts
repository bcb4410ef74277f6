/**
 * The lab client's probe, run as its own process in the client's namespace: every 10 ms it opens
 * a TCP connection to VIP:6443 and reads which master answered. It reports on stdout, one JSON line
 * each, only what changes (keeping the pipe quiet at 100 probes a second):
 * - {"event":"reply","node":N,"t":MS,"prev_node":P,"prev_t":MS}: a reply from a different master
 *   than the previous reply, or from the same one after a gap; prev_t is the previous reply's time,
 *   so t - prev_t is the outage the client saw;
 * - {"event":"hb","node":N,"t":MS,"now":MS} every 100 ms: the latest reply so far.
 * Times are wall-clock ms at reception (the lab runs on one machine, one clock). A probe that gets
 * no answer within its timeout is abandoned; probes overlap, so a hung connect delays nothing.
 *
 * Usage: node probe.js HOST PORT [INTERVAL_MS]
 */
import { connect } from 'node:net';

const [host = '10.0.0.50', portText = '6443', intervalText = '10'] = process.argv.slice(2);
const port = Number(portText);
const intervalMs = Number(intervalText);
const PROBE_TIMEOUT_MS = 1_000;
/** Replies from one master closer together than this are one uninterrupted run. */
const GAP_MS = 50;

let last: { node: string; t: number } | undefined;

function emit(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function reply(node: string): void {
  const t = Date.now();
  if (last === undefined || last.node !== node || t - last.t > GAP_MS) {
    emit({ event: 'reply', node, t, prev_node: last?.node ?? null, prev_t: last?.t ?? null });
  }
  last = { node, t };
}

function probe(): void {
  const socket = connect({ host, port });
  let data = '';
  socket.setTimeout(PROBE_TIMEOUT_MS, () => socket.destroy());
  socket.on('connect', () => socket.write('?'));
  socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
  socket.on('end', () => {
    const node = data.trim();
    if (node !== '') reply(node);
  });
  socket.on('error', () => undefined);
}

setInterval(probe, intervalMs);
setInterval(() => emit({ event: 'hb', node: last?.node ?? null, t: last?.t ?? null, now: Date.now() }), 100);
emit({ event: 'ready', now: Date.now() });
