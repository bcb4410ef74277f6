/** Watching a track file the way keepalived does (src/io/trackfile.ts): through its directory. */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initialiseTrackFile, readTrackFile, watchTrackFile } from '../../src/io/trackfile.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vrrpd-trackfile-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('track file watcher', () => {
  it('reads at once, then after a write, a rename over it, a delete and a re-creation', async () => {
    const path = join(dir, 'maint');
    writeFileSync(path, '0\n');
    const seen: string[] = [];
    const watch = watchTrackFile(path, (text) => seen.push(text), (error) => seen.push(`error ${error.message}`));
    try {
      expect(seen).toEqual(['0\n']);
      writeFileSync(path, '1\n');
      await until(() => seen.at(-1) === '1\n');
      writeFileSync(join(dir, '.maint.new'), '7\n');
      renameSync(join(dir, '.maint.new'), path);
      await until(() => seen.at(-1) === '7\n');
      unlinkSync(path);
      await until(() => seen.at(-1) === '');
      writeFileSync(path, '3');
      await until(() => seen.at(-1) === '3');
      // Another file in the directory changes nothing.
      const count = seen.length;
      writeFileSync(join(dir, 'other'), '9');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen.length).toBe(count);
    } finally {
      watch.close();
    }
  });

  it('a file that does not exist yet reads as empty and is seen when it is created', async () => {
    const path = join(dir, 'later');
    const seen: string[] = [];
    const watch = watchTrackFile(path, (text) => seen.push(text), () => undefined);
    try {
      expect(seen).toEqual(['']);
      writeFileSync(path, '1');
      await until(() => seen.at(-1) === '1');
    } finally {
      watch.close();
    }
  });

  it('a missing directory is reported; the file reads as empty', () => {
    const errors: string[] = [];
    const seen: string[] = [];
    watchTrackFile(join(dir, 'nope', 'file'), (text) => seen.push(text), (error) => errors.push((error as NodeJS.ErrnoException).code ?? ''));
    expect(errors).toEqual(['ENOENT']);
    expect(seen).toEqual(['']);
  });

  it('reads at most 127 bytes, and a directory reads as empty', () => {
    writeFileSync(join(dir, 'long'), 'x'.repeat(500));
    expect(readTrackFile(join(dir, 'long'))).toHaveLength(127);
    mkdirSync(join(dir, 'sub'));
    expect(readTrackFile(join(dir, 'sub'))).toBe('');
  });

  it('init_file: creates a missing file; overwrites only with overwrite and never at a reload', () => {
    const path = join(dir, 'init');
    initialiseTrackFile(path, { value: 5, overwrite: false }, false);
    expect(readFileSync(path, 'utf8')).toBe('5\n');
    initialiseTrackFile(path, { value: 6, overwrite: false }, false);
    expect(readFileSync(path, 'utf8')).toBe('5\n');
    initialiseTrackFile(path, { value: 7, overwrite: true }, true);
    expect(readFileSync(path, 'utf8')).toBe('5\n');
    initialiseTrackFile(path, { value: 8, overwrite: true }, false);
    expect(readFileSync(path, 'utf8')).toBe('8\n');
    mkdirSync(join(dir, 'adir'));
    expect(() => initialiseTrackFile(join(dir, 'adir'), { value: 1, overwrite: true }, false)).toThrow(/not a regular file/);
  });
});
