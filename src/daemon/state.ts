/**
 * The daemon's state directory (`vrrpd run --state-dir DIR`, default /var/lib/vrrpd; the unit's
 * StateDirectory=vrrpd): what must survive a restart of vrrpd and of the machine: drain.json, the
 * drain state (docs/protocol.md#drain); with the UDP mirror configured, mirror-epoch (the sender's
 * counter epoch) and mirror-floors (the receiver's replay floors), both docs/protocol.md#udp-mirror.
 *
 * - The directory is refused when group or others may write it, or when it is owned by anyone but
 *   root or the daemon's own user: whoever can write there can undrain the node or plant the file.
 * - Writes are atomic and durable: a temporary file (mode 0600) written and fsynced, renamed over
 *   drain.json, then the directory fsynced, so a crash or power loss leaves the old state or the new
 *   one, never half of one. They are synchronous: the file is a few dozen bytes, and a drain must be
 *   on disk before the daemon acts on it. mirror-floors alone is renamed without fsync: it is
 *   written at every datagram the mirror takes (writeMirrorFloors says why).
 * - A drain.json that cannot be read or parsed fails closed: every instance starts drained (FAULT,
 *   never MASTER) and the daemon says why in one line; `vrrpd undrain` writes a good file again.
 *   Refusing to start would also keep the node out of MASTER, but would leave nothing to answer
 *   `vrrpd undrain` and make systemd restart it forever.
 */
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import { formatIpv4, parseIpv4, type Ipv4 } from '../core/ip.js';
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

/**
 * Replace `dir/name` atomically (temp file, rename) and, unless `durable` is false, durably (fsync of
 * the file before the rename, of the directory after it). Throws on failure.
 */
export function writeStateFile(dir: string, name: string, text: string, durable = true): void {
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
      if (durable) fsyncSync(fd);
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
  if (!durable) return;
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

/** The UDP mirror's receive floors (docs/protocol.md#udp-mirror). */
export const MIRROR_FLOORS_FILE = 'mirror-floors';

/** The highest mirror counter accepted from each peer, by the peer's IPv4 address. */
export type MirrorFloors = ReadonlyMap<Ipv4, bigint>;

const MAX_COUNTER = 0xffff_ffff_ffff_ffffn;

const FLOORS_LOST = "the UDP mirror starts without replay floors: until a peer's next datagram comes, its datagrams recorded before this start would be taken";

/**
 * The receive floors a previous run left: none when there is no file. A file that cannot be read or
 * parsed (any bad line) gives no floors at all, with `problem` saying why, as the mirror-epoch file
 * counts as absent: a floor read wrong could be too high as well as too low, and one too high would
 * refuse every real datagram of that peer until its counter passed it, for as long as that takes.
 */
export function readMirrorFloors(dir: string): { floors: Map<Ipv4, bigint>; problem?: string } {
  const path = join(dir, MIRROR_FLOORS_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { floors: new Map() };
    return { floors: new Map(), problem: `cannot read ${path}: ${(error as Error).message}; ${FLOORS_LOST}` };
  }
  // The writer never leaves an empty file (no floors: no file), so an empty one was cut short, by a
  // crash of the machine before the file system wrote it back.
  if (text === '') return { floors: new Map(), problem: `${path} is empty (cut short by a crash of the machine?); ${FLOORS_LOST}` };
  const floors = new Map<Ipv4, bigint>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '' && i === lines.length - 1) break; // the final newline
    const match = /^(\S+) (\d{1,20})$/.exec(line);
    const peer = match === null ? undefined : parseIpv4(match[1] as string);
    const counter = match === null ? undefined : BigInt(match[2] as string);
    if (peer === undefined || counter === undefined || counter > MAX_COUNTER) {
      return { floors: new Map(), problem: `${path} line ${i + 1}: expected "IPv4-address counter" (a counter of 0..2^64-1), got ${JSON.stringify(line.slice(0, 80))}; ${FLOORS_LOST}` };
    }
    if (floors.has(peer)) return { floors: new Map(), problem: `${path} line ${i + 1}: ${match![1]} is listed twice; ${FLOORS_LOST}` };
    floors.set(peer, counter);
  }
  return { floors };
}

/**
 * Replace mirror-floors with `floors`, a line per peer (no floors: no file). Atomic (a temporary
 * file renamed over it: a reader finds the old floors or the new, never half) but not fsynced: the
 * next vrrpd reads what the rename left however the last one ended (the kernel keeps it); only a
 * crash of the machine itself can lose the last seconds of updates, the price of keeping an fsync
 * per datagram off the event loop (docs/protocol.md#udp-mirror). Throws on failure.
 */
export function writeMirrorFloors(dir: string, floors: MirrorFloors): void {
  if (floors.size === 0) {
    try {
      unlinkSync(join(dir, MIRROR_FLOORS_FILE));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return;
  }
  let text = '';
  for (const [peer, counter] of floors) text += `${formatIpv4(peer)} ${counter}\n`;
  writeStateFile(dir, MIRROR_FLOORS_FILE, text, false);
}
