/**
 * `include` reads only files nobody else can change, and what it reads is not repeated in messages:
 * - an included file, and every directory on the way to it, must be owned by root (or by the user
 *   running vrrpd) and writable by no one else (group root excepted, sticky directories excepted),
 *   the rule of keepalived's enable_script_security; a refusal is located at the include line;
 * - errors quote at most a short excerpt of a keyword, nothing of an unknown key that does not look
 *   like one, and nothing at all from a file only a glob matched (`include /etc/*` printed
 *   /etc/shadow lines); at most 20 issues per file, then "... and N more".
 * Files get their owners and modes with chown/chmod in a temporary directory (the tests run as root).
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkConfigCommand } from '../../src/cli/check-config.js';
import { includeSecurityProblem } from '../../src/config/files.js';
import { formatIssue, loadConfigFile, type ConfigIssue } from '../../src/config/load.js';
import { MAX_ISSUES_PER_FILE } from '../../src/config/issues.js';
import { acceptedConfig, errorsOf } from './helpers.js';

const INSTANCE = ['vrrp_instance VI_1 {', '    interface ens32', '    virtual_router_id 51', '    virtual_ipaddress {', '        10.0.0.50', '    }', '}', ''].join('\n');
const OTHER_UID = 4321;
const OTHER_GID = 4321;

let dir: string | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

beforeAll(() => {
  if (process.geteuid?.() !== 0) throw new Error('these tests chown files: run them as root');
});

/** A temporary tree; returns its root. Files get mode 0644, directories 0755, owner root. */
function tree(files: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'vrrpd-include-'));
  chmodSync(dir, 0o755);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, path), text, { mode: 0o644 });
  }
  return dir;
}

function describeIssues(issues: ConfigIssue[]): string[] {
  return issues.map((e) => `${e.code} ${e.file.slice(dir!.length + 1)}:${e.line}:${e.column}`);
}

