/**
 * check-config means what run means (issue 12): for every configuration file in the repository
 * (examples/, test/config/fixtures/, test/interop/fixtures/) and for hostile variants of the seed
 * (a user that does not exist, an insecure script, a missing script, a bad notify command), `vrrpd
 * check-config F` and `vrrpd run --config F` give the same verdict: both reject it with exit 3, or
 * both accept it. `run` is the real dist/cli/main.js in a throwaway namespace that has every
 * interface the file names; "accepted" means it logged `vrrpd started` (or had logged and still
 * ran RUN_GRACE_MS later), "rejected" that it exited 3; it is killed right after.
 *
 * Twice: as root (check-config without --user, run as root), and as the shipped unit runs vrrpd
 * (run as an ordinary user holding ambient CAP_NET_ADMIN + CAP_NET_RAW; check-config --user nobody),
 * the latter over the shipped examples and the hostile variants.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { Lab, labUnavailableReason } from './lab.js';
import { asUnitUser, readablePackage, type ReadablePackage } from './readable-package.js';
import { sleep, VRRPD_BIN, VrrpdProcess } from './vrrpd.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** An accepted config that has logged but not said `vrrpd started` by then is still taken as accepted. */
const RUN_GRACE_MS = 5_000;
/** A run that has neither logged nor exited by then is a test failure, not a verdict. */
const UNDECIDED_MS = 60_000;
const NO_SUCH_USER = 'no-such-user-i12';
/** One namespace per case running at once. */
const WORKERS = ['w1', 'w2', 'w3'];

type Verdict = 'accepted' | 'rejected';

/** Every vrrpd or keepalived configuration file in the repository, one per distinct content. */
function repositoryConfigs(): { name: string; text: string }[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ya?ml|conf)$/.test(entry)) found.push(path);
    }
  };
  // examples/haproxy, nginx and kubernetes hold other programs' files (and a pod manifest).
  for (const dir of ['examples/preempt', 'examples/nopreempt', 'examples/recommended', 'examples/keepalived', 'test/config/fixtures', 'test/interop/fixtures']) walk(join(REPO, dir));
  const seen = new Set<string>();
  const configs: { name: string; text: string }[] = [];
  for (const path of found) {
    const text = readFileSync(path, 'utf8');
    const digest = createHash('sha256').update(text).digest('hex');
    if (seen.has(digest)) continue;
    seen.add(digest);
    configs.push({ name: relative(REPO, path), text });
  }
  return configs;
}

const SEED = readFileSync(join(REPO, 'examples/preempt/master1.yaml'), 'utf8');
const RECOMMENDED = readFileSync(join(REPO, 'examples/recommended/master1.yaml'), 'utf8');

function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`test setup: '${from}' not in the base config`);
  return text.replace(from, to);
}

