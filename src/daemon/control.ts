/**
 * The control socket: a unix stream socket that answers one JSON request per line with one JSON
 * reply per line. `vrrpd status` is its first client. Requests are tiny and answered from memory.
 *
 * Any local user who may connect can also try to starve the daemon, so every client is bounded
 * (README "Operating vrrpd"): a connection cap well below the descriptor limit (the check scripts,
 * `ip` and the VRRP sockets need descriptors too), an idle timeout, a deadline for an unfinished
 * request line, a size limit on that line, and backpressure on replies: a client that does not
 * read is not read from either, and is dropped when its replies pile up or stop draining.
 */
import { lstat, mkdir, stat, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { loadPacketAddon, type PeerCredentials } from '../io/native.js';

export const DEFAULT_SOCKET_PATH = '/run/vrrpd/vrrpd.sock';
/** An unfinished request line longer than this is refused (everything has a limit). */
const MAX_REQUEST_BYTES = 4096;
/** Group vrrpd may connect (`vrrpd status`); set through the umask at bind(), never by chmod. */
const SOCKET_MODE = 0o660;

export interface ControlLimits {
  /** Concurrent clients; more are closed as soon as they connect. */
  maxConnections: number;
  /** A client that completes no request for this long is closed. */
  idleTimeoutMs: number;
  /** A request line that was started must be finished within this. */
  requestTimeoutMs: number;
  /** Reply bytes that may wait for one client before another reply; past this it is dropped. */
  maxQueuedReplyBytes: number;
  /** A reply that has not drained within this: the client is not reading and is dropped. */
  stalledReplyTimeoutMs: number;
}

/**
 * 64 clients is far more than `vrrpd status` and a monitoring agent need, and with the metrics
 * listener's 64 stays far below the unit's LimitNOFILE (systemd/vrrpd.service). A status reply is a
 * few KiB, so 256 KiB lets a client pipeline dozens of requests before it reads.
 */
export const DEFAULT_CONTROL_LIMITS: ControlLimits = {
  maxConnections: 64,
  idleTimeoutMs: 30_000,
  requestTimeoutMs: 5_000,
  maxQueuedReplyBytes: 256 * 1024,
  stalledReplyTimeoutMs: 10_000,
};

/** What the bounds did, for `vrrpd status` (the `control` object). */
export interface ControlStats {
  open: number;
  max_connections: number;
  /** Connections closed at once because max_connections were open. */
  refused_at_cap: number;
  /** Clients closed for idling or for not finishing a request line in time. */
  timed_out: number;
  /** Clients dropped because they did not read their replies. */
  dropped_backpressure: number;
}

export interface ControlRequest {
  command: string;
  [key: string]: unknown;
}

export type { PeerCredentials };

/**
 * `peer` is who connected (SO_PEERCRED at connect time), undefined when it cannot be told: the
 * handler decides which commands that client may run.
 */
export type ControlHandler = (request: ControlRequest, peer: PeerCredentials | undefined) => unknown;

/**
 * Commands that change the daemon's state are for root and members of the control socket's group
 * only; a peer that cannot be identified is refused (fail closed).
 */
export function mayChangeState(peer: PeerCredentials | undefined, socketGid: number | undefined): boolean {
  if (peer === undefined) return false;
  if (peer.uid === 0) return true;
  return socketGid !== undefined && (peer.gid === socketGid || peer.groups.includes(socketGid));
}

/** The kernel's word on who connected (native-notes/peer-credentials.md); undefined when unknown. */
export function peerOfSocket(socket: Socket): PeerCredentials | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  try {
    return loadPacketAddon().peerCredentials?.(fd);
  } catch {
    return undefined;
  }
}

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