describe('include refuses files others could change', () => {
  it('a world-writable included file is refused, located at the include, naming the file and why', async () => {
    const root = tree({ 'keepalived.conf': `! main\ninclude vi_1.conf\n`, 'vi_1.conf': INSTANCE });
    chmodSync(join(root, 'vi_1.conf'), 0o666);
    const errors = errorsOf(await loadConfigFile(join(root, 'keepalived.conf')));
    expect(describeIssues(errors)).toEqual(['insecure_file keepalived.conf:2:9']);
    expect(errors[0]!.message).toContain(`refuses ${join(root, 'vi_1.conf')}: file ${join(root, 'vi_1.conf')} is writable by others (mode 0666)`);
    expect(errors[0]!.message).toContain('must be owned by root');
  });

  it('a file owned by another user is refused; so is one writable by a group other than root', async () => {
    const root = tree({ 'keepalived.conf': `include a.conf\ninclude b.conf\n${INSTANCE}`, 'a.conf': '', 'b.conf': '' });
    chownSync(join(root, 'a.conf'), OTHER_UID, 0);
    chownSync(join(root, 'b.conf'), 0, OTHER_GID);
    chmodSync(join(root, 'b.conf'), 0o664);
    const errors = errorsOf(await loadConfigFile(join(root, 'keepalived.conf')));
    expect(describeIssues(errors)).toEqual(['insecure_file keepalived.conf:1:9', 'insecure_file keepalived.conf:2:9']);
    expect(errors[0]!.message).toContain(`is owned by uid ${OTHER_UID}, not by root`);
    expect(errors[1]!.message).toContain(`is writable by group ${OTHER_GID} (mode 0664)`);
  });

  it('group root may write (as in keepalived: its members are trusted), and a root-owned 0644 file is read', async () => {
    const root = tree({ 'keepalived.conf': 'include vi_1.conf\n', 'vi_1.conf': INSTANCE });
    chmodSync(join(root, 'vi_1.conf'), 0o664);
    const result = acceptedConfig(await loadConfigFile(join(root, 'keepalived.conf')));
    expect(Object.keys(result.config.vrrp_instance)).toEqual(['VI_1']);
  });

  it('a directory on the way that others can write is refused, even for a file that is fine itself', async () => {
    const root = tree({ 'keepalived.conf': 'include conf.d/*.conf\n', 'conf.d/10-vi_1.conf': INSTANCE });
    chmodSync(join(root, 'conf.d'), 0o777);
    const errors = errorsOf(await loadConfigFile(join(root, 'keepalived.conf')));
    expect(describeIssues(errors)).toEqual(['insecure_file keepalived.conf:1:9']);
    expect(errors[0]!.message).toContain(`directory ${join(root, 'conf.d')} is writable by others (mode 0777)`);
  });

  it('a sticky world-writable directory (like /tmp) is allowed: others cannot replace what they do not own', async () => {
    const root = tree({ 'keepalived.conf': 'include shared/vi_1.conf\n', 'shared/vi_1.conf': INSTANCE });
    chmodSync(join(root, 'shared'), 0o1777);
    acceptedConfig(await loadConfigFile(join(root, 'keepalived.conf')));
  });

  it('one bad match of a glob is refused by name; the others are read', async () => {
    const root = tree({
      'keepalived.conf': 'include conf.d/*.conf\n',
      'conf.d/10-vi_1.conf': INSTANCE,
      'conf.d/20-planted.conf': 'vrrp_script evil {\n    script "/tmp/evil"\n}\n',
    });
    chownSync(join(root, 'conf.d/20-planted.conf'), OTHER_UID, OTHER_GID);
    const errors = errorsOf(await loadConfigFile(join(root, 'keepalived.conf')));
    expect(describeIssues(errors)).toEqual(['insecure_file keepalived.conf:1:9']);
    expect(errors[0]!.message).toContain(`refuses ${join(root, 'conf.d/20-planted.conf')}`);
  });

  it('a symlink is judged by itself and by where it leads', async () => {
    const root = tree({ 'keepalived.conf': 'include link.conf\n', 'elsewhere/vi_1.conf': INSTANCE });
    chownSync(join(root, 'elsewhere/vi_1.conf'), OTHER_UID, OTHER_GID);
    symlinkSync(join(root, 'elsewhere/vi_1.conf'), join(root, 'link.conf'));
    const errors = errorsOf(await loadConfigFile(join(root, 'keepalived.conf')));
    expect(describeIssues(errors)).toEqual(['insecure_file keepalived.conf:1:9']);
    expect(errors[0]!.message).toContain(`file ${join(root, 'elsewhere/vi_1.conf')} is owned by uid ${OTHER_UID}`);
  });

  it('run by another user (check-config on a draft), that user may own the files; nobody else may', async () => {
    const root = tree({ 'keepalived.conf': 'include mine.conf\ninclude theirs.conf\n', 'mine.conf': INSTANCE, 'theirs.conf': '' });
    chownSync(join(root, 'mine.conf'), OTHER_UID, OTHER_GID);
    chownSync(join(root, 'theirs.conf'), OTHER_UID + 1, OTHER_GID);
    expect(includeSecurityProblem(join(root, 'mine.conf'), new Set([0, OTHER_UID]))).toBeUndefined();
    // The loader takes its trusted owners from the effective user.
    vi.spyOn(process, 'geteuid').mockReturnValue(OTHER_UID);
    const errors = errorsOf(await loadConfigFile(join(root, 'keepalived.conf')));
    expect(describeIssues(errors)).toEqual(['insecure_file keepalived.conf:2:9']);
    expect(errors[0]!.message).toContain(`is owned by uid ${OTHER_UID + 1}, not by root or uid ${OTHER_UID} (who runs vrrpd)`);
  });
});

