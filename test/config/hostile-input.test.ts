/**
 * Input built to break the loader gets a located error, never a crash: 100,000 nested braces in a
 * keepalived.conf, 100,000 nested YAML collections (flow and block), files too large to read (also
 * when stat cannot tell: /dev/zero), half a million stray '}'. And `vrrpd check-config ... | head -1`
 * exits quietly with the command's own code instead of crashing with EPIPE.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigText, type ConfigIssue } from '../../src/config/load.js';
import { CONFIG_LIMITS } from '../../src/config/model.js';
import { MAX_ISSUES_PER_FILE } from '../../src/config/issues.js';
import { errorsOf } from './helpers.js';

const N = 100_000;
/** Parsing half a megabyte takes about a second on a quiet machine; the CI machine is shared. */
const SLOW = 60_000;

function where(issues: ConfigIssue[]): string[] {
  return issues.map((e) => `${e.code} @${e.line}:${e.column}`);
}

describe('nesting depth', () => {
  it.each([
    ['on one line', `vrrp_instance VI_1 ${'{'.repeat(N)}${'}'.repeat(N)}\n`, 'too_deep @1:36'],
    ['one per line', `vrrp_instance VI_1 {\n${'a {\n'.repeat(N)}${'}\n'.repeat(N)}}\n`, 'too_deep @17:3'],
  ])('100,000 nested braces in a keepalived.conf (%s): the depth-limit error, located', (_name, text, expected) => {
    const errors = errorsOf(parseConfigText(text, 'deep.conf'));
    expect(where(errors)).toContain(expected);
    const deep = errors.find((e) => e.code === 'too_deep')!;
    expect(deep.message).toContain(`nested more than ${CONFIG_LIMITS.maxNestingDepth} deep`);
    expect(errors.every((e) => !/call stack/i.test(e.message))).toBe(true);
  }, SLOW);

  it.each([
    ['flow sequences', `vrrp_instance: ${'['.repeat(N)}${']'.repeat(N)}\n`, 'too_deep @1:31'],
    ['flow mappings', `vrrp_instance: ${'{a: '.repeat(N)}1${'}'.repeat(N)}\n`, 'too_deep @1:76'],
    ['block sequences', `vrrp_instance:\n${'- '.repeat(N)}x\n`, 'too_deep @2:31'],
    ['flow inside block', `vrrp_instance:\n  VI_1:\n    track_script: ${'['.repeat(N)}${']'.repeat(N)}\n`, 'too_deep @3:32'],
  ])('100,000 nested YAML %s: the depth-limit error, located', (_name, text, expected) => {
    const errors = errorsOf(parseConfigText(text, 'deep.yaml'));
    expect(where(errors)).toEqual([expected]);
    expect(errors[0]!.message).toContain(`nested more than ${CONFIG_LIMITS.maxNestingDepth} deep`);
  }, SLOW);

  it('block mappings nested by indentation as deep as 1 MiB allows: refused, located', () => {
    let text = 'vrrp_instance:\n';
    for (let depth = 1; text.length < CONFIG_LIMITS.maxFileBytes - 2000; depth++) text += `${' '.repeat(depth)}k${depth}:\n`;
    const errors = errorsOf(parseConfigText(text, 'deep.yaml'));
    expect(where(errors)).toEqual([`too_deep @${CONFIG_LIMITS.maxNestingDepth + 1}:${CONFIG_LIMITS.maxNestingDepth + 1}`]);
  }, SLOW);

  it('a configuration at the depth a real file needs is untouched by the limit', () => {
    const text = [
      'vrrp_script:',
      '  apiserver:',
      '    http: {url: "https://127.0.0.1:6443/readyz", expected_status: [200]}',
      'vrrp_instance:',
      '  VI_1:',
      '    interface: ens32',
      '    virtual_router_id: 51',
      '    virtual_ipaddress: [{address: 10.0.0.50, dev: ens32}]',
      '    track_script: [{name: apiserver, weight: 0}]',
    ].join('\n');
    expect(parseConfigText(text, 'ok.yaml').ok).toBe(true);
  });
});

describe('size', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('a file over the limit is refused before it is parsed, with the limit in the message', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vrrpd-hostile-'));
    const path = join(dir, 'big.conf');
    writeFileSync(path, `! ${'x'.repeat(CONFIG_LIMITS.maxFileBytes)}\n`);
    const errors = errorsOf(await loadConfigFile(path));
    expect(errors.map((e) => `${e.code} ${e.message}`)).toEqual([`file_too_large file is ${CONFIG_LIMITS.maxFileBytes + 3} bytes; the limit is ${CONFIG_LIMITS.maxFileBytes}`]);
  });

  it('/dev/zero (no size to stat, endless to read) is refused at the limit, not read until memory runs out', async () => {
    const started = Date.now();
    const errors = errorsOf(await loadConfigFile('/dev/zero'));
    expect(errors.map((e) => `${e.code} ${e.message}`)).toEqual([`file_too_large file is larger than the limit of ${CONFIG_LIMITS.maxFileBytes} bytes`]);
    expect(Date.now() - started).toBeLessThan(SLOW / 2);
  }, SLOW);

  it('half a million stray braces: 20 errors shown and the rest counted', () => {
    const errors = errorsOf(parseConfigText('}\n'.repeat(500_000), 'braces.conf'));
    expect(errors).toHaveLength(MAX_ISSUES_PER_FILE + 1);
    expect(errors[MAX_ISSUES_PER_FILE]!.message).toMatch(/^\.\.\. and \d+ more errors in this file/);
  }, SLOW);
});

describe('a closed stdout', () => {
  const REGISTER = resolve(import.meta.dirname, '..', 'register.mjs');
  const MAIN = resolve(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
  const EXAMPLES = resolve(import.meta.dirname, '..', '..', 'examples', 'preempt');
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** Run vrrpd with stdout (and optionally stderr) a pipe nobody reads: closed before it writes. */
  function withClosedPipes(args: string[], closeStderr: boolean): Promise<{ code: number | null; signal: string | null; stderr: string }> {
    return new Promise((done) => {
      const child = spawn(process.execPath, ['--import', REGISTER, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      if (closeStderr) child.stderr.destroy();
      else child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code, signal) => done({ code, signal, stderr }));
    });
  }

  it('check-config | head -1: no EPIPE crash, exit 0 for accepted files', async () => {
    const files = ['master1.yaml', 'master2.yaml', 'master3.yaml'].map((f) => join(EXAMPLES, f));
    const result = await withClosedPipes(['check-config', ...files], false);
    expect(result.stderr).not.toMatch(/EPIPE|Error/);
    expect(result).toMatchObject({ code: 0, signal: null });
  }, SLOW);

  it('with stderr closed too, a rejected file still exits 3 (the command\'s code), not 1', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vrrpd-hostile-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'vrrp_instance:\n  VI_1:\n    interface: ens32\n    virtual_router_id: 300\n    virtual_ipaddress: [10.0.0.50]\n');
    const result = await withClosedPipes(['check-config', bad, join(EXAMPLES, 'master1.yaml')], true);
    expect(result).toMatchObject({ code: 3, signal: null });
  }, SLOW);

});
