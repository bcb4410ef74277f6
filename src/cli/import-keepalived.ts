/**
 * `vrrpd import-keepalived FILE [-o OUT [--force]]`: print (or write) the vrrpd YAML equivalent of
 * a keepalived.conf, one command per node during a migration. Nothing is written unless the
 * keepalived.conf is accepted and the YAML loads back to the identical model, so the output can be
 * deployed as it is. Issues go to stderr as check-config prints them.
 *
 * OUT holds auth_pass, so it is written with mode 0640 (root and the group vrrpd reads it as), and
 * never over an existing file unless --force: then the new file replaces the old one whole (a
 * rename, so a daemon reloading meanwhile reads one or the other), keeping its owner and group.
 *
 * Exit codes: 0 written, 1 the output could not be written (or did not round-trip, or OUT exists),
 * 2 usage (the file is not a keepalived.conf), 3 the keepalived.conf is rejected.
 */
import { randomBytes } from 'node:crypto';
import { chown, link, lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { readConfigText } from '../config/files.js';
import { formatIssue } from '../config/issues.js';
import { detectConfigFormat, readKeepalivedConfig } from '../config/keepalived.js';
import { renderKeepalivedAsYaml } from '../config/keepalived-yaml.js';
import { parseConfigText } from '../config/load.js';
import { EXIT_CONFIG_REJECTED, EXIT_OK, EXIT_USAGE, type TextSink } from './check-config.js';

const EXIT_FAILED = 1;
/** Owner reads and writes, the group (vrrpd) reads, others nothing: the file has the password. */
export const IMPORT_FILE_MODE = 0o640;

export interface ImportOptions {
  /** Replace an existing OUT. */
  force?: boolean;
}

export async function importKeepalivedCommand(file: string, outFile: string | undefined, out: TextSink, err: TextSink, options: ImportOptions = {}): Promise<number> {
  const read = await readConfigText(file);
  if (!read.ok) {
    err.write(`vrrpd import-keepalived: ${read.code === 'file_too_large' ? `${file}: ${read.message}` : `cannot read ${file}: ${read.message.replace(/^cannot read the file: /, '')}`}\n`);
    return EXIT_CONFIG_REJECTED;
  }
  const text = read.text;
  if (detectConfigFormat(text) !== 'keepalived') {
    err.write(`vrrpd import-keepalived: ${file} reads as YAML, not as a keepalived.conf; there is nothing to import (vrrpd check-config validates it)\n`);
    return EXIT_USAGE;
  }

  // The loader decides acceptance, exactly as `vrrpd run` would on this file.
  const loaded = parseConfigText(text, file);
  for (const warning of loaded.warnings) err.write(`${formatIssue(warning, 'warning')}\n`);
  if (!loaded.ok) {
    for (const error of loaded.errors) err.write(`${formatIssue(error, 'error')}\n`);
    err.write(`${file}: rejected (${loaded.errors.length} error${loaded.errors.length === 1 ? '' : 's'}); nothing was converted\n`);
    return EXIT_CONFIG_REJECTED;
  }

  const yaml = renderKeepalivedAsYaml(readKeepalivedConfig(text, file), { sourceFile: file });
  const reloaded = parseConfigText(yaml, outFile ?? 'vrrpd.yaml');
  if (!reloaded.ok || !isDeepStrictEqual(reloaded.config, loaded.config)) {
    // A bug in the converter, never the user's fault; refuse rather than deploy a different config.
    err.write(`vrrpd import-keepalived: internal error: the YAML written for ${file} does not load back to the same configuration; nothing was written\n`);
    if (!reloaded.ok) for (const error of reloaded.errors) err.write(`  ${formatIssue(error, 'error')}\n`);
    return EXIT_FAILED;
  }

  if (outFile === undefined) {
    out.write(yaml);
    return EXIT_OK;
  }
  const written = await writeOutput(outFile, yaml, options.force === true);
  if (written !== undefined) {
    err.write(`vrrpd import-keepalived: ${written}\n`);
    return EXIT_FAILED;
  }
  err.write(`${file}: converted to ${outFile}\n`);
  return EXIT_OK;
}

/**
 * Write `text` to `path` with IMPORT_FILE_MODE, whatever the umask: into a new file next to it,
 * then linked into place (which fails if `path` exists) or, with `force`, renamed over it. Returns
 * why it failed, or undefined.
 */
async function writeOutput(path: string, text: string, force: boolean): Promise<string | undefined> {
  let existing;
  try {
    existing = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return `cannot write ${path}: ${reasonOf(error)}`;
  }
  if (existing && !force) return `${path} already exists; nothing was written (give --force to replace it)`;
  if (existing?.isDirectory()) return `cannot write ${path}: it is a directory`;

  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx', IMPORT_FILE_MODE);
    try {
      // The umask may have taken bits away at creation; the mode is part of the contract.
      await handle.chmod(IMPORT_FILE_MODE);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (existing) {
      // Keep who may read it (install.sh gives /etc/vrrpd/vrrpd.yaml to root:vrrpd); only root can.
      if (process.geteuid?.() === 0) await chown(temporary, existing.uid, existing.gid);
      await rename(temporary, path);
    } else {
      // link() refuses an existing name, so a file that appeared meanwhile is not replaced either.
      await link(temporary, path);
      await unlink(temporary);
    }
    return undefined;
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return `${path} already exists; nothing was written (give --force to replace it)`;
    return `cannot write ${path}: ${reasonOf(error)}`;
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
