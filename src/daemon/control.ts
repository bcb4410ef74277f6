/**
 * The control socket: a unix stream socket that answers one JSON request per line with one JSON
 * reply per line. `vrrpd status` is its first client. Requests are tiny and answered from memory,
 * so a slow client can never hold up the protocol.
 */
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';

export const DEFAULT_SOCKET_PATH = '/run/vrrpd/vrrpd.sock';
/** A request line longer than this is refused (everything has a limit). */
const MAX_REQUEST_BYTES = 4096;

export interface ControlRequest {
  command: string;
  [key: string]: unknown;
}

export type ControlHandler = (request: ControlRequest) => unknown;

/** True when something accepts connections on `path`. */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

export class ControlServer {
  private server: Server | undefined;
  private readonly clients = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly handler: ControlHandler,
  ) {}

  /** Listen on the socket path with mode 0660; refuses to steal a socket another daemon is serving. */
  async listen(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o755 });
    if (await socketInUse(this.path)) {
      throw Object.assign(new Error(`another vrrpd is already serving ${this.path}`), { code: 'ESOCKETINUSE' });
    }
    await unlink(this.path).catch(() => undefined); // a stale socket left by a crash
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(this.path, 0o660);
    this.server = server;
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await unlink(this.path).catch(() => undefined);
  }

  private accept(socket: Socket): void {
    this.clients.add(socket);
    socket.on('close', () => this.clients.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setEncoding('utf8');
    let buffered = '';
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) {
        socket.end(JSON.stringify({ ok: false, error: 'request too long' }) + '\n');
        return;
      }
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        socket.write(JSON.stringify(this.answer(line)) + '\n');
      }
    });
  }

  private answer(line: string): unknown {
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      return { ok: false, error: 'request is not JSON' };
    }
    if (typeof request !== 'object' || request === null || typeof (request as ControlRequest).command !== 'string') {
      return { ok: false, error: 'request needs a "command" string' };
    }
    try {
      return { ok: true, result: this.handler(request as ControlRequest) };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
}

/** Send one request and wait for its reply; rejects with code ENOENT/ECONNREFUSED when no daemon listens. */
export function controlRequest(path: string, request: ControlRequest, timeoutMs = 2000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffered = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no answer from ${path} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      socket.end();
      try {
        const reply = JSON.parse(buffered.slice(0, newline)) as { ok: boolean; result?: unknown; error?: string };
        if (reply.ok) resolve(reply.result);
        else reject(new Error(reply.error ?? 'request failed'));
      } catch (err) {
        reject(err);
      }
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
