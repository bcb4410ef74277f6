/**
 * Why the seed's `killall -0 kube-apiserver` cannot be used as-is under the vrrpd unit: the unit
 * runs as an ordinary user holding only CAP_NET_RAW and CAP_NET_ADMIN, and kill(pid, 0) on a
 * process of another user needs CAP_KILL, so killall gets EPERM on root's kube-apiserver and exits
 * 1 (the check fails although the process runs). Reading /proc is not restricted, which is what
 * the built-in `process` check and `pgrep -x` rely on.
 *
 * The stand-in apiserver is a copy of sleep under a unique name (killall and pgrep match the
 * command name), so no other test's fake kube-apiserver is seen or signalled.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** setpriv arguments that make the child what the systemd unit makes vrrpd. */
const AS_VRRPD_UNIT = ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all,+net_admin,+net_raw', '--ambient-caps=+net_admin,+net_raw', '--bounding-set=-all,+net_admin,+net_raw'];

const dir = mkdtempSync(join(tmpdir(), 'vrrpd-killall-'));
const name = `kapi-${process.pid % 100000}`; // at most 15 characters: the kernel's comm length
let apiserver: ChildProcess;

function run(argv: string[]) {
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
}

beforeAll(async () => {
  chmodSync(dir, 0o755);
  copyFileSync('/bin/sleep', join(dir, name));
  apiserver = spawn(join(dir, name), ['60'], { stdio: 'ignore' }); // as root, like kubelet's static pod
  await new Promise((resolve) => apiserver.once('spawn', resolve));
});

afterAll(() => {
  apiserver.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('checks when vrrpd runs as a non-root user', () => {
  it('root: killall -0 finds the process and exits 0', () => {
    expect(run(['killall', '-0', name]).status).toBe(0);
  });

  it('the unit\'s user with CAP_NET_RAW+CAP_NET_ADMIN: killall -0 gets EPERM on root\'s process and exits 1', () => {
    const result = run(['setpriv', ...AS_VRRPD_UNIT, 'killall', '-0', name]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${name}(${apiserver.pid}): Operation not permitted`);
    // ... and then claims the process does not exist, which is what an operator sees in the log.
    expect(result.stderr).toContain(`${name}: no process found`);
  });

  it('the same user sees the process through /proc (what the built-in process check and pgrep -x use)', () => {
    const result = run(['setpriv', ...AS_VRRPD_UNIT, 'pgrep', '-x', name]);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(String(apiserver.pid));
  });

  it('killall -0 as that user works on a process of its own: the failure is the permission, not the name', () => {
    const own = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', join(dir, name), '60'], { stdio: 'ignore' });
    try {
      // Wait until setpriv has exec'd the copy, then ask for exactly that user's processes.
      const deadline = Date.now() + 5_000;
      while (run(['pgrep', '-u', '65534', '-x', name]).status !== 0 && Date.now() < deadline);
      expect(run(['setpriv', ...AS_VRRPD_UNIT, 'killall', '-0', '-u', 'nobody', name]).status).toBe(0);
    } finally {
      own.kill('SIGKILL');
    }
  });
});
