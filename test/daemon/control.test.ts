import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlServer, controlRequest } from '../../src/daemon/control.js';
import { RateLimitedLog } from '../../src/daemon/rate-limit.js';

const servers: ControlServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function socketPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'vrrpd-ctl-')), 'sub', 'vrrpd.sock');
}

async function serve(path: string, handler = (r: { command: string }) => ({ echo: r.command })): Promise<ControlServer> {
  const server = new ControlServer(path, handler);
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
  it('a client with no daemon gets ENOENT', async () => {
    await expect(controlRequest(socketPath(), { command: 'status' })).rejects.toMatchObject({ code: 'ENOENT' });
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