describe.skipIf(labUnavailableReason !== undefined)('check-config and run give the same verdict', () => {
  let lab: Lab;
  let pkg: ReadablePackage;
  /** Readable by everyone: configs, sockets, the hostile variants' scripts. */
  let work: string;
  let serial = 0;
  /** Interfaces made so far, per worker namespace. */
  const interfaces = new Map<string, Set<string>>();

  /** The seed's check replaced by `script` (a path made in `work`). */
  const withScript = (path: string, base = SEED): string => edit(base, 'script: "killall -0 kube-apiserver"', `script: "${path}"`);
  const script = (dirMode: number, fileMode: number): string => {
    const dir = mkdtempSync(join(work, 'scripts-'));
    chmodSync(dir, dirMode);
    const path = join(dir, 'check.sh');
    writeFileSync(path, '#!/bin/sh\nexit 0\n');
    chmodSync(path, fileMode);
    return path;
  };

  /** name -> [config text, the verdict it must get from both]. */
  const hostile = (): [string, string, Verdict][] => [
    ['script_user that does not exist', edit(SEED, 'script_user: root', `script_user: ${NO_SUCH_USER}`), 'rejected'],
    ['script_user that does not exist, no script uses it', edit(RECOMMENDED, 'script_user: root', `script_user: ${NO_SUCH_USER}`), 'rejected'],
    ['vrrp_script user that does not exist', edit(SEED, '    interval: 2 ', `    user: ${NO_SUCH_USER}\n    interval: 2 `), 'rejected'],
    ['world-writable script', withScript(script(0o755, 0o777)), 'rejected'],
    ['script in a world-writable directory', withScript(script(0o777, 0o755)), 'rejected'],
    ['world-writable script without enable_script_security', withScript(script(0o755, 0o777), edit(SEED, 'enable_script_security: true', 'enable_script_security: false')), 'accepted'],
    ['missing script', withScript('/nonexistent/check.sh'), 'rejected'],
    ['script not in PATH', withScript('no-such-check-i12'), 'rejected'],
    ['notify command that does not exist', edit(SEED, '    track_script:', '    notify_master: "/nonexistent/notify.sh master"\n    track_script:'), 'rejected'],
    ['notify command with an unbalanced quote', edit(SEED, '    track_script:', `    notify_backup: "/bin/true 'backup"\n    track_script:`), 'rejected'],
    ['world-writable notify command', edit(SEED, '    track_script:', `    notify: "${script(0o755, 0o777)}"\n    track_script:`), 'rejected'],
  ];

  beforeAll(async () => {
    lab = await Lab.create({ hosts: WORKERS.map((name) => ({ name, addresses: ['10.0.0.51/24'] })) });
    pkg = readablePackage();
    work = mkdtempSync(join(tmpdir(), 'vrrpd-verdicts-'));
    chmodSync(work, 0o777 | 0o1000); // sticky, like /tmp: the unprivileged daemon makes its socket here
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
    pkg?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const writeConfig = (name: string, text: string): string => {
    const path = join(work, `${++serial}-${basename(name).replace(/[^A-Za-z0-9.-]+/g, '_')}${/\.(conf|ya?ml)$/.test(name) ? '' : '.yaml'}`);
    writeFileSync(path, text, { mode: 0o644 });
    return path;
  };

  /** Every interface the file names exists in the worker's namespace, as on the node it is written for. */
  const provideInterfaces = async (worker: string, path: string): Promise<void> => {
    const loaded = await loadConfigFile(path);
    if (!loaded.ok) return;
    const present = interfaces.get(worker) ?? new Set(['ens32']);
    interfaces.set(worker, present);
    for (const instance of Object.values(loaded.config.vrrp_instance)) {
      const names = [instance.interface, ...instance.track_interface.map((t) => t.name), ...instance.virtual_ipaddress.map((v) => v.dev)];
      for (const name of names) {
        if (present.has(name)) continue;
        present.add(name);
        // A veth pair (its peer unused): the dummy driver is not in every kernel.
        const peer = `peer${present.size}`;
        for (const args of [['link', 'add', name, 'type', 'veth', 'peer', 'name', peer], ['link', 'set', peer, 'up'], ['link', 'set', name, 'up']]) {
          const made = await lab.exec(worker, 'ip', args);
          if (made.code !== 0) throw new Error(`ip ${args.join(' ')} in ${worker}: ${made.stderr}`);
        }
      }
    }
  };

  const checkConfig = async (path: string, asUnit: boolean): Promise<{ verdict: Verdict; output: string }> => {
    const result = await execute(process.execPath, [VRRPD_BIN, 'check-config', ...(asUnit ? ['--user', 'nobody'] : []), path]);
    if (result.code === 0) return { verdict: 'accepted', output: result.output };
    if (result.code === 3) return { verdict: 'rejected', output: result.output };
    throw new Error(`check-config ${path} exited ${result.code}: ${result.output}`);
  };

  const run = async (worker: string, path: string, asUnit: boolean): Promise<{ verdict: Verdict; output: string }> => {
    const socket = `${path}.${asUnit ? 'unit' : 'root'}.sock`;
    const argv = asUnit
      ? [...asUnitUser(), pkg.node, pkg.cli, 'run', '--config', path, '--socket', socket, '--state-dir', `${socket}.state`]
      : [process.execPath, VRRPD_BIN, 'run', '--config', path, '--socket', socket, '--state-dir', `${socket}.state`];
    const proc = new VrrpdProcess(lab, worker, socket, path, lab.spawn(worker, argv[0]!, argv.slice(1)));
    let exited: { code: number | null } | undefined;
    void proc.exited.then((exit) => (exited = exit));
    const startedMs = Date.now();
    // A configuration is past every check once it says `vrrpd started`, or once it has logged
    // and still runs RUN_GRACE_MS later (vrrp_startup_delay postpones `vrrpd started`): run logs
    // nothing before its checks pass, and exits 3 at once when they fail.
    const decided = (): boolean =>
      exited !== undefined ||
      proc.lines.some((l) => l.msg === 'vrrpd started') ||
      (proc.lines.length > 0 && Date.now() - proc.lines[0]!.timeMs > RUN_GRACE_MS);
    while (!decided() && Date.now() - startedMs < UNDECIDED_MS) await sleep(20);
    const output = `${proc.lines.map((l) => l.msg).join('\n')}\n${proc.errors}`;
    if (exited === undefined && !decided()) {
      proc.signal('SIGKILL');
      await proc.exited;
      throw new Error(`run --config ${path}: neither started nor exited within ${UNDECIDED_MS} ms: ${output}`);
    }
    if (exited === undefined) {
      proc.signal('SIGKILL');
      await proc.exited;
      // A VIP it may have added already must not reach the next run's stale-VIP removal.
      for (const address of await lab.addrs(worker)) if (address !== '10.0.0.51/24') await lab.exec(worker, 'ip', ['addr', 'del', address, 'dev', 'ens32']);
      return { verdict: 'accepted', output };
    }
    if (exited.code === 3) return { verdict: 'rejected', output };
    throw new Error(`run --config ${path} exited ${exited.code}: ${output}`);
  };

  /**
   * Both verdicts for every case, a few cases at a time (one namespace each); returns the cases
   * where they differ, or where both differ from the verdict the case must get.
   */
  const compareAll = async (cases: readonly [name: string, text: string, expected: Verdict | undefined][], asUnit: boolean): Promise<string[]> => {
    const queue = [...cases];
    const wrong: string[] = [];
    let decided = 0;
    await Promise.all(WORKERS.map(async (worker) => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const [name, text, expected] = next;
        const path = writeConfig(name, text);
        await provideInterfaces(worker, path);
        const [checked, ran] = await Promise.all([checkConfig(path, asUnit), run(worker, path, asUnit)]);
        decided++;
        if (checked.verdict !== ran.verdict) wrong.push(`${name}: check-config ${checked.verdict}, run ${ran.verdict}\n--- check-config:\n${checked.output}\n--- run:\n${ran.output}`);
        else if (expected !== undefined && ran.verdict !== expected) wrong.push(`${name}: both ${ran.verdict}, expected ${expected}\n--- run:\n${ran.output}`);
      }
    }));
    expect(decided).toBe(cases.length);
    return wrong;
  };

  for (const asUnit of [false, true]) {
    const who = asUnit ? 'as the unit runs it (nobody, ambient CAP_NET_ADMIN+CAP_NET_RAW; check-config --user nobody)' : 'as root';
    describe(who, () => {
      it(asUnit ? 'every shipped example' : 'every configuration file in the repository', async () => {
        // As the unit's user only what ships (the test fixtures are variations of it for the parser).
        const configs = repositoryConfigs().filter(({ name }) => !asUnit || name.startsWith('examples/'));
        expect(configs.length).toBeGreaterThan(asUnit ? 10 : 20);
        // The shipped examples must be accepted; the fixtures are whatever they are, the same for both.
        expect(await compareAll(configs.map(({ name, text }) => [name, text, name.startsWith('examples/') ? 'accepted' : undefined]), asUnit)).toEqual([]);
      }, 600_000);

      it('hostile variants of the seed', async () => {
        expect(await compareAll(hostile(), asUnit)).toEqual([]);
      }, 300_000);
    });
  }
});

/** Run a command to its end (30 s at most); exit code and everything it printed. */
function execute(command: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolvePromise({ code, output }));
  });
}
