/**
 * The two ways runCommand starts a command (src/io/command.ts): the addon's spawnCommand
 * (src/io/native/spawn.c: clone with CLONE_VM | CLONE_VFORK, reaped through a pidfd) and Node's
 * spawn, its fallback. Both must give a command the same start: argv exec'd directly, its own
 * session and process group, stdin /dev/null, output read and bounded, cwd /, default signal
 * dispositions and an empty mask, the user switch; and leave nothing behind: no zombie, a
 * timed-out group killed. The addon's path also closes every other descriptor on exec by itself.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSpawner, resolveRunAs, runCommand, type RunOptions, type Spawner } from '../../src/io/command.js';
import { loadPacketAddon } from '../../src/io/native.js';

let dir: string;

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Fields of /proc/PID/stat after the command: state ppid pgrp session ... */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** Zombie children of this process. */
function ourZombies(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      const fields = statFields(Number(entry));
      return fields?.[0] === 'Z' && Number(fields[1]) === process.pid;
    })
    .map(Number);
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

beforeAll(() => {
  expect(process.geteuid?.()).toBe(0); // the user switch needs root
  dir = mkdtempSync(join(tmpdir(), 'vrrpd-spawn-'));
  chmodSync(dir, 0o755);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the addon starts commands', () => {
  it('has spawnCommand, and runCommand uses it by default', () => {
    const addon = loadPacketAddon();
    expect(typeof addon.spawnCommand).toBe('function');
    expect(typeof addon.commandOutput).toBe('function');
    expect(defaultSpawner()).toEqual({ spawner: 'native' });
  });

  it('reaps every child itself: many runs, some overlapping, leave no zombie', async () => {
    const runs = Array.from({ length: 40 }, (_, i) => runCommand('/bin/sh', ['sh', '-c', `exit ${i % 3}`], { timeoutMs: 5000, via: 'native' }));
    const results = await Promise.all(runs.map((run) => run.result));
    await Promise.all(runs.map((run) => run.exited));
    expect(results.map((r) => r.exitCode)).toEqual(Array.from({ length: 40 }, (_, i) => i % 3));
    for (const run of runs) expect(statFields(run.pid!)).toBeUndefined(); // reaped: no /proc entry left
    expect(ourZombies()).toEqual([]);
  });

  it('closes every other descriptor on exec, even one opened without close-on-exec', async () => {
    // raw-socket opens its socket without SOCK_CLOEXEC (the daemon marks it later; here nobody does).
    const raw = createRequire(import.meta.url)('raw-socket') as { createSocket(o: { protocol: number }): { close(): void } };
    const socket = raw.createSocket({ protocol: 112 });
    try {
      const inherited = readdirSync('/proc/self/fd').filter((fd) => {
        try {
          const flags = /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
          return Number(fd) > 2 && flags !== undefined && (parseInt(flags, 8) & 0o2000000) === 0; // no O_CLOEXEC
        } catch {
          return false;
        }
      });
      // The precondition: this process does hold a descriptor a plain fork/exec would pass on.
      expect(inherited.length).toBeGreaterThan(0);
      const result = await runCommand('/bin/ls', ['ls', '/proc/self/fd'], { timeoutMs: 5000, via: 'native' }).result;
      expect(result.ok).toBe(true);
      // 0-2 and the directory ls itself opened to list them.
      expect(result.output.split(/\s+/).map(Number).sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
    } finally {
      socket.close();
    }
  });

  it('after a timeout SIGTERMs the whole group, SIGKILLs what ignores it after the grace time, and reaps the leader', async () => {
    const pidFile = join(dir, 'native-grandchild.pid');
    const path = script('native-hang.sh', `sh -c 'trap "" TERM; exec sleep 30' &\necho $! > ${pidFile}\necho started\nsleep 30`);
    const started = Date.now();
    const run = runCommand(path, ['native-hang.sh'], { timeoutMs: 300, killGraceMs: 600, via: 'native' });
    const result = await run.result;
    expect(result).toMatchObject({ ok: false, timedOut: true, output: 'started' });
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await sleep(150);
    expect(alive(run.pid!)).toBe(false);
    expect(alive(grandchild)).toBe(true); // it ignored SIGTERM
    expect(ourZombies()).toEqual([]); // the leader, killed by SIGTERM, was reaped by the addon
    await run.exited;
    expect(Date.now() - started).toBeGreaterThanOrEqual(850);
    await waitFor(() => !alive(grandchild), 2000, 'the grandchild to die of SIGKILL');
    expect(ourZombies()).toEqual([]);
  });

  it('reports a failed exec and a failed user switch by their errno, and leaves no zombie', async () => {
    expect(await runCommand(join(dir, 'missing'), ['missing'], { timeoutMs: 2000, via: 'native' }).result).toMatchObject({ ok: false, spawnError: 'ENOENT' });
    writeFileSync(join(dir, 'not-executable'), '#!/bin/sh\n');
    chmodSync(join(dir, 'not-executable'), 0o644);
    expect(await runCommand(join(dir, 'not-executable'), ['x'], { timeoutMs: 2000, via: 'native' }).result).toMatchObject({ ok: false, spawnError: 'EACCES' });
    expect(ourZombies()).toEqual([]);
  });
});

describe.each(['native', 'node'] as const)('a command started by %s', (via: Spawner) => {
  const run = (file: string, argv: string[], options: Partial<RunOptions> = {}) => runCommand(file, argv, { timeoutMs: 5000, via, ...options });

  it('is exec\'d directly with argv as given, argv[0] included', async () => {
    const path = script(`argv-${via}.sh`, 'printf "%s|" "$0" "$@"');
    const result = await run(path, ['first word', 'a b', '$HOME', '"q"']).result;
    expect(result.output).toBe(`${path}|a b|$HOME|"q"|`);
    const named = await run('/bin/sh', ['custom-name', '-c', 'cat /proc/$$/cmdline | tr "\\0" " "']).result;
    expect(named.output).toBe('custom-name -c cat /proc/$$/cmdline | tr "\\0" " "');
  });

  it('leads its own session and process group, in /, with stdin at /dev/null', async () => {
    const result = await run('/bin/sh', ['sh', '-c', 'set -- $(cut -d" " -f5,6 /proc/$$/stat); echo "$$ $1 $2 $(pwd) $(readlink /proc/$$/fd/0)"']).result;
    const [pid, pgrp, session, cwd, stdin] = result.output.split(' ');
    expect(pgrp).toBe(pid);
    expect(session).toBe(pid);
    expect(cwd).toBe('/');
    expect(stdin).toBe('/dev/null');
  });

  it('starts with default signal dispositions, an empty signal mask and no ambient capability', async () => {
    // The daemon ignores SIGPIPE (Node does) and has handlers for SIGTERM/SIGINT/SIGHUP.
    const result = await run('/bin/grep', ['grep', '-E', '^(SigBlk|SigIgn|CapAmb):', '/proc/self/status']).result;
    expect(result.output.split('\n').map((l) => l.replace(/\s+/g, ' '))).toEqual(['SigBlk: 0000000000000000', 'SigIgn: 0000000000000000', 'CapAmb: 0000000000000000']);
  });

  it('keeps the first 512 bytes of stdout and stderr and drains the rest', async () => {
    const path = script(`chatty-${via}.sh`, 'echo to-stderr >&2; head -c 3000000 /dev/zero | tr "\\0" x; exit 4');
    const result = await run(path, ['chatty']).result;
    expect(result).toMatchObject({ ok: false, exitCode: 4 });
    expect(result.output.startsWith('to-stderr\nxxx')).toBe(true);
    expect(result.output.length).toBe(512);
  });

  it('reports a death by signal with the signal\'s name', async () => {
    expect(await run('/bin/sh', ['sh', '-c', 'kill -USR1 $$']).result).toMatchObject({ ok: false, exitCode: null, signal: 'SIGUSR1' });
  });

  it('passes the environment: the daemon\'s, or the one given', async () => {
    process.env.VRRPD_SPAWN_TEST = 'inherited';
    try {
      expect((await run('/bin/sh', ['sh', '-c', 'echo "$VRRPD_SPAWN_TEST"']).result).output).toBe('inherited');
      expect((await run('/bin/sh', ['sh', '-c', 'echo "${VRRPD_SPAWN_TEST:-unset} $ONLY"'], { env: { ONLY: 'given' } }).result).output).toBe('unset given');
    } finally {
      delete process.env.VRRPD_SPAWN_TEST;
    }
  });

  it('switches to another user and group with no supplementary groups', async () => {
    const runAs = resolveRunAs('nobody');
    const result = await run('/bin/sh', ['sh', '-c', 'echo "$(id -u) $(id -g) $(id -G)"'], { uid: runAs.uid!, gid: runAs.gid! }).result;
    expect(result.output).toBe(`${runAs.uid} ${runAs.gid} ${runAs.gid}`);
  });

  it('terminate() ends a running command and its group; nothing is left', async () => {
    const running = run('/bin/sh', ['sh', '-c', 'sleep 30 & sleep 30'], { killGraceMs: 500 });
    await sleep(100);
    running.terminate();
    await running.exited;
    expect(await running.result).toMatchObject({ ok: false, signal: 'SIGTERM' });
    expect(ourZombies()).toEqual([]);
  });
});
