/**
 * `vrrpd import-keepalived FILE [-o OUT]`: print (or write) the vrrpd YAML equivalent of a
 * keepalived.conf, one command per node during a migration. Nothing is written unless the
 * keepalived.conf is accepted and the YAML loads back to the identical model, so the output can be
 * deployed as it is. Issues go to stderr as check-config prints them.
 *
 * Exit codes: 0 written, 1 the output could not be written (or did not round-trip), 2 usage (the
 * file is not a keepalived.conf), 3 the keepalived.conf is rejected.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { formatIssue } from '../config/issues.js';
import { detectConfigFormat, readKeepalivedConfig } from '../config/keepalived.js';
import { renderKeepalivedAsYaml } from '../config/keepalived-yaml.js';
import { parseConfigText } from '../config/load.js';
import { CONFIG_LIMITS } from '../config/model.js';
import { EXIT_CONFIG_REJECTED, EXIT_OK, EXIT_USAGE, type TextSink } from './check-config.js';

const EXIT_FAILED = 1;

export async function importKeepalivedCommand(file: string, outFile: string | undefined, out: TextSink, err: TextSink): Promise<number> {
  let text: string;
  try {
    const info = await stat(file);
    if (info.size > CONFIG_LIMITS.maxFileBytes) {
      err.write(`vrrpd import-keepalived: ${file} is ${info.size} bytes; the limit is ${CONFIG_LIMITS.maxFileBytes}\n`);
      return EXIT_CONFIG_REJECTED;
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    err.write(`vrrpd import-keepalived: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_CONFIG_REJECTED;
  }
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
  try {
    await writeFile(outFile, yaml, { encoding: 'utf8', flag: 'w' });
  } catch (error) {
    err.write(`vrrpd import-keepalived: cannot write ${outFile}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILED;
  }
  err.write(`${file}: converted to ${outFile}\n`);
  return EXIT_OK;
}
