/**
 * `vrrpd.udp_mirror.key_file` is judged by the preflight, so `check-config` and `run` give the same
 * verdict on it: exit 3 with one line naming the file and what to do, nothing on the host changed.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkConfigCommand } from '../../src/cli/check-config.js';
import { Supervisor } from '../../src/daemon/supervisor.js';
import { EXAMPLES_DIR } from './helpers.js';

function sink() {
  const chunks: string[] = [];
  return { write: (text: string) => chunks.push(text), text: () => chunks.join('') };
}

describe('udp_mirror key_file: the same verdict from check-config and run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vrrpd-mirror-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const seed = readFileSync(`${EXAMPLES_DIR}preempt/master1.yaml`, 'utf8');

  const configWithKey = (name: string, key: string | undefined, mode = 0o600): string => {
    const keyPath = join(dir, `${name}.key`);
    if (key !== undefined) {
      writeFileSync(keyPath, key);
      chmodSync(keyPath, mode);
    }
    const configPath = join(dir, `${name}.yaml`);
    writeFileSync(configPath, `vrrpd:\n  udp_mirror:\n    port: 9651\n    key_file: ${keyPath}\n${seed}`);
    return configPath;
  };

  const verdicts = async (configPath: string) => {
    const out = sink();
    const err = sink();
    const check = await checkConfigCommand([configPath], out, err, {});
    const runErrors = sink();
    // Refused in the preflight, before the logger, the sockets or the state directory.
    const run = await new Supervisor({ configPath, errors: runErrors, stateDir: join(dir, 'state-never-made') }).start();
    return { check, checkErr: err.text(), checkOut: out.text(), run, runErr: runErrors.text() };
  };

  it.each([
    ['world-readable', 'k'.repeat(32), 0o644, /is readable by its group or others \(mode 0644\); anyone who reads it can forge adverts: chmod 600/],
    ['group-readable', 'k'.repeat(32), 0o640, /is readable by its group or others \(mode 0640\)/],
    ['short', 'k'.repeat(31), 0o600, /holds 31 bytes; it needs at least 32 random bytes/],
    ['missing', undefined, 0o600, /does not exist: create it with/],
  ])('refuses a %s key file with exit 3 from both', async (name, key, mode, message) => {
    const configPath = configWithKey(name, key, mode);
    const v = await verdicts(configPath);
    expect(v.check).toBe(3);
    expect(v.run).toBe(3);
    expect(v.checkErr).toMatch(message);
    expect(v.runErr).toMatch(message);
    expect(v.runErr).toContain('nothing on the host was changed');
  });

  it('accepts a 0600 key of 32 bytes (check-config exit 0) and rejects a mirror without a port or with a relative key path', async () => {
    const out = sink();
    const err = sink();
    expect(await checkConfigCommand([configWithKey('good', 'k'.repeat(32))], out, err, {})).toBe(0);
    const noPort = join(dir, 'no-port.yaml');
    writeFileSync(noPort, `vrrpd:\n  udp_mirror:\n    key_file: /etc/vrrpd/mirror.key\n${seed}`);
    const relative = join(dir, 'relative.yaml');
    writeFileSync(relative, `vrrpd:\n  udp_mirror:\n    port: 9651\n    key_file: mirror.key\n${seed}`);
    const err2 = sink();
    expect(await checkConfigCommand([noPort, relative], sink(), err2, {})).toBe(3);
    expect(err2.text()).toMatch(/no-port\.yaml:\d+:\d+ vrrpd\.udp_mirror\.port: is required/);
    expect(err2.text()).toMatch(/relative\.yaml:\d+:\d+ vrrpd\.udp_mirror\.key_file: must be an absolute path/);
  });
});