describe('messages do not repeat what an include pulled in', () => {
  // A shadow(5)-like file: the hash must never appear in any message, nor the keyword-shaped word.
  const HASH = '$6$Zq8sK1vA$u7Hn4F2dQxW9pLmRt0YbVcE3sGiJkN5oPaZyXwUv';
  const shadowLike = [
    `root:${HASH}:19000:0:99999:7:::`,
    'daemon:*:19000:0:99999:7:::',
    'svc:!:19000::::::',
    'machinesecret0123456789abcdef',
    ...Array.from({ length: 40 }, (_, i) => `user${i}:${HASH}:19000:0:99999:7:::`),
  ].join('\n');

  function output(errors: ConfigIssue[], warnings: ConfigIssue[]): string {
    return [...warnings.map((w) => formatIssue(w, 'warning')), ...errors.map((e) => formatIssue(e, 'error'))].join('\n');
  }

  it('a file only a glob matched: no word of it is repeated, at most 20 errors and a count of the rest', async () => {
    const root = tree({ 'keepalived.conf': `include etc/*\n${INSTANCE}`, 'etc/shadow': shadowLike });
    chmodSync(join(root, 'etc/shadow'), 0o640);
    const result = await loadConfigFile(join(root, 'keepalived.conf'));
    const errors = errorsOf(result);
    const text = output(errors, result.warnings);
    for (const secret of ['Zq8sK1vA', 'u7Hn4F2', 'root:', 'daemon', 'svc', 'machinesecret', 'user1']) expect(text).not.toContain(secret);
    const shadowErrors = errors.filter((e) => e.file === join(root, 'etc/shadow'));
    expect(shadowErrors).toHaveLength(MAX_ISSUES_PER_FILE + 1);
    expect(shadowErrors[0]).toMatchObject({ code: 'unknown_key', line: 1, column: 1, path: '' });
    expect(shadowErrors[0]!.message).toContain('an include glob matched this file and nobody named it');
    expect(shadowErrors.at(-1)!.message).toBe('... and 24 more errors in this file from here on, not shown (fix the first ones and check again)');
  });

  it('a file named by a plain include: keyword-like words are quoted (cut short), other lines are not', async () => {
    const root = tree({ 'keepalived.conf': `include shadow\n${INSTANCE}`, shadow: `prority 100\n${shadowLike}` });
    const errors = errorsOf(await loadConfigFile(join(root, 'keepalived.conf')));
    const text = output(errors, []);
    expect(errors[0]!.message).toContain("unknown key 'prority'");
    expect(text).toContain("unknown key 'machinesecret0123456789abcdef'");
    for (const secret of ['Zq8sK1vA', 'root:', 'daemon:', 'user1']) expect(text).not.toContain(secret);
    expect(errors[1]).toMatchObject({ code: 'unknown_key', line: 2, column: 1, path: '' });
    expect(errors[1]!.message).toContain('it does not look like a keyword');
  });

  it('check-config prints none of it either (the command as a user runs it)', async () => {
    const root = tree({ 'keepalived.conf': `include etc/*\n${INSTANCE}`, 'etc/shadow': shadowLike, 'etc/binary': '\u0000\u0001{"}}}#!\u001b[31m' });
    let out = '';
    let err = '';
    const code = await checkConfigCommand([join(root, 'keepalived.conf')], { write: (t: string) => (out += t) }, { write: (t: string) => (err += t) });
    expect(code).toBe(3);
    expect(err).not.toContain('Zq8sK1vA');
    expect(err).not.toContain('\u001b');
    expect(err).not.toContain('\u0000');
    expect(err.split('\n').filter((line) => line.includes('/etc/shadow:')).length).toBeLessThanOrEqual(MAX_ISSUES_PER_FILE + 1);
  });

  it('a long unknown key is cut to a short excerpt, in the message and in the path', async () => {
    const key = `${'a'.repeat(30)}_${'b'.repeat(300)}`;
    const root = tree({ 'vrrpd.yaml': `vrrp_instance:\n  VI_1:\n    interface: ens32\n    virtual_router_id: 1\n    virtual_ipaddress: [10.0.0.50]\n    ${key}: 1\n` });
    const errors = errorsOf(await loadConfigFile(join(root, 'vrrpd.yaml')));
    expect(errors).toHaveLength(1);
    expect(formatIssue(errors[0]!).length).toBeLessThan(200);
    expect(errors[0]!.message).toContain('it does not look like a keyword');
  });

  it('a YAML file with many errors shows 20 and counts the rest', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `    bogus_key_${i}: 1`);
    const root = tree({ 'vrrpd.yaml': `vrrp_instance:\n  VI_1:\n    interface: ens32\n    virtual_router_id: 1\n    virtual_ipaddress: [10.0.0.50]\n${keys.join('\n')}\n` });
    const errors = errorsOf(await loadConfigFile(join(root, 'vrrpd.yaml')));
    expect(errors).toHaveLength(MAX_ISSUES_PER_FILE + 1);
    expect(errors.slice(0, MAX_ISSUES_PER_FILE).every((e) => e.code === 'unknown_key')).toBe(true);
    expect(errors[MAX_ISSUES_PER_FILE]).toMatchObject({ code: 'too_many', line: 6 + MAX_ISSUES_PER_FILE, column: 5 });
    expect(errors[MAX_ISSUES_PER_FILE]!.message).toContain('... and 30 more errors in this file');
  });
});
