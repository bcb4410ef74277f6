/**
 * Notify scripts with real child processes: the state's own command then the generic `notify` with
 * keepalived's four appended arguments, strictly in order per instance, independent between
 * instances, never blocking the caller, killed (with their process group) at the timeout, failures
 * counted, insecure scripts refused, and a bounded queue.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifyCommandFindings } from '../../src/daemon/preflight.js';
import { createNotifier, type NotifyResult } from '../../src/io/notify.js';
import type { VrrpdConfig } from '../../src/config/model.js';

let dir: string;

function script(name: string, body: string, mode = 0o755): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, mode);
  return path;
}

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').filter((l) => l.length > 0) : [];
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vrrpd-notify-'));
  chmodSync(dir, 0o755);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('notifier', () => {
  it('transition() returns at once: a notify script that takes 1 s does not hold the caller', async () => {
    const slow = script('slow-notify.sh', 'sleep 1');
    const results: NotifyResult[] = [];
    const notifier = createNotifier({ onResult: (r) => results.push(r) });
    const started = performance.now();
    notifier.transition({ notify_master: slow, notify: slow }, 'VI_1', 'MASTER', 100);
    notifier.transition({ notify_backup: slow }, 'VI_1', 'BACKUP', 90);
    // Spawning the first run is all the caller pays for (a fork, some ms on a loaded machine).
    expect(performance.now() - started).toBeLessThan(500);
    expect(notifier.stats()).toMatchObject({ running: 1, queued: 2 });
    expect(results).toEqual([]);
    await notifier.drain();
    expect(results.map((r) => r.kind)).toEqual(['notify_master', 'notify', 'notify_backup']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(3000);
  }, 20_000);

  it('a sync group: the generic notify gets GROUP name state 0 (keepalived), in a queue apart from an instance of the same name', async () => {
    const log = join(dir, 'group.log');
    const writer = script('group-writer.sh', `echo "$*" >> ${log}`);
    const results: NotifyResult[] = [];
    const notifier = createNotifier({ onResult: (r) => results.push(r) });
    notifier.transition({ notify_master: `${writer} group-master`, notify: writer }, 'VG_1', 'MASTER', 0, 'GROUP');
    notifier.transition({ notify: `${writer} instance` }, 'VG_1', 'MASTER', 100);
    // Two queues: the instance's run does not wait behind the group's.
    expect(notifier.stats()).toMatchObject({ running: 2, queued: 1 });
    await notifier.drain();
    expect(lines(log).sort()).toEqual(['GROUP VG_1 MASTER 0', 'group-master', 'instance INSTANCE VG_1 MASTER 100'].sort());
    expect(results.find((r) => r.argv.includes('GROUP'))!.argv).toEqual([writer, 'GROUP', 'VG_1', 'MASTER', '0']);
  });

  it('runs the state command then the generic notify with INSTANCE name state priority, in order', async () => {
    const log = join(dir, 'order.log');
    // Random sleeps: with keepalived's fork-and-forget, the log would come out shuffled.
    const writer = script('writer.sh', `sleep 0.0$(( $$ % 7 + 1 )); echo "$(basename $0) $*" >> ${log}`);
    const results: NotifyResult[] = [];
    const notifier = createNotifier({ onResult: (r) => results.push(r) });
    const commands = {
      notify_master: `${writer} master-arg`,
      notify_backup: writer,
      notify_fault: `${writer} "fault arg"`,
      notify_stop: writer,
      notify: writer,
    };
    notifier.transition(commands, 'VI_1', 'MASTER', 100);
    notifier.transition(commands, 'VI_1', 'FAULT', 0);
    notifier.transition(commands, 'VI_1', 'BACKUP', 80);
    notifier.transition(commands, 'VI_1', 'STOP', 80);
    expect(notifier.stats()).toMatchObject({ running: 1, queued: 7 });
    await notifier.drain();
    expect(lines(log)).toEqual([
      'writer.sh master-arg',
      'writer.sh INSTANCE VI_1 MASTER 100',
      'writer.sh fault arg',
      'writer.sh INSTANCE VI_1 FAULT 0',
      'writer.sh ', // no arguments of its own
      'writer.sh INSTANCE VI_1 BACKUP 80',
      'writer.sh ',
      'writer.sh INSTANCE VI_1 STOP 80',
    ]);
    expect(results.map((r) => `${r.kind} ${r.state} ${r.ok}`)).toEqual([
      'notify_master MASTER true', 'notify MASTER true', 'notify_fault FAULT true', 'notify FAULT true',
      'notify_backup BACKUP true', 'notify BACKUP true', 'notify_stop STOP true', 'notify STOP true',
    ]);
    expect(results[1]!.argv).toEqual([writer, 'INSTANCE', 'VI_1', 'MASTER', '100']);
    expect(notifier.stats()).toMatchObject({ runs: 8, failures: 0, running: 0, queued: 0 });
  });

  it('runs nothing for a state without commands', async () => {
    const results: NotifyResult[] = [];
    const notifier = createNotifier({ onResult: (r) => results.push(r) });
    notifier.transition({ notify_master: '/bin/true' }, 'VI_1', 'BACKUP', 100);
    await notifier.drain();
    expect(results).toEqual([]);
  });

  it('keeps instances independent: a slow script of one does not delay another', async () => {
    const results: NotifyResult[] = [];
    const notifier = createNotifier({ onResult: (r) => results.push(r) });
    notifier.transition({ notify_master: script('slow.sh', 'sleep 0.6') }, 'VI_slow', 'MASTER', 100);
    notifier.transition({ notify_master: '/bin/true' }, 'VI_fast', 'MASTER', 100);
    await sleep(300);
    expect(results.map((r) => r.instance)).toEqual(['VI_fast']);
    await notifier.drain();
    expect(results.map((r) => r.instance)).toEqual(['VI_fast', 'VI_slow']);
  });

  it('kills a hung script and its group at the timeout, reports it, and goes on with the queue', async () => {
    const pidFile = join(dir, 'notify-grandchild.pid');
    const hung = script('hung.sh', `sleep 30 & echo $! > ${pidFile}; sleep 30`);
    const results: NotifyResult[] = [];
    const notifier = createNotifier({ onResult: (r) => results.push(r), timeoutMs: 200, killGraceMs: 300 });
    notifier.transition({ notify_master: hung, notify: '/bin/true' }, 'VI_1', 'MASTER', 100);
    await notifier.drain();
    expect(results.map((r) => `${r.kind} ${r.ok} ${r.detail}`)).toEqual(['notify_master false timed out after 200 ms', 'notify true exit status 0']);
    expect(results[0]!.timedOut).toBe(true);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    let alive = true;
    try {
      process.kill(grandchild, 0);
      alive = readFileSync(`/proc/${grandchild}/stat`, 'latin1').includes(') Z ') === false;
    } catch {
      alive = false;
    }
    expect(alive).toBe(false);
    expect(notifier.stats()).toMatchObject({ runs: 2, failures: 1, timeouts: 1 });
  });

  it('reports and counts a failing script with its exit status and first line of output', async () => {
    const results: NotifyResult[] = [];
    const notifier = createNotifier({ onResult: (r) => results.push(r) });
    notifier.transition({ notify_backup: script('fails.sh', 'echo "haproxy reload failed" >&2; exit 2') }, 'VI_1', 'BACKUP', 100);
    await notifier.drain();
    expect(results[0]).toMatchObject({ ok: false, detail: 'exit status 2: haproxy reload failed', refused: false });
    expect(notifier.stats().failures).toBe(1);
  });

  it('refuses an insecure script with enable_script_security, and a missing one, without running them', async () => {
    const marker = join(dir, 'insecure-ran');
    const insecure = script('insecure-notify.sh', `touch ${marker}`, 0o777);
    const results: NotifyResult[] = [];
    const notifier = createNotifier({ onResult: (r) => results.push(r), enableScriptSecurity: true, scriptUser: 'root' });
    notifier.transition({ notify_master: insecure, notify: 'no-such-notify-xyz' }, 'VI_1', 'MASTER', 100);
    await notifier.drain();
    expect(existsSync(marker)).toBe(false);
    expect(results.map((r) => r.refused)).toEqual([true, true]);
    expect(results[0]!.detail).toContain(`refused: refusing to run ${insecure} as root: file ${insecure} is writable by others (mode 0777)`);
    expect(results[1]!.detail).toMatch(/^refused: no-such-notify-xyz not found in PATH/);
    expect(notifier.stats()).toMatchObject({ runs: 0, refused: 2, failures: 2 });
  });

  it('the preflight lists every notify problem at start-up', () => {
    const insecure = script('insecure-notify2.sh', 'exit 0', 0o757);
    const config = {
      global_defs: { enable_script_security: true, script_user: 'root' },
      vrrp_instance: {
        VI_1: { name: 'VI_1', notify_master: insecure, notify_backup: '/bin/true', notify: '/bin/true "unbalanced' },
      },
    } as unknown as Pick<VrrpdConfig, 'vrrp_instance' | 'global_defs'>;
    const problems = notifyCommandFindings(config).problems.map((problem) => problem.message);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain(`vrrp_instance VI_1 notify_master ('${insecure}'): refusing to run ${insecure} as root: file ${insecure} is writable by others (mode 0757)`);
    expect(problems[1]).toMatch(/^vrrp_instance VI_1 notify \('\/bin\/true "unbalanced'\): unbalanced " quote/);
  });

  it('bounds the queue per instance, dropping the oldest waiting runs', async () => {
    const log = join(dir, 'bounded.log');
    const writer = script('bounded.sh', `sleep 0.2; echo "$*" >> ${log}`);
    const results: NotifyResult[] = [];
    const notifier = createNotifier({ onResult: (r) => results.push(r), maxQueuedPerInstance: 2 });
    for (const [state, priority] of [['MASTER', 1], ['BACKUP', 2], ['FAULT', 3], ['BACKUP', 4], ['MASTER', 5]] as const) {
      notifier.transition({ notify: writer }, 'VI_1', state, priority);
    }
    await notifier.drain();
    // The first runs at once; of the four that waited, the two oldest are dropped.
    expect(lines(log)).toEqual(['INSTANCE VI_1 MASTER 1', 'INSTANCE VI_1 BACKUP 4', 'INSTANCE VI_1 MASTER 5']);
    expect(results.filter((r) => r.dropped).map((r) => `${r.state}`)).toEqual(['BACKUP', 'FAULT']);
    expect(notifier.stats()).toMatchObject({ dropped: 2, runs: 3 });
  });

  it('a throwing onResult does not stop the queue', async () => {
    let calls = 0;
    const notifier = createNotifier({ onResult: () => { calls++; throw new Error('logger broke'); } });
    notifier.transition({ notify_master: '/bin/true', notify: '/bin/true' }, 'VI_1', 'MASTER', 100);
    await notifier.drain();
    expect(calls).toBe(2);
  });
});
