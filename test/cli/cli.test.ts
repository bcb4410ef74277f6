/** The built `vrrpd` command as a user runs it (dist/, made by `npm run build`). */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
const VERSION = (JSON.parse(readFileSync(resolve(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

/** Every command, with the first line its help must start with. */
const COMMANDS: Array<[string, RegExp]> = [
  ['run', /^Usage: vrrpd run --config FILE \[--socket PATH\] \[--log-level LEVEL\] \[--state-dir DIR\]\n/],
  ['status', /^Usage: vrrpd status \[--socket PATH\] \[--json\]\n/],
  ['check-config', /^Usage: vrrpd check-config \[FILE\.\.\.\] \[--config FILE\] \[--user NAME\]\n/],
  ['drain', /^Usage: vrrpd drain \[--instance NAME\] \[--socket PATH\] \[--timeout SECONDS\]\n/],
  ['undrain', /^Usage: vrrpd undrain \[--instance NAME\] \[--socket PATH\]\n/],
  ['release', /^Usage: vrrpd release --config FILE\n/],
  ['lab', /^Usage: sudo vrrpd lab \[--scenario NAME\] \[--config-set recommended\|seed\|v3\|dual-stack\] \[--keepalived NODES\] \[--preempt-delay S\] \[--json\]\n/],
  ['import-keepalived', /^Usage: vrrpd import-keepalived FILE \[--output OUT\] \[--force\]\n/],
];

function vrrpd(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('vrrpd command', () => {
  it('--help prints the usage and exits 0', async () => {
    const r = await vrrpd('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/vrrpd run --config FILE/);
  });
  it('an unknown command or option is a usage error (exit 2)', async () => {
    expect((await vrrpd('frobnicate')).code).toBe(2);
    const r = await vrrpd('status', '--bogus');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bogus/);
  });
  it('--version and -V print the package version and exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await vrrpd(flag);
      expect(r, flag).toMatchObject({ code: 0, stdout: `vrrpd ${VERSION}\n`, stderr: '' });
    }
  });
  it('the overview names every command and how to get its help', async () => {
    const r = await vrrpd('help');
    expect(r.code).toBe(0);
    for (const [name] of COMMANDS) expect(r.stdout).toContain(`vrrpd ${name}`);
    expect(r.stdout).toContain('vrrpd help COMMAND');
    expect(r.stdout).toContain('vrrpd --version');
  });
  for (const [name, usage] of COMMANDS) {
    it(`${name} --help, ${name} -h and help ${name} print its usage and options and exit 0`, async () => {
      const answers = await Promise.all([vrrpd(name, '--help'), vrrpd(name, '-h'), vrrpd('help', name)]);
      for (const r of answers) {
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toBe('');
        expect(r.stdout).toMatch(usage);
        expect(r.stdout).toMatch(/\nOptions:\n[\s\S]*-h, --help +show this help\n/);
        expect(r.stdout).toMatch(/\nExit codes: /);
      }
      expect(answers[1]!.stdout).toBe(answers[0]!.stdout);
      expect(answers[2]!.stdout).toBe(answers[0]!.stdout);
    });
    it(`${name} with an unknown option: one line naming it, then the usage of ${name}; exit 2`, async () => {
      const r = await vrrpd(name, '--frobnicate', 'x');
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const [first, ...rest] = r.stderr.split('\n');
      expect(first).toBe(`vrrpd ${name}: unknown option '--frobnicate'`);
      expect(rest.join('\n')).toMatch(usage);
      // The usage, not the whole help: three lines in all.
      expect(rest.slice(1)).toEqual([`See 'vrrpd ${name} --help' for the options.`, '']);
      expect(r.stderr).not.toMatch(/positional argument|ERR_PARSE_ARGS|Options:/);
    });
  }
  it('an unknown short option and a missing value are named in one line', async () => {
    const short = await vrrpd('status', '-x');
    expect(short.code).toBe(2);
    expect(short.stderr.split('\n')[0]).toBe("vrrpd status: unknown option '-x'");
    const missing = await vrrpd('status', '--socket');
    expect(missing.code).toBe(2);
    expect(missing.stderr.split('\n')[0]).toBe("vrrpd status: --socket needs a value (PATH); for one that starts with '-', write --socket=VALUE");
    const required = await vrrpd('run');
    expect(required.code).toBe(2);
    expect(required.stderr.split('\n')[0]).toBe('vrrpd run: --config FILE is required');
  });
  it('check-config --config FILE is the same as check-config FILE; without either it is a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-cli-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'vrrp_instance:\n  VI_1:\n    interface: ens32\n    virtual_router_id: 51\n    priority: 100\n    virtual_ipaddress: [10.0.0.50]\n');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'vrrp_instance:\n  VI_1:\n    interface: ens32\n    priority: 100\n');
    const [positional, option, short, badOption] = await Promise.all([vrrpd('check-config', good), vrrpd('check-config', '--config', good), vrrpd('check-config', '-c', good), vrrpd('check-config', '--config', bad)]);
    expect(positional.code).toBe(0);
    expect(option).toEqual(positional);
    expect(short).toEqual(positional);
    expect(badOption.code).toBe(3);
    expect(badOption.stderr).toContain(bad);
    const none = await vrrpd('check-config');
    expect(none.code).toBe(2);
    expect(none.stderr.split('\n')[0]).toBe('vrrpd check-config: FILE (or --config FILE) is required');
  }, 30_000);
  it('help for a command that does not exist is a usage error with the overview', async () => {
    const r = await vrrpd('help', 'frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("vrrpd: unknown command 'frobnicate'");
    expect(r.stderr).toContain('vrrpd help COMMAND');
  });
  it('status with no daemon running says so clearly and exits 1', async () => {
    const r = await vrrpd('status', '--socket', join(mkdtempSync(join(tmpdir(), 'vrrpd-cli-')), 'none.sock'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no vrrpd is running/);
  });
  it('run refuses a bad config with a located error and exit 3, before touching anything', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'vrrpd-cli-')), 'bad.yaml');
    writeFileSync(file, 'vrrp_instance:\n  VI_1:\n    interface: ens32\n    virtual_router_id: 300\n    virtual_ipaddress: [10.0.0.50]\n');
    const r = await vrrpd('run', '--config', file, '--socket', join(tmpdir(), `never-${process.pid}.sock`));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${file}:4:24`);
    expect(r.stderr).toMatch(/virtual_router_id/);
  });
  it('run --log-level rejects an unknown level', async () => {
    const r = await vrrpd('run', '--config', '/nonexistent', '--log-level', 'loud');
    expect(r.code).toBe(2);
  });
});
