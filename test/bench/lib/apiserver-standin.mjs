// A kube-apiserver stand-in for one master. It is started through a symlink named
// `kube-apiserver` to the node binary, so its comm is kube-apiserver and the seed's
// `killall -0 kube-apiserver` finds it. It serves:
// - 0.0.0.0:PROBE_PORT plain TCP: writes this master's name and a newline, then closes (what the
//   client probes through the VIP, so a reply says who served it);
// - 127.0.0.1:6443 HTTPS /readyz -> 200 (what vrrpd's recommended http check asks).
// Killing it is "the apiserver died": the check fails AND the node stops serving, as in production.
import { readFileSync } from 'node:fs';
import { createServer as createHttps } from 'node:https';
import { createServer } from 'node:net';

const [name, certFile, keyFile, probePort = '8080'] = process.argv.slice(2);
let ready = 0;
const listening = () => {
  if (++ready === 2) console.log('listening');
};
createServer((socket) => {
  socket.on('error', () => {});
  socket.end(`${name}\n`);
}).listen(Number(probePort), '0.0.0.0', listening);
createHttps({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  res.writeHead(req.url === '/readyz' ? 200 : 404).end(req.url === '/readyz' ? 'ok' : 'not found');
}).listen(6443, '127.0.0.1', listening);
