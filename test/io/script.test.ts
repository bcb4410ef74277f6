/**
 * The vrrp_script runner with real child processes in a temporary directory (owned by root, mode
 * 0755): argv splitting, PATH lookup, exit status and signals, the timeout that kills the whole
 * process group (grandchildren too, SIGKILL after the grace time) without leaving zombies, no
 * overlapping runs, raw results through the periodic runner, running as another user, and
 * keepalived's script security refusals.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VrrpdConfig, VrrpScript } from '../../src/config/model.js';
import { planChecks } from '../../src/daemon/plan.js';
import { planTrackers } from '../../src/daemon/checks.js';
import type { CheckLog } from '../../src/io/checks/probe.js';
import { prepareScript } from '../../src/io/checks/script.js';
import { startChecks as startTrackers } from './run-checks.js';
import {
  resolveExecutable,
  resolveRunAs,
  runCommand,
  scriptSecurityProblem,
  splitCommand,
  ScriptSetupError,
} from '../../src/io/command.js';

const NOBODY = 65534;
let dir: string;

/** A root-owned 0755 script in the test directory. */
function script(name: string, body: string, mode = 0o755, at = dir): string {
  const path = join(at, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, mode);
  return path;
}

function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}

/** Zombie children of this test process (what "never leave zombies" forbids). */
function ourZombies(): number[] {
  const zombies: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' && Number(fields[1]) === process.pid) zombies.push(Number(entry));
    } catch {
      // gone
    }
  }
  return zombies;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const quietLog: CheckLog & { lines: string[] } = {
  lines: [],
  debug() {},
  info(_o, msg) { quietLog.lines.push(`info ${msg}`); },
  warn(_o, msg) { quietLog.lines.push(`warn ${msg}`); },
  error(_o, msg) { quietLog.lines.push(`error ${msg}`); },
};

function configWith(scripts: Partial<VrrpScript>[], globals: Partial<VrrpdConfig['global_defs']> = {}): VrrpdConfig {
  const vrrp_script: Record<string, VrrpScript> = {};
  for (const s of scripts) {
    const full: VrrpScript = { name: 's', check: { kind: 'script', script: '/bin/true' }, interval: 0.1, timeout: 0.1, weight: 0, reverse: false, rise: 1, fall: 1, init_fail: false, ...s };
    vrrp_script[full.name] = full;
  }
  return {
    vrrpd: {},
    global_defs: { vrrp_version: 2, enable_script_security: true, vrrp_garp_master_delay: 5, vrrp_garp_master_repeat: 5, vrrp_garp_master_refresh: 0, vrrp_skip_check_adv_addr: false, vrrp_startup_delay: 0, vrrp_check_unicast_src: true, ...globals },
    vrrp_script,
    vrrp_instance: {
      VI_1: {
        name: 'VI_1', state: 'BACKUP', interface: 'eth0', virtual_router_id: 1, priority: 100, version: 2, advert_int: 1, nopreempt: false, preempt_delay: 0,
        unicast_peer: [], virtual_ipaddress: [], track_script: Object.keys(vrrp_script).map((name) => ({ name })), track_interface: [],
        dont_track_primary: false, garp_master_delay: 5, garp_master_repeat: 5, garp_master_refresh: 0, check_unicast_src: true, skip_check_adv_addr: false,
      },
    },
  };
}

