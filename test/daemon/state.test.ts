/** The state directory and drain.json (src/daemon/state.ts): what a restart finds, and what it refuses. */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DRAIN_FILE, prepareStateDir, readDrainState, writeDrainState } from '../../src/daemon/state.js';

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'vrrpd-state-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const euid = process.geteuid?.() ?? 0;

describe('state directory', () => {
  it('is created mode 0700 when missing, and accepted', () => {
    const dir = join(base, 'lib', 'vrrpd');
    expect(prepareStateDir(dir, euid)).toEqual({ ok: true });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('is refused when its group or others may write it, naming the mode and the fix', () => {
    const dir = join(base, 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o770);
    expect(prepareStateDir(dir, euid)).toEqual({ ok: false, error: `state directory ${dir} is writable by its group or others (mode 0770); refusing it: chmod go-w ${dir}` });
    chmodSync(dir, 0o757);
    expect(prepareStateDir(dir, euid).ok).toBe(false);
    chmodSync(dir, 0o750);
    expect(prepareStateDir(dir, euid)).toEqual({ ok: true });
  });

  it('is refused when owned by another user than root or the daemon', () => {
    const dir = join(base, 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    expect(prepareStateDir(dir, 1000)).toEqual({ ok: false, error: `state directory ${dir} is owned by uid 65534, not by root or the daemon's user (uid 1000); refusing it` });
    expect(prepareStateDir(dir, 65534)).toEqual({ ok: true });
  });

  it('is refused when it is a symlink or a file', () => {
    const real = join(base, 'real');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(base, 'link'));
    expect(prepareStateDir(join(base, 'link'), euid)).toMatchObject({ ok: false, error: expect.stringMatching(/not a directory/) });
    writeFileSync(join(base, 'file'), '');
    expect(prepareStateDir(join(base, 'file'), euid)).toMatchObject({ ok: false, error: expect.stringMatching(/cannot create|not a directory/) });
  });
});

describe('drain.json', () => {
  it('absent: nothing is drained', () => {
    expect(readDrainState(base)).toEqual({ state: { all: false, instances: [] } });
  });

  it('is written atomically, mode 0600, and read back', () => {
    writeDrainState(base, { all: false, instances: ['VI_1'] });
    expect(statSync(join(base, DRAIN_FILE)).mode & 0o777).toBe(0o600);
    expect(readDrainState(base)).toEqual({ state: { all: false, instances: ['VI_1'] } });
    writeDrainState(base, { all: true, instances: [] });
    expect(readDrainState(base)).toEqual({ state: { all: true, instances: [] } });
    expect(readdirSync(base)).toEqual([DRAIN_FILE]); // no temporary file left behind
  });

  it('a temporary file left by a crash does not stop the next write', () => {
    writeFileSync(join(base, `.${DRAIN_FILE}.${process.pid}.tmp`), 'half');
    writeDrainState(base, { all: true, instances: [] });
    expect(readDrainState(base).state).toEqual({ all: true, instances: [] });
  });

  it('a failed write leaves the old state in place and says why', () => {
    writeDrainState(base, { all: true, instances: [] });
    expect(() => writeDrainState(join(base, 'missing'), { all: false, instances: [] })).toThrow(/ENOENT/);
    expect(readFileSync(join(base, DRAIN_FILE), 'utf8')).toBe('{"all":true,"instances":[]}\n');
  });

  it.each([
    ['truncated', '{"all": fal', /not JSON/],
    ['empty', '', /not JSON/],
    ['a list', '[]', /expected an object/],
    ['all missing', '{"instances": []}', /"all" must be true or false/],
    ['names not strings', '{"all": false, "instances": [1]}', /"instances" must be a list/],
  ])('corrupt (%s): every instance drained (fail closed), with one line naming the file', (_what, text, why) => {
    writeFileSync(join(base, DRAIN_FILE), text);
    const read = readDrainState(base);
    expect(read.state).toEqual({ all: true, instances: [] });
    expect(read.problem).toMatch(why);
    expect(read.problem).toContain(join(base, DRAIN_FILE));
    expect(read.problem).toMatch(/every instance starts drained \(fail closed\) until 'vrrpd undrain'$/);
    expect(existsSync(join(base, DRAIN_FILE))).toBe(true);
  });
});
