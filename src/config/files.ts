/**
 * The configuration's only contact with the file system besides globbing: reading a file with a
 * size limit that holds whatever the file is, and deciding whether an included file may be trusted.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CONFIG_LIMITS } from './model.js';

export type ReadOutcome = { ok: true; text: string } | { ok: false; code: 'read_failed' | 'file_too_large'; message: string };

/**
 * A configuration file's text, refused past CONFIG_LIMITS.maxFileBytes. The limit is enforced on
 * what is read, not on what stat says: /dev/zero or a pipe has no size, and a file can grow
 * between stat and read (a plain readFile of /dev/zero allocated 512 MB before it failed).
 */
export async function readConfigText(path: string, limit: number = CONFIG_LIMITS.maxFileBytes): Promise<ReadOutcome> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    return { ok: false, code: 'read_failed', message: `cannot read the file: ${reasonOf(error)}` };
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) return { ok: false, code: 'read_failed', message: 'cannot read the file: it is a directory' };
    if (info.isFile() && info.size > limit) return { ok: false, code: 'file_too_large', message: `file is ${info.size} bytes; the limit is ${limit}` };
    const chunks: Buffer[] = [];
    let total = 0;
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > limit) return { ok: false, code: 'file_too_large', message: `file is larger than the limit of ${limit} bytes` };
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
    }
    return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
  } catch (error) {
    return { ok: false, code: 'read_failed', message: `cannot read the file: ${reasonOf(error)}` };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * The owners an included file may have: root, and the user vrrpd runs as. Under the shipped unit
 * the daemon is the user `vrrpd`, which can change its own files anyway; and `vrrpd check-config`
 * run by a user on a draft in their home directory reads their own files. A file owned by anyone
 * else could be changed by them, and the configuration decides what runs as root.
 */
export function trustedOwners(): ReadonlySet<number> {
  const euid = typeof process.geteuid === 'function' ? process.geteuid() : 0;
  return new Set([0, euid]);
}

/**
 * Why an included file must not be read, or undefined when it may: the file, and every directory
 * on the way to it (by the path as written and by its real path), must be owned by a trusted user
 * and writable by no one else. Group write is allowed for group root only, and a sticky directory
 * (/tmp) is allowed because others cannot replace what they do not own: the rule of keepalived's
 * enable_script_security (and of vrrpd's for scripts).
 */
export function includeSecurityProblem(path: string, owners: ReadonlySet<number> = trustedOwners()): string | undefined {
  const absolute = resolve(path);
  const paths = [absolute];
  try {
    const real = realpathSync(absolute);
    if (real !== absolute) paths.push(real);
  } catch (error) {
    return `cannot resolve it: ${reasonOf(error)}`;
  }
  const checked = new Set<string>();
  for (const candidate of paths) {
    const parts = candidate.split('/').filter((part) => part.length > 0);
    const components = ['/', ...parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)];
    for (const component of components) {
      if (checked.has(component)) continue;
      checked.add(component);
      const problem = componentProblem(component, owners);
      if (problem) return problem;
    }
  }
  return undefined;
}

function componentProblem(path: string, owners: ReadonlySet<number>): string | undefined {
  let info;
  try {
    info = lstatSync(path);
  } catch (error) {
    return `cannot stat ${path}: ${reasonOf(error)}`;
  }
  const what = info.isDirectory() ? 'directory' : info.isSymbolicLink() ? 'symlink' : 'file';
  if (!owners.has(info.uid)) return `${what} ${path} is owned by uid ${info.uid}, not by root${owners.size > 1 ? ` or uid ${[...owners].filter((uid) => uid !== 0).join(', ')} (who runs vrrpd)` : ''}`;
  // A symlink's own mode means nothing; where it leads is checked through the real path.
  if (info.isSymbolicLink()) return undefined;
  if (info.isDirectory() && (info.mode & 0o1000) !== 0) return undefined;
  const mode = (info.mode & 0o7777).toString(8).padStart(4, '0');
  if ((info.mode & 0o002) !== 0) return `${what} ${path} is writable by others (mode ${mode})`;
  if ((info.mode & 0o020) !== 0 && info.gid !== 0) return `${what} ${path} is writable by group ${info.gid} (mode ${mode})`;
  return undefined;
}

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.startsWith(code) ? `${code}: ${message}` : message;
}
