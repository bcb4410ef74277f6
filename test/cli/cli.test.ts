/** The built `vrrpd` command as a user runs it (dist/, made by `npm run build`). */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

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
