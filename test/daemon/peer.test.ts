/**
 * Who may change the daemon's state over the control socket: the kernel's word on the peer
 * (SO_PEERCRED through the addon) and the rule (root, or the socket's group).
 */
import { mkdtempSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ControlServer, controlRequest, mayChangeState, type PeerCredentials } from '../../src/daemon/control.js';

describe('control socket peers', () => {
  it('the handler gets the connecting process\'s uid, gid and pid from the kernel', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vrrpd-peer-')), 'c.sock');
    const seen: Array<PeerCredentials | undefined> = [];
    const server = new ControlServer(path, (_request, peer) => {
      seen.push(peer);
      return 'ok';
    });
    await server.listen();
    try {
      expect(await controlRequest(path, { command: 'status' })).toBe('ok');
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
      expect(Array.isArray(seen[0]!.groups)).toBe(true);
      expect(server.socketGid).toBe(process.getegid!());
    } finally {
      await server.close();
    }
  });

  it('an unidentified peer reaches the handler as undefined (and is refused writes)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vrrpd-peer-')), 'c.sock');
    const seen: unknown[] = [];
    const server = new ControlServer(path, (_request, peer) => seen.push(peer), {}, () => undefined);
    await server.listen();
    try {
      await new Promise<void>((resolve) => {
        const socket = createConnection(path, () => socket.write('{"command":"status"}\n'));
        socket.on('data', () => {
          socket.end();
          resolve();
        });
      });
      expect(seen).toEqual([undefined]);
    } finally {
      await server.close();
    }
  });

  it('root and members of the socket\'s group (primary or supplementary) may change state; others and the unknown may not', () => {
    const peer = (uid: number, gid: number, groups: number[] = []): PeerCredentials => ({ pid: 1, uid, gid, groups });
    expect(mayChangeState(peer(0, 0), 990)).toBe(true);
    expect(mayChangeState(peer(1000, 990), 990)).toBe(true);
    expect(mayChangeState(peer(1000, 1000, [4, 990]), 990)).toBe(true);
    expect(mayChangeState(peer(65534, 65534), 990)).toBe(false);
    expect(mayChangeState(peer(1000, 1000, [4]), 990)).toBe(false);
    expect(mayChangeState(undefined, 990)).toBe(false);
    expect(mayChangeState(peer(1000, 990), undefined)).toBe(false);
  });
});