beforeAll(() => {
  expect(process.geteuid?.()).toBe(0); // ownership and user switching need root
  dir = mkdtempSync(join(tmpdir(), 'vrrpd-script-'));
  chmodSync(dir, 0o755);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('splitCommand (argv as keepalived splits it, no shell)', () => {
  it.each([
    ['killall -0 kube-apiserver', ['killall', '-0', 'kube-apiserver']],
    ['  a   b\tc  ', ['a', 'b', 'c']],
    [`/x "a b" 'c d' e\\ f`, ['/x', 'a b', 'c d', 'e f']],
    [`/x "it's" 'say "hi"'`, ['/x', "it's", 'say "hi"']],
    [`/x "" ''`, ['/x', '', '']],
    [`/x a"b c"d`, ['/x', 'ab cd']],
    [`/x "a \\"q\\" b"`, ['/x', 'a "q" b']],
    ['/x $HOME `id` ; | > *', ['/x', '$HOME', '`id`', ';', '|', '>', '*']],
  ])('%s', (command, argv) => {
    expect(splitCommand(command)).toEqual(argv);
  });

  it('refuses unbalanced quotes and empty commands', () => {
    expect(() => splitCommand('/x "a b')).toThrow(/unbalanced " quote/);
    expect(() => splitCommand("/x 'a")).toThrow(/unbalanced ' quote/);
    expect(() => splitCommand('   ')).toThrow(/empty command/);
  });
});

describe('resolveExecutable', () => {
  it('finds a bare name in PATH, as execvp would', () => {
    expect(resolveExecutable('killall', '/nonexistent:/usr/bin')).toBe('/usr/bin/killall');
  });
  it('takes a path as written and says clearly when there is nothing to run', () => {
    const path = script('exists.sh', 'exit 0');
    expect(resolveExecutable(path)).toBe(path);
    expect(() => resolveExecutable('no-such-check-xyz', '/usr/bin:/bin')).toThrow(/no-such-check-xyz not found in PATH/);
    const plain = join(dir, 'not-executable');
    writeFileSync(plain, '');
    expect(() => resolveExecutable(plain)).toThrow(/not an executable file/);
  });
});

describe('runCommand', () => {
  it('exit 0 is success; the exit status and the start of the output explain a failure', async () => {
    expect((await runCommand('/bin/true', ['true'], { timeoutMs: 2000 }).result).ok).toBe(true);
    const failed = await runCommand(script('fail.sh', 'echo "kube-apiserver: no process found" >&2; exit 3'), ['fail.sh'], { timeoutMs: 2000 }).result;
    expect(failed).toMatchObject({ ok: false, exitCode: 3, signal: null, timedOut: false, output: 'kube-apiserver: no process found' });
  });

  it('a signal is a failure', async () => {
    const result = await runCommand(script('selfkill.sh', 'kill -SEGV $$'), ['selfkill.sh'], { timeoutMs: 2000 }).result;
    expect(result).toMatchObject({ ok: false, exitCode: null, signal: 'SIGSEGV' });
  });

  it('a file that cannot be exec\'d is a failure, not an exception', async () => {
    const run = runCommand(join(dir, 'missing'), ['missing'], { timeoutMs: 2000 });
    expect(await run.result).toMatchObject({ ok: false, spawnError: 'ENOENT' });
    await run.exited;
  });

  it('drains and bounds the output of a chatty script', async () => {
    // 4 MB through the pipes: a runner that did not read them would block the script forever.
    const run = runCommand(script('chatty.sh', 'head -c 4000000 /dev/zero | tr "\\0" x; echo done >&2'), ['chatty.sh'], { timeoutMs: 5000 });
    const result = await run.result;
    expect(result.ok).toBe(true);
    expect(result.output.length).toBeLessThanOrEqual(512);
  });

  it('on timeout: failure at once, SIGTERM to the whole group, SIGKILL after the grace time, no zombies', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    // The grandchild ignores SIGTERM (an ignored signal stays ignored across exec), so only the
    // group-wide SIGKILL can end it.
    const path = script('hang.sh', `sh -c 'trap "" TERM; exec sleep 30' &\necho $! > ${pidFile}\nsleep 30`);
    const started = Date.now();
    const run = runCommand(path, ['hang.sh'], { timeoutMs: 300, killGraceMs: 600 });
    const result = await run.result;
    const resultMs = Date.now() - started;
    expect(result).toMatchObject({ ok: false, timedOut: true });
    expect(resultMs).toBeGreaterThanOrEqual(290);
    expect(resultMs).toBeLessThan(600);

    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    expect(grandchild).toBeGreaterThan(0);
    // The script itself died of SIGTERM; the grandchild ignored it and is still there.
    await sleep(150);
    expect(pidAlive(run.pid!)).toBe(false);
    expect(pidAlive(grandchild)).toBe(true);

    await run.exited;
    const exitedMs = Date.now() - started;
    expect(exitedMs).toBeGreaterThanOrEqual(850); // timeout + grace
    await waitFor(() => !pidAlive(grandchild), 2000, 'the grandchild to die of SIGKILL');
    await waitFor(() => !existsSync(`/proc/${grandchild}`), 10_000, 'init to reap the orphaned grandchild');
    expect(ourZombies()).toEqual([]);
  });

  it('a script that dies of SIGTERM ends the kill sequence without waiting out the grace time', async () => {
    const run = runCommand(script('sleepy.sh', 'exec sleep 30'), ['sleepy.sh'], { timeoutMs: 200, killGraceMs: 5000 });
    const started = Date.now();
    await run.exited;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(ourZombies()).toEqual([]);
  });

  it('runs as another user when asked (root only)', async () => {
    const runAs = resolveRunAs('nobody');
    expect(runAs).toMatchObject({ uid: NOBODY, gid: NOBODY, asRoot: false });
    const path = script('whoami.sh', `[ "$(id -u)" = ${NOBODY} ] && [ "$(id -g)" = ${NOBODY} ] && [ "$(id -G)" = ${NOBODY} ]`);
    expect((await runCommand(path, ['whoami.sh'], { timeoutMs: 2000, uid: runAs.uid!, gid: runAs.gid! }).result).ok).toBe(true);
    expect((await runCommand(path, ['whoami.sh'], { timeoutMs: 2000 }).result).ok).toBe(false);
  });
});

describe('resolveRunAs', () => {
  it('reads users and groups by name or number, and refuses unknown ones', () => {
    expect(resolveRunAs('root')).toMatchObject({ uid: 0, gid: 0, asRoot: true });
    expect(resolveRunAs('nobody nogroup')).toMatchObject({ uid: NOBODY, gid: NOBODY });
    expect(resolveRunAs('65534 root')).toMatchObject({ uid: NOBODY, gid: 0 });
    expect(() => resolveRunAs('no-such-user-xyz')).toThrow(/user 'no-such-user-xyz' does not exist/);
    expect(() => resolveRunAs('nobody no-such-group-xyz')).toThrow(/group 'no-such-group-xyz' does not exist/);
  });
  it('runs everything as itself when vrrpd is not root', () => {
    expect(resolveRunAs('root', 1000)).toEqual({ label: 'uid 1000 (vrrpd itself)', asRoot: false });
    expect(resolveRunAs(undefined, 0)).toMatchObject({ asRoot: true });
  });
});

describe('script security (enable_script_security)', () => {
  it('accepts a root-owned 0755 script in root-owned 0755 directories, and commands found in PATH', () => {
    expect(scriptSecurityProblem(script('good.sh', 'exit 0'))).toBeUndefined();
    expect(scriptSecurityProblem(resolveExecutable('killall'))).toBeUndefined();
  });

  it('refuses a group-writable script (non-root group), naming the file', () => {
    const path = script('group-writable.sh', 'exit 0', 0o775);
    chownSync(path, 0, NOBODY);
    expect(scriptSecurityProblem(path)).toBe(`file ${path} is writable by group ${NOBODY} (mode 0775)`);
    // Group root may write: only root is in it (keepalived's rule).
    chownSync(path, 0, 0);
    expect(scriptSecurityProblem(path)).toBeUndefined();
  });

  it('refuses a script in a directory writable by others, naming the directory', () => {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const path = script('in-open-dir.sh', 'exit 0', 0o755, open);
    expect(scriptSecurityProblem(path)).toBe(`directory ${open} is writable by others (mode 0777)`);
    // Sticky (like /tmp): others cannot replace root's file.
    chmodSync(open, 0o1777);
    expect(scriptSecurityProblem(path)).toBeUndefined();
  });

  it('refuses a script owned by someone else', () => {
    const path = script('not-root.sh', 'exit 0');
    chownSync(path, NOBODY, 0);
    expect(scriptSecurityProblem(path)).toBe(`file ${path} is owned by uid ${NOBODY}, not root`);
  });

  it('refuses a root-owned symlink into an unsafe directory', () => {
    const unsafe = join(dir, 'unsafe');
    mkdirSync(unsafe);
    chownSync(unsafe, NOBODY, NOBODY);
    const target = script('target.sh', 'exit 0', 0o755, unsafe);
    const link = join(dir, 'link.sh');
    symlinkSync(target, link);
    expect(scriptSecurityProblem(link)).toBe(`directory ${unsafe} is owned by uid ${NOBODY}, not root`);
  });

  it('refuses to start such a script as root with a clear error; warns without enable_script_security; allows it for a non-root user', () => {
    const path = script('insecure.sh', 'exit 0', 0o777);
    const base = { name: 'chk', command: `${path} --flag`, user: undefined, euid: 0 };
    expect(() => prepareScript({ ...base, enableScriptSecurity: true }))
      .toThrow(`vrrp_script chk ('${path} --flag'): refusing to run ${path} as root: file ${path} is writable by others (mode 0777)`);
    expect(prepareScript({ ...base, enableScriptSecurity: false }).warnings).toEqual([expect.stringMatching(/as root although file .* is writable by others/)]);
    expect(prepareScript({ ...base, user: 'nobody', enableScriptSecurity: true }).runAs.asRoot).toBe(false);
  });

  it('says so when a user is configured but vrrpd is not root and cannot switch', () => {
    const prepared = prepareScript({ name: 'chk', command: '/bin/true', user: 'nobody', enableScriptSecurity: true, euid: 1000 });
    expect(prepared.runAs).toEqual({ label: 'uid 1000 (vrrpd itself)', asRoot: false });
    expect(prepared.warnings).toEqual(["runs as vrrpd's own user (uid 1000 (vrrpd itself)): only root can run scripts as 'nobody'"]);
  });

  it('planTrackers reports every bad script at once and prepares the good ones', () => {
    const insecure = script('insecure2.sh', 'exit 0', 0o757);
    const config = configWith([
      { name: 'bad_security', check: { kind: 'script', script: insecure } },
      { name: 'bad_path', check: { kind: 'script', script: 'no-such-check-xyz' } },
      { name: 'bad_quote', check: { kind: 'script', script: '/bin/true "x' } },
      { name: 'good', check: { kind: 'script', script: '/bin/true' } },
    ], { script_user: 'root' });
    const plan = planTrackers(config);
    const problems = plan.problems.map((problem) => problem.message);
    expect(plan.checks.map((check) => check.script.name)).toEqual(['good']);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^vrrp_script bad_security .*refusing to run .* as root: file .*insecure2\.sh is writable by others/);
    expect(problems[1]).toMatch(/^vrrp_script bad_path .*no-such-check-xyz not found in PATH/);
    expect(problems[2]).toMatch(/^vrrp_script bad_quote .*unbalanced " quote/);
    expect(new ScriptSetupError('x', 'insecure').code).toBe('insecure');
  });
});

describe('periodic runs of the planned checks', () => {
  it('never overlaps runs of one script: a run still going when the next is due is skipped and counted', async () => {
    const log = join(dir, 'overlap.log');
    const path = script('slow.sh', `echo start >> ${log}; sleep 0.25; echo end >> ${log}`);
    const trackers = startTrackers(configWith([{ name: 'slow', check: { kind: 'script', script: path }, interval: 0.1, timeout: 1 }]), () => undefined, quietLog);
    await sleep(1100);
    await trackers.stop();
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    // Strictly alternating start/end: never two runs at once.
    lines.forEach((line, index) => expect(line).toBe(index % 2 === 0 ? 'start' : 'end'));
    const [stats] = trackers.stats();
    expect(stats!.runs).toBeGreaterThanOrEqual(3);
    expect(stats!.runs).toBeLessThanOrEqual(5);
    expect(stats!.skipped).toBeGreaterThanOrEqual(5);
    expect(stats!.successes).toBe(lines.filter((l) => l === 'end').length);
    expect(ourZombies()).toEqual([]);
  });

  it('reports every run with its own detail: exit 0 ok, a failure with its stderr', async () => {
    const flag = join(dir, 'healthy');
    writeFileSync(flag, '');
    const path = script('flag.sh', `[ -e ${flag} ] || { echo "flag missing" >&2; exit 1; }`);
    const events: string[] = [];
    const trackers = startTrackers(
      configWith([{ name: 'flag', check: { kind: 'script', script: path }, interval: 0.1, timeout: 1, rise: 3, fall: 2 }]),
      (name, ok, detail) => {
        expect(name).toBe('script:flag');
        events.push(`${ok} ${detail}`);
      },
      quietLog,
    );
    await waitFor(() => events.length >= 1, 2000, 'the first result');
    expect(events[0]).toBe('true exit status 0');
    rmSync(flag);
    await waitFor(() => events.includes('false exit status 1: flag missing'), 3000, 'a failure');
    writeFileSync(flag, '');
    const failedAt = events.lastIndexOf('false exit status 1: flag missing');
    await waitFor(() => events.length > failedAt + 1, 3000, 'success again');
    await trackers.stop();
    expect(events.slice(failedAt + 1).every((e) => e === 'true exit status 0')).toBe(true);
    expect(trackers.stats()[0]).toMatchObject({ successes: events.filter((e) => e.startsWith('true')).length, failures: events.filter((e) => e.startsWith('false')).length });
  });

  it('a timed-out script is a failure and the next run waits for the kill', async () => {
    const path = script('forever.sh', 'exec sleep 30');
    const events: string[] = [];
    const trackers = startTrackers(
      configWith([{ name: 'hang', check: { kind: 'script', script: path }, interval: 0.1, timeout: 0.2 }]),
      (_name, ok, detail) => events.push(`${ok ? 'ok' : 'failed'} ${detail}`),
      quietLog,
      { killGraceMs: 300 },
    );
    await waitFor(() => events.length === 1, 2000, 'the timeout');
    expect(events).toEqual(['failed timed out after 200 ms']);
    await sleep(400);
    await trackers.stop();
    const [stats] = trackers.stats();
    expect(stats!.timeouts).toBeGreaterThanOrEqual(1);
    expect(stats!.skipped).toBeGreaterThanOrEqual(1);
    expect(ourZombies()).toEqual([]);
  });

  it('passes argv with quotes to the script exactly', async () => {
    const out = join(dir, 'args.out');
    const path = script('args.sh', `for a in "$@"; do printf '[%s]\\n' "$a"; done > ${out}`);
    const trackers = startTrackers(
      configWith([{ name: 'args', check: { kind: 'script', script: `${path} "two words" 'single $HOME' plain back\\ slash` }, interval: 10, timeout: 2 }]),
      () => undefined,
      quietLog,
    );
    await waitFor(() => trackers.stats()[0]!.successes === 1, 2000, 'the run');
    await trackers.stop();
    expect(readFileSync(out, 'utf8')).toBe('[two words]\n[single $HOME]\n[plain]\n[back slash]\n');
  });

  it('stop() kills a running script group and waits for it', async () => {
    const pidFile = join(dir, 'stop.pid');
    const path = script('stopme.sh', `echo $$ > ${pidFile}; exec sleep 30`);
    const trackers = startTrackers(configWith([{ name: 'stopme', check: { kind: 'script', script: path }, interval: 10, timeout: 10 }]), () => undefined, quietLog, { killGraceMs: 300 });
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 2000, 'the script to start');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pidAlive(pid)).toBe(true);
    await trackers.stop();
    expect(pidAlive(pid)).toBe(false);
    expect(ourZombies()).toEqual([]);
  });

  it('plans only scripts that an instance tracks', () => {
    const config = configWith([{ name: 'used' }]);
    config.vrrp_script['unused'] = { ...config.vrrp_script['used']!, name: 'unused' };
    expect(planChecks(config).map((check) => check.name)).toEqual(['script:used']);
  });
});
