/**
 * The daemon's state directory (`vrrpd run --state-dir DIR`, default /var/lib/vrrpd; the unit's
 * StateDirectory=vrrpd): what must survive a restart of vrrpd and of the machine. Today one file,
 * drain.json, the drain state (docs/protocol.md#drain).
 *
 * - The directory is refused when group or others may write it, or when it is owned by anyone but
 *   root or the daemon's own user: whoever can write there can undrain the node or plant the file.
 * - Writes are atomic and durable: a temporary file (mode 0600) written and fsynced, renamed over
 *   drain.json, then the directory fsynced, so a crash or power loss leaves the old state or the new
 *   one, never half of one. They are synchronous: the file is a few dozen bytes, and a drain must be
 *   on disk before the daemon acts on it.
 * - A drain.json that cannot be read or parsed fails closed: every instance starts drained (FAULT,
 *   never MASTER) and the daemon says why in one line; `vrrpd undrain` writes a good file again.
 *   Refusing to start would also keep the node out of MASTER, but would leave nothing to answer
 *   `vrrpd undrain` and make systemd restart it forever.
 */
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { DrainState } from './engine.js';

export const DEFAULT_STATE_DIR = '/var/lib/vrrpd';
export const DRAIN_FILE = 'drain.json';

export type StateDirCheck = { ok: true } | { ok: false; error: string };

/**
 * Create the directory (mode 0700) when it is missing, and check that it is safe to trust: a real
 * directory (not a symlink), owned by root or `euid`, writable by its owner only.
 */
export function prepareStateDir(dir: string, euid: number): StateDirCheck {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    return { ok: false, error: `cannot create the state directory ${dir}: ${(error as Error).message}` };
  }
  let stat;
  try {
    stat = lstatSync(dir);
  } catch (error) {
    return { ok: false, error: `cannot read the state directory ${dir}: ${(error as Error).message}` };
  }
  if (!stat.isDirectory()) return { ok: false, error: `state directory ${dir} is not a directory (a symlink or a file); refusing it` };
  if ((stat.mode & 0o022) !== 0) {
    return { ok: false, error: `state directory ${dir} is writable by its group or others (mode ${(stat.mode & 0o7777).toString(8).padStart(4, '0')}); refusing it: chmod go-w ${dir}` };
  }
  if (stat.uid !== 0 && stat.uid !== euid) {
    return { ok: false, error: `state directory ${dir} is owned by uid ${stat.uid}, not by root or the daemon's user (uid ${euid}); refusing it` };
  }
  return { ok: true };
}

/** Every instance drained: what a state file that cannot be trusted means. */
const DRAINED_ALL: DrainState = { all: true, instances: [] };

function parseDrain(text: string): DrainState | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected an object {"all": boolean, "instances": [names]}';
  const { all, instances } = value as Record<string, unknown>;
  if (typeof all !== 'boolean') return '"all" must be true or false';
  if (!Array.isArray(instances) || !instances.every((n) => typeof n === 'string')) return '"instances" must be a list of instance names';
  return { all, instances: instances as string[] };
}

/**
 * The drain state kept in `dir`: not drained when there is no file; every instance drained, with
 * `problem` saying why, when the file is there but cannot be read or parsed (fail closed).
 */
export function readDrainState(dir: string): { state: DrainState; problem?: string } {
  const path = join(dir, DRAIN_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: { all: false, instances: [] } };
    return { state: DRAINED_ALL, problem: `cannot read ${path}: ${(error as Error).message}; every instance starts drained (fail closed) until 'vrrpd undrain'` };
  }
  const parsed = parseDrain(text);
  if (typeof parsed === 'string') return { state: DRAINED_ALL, problem: `${path} is corrupt: ${parsed}; every instance starts drained (fail closed) until 'vrrpd undrain'` };
  return { state: parsed };
}

/** Replace drain.json atomically and durably (temp file, fsync, rename, fsync of the directory). Throws on failure. */
export function writeDrainState(dir: string, state: DrainState): void {
  writeStateFile(dir, DRAIN_FILE, `${JSON.stringify({ all: state.all, instances: state.instances })}\n`);
}

/** Replace `dir/name` atomically and durably (temp file, fsync, rename, fsync of the directory). Throws on failure. */
export function writeStateFile(dir: string, name: string, text: string): void {
  const path = join(dir, name);
  const temp = join(dir, `.${name}.${process.pid}.tmp`);
  // A temporary file left by a crash of a process with the same pid goes first; then O_EXCL and
  // O_NOFOLLOW: never write through something planted at the temporary name.
  try {
    unlinkSync(temp);
  } catch {
    // usually absent
  }
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // already renamed or never created
    }
    throw error;
  }
  const dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** The UDP mirror's counter epoch (docs/protocol.md#udp-mirror). */
export const MIRROR_EPOCH_FILE = 'mirror-epoch';

/**
 * A fresh epoch for the UDP mirror's sender counter, on disk before it is used: max(the last one +
 * 1, the wall clock in whole seconds), so no restart counts again from an epoch an earlier run
 * used, even when the clock went back; and when the file is lost, the clock still moves on past
 * the old run's epochs (it started at most one per second). A file that cannot be parsed counts as
 * absent (the clock decides). Throws when the epoch cannot be written: sending with an epoch that
 * is not on disk could repeat counters after a crash.
 */
export function nextMirrorEpoch(dir: string, wallClockMs: number): number {
  let last = 0;
  try {
    const text = readFileSync(join(dir, MIRROR_EPOCH_FILE), 'utf8').trim();
    if (/^\d{1,10}$/.test(text)) last = Number(text);
  } catch {
    // absent or unreadable: the clock decides
  }
  const epoch = Math.max(last + 1, Math.floor(wallClockMs / 1000));
  if (epoch > 0xffff_ffff) throw new Error(`mirror epoch ${epoch} does not fit 32 bits; remove ${join(dir, MIRROR_EPOCH_FILE)} if the clock is right`);
  writeStateFile(dir, MIRROR_EPOCH_FILE, `${epoch}\n`);
  return epoch;
}
