import { execFile, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { statusCommand } from '../../src/cli/status.js';
import { ControlServer, controlRequest, type ControlLimits } from '../../src/daemon/control.js';
import { RateLimitedLog } from '../../src/daemon/rate-limit.js';

// Every chmod the code under test makes is recorded: the control socket must get its mode at
// bind() through the umask, because a chmod after listen() follows whatever the path is by then.
const chmodCalls = vi.hoisted(() => [] as string[]);
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    chmod: (path: string, mode: number) => {
      chmodCalls.push(String(path));
      return actual.chmod(path, mode);
    },
  };
});

const servers: ControlServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function socketPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'vrrpd-ctl-')), 'sub', 'vrrpd.sock');
}

async function serve(path: string, handler: (r: { command: string }) => unknown = (r) => ({ echo: r.command }), limits: Partial<ControlLimits> = {}): Promise<ControlServer> {
  const server = new ControlServer(path, handler, limits);
  await server.listen();
  servers.push(server);
  return server;
}

describe('control socket', () => {
  it('creates its directory, listens with mode 0660 and answers one JSON request per line', async () => {
    const path = socketPath();
    await serve(path);
    expect(statSync(path).mode & 0o777).toBe(0o660);
    expect(await controlRequest(path, { command: 'status' })).toEqual({ echo: 'status' });
  });
  it('gets mode 0660 at creation whatever the umask, with no chmod, and restores the umask', async () => {
    const path = socketPath();
    const before = process.umask(0o077); // the unit's UMask
    try {
      chmodCalls.length = 0;
      await serve(path);
      expect(statSync(path).mode & 0o777).toBe(0o660);
      expect(chmodCalls).toEqual([]);
      expect(process.umask()).toBe(0o077);
    } finally {
      process.umask(before);
    }
  });
  it('reports handler errors and bad requests as errors, and keeps serving', async () => {
    const path = socketPath();
    await serve(path, (r) => {
      throw new Error(`unknown command '${r.command}'`);
    });
    await expect(controlRequest(path, { command: 'nope' })).rejects.toThrow(/unknown command 'nope'/);
    await expect(controlRequest(path, { command: 'again' })).rejects.toThrow(/again/);
  });
  it('refuses to steal a socket another daemon is serving, but replaces a stale one', async () => {
    const path = socketPath();
    const first = await serve(path);
    await expect(new ControlServer(path, () => null).listen()).rejects.toThrow(/already serving/);
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    await serve(path); // the path is free again
    expect(await controlRequest(path, { command: 'x' })).toEqual({ echo: 'x' });
  });
  it('refuses a path that exists and is not a socket, and leaves it alone', async () => {
    const path = socketPath();
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, 'precious\n');
    await expect(new ControlServer(path, () => null).listen()).rejects.toMatchObject({ code: 'ENOTSOCK', message: expect.stringMatching(/exists and is not a socket/) });
    expect(readFileSync(path, 'utf8')).toBe('precious\n');
    // A symlink is not a socket either, even one pointing at a file: neither is touched.
    const target = join(dirname(path), 'target');
    writeFileSync(target, 'also precious\n');
    const link = join(dirname(path), 'link.sock');
    symlinkSync(target, link);
    await expect(new ControlServer(link, () => null).listen()).rejects.toMatchObject({ code: 'ENOTSOCK' });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('also precious\n');
  });
  it('replaces a stale socket left by a daemon that was killed', async () => {
    const path = socketPath();
    mkdirSync(dirname(path), { recursive: true });
    // A process that dies with SIGKILL leaves its socket file behind, with nobody listening.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(lstatSync(path).isSocket()).toBe(true);
    await serve(path);
    expect(await controlRequest(path, { command: 'x' })).toEqual({ echo: 'x' });
  });
  it('a client with no daemon gets ENOENT', async () => {
    await expect(controlRequest(socketPath(), { command: 'status' })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

/** A raw client: every reply line it got, and whether the server closed it. */
interface Client {
  socket: Socket;
  lines: string[];
  closed: Promise<void>;
  isClosed: () => boolean;
}

function client(path: string, options: { read?: boolean } = {}): Promise<Client> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(path);
    const lines: string[] = [];
    let buffered = '';
    let closed = false;
    const closedPromise = new Promise<void>((r) => socket.once('close', () => {
      closed = true;
      r();
    }));
    socket.on('error', () => undefined);
    socket.setEncoding('utf8');
    if (options.read === false) socket.pause(); // takes nothing from the socket beyond Node's own buffer
    else {
      socket.on('data', (chunk: string) => {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          lines.push(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
        }
      });
    }
    socket.once('connect', () => resolvePromise({ socket, lines, closed: closedPromise, isClosed: () => closed }));
    socket.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
  return Date.now() - start;
}

describe('control socket bounds', () => {
  it('closes connections past maxConnections at once, counts them, and keeps serving the others', async () => {
    const path = socketPath();
    const server = await serve(path, undefined, { maxConnections: 3 });
    const kept = [await client(path), await client(path), await client(path)];
    const refused = await client(path);
    await waitFor(refused.isClosed, 1_000, 'the 4th connection to be closed');
    expect(server.stats()).toMatchObject({ open: 3, max_connections: 3, refused_at_cap: 1 });
    kept[0]!.socket.write('{"command":"still"}\n');
    await waitFor(() => kept[0]!.lines.length === 1, 1_000, 'a reply to a kept client');
    expect(JSON.parse(kept[0]!.lines[0]!)).toEqual({ ok: true, result: { echo: 'still' } });
    // Once a client leaves, a new one is let in.
    kept[1]!.socket.destroy();
    await waitFor(() => server.stats().open === 2, 1_000, 'the server to see the client leave');
    expect(await controlRequest(path, { command: 'again' })).toEqual({ echo: 'again' });
    for (const c of kept) c.socket.destroy();
  });
  it('closes a client that completes no request within the idle timeout, but not one that keeps asking', async () => {
    const path = socketPath();
    const server = await serve(path, undefined, { idleTimeoutMs: 400 });
    const silent = await client(path);
    const busy = await client(path);
    const asking = setInterval(() => busy.socket.write('{"command":"x"}\n'), 100);
    try {
      const took = await waitFor(silent.isClosed, 2_000, 'the silent client to be closed');
      expect(took).toBeGreaterThanOrEqual(300);
      await sleep(600); // well past the idle timeout since the busy client connected
      expect(busy.isClosed()).toBe(false);
      expect(busy.lines.length).toBeGreaterThan(5);
    } finally {
      clearInterval(asking);
      busy.socket.destroy();
    }
    expect(server.stats().timed_out).toBe(1);
  });
  it('closes a client whose request line is not finished within the request timeout', async () => {
    const path = socketPath();
    const server = await serve(path, undefined, { requestTimeoutMs: 300, idleTimeoutMs: 60_000 });
    const slow = await client(path);
    slow.socket.write('{"comm');
    const took = await waitFor(slow.isClosed, 2_000, 'the half-sent request to be cut off');
    expect(took).toBeLessThan(1_500);
    expect(server.stats().timed_out).toBe(1);
    // A line finished in time resets nothing but is answered: the deadline is per unfinished line.
    const ok = await client(path);
    ok.socket.write('{"comm');
    await sleep(150);
    ok.socket.write('and":"late"}\n');
    await sleep(250); // 400 ms after the first byte: past the deadline had it not been met
    expect(ok.isClosed()).toBe(false);
    expect(ok.lines.map((l) => JSON.parse(l) as unknown)).toEqual([{ ok: true, result: { echo: 'late' } }]);
    // A line that starts in the read that finishes the one before gets a deadline of its own.
    ok.socket.write('{"comm');
    await sleep(200);
    ok.socket.write('and":"first"}\n{"comm');
    await sleep(200); // 400 ms after the first line began
    ok.socket.write('and":"second"}\n');
    await waitFor(() => ok.lines.length === 3, 1_000, 'both replies');
    expect(ok.isClosed()).toBe(false);
    ok.socket.destroy();
  });
  it('applies the 4096-byte limit to the unfinished line: several requests in one read are all answered', async () => {
    const path = socketPath();
    await serve(path);
    const c = await client(path);
    const request = (n: number) => JSON.stringify({ command: `r${n}`, pad: 'x'.repeat(3_000) }) + '\n';
    c.socket.write(request(1) + request(2) + request(3)); // ~9 KB in one write
    await waitFor(() => c.lines.length === 3, 2_000, 'three replies');
    expect(c.lines.map((l) => (JSON.parse(l) as { result: { echo: string } }).result.echo)).toEqual(['r1', 'r2', 'r3']);
    expect(c.isClosed()).toBe(false);
    // An unfinished line longer than the limit is still refused.
    c.socket.write('{"command":"' + 'y'.repeat(5_000));
    await waitFor(c.isClosed, 2_000, 'the over-long line to be refused');
    expect(c.lines.at(-1)).toBe(JSON.stringify({ ok: false, error: 'request too long' }));
  });
  it('stops reading from a client that does not read its replies, then drops it', async () => {
    const path = socketPath();
    let answered = 0;
    const big = 'z'.repeat(10_000);
    const server = await serve(path, () => {
      answered++;
      return big;
    }, { stalledReplyTimeoutMs: 1_000 });
    const c = await client(path, { read: false });
    let sent = 0;
    const asking = setInterval(() => {
      if (!c.isClosed()) {
        c.socket.write('{"command":"status"}\n');
        sent++;
      }
    }, 5);
    try {
      await waitFor(c.isClosed, 10_000, 'the non-reading client to be dropped');
    } finally {
      clearInterval(asking);
    }
    // Replies stopped once the socket buffers were full (a few hundred KB at most), although the
    // client kept asking until it was dropped.
    expect(answered).toBeLessThan(60);
    expect(sent).toBeGreaterThan(answered * 2);
    expect(server.stats()).toMatchObject({ dropped_backpressure: 1, open: 0 });
  });
  it('drops at once a client whose waiting replies pass the cap', async () => {
    const path = socketPath();
    const big = 'z'.repeat(10_000);
    const server = await serve(path, () => big, { maxQueuedReplyBytes: 64 * 1024, stalledReplyTimeoutMs: 60_000 });
    const c = await client(path, { read: false });
    c.socket.write('{"command":"status"}\n'.repeat(200)); // 2 MB of replies asked for in one write
    // Seen from the server: a client that does not read does not see the end of its socket either.
    const took = await waitFor(() => server.stats().dropped_backpressure === 1, 2_000, 'the client to be dropped');
    expect(took).toBeLessThan(1_000);
    expect(server.stats().open).toBe(0);
    c.socket.destroy();
  });
  it('sends one reply bigger than the cap to a client that reads it', async () => {
    const path = socketPath();
    const huge = 'h'.repeat(600_000);
    const server = await serve(path, () => huge, { maxQueuedReplyBytes: 64 * 1024 });
    expect(await controlRequest(path, { command: 'status' })).toBe(huge);
    expect(server.stats().dropped_backpressure).toBe(0);
  });
  it('serves a pipelining client that reads slowly: pausing loses no reply', async () => {
    const path = socketPath();
    const big = 'z'.repeat(10_000);
    const server = await serve(path, (r) => `${r.command}:${big}`);
    const c = await client(path, { read: false });
    for (let i = 0; i < 15; i++) c.socket.write(JSON.stringify({ command: `n${i}` }) + '\n');
    await sleep(300);
    let text = ''; // nothing read until now
    c.socket.on('data', (chunk: string) => (text += chunk));
    c.socket.resume();
    await waitFor(() => text.split('\n').length > 15, 3_000, 'all 15 replies');
    expect(text.split('\n').slice(0, 15).map((l) => (JSON.parse(l) as { result: string }).result.split(':')[0])).toEqual(Array.from({ length: 15 }, (_, i) => `n${i}`));
    expect(server.stats().dropped_backpressure).toBe(0);
    c.socket.destroy();
  });
});

const REPO = resolve(import.meta.dirname, '..', '..');

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write(chunk, _enc, done) { text += String(chunk); done(); } }), text: () => text };
}

