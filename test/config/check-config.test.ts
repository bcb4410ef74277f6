/** `vrrpd check-config FILE...`: exit codes, located messages on stderr, a summary on stdout. */
import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigCommand } from '../../src/cli/check-config.js';
import { EXAMPLES_DIR, baseWith } from './helpers.js';

function sink() {
  const chunks: string[] = [];
  return { write: (text: string) => chunks.push(text), text: () => chunks.join('') };
}

async function run(files: string[], options: { user?: string } = {}) {
  const out = sink();
  const err = sink();
  const code = await checkConfigCommand(files, out, err, options);
  return { code, out: out.text(), err: err.text() };
}

describe('check-config', () => {
  it('accepts each seed trio with exit 0 and summarises each instance; the cluster lint runs per trio', async () => {
    const trio = (mode: string) => [1, 2, 3].map((n) => `${EXAMPLES_DIR}${mode}/master${n}.yaml`);
    const preempt = await run(trio('preempt'));
    expect(preempt.code).toBe(0);
    expect(preempt.out).toContain(`${EXAMPLES_DIR}preempt/master1.yaml: ok, 1 instance\n`);
    expect(preempt.out).toContain('VI_1: VRRPv2, VRID 251 on ens32, MASTER, priority 100, advert_int 1s, preempt, auth PASS, unicast to 10.0.0.52, 10.0.0.53; VIPs 10.0.0.50/32 dev ens32');
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

describe('check-config runs the checks `vrrpd run` makes, as the user vrrpd will run as', () => {
  const seed = `${EXAMPLES_DIR}preempt/master1.yaml`;

  it('says whom it checked as, and how to check for the packaged unit', async () => {
    const asRoot = await run([seed]);
    expect(asRoot.code).toBe(0);
    expect(asRoot.out.split('\n')[0]).toBe(
      'checked as root (uid 0), the user running check-config; the packaged unit runs vrrpd as user vrrpd with CAP_NET_ADMIN and CAP_NET_RAW: check with --user vrrpd before switching to it',
    );
    const asNobody = await run([seed], { user: 'nobody' });
    expect(asNobody.out.split('\n')[0]).toBe(
      'checked as user nobody (uid 65534) with CAP_NET_ADMIN and CAP_NET_RAW; the packaged unit runs vrrpd as user vrrpd with CAP_NET_ADMIN and CAP_NET_RAW: check with --user vrrpd before switching to it',
    );
  });

  it('--user of a user that does not exist is a usage error', async () => {
    const { code, err } = await run([seed], { user: 'no-such-user-xyz' });
    expect(code).toBe(2);
    expect(err).toBe("vrrpd check-config: --user: user 'no-such-user-xyz' does not exist\n");
  });

  it('rejects what run rejects: a script_user that does not exist, an insecure script', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-check-config-'));
    try {
      chmodSync(dir, 0o755);
      const text = readFileSync(seed, 'utf8');
      const unknownUser = join(dir, 'unknown-user.yaml');
      writeFileSync(unknownUser, text.replace('script_user: root', 'script_user: no-such-user-xyz'));
      const ww = join(dir, 'check.sh');
      writeFileSync(ww, '#!/bin/sh\nexit 0\n');
      chmodSync(ww, 0o777);
      const insecure = join(dir, 'insecure.yaml');
      writeFileSync(insecure, text.replace('script: "killall -0 kube-apiserver"', `script: "${ww}"`));
      const { code, out, err } = await run([unknownUser, insecure]);
      expect(code).toBe(3);
      expect(err).toContain(`config error in ${unknownUser}: global_defs script_user 'no-such-user-xyz': user 'no-such-user-xyz' does not exist\n${unknownUser}: rejected (1 error)\n`);
      expect(err).toContain(`config error in ${insecure}: vrrp_script check ('${ww}'): refusing to run ${ww} as root: file ${ww} is writable by others (mode 0777)`);
      expect(err).toContain(`${insecure}: rejected (1 error)\n`);
      expect(out).not.toContain(': ok');
      // As an ordinary user that holds vrrpd's capabilities, the same script is refused too.
      const asUnit = await run([insecure], { user: 'nobody' });
      expect(asUnit.code).toBe(3);
      expect(asUnit.err).toContain(`refusing to run ${ww} as uid 65534 (vrrpd itself), which holds CAP_NET_ADMIN, CAP_NET_RAW: file ${ww} is writable by others (mode 0777)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warns that the seed\'s killall -0 cannot work as the unit\'s user, and still accepts the file', async () => {
    const { code, out, err } = await run([seed], { user: 'nobody' });
    expect(code).toBe(0);
    expect(out).toContain(`${seed}: ok, 1 instance, 2 warnings\n`);
    expect(err).toContain(`config warning in ${seed}: vrrp_script check cannot work as uid 65534 (vrrpd itself): 'killall' with signal 0 gets EPERM`);
    expect(err).toContain('use the built-in check `process: kube-apiserver` instead');
    // As root killall -0 works: nothing to say.
    expect((await run([seed])).err).toBe('');
  });
});
