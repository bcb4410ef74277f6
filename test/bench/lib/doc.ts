/**
 * docs/benchmarks.md holds hand-written text plus generated sections between markers
 * (<!-- NAME:start --> ... <!-- NAME:end -->); each benchmark replaces only its own section, so a
 * re-run of one leaves the other's figures and the prose alone.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DOCS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs');
export const BENCHMARKS_MD = join(DOCS_DIR, 'benchmarks.md');

export function replaceSection(name: string, body: string, file = BENCHMARKS_MD): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const block = `${start}\n${body.trim()}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  const next = i >= 0 && j > i ? `${text.slice(0, i)}${block}${text.slice(j + end.length)}` : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}