describe('socket paths from the command line', () => {
  it('vrrpd status --socket on something that is not a socket says so before connecting', async () => {
    const out = sink();
    const err = sink();
    expect(await statusCommand('/etc/passwd', false, out.stream, err.stream)).toBe(1);
    expect(err.text()).toBe("vrrpd status: /etc/passwd is not a socket; pass the daemon's control socket with --socket\n");
    expect(out.text()).toBe('');
  });
  it('vrrpd status prints the control counters once the bounds have done something', async () => {
    const path = socketPath();
    const status = { pid: 1, config_file: 'f', started_at: '', event_loop_lag_ms: 0, instances: [], interface_dropped: {}, last_reload_error: null };
    let server: ControlServer | undefined;
    server = await serve(path, () => ({ ...status, control: server!.stats() }), { maxConnections: 1 });
    const quiet = sink();
    expect(await statusCommand(path, false, quiet.stream, sink().stream)).toBe(0);
    expect(quiet.text()).not.toMatch(/control socket/);
    await waitFor(() => server!.stats().open === 0, 1_000, 'the status client to leave');
    const holder = await client(path);
    const refused = await client(path);
    await waitFor(refused.isClosed, 1_000, 'a refused connection');
    holder.socket.destroy();
    await waitFor(() => server!.stats().open === 0, 1_000, 'the holder to leave');
    const out = sink();
    expect(await statusCommand(path, false, out.stream, sink().stream)).toBe(0);
    expect(out.text()).toMatch(/control socket: 1 connection\(s\) refused at the cap of 1, 0 timed out, 0 dropped/);
    const json = sink();
    expect(await statusCommand(path, true, json.stream, sink().stream)).toBe(0);
    expect((JSON.parse(json.text()) as { daemon: { control: unknown } }).daemon.control).toMatchObject({ refused_at_cap: 1, max_connections: 1 });
  });
  it('vrrpd run --socket on a regular file refuses in one line, exit 1, and leaves the file alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-ctl-run-'));
    const config = join(dir, 'vrrpd.yaml');
    // Nothing on the host is touched before the control socket opens, so any valid config will do.
    writeFileSync(config, 'vrrp_instance:\n  VI_1:\n    interface: lo\n    virtual_router_id: 51\n    priority: 100\n    virtual_ipaddress: [192.0.2.50]\n');
    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'precious\n');
    const result = await new Promise<{ code: number; stdout: string }>((done) => {
      execFile(process.execPath, [join(REPO, 'dist', 'cli', 'main.js'), 'run', '--config', config, '--socket', file, '--state-dir', join(dir, 'state')], { encoding: 'utf8', timeout: 15_000 }, (error, stdout) => {
        done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout });
      });
    });
    expect(result.code).toBe(1);
    const errors = result.stdout.split('\n').filter((l) => l.includes('control socket'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`${file} exists and is not a socket`);
    expect(errors[0]).not.toContain('stack');
    expect(readFileSync(file, 'utf8')).toBe('precious\n');
  });
});

describe('rate-limited drop log', () => {
  it('logs the first event of a key at once, then one line per window with the count it suppressed', () => {
    const log = new RateLimitedLog(10_000);
    expect(log.admit('VI_1:auth_failure', 0)).toBe(0);
    for (let t = 1; t < 10_000; t += 1) expect(log.admit('VI_1:auth_failure', t)).toBeUndefined();
    expect(log.admit('VI_1:bad_ttl', 5)).toBe(0); // another key has its own window
    expect(log.admit('VI_1:auth_failure', 10_000)).toBe(9_999);
  });
  it('keeps its memory bounded whatever the keys', () => {
    const log = new RateLimitedLog(10_000, 16);
    for (let i = 0; i < 1_000; i++) log.admit(`k${i}`, 0);
    expect((log as unknown as { last: Map<string, unknown> }).last.size).toBeLessThanOrEqual(16);
  });
});
