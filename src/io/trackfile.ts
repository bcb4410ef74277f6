/**
 * Watching a keepalived track file (docs/protocol.md#track-files). keepalived puts an inotify watch
 * on the file's directory and re-reads the file when an entry of that name is written, closed after
 * writing, moved in or out, created or deleted; here fs.watch on the directory does the same (Node's
 * fs.watch is inotify on Linux), so `echo 1 > FILE`, an editor's rename over it and an `rm` are all
 * seen, and a file that does not exist yet is seen when it is created.
 *
 * The file is read as keepalived reads it: opened O_RDONLY|O_NONBLOCK (a FIFO must not block the
 * daemon), at most 127 bytes; a file that cannot be opened reads as '' (value 0).
 */
import { closeSync, constants, lstatSync, openSync, readSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

const MAX_READ = 127;

/** The first bytes of the file, or '' when it cannot be read (missing, a directory, no permission). */
export function readTrackFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return '';
  }
  try {
    const buffer = Buffer.alloc(MAX_READ);
    const length = readSync(fd, buffer, 0, MAX_READ, null);
    return buffer.subarray(0, length).toString('latin1');
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}

export interface TrackFileInit {
  value: number;
  overwrite: boolean;
}

/**
 * keepalived's init_file: write `value` when the file is missing; with overwrite also when it exists
 * (a regular file only), but never at a reload. Throws when it cannot write.
 */
export function initialiseTrackFile(path: string, init: TrackFileInit, atReload: boolean): void {
  let exists = false;
  try {
    const stat = lstatSync(path);
    exists = true;
    if (!init.overwrite || atReload) return;
    if (!stat.isFile()) throw Object.assign(new Error(`cannot initialise track file ${path}: it is not a regular file`), { code: 'EINVAL' });
  } catch (error) {
    if (exists) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  writeFileSync(path, `${init.value}\n`, { mode: 0o644 });
}

/**
 * Call onText with the file's text now and after every change of the entry in its directory.
 * onError gets a watch that cannot be set up (a missing directory); the file then reads as ''.
 */
export function watchTrackFile(path: string, onText: (text: string) => void, onError: (error: Error) => void): { close(): void } {
  const name = basename(path);
  let watcher: FSWatcher | undefined;
  let last: string | undefined;
  const reread = (): void => {
    const text = readTrackFile(path);
    if (text === last) return;
    last = text;
    onText(text);
  };
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      if (filename === null || filename === name) reread();
    });
    watcher.on('error', (error) => onError(error));
  } catch (error) {
    onError(error as Error);
  }
  reread();
  return {
    close: () => watcher?.close(),
  };
}
