/**
 * Readiness through systemd-notify: the real systemd-notify talks to a datagram socket that a perl
 * one-liner (perl-base is Essential on Debian) listens on, standing in for systemd's NOTIFY_SOCKET,
 * so the test sees the exact datagrams systemd would get.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sdNotify, takeNotifySocket } from '../../src/daemon/sd-notify.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Listen on a unix datagram socket; resolves with the messages once `count` arrived. */
async function fakeSystemd(count: number): Promise<{ path: string; messages: Promise<string[]> }> {
  const dir = mkdtempSync(join(tmpdir(), 'vrrpd-notify-'));
  dirs.push(dir);
  const path = join(dir, 'notify');
  const script = `use IO::Socket::UNIX; use Socket;
    my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $ARGV[0]) or die "bind: $!";
    $| = 1; print "bound\\n";
    for (1..$ARGV[1]) { my $m; $s->recv($m, 4096); $m =~ s/\\n/|/g; print "$m\\n"; }`;
  const child = spawn('perl', ['-e', script, path, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const timer = setTimeout(() => child.kill(), 10_000);
  let out = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('bound\n')) resolve();
    });
    child.once('exit', () => reject(new Error(`perl exited before binding: ${out}`)));
  });
  const messages = new Promise<string[]>((resolve) => {
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(out.split('\n').slice(1).filter((line) => line !== ''));
    });
  });
  return { path, messages };
}

describe('sd-notify', () => {
  it('takes NOTIFY_SOCKET out of the environment so children cannot send notifications', () => {
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/systemd/notify', PATH: '/usr/bin' };
    expect(takeNotifySocket(env)).toBe('/run/systemd/notify');
    expect(env).toEqual({ PATH: '/usr/bin' });
    expect(takeNotifySocket(env)).toBeUndefined();
    expect(takeNotifySocket({ NOTIFY_SOCKET: '' })).toBeUndefined();
  });

  it('does nothing (and runs nothing) when not started by systemd', async () => {
    await expect(sdNotify(undefined, { READY: '1' }, { command: '/nonexistent/systemd-notify' })).resolves.toEqual({ sent: false, reason: 'no-socket' });
  });

  it('delivers READY=1 and STATUS in one datagram, then waits on a barrier', async () => {
    const systemd = await fakeSystemd(2);
    const outcome = await sdNotify(systemd.path, { READY: '1', STATUS: 'running 1 instance\nsecond line' });
    expect(outcome).toEqual({ sent: true });
    // The barrier message carries a pipe's write end; systemd-notify returns only after the
    // receiver dropped it, which is what makes a message from a short-lived child reliable.
    expect(await systemd.messages).toEqual(['READY=1|STATUS=running 1 instance second line', 'BARRIER=1']);
  });

  it('reports a socket nobody listens on as failed instead of throwing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-notify-'));
    dirs.push(dir);
    const outcome = await sdNotify(join(dir, 'missing'), { READY: '1' });
    expect(outcome.sent).toBe(false);
    expect(outcome).toMatchObject({ reason: 'failed' });
  });

  it('reports a missing systemd-notify as failed', async () => {
    const outcome = await sdNotify('/run/systemd/notify', { READY: '1' }, { command: '/nonexistent/systemd-notify' });
    expect(outcome).toMatchObject({ sent: false, reason: 'failed', message: expect.stringContaining('ENOENT') });
  });
});
