/** `vrrpd check-config FILE...`: exit codes, located messages on stderr, a summary on stdout. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigCommand } from '../../src/cli/check-config.js';
import { EXAMPLES_DIR, baseWith } from './helpers.js';

function sink() {
  const chunks: string[] = [];
  return { write: (text: string) => chunks.push(text), text: () => chunks.join('') };
}

async function run(files: string[]) {
  const out = sink();
  const err = sink();
  const code = await checkConfigCommand(files, out, err);
  return { code, out: out.text(), err: err.text() };
}

describe('check-config', () => {
  it('accepts each seed trio with exit 0 and summarises each instance; the cluster lint runs per trio', async () => {
    const trio = (mode: string) => [1, 2, 3].map((n) => `${EXAMPLES_DIR}${mode}/master${n}.yaml`);
    const preempt = await run(trio('preempt'));
    expect(preempt.code).toBe(0);
    expect(preempt.out).toContain(`${EXAMPLES_DIR}preempt/master1.yaml: ok, 1 instance\n`);
    expect(preempt.out).toContain('VI_1: VRID 251 on ens32, MASTER, priority 100, advert_int 1s, preempt, auth PASS, unicast to 10.0.0.52, 10.0.0.53; VIPs 10.0.0.50/32 dev ens32');
    expect(preempt.out).toContain('cross-node check of 3 files: no findings');
    expect(preempt.err).toBe('');
    const nopreempt = await run(trio('nopreempt'));
    expect(nopreempt.code).toBe(0);
    expect(nopreempt.out).toContain(`${EXAMPLES_DIR}nopreempt/master3.yaml: ok, 1 instance, 1 warning\n`);
    // The per-file nopreempt-trap warnings, each located, then the cluster's trap finding.
    const perFile = nopreempt.err.split('\n').filter((line) => line.startsWith('config warning at '));
    expect(perFile).toHaveLength(3);
    for (const line of perFile) expect(line).toMatch(/^config warning at .*nopreempt\/master\d\.yaml:\d+:\d+ vrrp_instance\.VI_1\.track_script\[0\]: with nopreempt/);
    expect(nopreempt.err).toContain('warning [nopreempt_trap]');
  });

  it('rejects a bad file with exit 3 and every error located; the other files are still checked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-check-config-'));
    try {
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, baseWith({ 11: '    priority: 300', 22: '      - chek' }));
      const good = join(dir, 'good.yaml');
      writeFileSync(good, baseWith());
      const { code, out, err } = await run([bad, good]);
      expect(code).toBe(3);
      expect(err).toContain(`config error at ${bad}:11:15 vrrp_instance.VI_1.priority: must be a whole number 1..255, got 300\n`);
      expect(err).toContain(`${bad}: rejected (1 error)\n`);
      expect(out).toContain(`${good}: ok`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports an unreadable file as rejected', async () => {
    const { code, err } = await run(['/nonexistent/vrrpd.yaml']);
    expect(code).toBe(3);
    expect(err).toContain('config error at /nonexistent/vrrpd.yaml: cannot read the file');
  });

  it('is a usage error without files', async () => {
    expect((await run([])).code).toBe(2);
  });
});
