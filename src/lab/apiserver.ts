/**
 * The kube-apiserver stand-in of one lab master (the demo's, the tests' and the benchmarks'), run
 * as its own process (started through a symlink named kube-apiserver, so its comm is what the
 * seed's `killall -0 kube-apiserver` looks for). It listens on 0.0.0.0:6443 like the real one and
 * speaks two things on that one port:
 * - TLS (first byte 0x16, a handshake): HTTPS with the lab's certificate, /readyz answers 200, for
 *   the recommended config's built-in http check of https://127.0.0.1:6443/readyz;
 * - anything else: it answers with its node name and closes, so the client can tell, 100 times a
 *   second and without a TLS handshake each time, which master serves the VIP.
 * Killing this process is the "apiserver dies" of the lab: port and /readyz vanish together.
 *
 * Usage: kube-apiserver apiserver.js --name m1 [--cert FILE --key FILE] [--port 6443] [--host ::]
 * (--host :: for a dual-stack lab: one socket for both families, as the real one's `*:6443`).
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

const TLS_HANDSHAKE = 0x16;

const { values } = parseArgs({
  options: { name: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, port: { type: 'string', default: '6443' }, host: { type: 'string', default: '0.0.0.0' } },
});
const name = values.name ?? 'unknown';

let https: HttpsServer | undefined;
if (values.cert !== undefined && values.key !== undefined) {
  https = createHttpsServer({ cert: readFileSync(values.cert), key: readFileSync(values.key) }, (request, response) => {
    const healthy = request.url === '/readyz' || request.url === '/livez' || request.url === '/healthz';
    response.writeHead(200, { 'content-type': 'text/plain' }).end(healthy ? 'ok' : `${name}\n`);
  });
}

/** Look at the first byte without consuming it, then hand the socket to TLS or answer the name. */
function sniff(socket: Socket): void {
  const first = socket.read(1) as Buffer | null;
  if (first === null) {
    socket.once('readable', () => sniff(socket));
    return;
  }
  socket.unshift(first);
  if (first[0] === TLS_HANDSHAKE && https !== undefined) https.emit('connection', socket);
  else socket.end(`${name}\n`);
}

const server = createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.setTimeout(10_000, () => socket.destroy());
  sniff(socket);
});
server.listen(Number(values.port), values.host, () => process.stdout.write(`listening ${name}\n`));
