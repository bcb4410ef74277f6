/** The state directory, drain.json and mirror-floors (src/daemon/state.ts): what a restart finds, and what it refuses. */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseIpv4, type Ipv4 } from '../../src/core/ip.js';
import { DRAIN_FILE, MIRROR_FLOORS_FILE, prepareStateDir, readDrainState, readMirrorFloors, writeDrainState, writeMirrorFloors } from '../../src/daemon/state.js';

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

describe('mirror-floors', () => {
  const M1 = parseIpv4('10.0.0.51') as Ipv4;
  const M3 = parseIpv4('10.0.0.53') as Ipv4;
  const path = (): string => join(base, MIRROR_FLOORS_FILE);

  it('absent: no floors, and nothing to say', () => {
    expect(readMirrorFloors(base)).toEqual({ floors: new Map() });
  });

  it('is written atomically, mode 0600, a line per peer, and read back; the whole 64-bit range survives', () => {
    writeMirrorFloors(base, new Map([[M1, 7_716_455_104_131_874_816n], [M3, 0xffff_ffff_ffff_ffffn]]));
    expect(statSync(path()).mode & 0o777).toBe(0o600);
    expect(readFileSync(path(), 'utf8')).toBe('10.0.0.51 7716455104131874816\n10.0.0.53 18446744073709551615\n');
    expect(readMirrorFloors(base)).toEqual({ floors: new Map([[M1, 7_716_455_104_131_874_816n], [M3, 0xffff_ffff_ffff_ffffn]]) });
    // Each write replaces the whole set: a peer left out is gone.
    writeMirrorFloors(base, new Map([[M1, 7_716_455_104_131_874_817n]]));
    expect(readMirrorFloors(base)).toEqual({ floors: new Map([[M1, 7_716_455_104_131_874_817n]]) });
    expect(readdirSync(base)).toEqual([MIRROR_FLOORS_FILE]); // no temporary file left behind
    // No floors: no file (an empty file is what a crash of the machine can leave).
    writeMirrorFloors(base, new Map());
    expect(readdirSync(base)).toEqual([]);
    expect(readMirrorFloors(base)).toEqual({ floors: new Map() });
  });

  it('a failed write throws and leaves the saved floors in place', () => {
    writeMirrorFloors(base, new Map([[M1, 5n]]));
    expect(() => writeMirrorFloors(join(base, 'missing'), new Map([[M1, 6n]]))).toThrow(/ENOENT/);
    expect(readMirrorFloors(base).floors).toEqual(new Map([[M1, 5n]]));
  });

  it.each([
    ['a bad address', '10.0.0.51 5\n10.0.0.256 6\n', /line 2: expected "IPv4-address counter"/],
    ['a counter that is not a number', '10.0.0.51 12x\n', /line 1: expected/],
    ['a counter above 2^64-1', '10.0.0.51 18446744073709551616\n', /line 1: expected/],
    ['a truncated line', '10.0.0.51 5\n10.0.0.53\n', /line 2: expected/],
    ['an empty line in the middle', '10.0.0.51 5\n\n10.0.0.53 6\n', /line 2: expected/],
    ['a peer listed twice', '10.0.0.51 5\n10.0.0.51 9\n', /line 2: 10\.0\.0\.51 is listed twice/],
    ['empty', '', /is empty \(cut short by a crash of the machine\?\)/],
  ])('corrupt (%s): no floors at all, with one line naming the file, the line and what follows', (_what, text, why) => {
    writeFileSync(path(), text);
    const read = readMirrorFloors(base);
    expect(read.floors).toEqual(new Map());
    expect(read.problem).toMatch(why);
    expect(read.problem).toContain(path());
    expect(read.problem).toMatch(/the UDP mirror starts without replay floors/);
    expect(read.problem).not.toContain('\n');
  });
});