/** The file type at `path` without following a symlink, or undefined when nothing is there. */
async function fileAt(path: string): Promise<'socket' | 'other' | undefined> {
  try {
    return (await lstat(path)).isSocket() ? 'socket' : 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function errorLine(error: string): string {
  return JSON.stringify({ ok: false, error }) + '\n';
}

export class ControlServer {
  private server: Server | undefined;
  /** The socket file's group once listening: its members may run the commands that change state. */
  socketGid: number | undefined;
  private readonly clients = new Set<Socket>();
  private readonly limits: ControlLimits;
  private readonly counters = { refused_at_cap: 0, timed_out: 0, dropped_backpressure: 0 };

  constructor(
    readonly path: string,
    private readonly handler: ControlHandler,
    limits: Partial<ControlLimits> = {},
    private readonly peerOf: (socket: Socket) => PeerCredentials | undefined = peerOfSocket,
  ) {
    this.limits = { ...DEFAULT_CONTROL_LIMITS, ...limits };
  }

  stats(): ControlStats {
    return { open: this.clients.size, max_connections: this.limits.maxConnections, ...this.counters };
  }

  /**
   * Listen on the socket path with mode 0660. Refuses a path that exists and is not a socket (a
   * mistyped --socket must not delete a file) and a socket another daemon is serving; replaces a
   * stale socket left by a crash.
   */
  async listen(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o755 });
    const existing = await fileAt(this.path);
    if (existing === 'other') {
      throw Object.assign(new Error(`${this.path} exists and is not a socket; refusing to replace it (remove it or choose another --socket)`), { code: 'ENOTSOCK' });
    }
    if (existing === 'socket') {
      if (await socketInUse(this.path)) {
        throw Object.assign(new Error(`another vrrpd is already serving ${this.path}`), { code: 'ESOCKETINUSE' });
      }
      await unlink(this.path).catch(() => undefined); // a stale socket left by a crash
    }
    const server = createServer((socket) => this.accept(socket));
    server.maxConnections = this.limits.maxConnections;
    // Node closes a connection past maxConnections before it becomes a Socket; count it.
    server.on('drop', () => this.counters.refused_at_cap++);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // bind() creates the socket file synchronously inside listen(), so the umask set here gives it
      // its final mode at creation; a chmod() afterwards would follow whatever the path had become
      // by then (a symlink planted in the meantime). No other JavaScript runs before the restore.
      const previousUmask = process.umask(0o777 & ~SOCKET_MODE);
      try {
        server.listen(this.path, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(previousUmask);
      }
    });
    this.server = server;
    this.socketGid = (await stat(this.path)).gid;
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    // Only our own socket: never delete what someone put at the path since.
    if ((await fileAt(this.path).catch(() => undefined)) === 'socket') await unlink(this.path).catch(() => undefined);
  }

  private accept(socket: Socket): void {
    const limits = this.limits;
    this.clients.add(socket);
    // Read once, at accept: the credentials are the connector's and do not change.
    const peer = this.peerOf(socket);
    socket.setEncoding('utf8');
    let buffered = '';
    let closing = false;
    let waitingForDrain = false;
    const idle = setTimeout(() => timeOut(), limits.idleTimeoutMs).unref();
    let unfinished: NodeJS.Timeout | undefined;
    let stalled: NodeJS.Timeout | undefined;
    const clearTimers = (): void => {
      clearTimeout(idle);
      clearTimeout(unfinished);
      clearTimeout(stalled);
    };
    socket.on('close', () => {
      clearTimers();
      this.clients.delete(socket);
    });
    socket.on('error', () => socket.destroy());

    /** Say why (if the client reads at all), then close; a client that does not read is cut off. */
    const closeWith = (reply: string | undefined): void => {
      closing = true;
      clearTimers();
      socket.pause();
      if (reply === undefined) {
        socket.destroy();
        return;
      }
      socket.end(reply);
      setTimeout(() => socket.destroy(), 1_000).unref();
    };
    const timeOut = (): void => {
      this.counters.timed_out++;
      closeWith(undefined);
    };
    const drop = (): void => {
      this.counters.dropped_backpressure++;
      closeWith(undefined);
    };

    const answerBuffered = (): void => {
      let newline: number;
      let completed = false;
      while (!closing && (newline = buffered.indexOf('\n')) >= 0) {
        completed = true;
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        idle.refresh();
        // Checked before the reply is added, so one reply, however big (a large configuration's
        // status), always goes out; only replies piling up behind unread ones drop the client.
        if (socket.writableLength >= limits.maxQueuedReplyBytes) {
          drop();
          return;
        }
        const flushed = socket.write(JSON.stringify(this.answer(line, peer)) + '\n');
        if (!flushed && !waitingForDrain) {
          // Stop reading until the client has taken its replies; the lines already received are
          // still answered, within maxQueuedReplyBytes.
          waitingForDrain = true;
          socket.pause();
          stalled = setTimeout(drop, limits.stalledReplyTimeoutMs).unref();
        }
      }
      if (closing) return;
      // The deadline runs from the first byte of an unfinished line until its newline.
      if (buffered.length === 0) {
        clearTimeout(unfinished);
        unfinished = undefined;
      } else if (unfinished === undefined || completed) {
        clearTimeout(unfinished); // what is left is a new line: its own deadline
        unfinished = setTimeout(timeOut, limits.requestTimeoutMs).unref();
      }
    };

    socket.on('drain', () => {
      if (closing || !waitingForDrain) return;
      waitingForDrain = false;
      clearTimeout(stalled);
      socket.resume();
    });
    socket.on('data', (chunk: string) => {
      if (closing) return;
      buffered += chunk;
      // The limit is on the line still being received, not on what one read returned: several
      // complete requests may arrive together.
      const lastNewline = buffered.lastIndexOf('\n');
      if (buffered.length - (lastNewline + 1) > MAX_REQUEST_BYTES) {
        closeWith(errorLine('request too long'));
        return;
      }
      answerBuffered();
    });
  }

  private answer(line: string, peer: PeerCredentials | undefined): unknown {
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
      return { ok: true, result: this.handler(request as ControlRequest, peer) };
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
