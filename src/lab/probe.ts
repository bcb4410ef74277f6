/**
 * The lab client's probe, run as its own process in a client's namespace: every --interval-ms
 * (10) it opens a TCP connection to HOST:PORT, writes one byte and reads the name the serving
 * master's apiserver stand-in answers with (apiserver.ts). One JSON line per probe on stdout,
 * batched every 50 ms: {"t":SENT,"r":REPLIED,"n":"m2"} or {"t":SENT,"e":"timeout"}; the first
 * line is {"ready":NOW}.
 *
 * Times are wall-clock ms with microsecond resolution (performance.timeOrigin + now), the same
 * clock as tcpdump's timestamps. A probe not answered within --timeout-ms (300) is abandoned before
 * the kernel's first SYN retransmission (1 s), so a late retransmission can never be counted; probes
 * overlap, so a hung connect delays nothing. It exits when its stdin closes (the lab is gone).
 *
 * Usage: node probe.js [--host 10.0.0.50] [--port 6443] [--interval-ms 10] [--timeout-ms 300]
 */
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '10.0.0.50' },
    port: { type: 'string', default: '6443' },
    'interval-ms': { type: 'string', default: '10' },
    'timeout-ms': { type: 'string', default: '300' },
  },
});
const port = Number(values.port);
const intervalMs = Number(values['interval-ms']);
const timeoutMs = Number(values['timeout-ms']);
const now = (): number => performance.timeOrigin + performance.now();
const out: string[] = [];
const flush = (): void => {
  if (out.length > 0) process.stdout.write(`${out.splice(0).join('\n')}\n`);
};

function probe(): void {
  const t = now();
  const socket = connect({ host: values.host, port });
  let done = false;
  const finish = (line: Record<string, unknown>): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.destroy();
    out.push(JSON.stringify(line));
  };
  const timer = setTimeout(() => finish({ t: +t.toFixed(3), e: 'timeout' }), timeoutMs);
  let text = '';
  socket.setEncoding('utf8');
  // The stand-in answers plain connections once it has seen a first byte (TLS starts with 0x16).
  socket.on('connect', () => socket.write('?'));
  socket.on('data', (chunk: string) => {
    text += chunk;
    if (text.includes('\n')) finish({ t: +t.toFixed(3), r: +now().toFixed(3), n: text.trim() });
  });
  socket.on('error', (error: NodeJS.ErrnoException) => finish({ t: +t.toFixed(3), e: error.code ?? 'error' }));
}

process.stdout.write(`${JSON.stringify({ ready: Date.now() })}\n`);
// A self-correcting schedule: probe k is due at start + k * interval, so a late tick does not
// shift every later probe.
const start = now();
let k = 0;
function tick(): void {
  probe();
  k++;
  setTimeout(tick, Math.max(0, start + k * intervalMs - now()));
}
tick();
setInterval(flush, 50);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
