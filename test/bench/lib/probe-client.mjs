// The benchmark's client (runs in the lab's client namespace): every --interval-ms it opens a TCP
// connection to VIP:PORT; whichever master holds the VIP answers with its name and closes. One
// JSON line per probe on stdout: {"t":sent,"r":replied,"n":"m2"} or {"t":sent,"e":"timeout"}.
// Times are wall-clock ms with microsecond resolution (performance.timeOrigin + now), the same
// clock as tcpdump's timestamps. A probe not answered within --timeout-ms is abandoned before the
// kernel's first SYN retransmission (1 s), so a late retransmission can never be counted.
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '10.0.0.50' },
    port: { type: 'string', default: '8080' },
    'interval-ms': { type: 'string', default: '10' },
    'timeout-ms': { type: 'string', default: '300' },
  },
});
const port = Number(values.port);
const intervalMs = Number(values['interval-ms']);
const timeoutMs = Number(values['timeout-ms']);
const now = () => performance.timeOrigin + performance.now();
const out = [];
const flush = () => {
  if (out.length > 0) process.stdout.write(out.splice(0).join('\n') + '\n');
};

function probe() {
  const t = now();
  const socket = connect({ host: values.host, port });
  let done = false;
  const finish = (line) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.destroy();
    out.push(JSON.stringify(line));
  };
  const timer = setTimeout(() => finish({ t: +t.toFixed(3), e: 'timeout' }), timeoutMs);
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    text += chunk;
    if (text.includes('\n')) finish({ t: +t.toFixed(3), r: +now().toFixed(3), n: text.trim() });
  });
  socket.on('error', (error) => finish({ t: +t.toFixed(3), e: error.code ?? 'error' }));
}

// A self-correcting schedule: probe k is due at start + k * interval, so a late tick does not
// shift every later probe.
const start = now();
let k = 0;
function tick() {
  probe();
  k++;
  setTimeout(tick, Math.max(0, start + k * intervalMs - now()));
}
tick();
setInterval(flush, 50);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
