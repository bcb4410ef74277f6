/**
 * The source scanner behind test/core/purity.test.ts, in one place so that the test which proves
 * it finds violations exercises the same code that checks src/core. It is text-based on purpose:
 * it runs on source files, before and independently of the compiler.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';

/** The source with comments removed, so prose may mention what code may not use. */
export function stripComments(source: string): string {
  return (
    source
      .replace(/\/\*[\s\S]*?\*\//g, '')
      // A `//` preceded by `:` or a quote is part of a string or URL (`'http://...'`), not a comment.
      .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
  );
}

/** Every module specifier the code loads: static imports and re-exports, bare imports, import(), require(). */
export function importSpecifiers(code: string): string[] {
  return [
    ...code.matchAll(/\bfrom\s*['"]([^'"]+)['"]/g),
    ...code.matchAll(/\bimport\s*['"]([^'"]+)['"]/g),
    ...code.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]/g),
    ...code.matchAll(/\brequire\s*\(\s*['"]([^'"]+)['"]/g),
  ].map((m) => m[1] as string);
}

/** Host time and randomness: they compile under ES2022, so only a scan can keep them out. */
const CLOCK_OR_RANDOM = /\bDate\.now\b|\bnew Date\b|\bMath\.random\b|\bperformance\./;

/** Every .ts file under `dir` (recursively), comments removed; `file` is relative to `dir`. */
export function sourcesUnder(dir: string): Array<{ file: string; code: string }> {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  return files.sort().map((file) => ({ file, code: stripComments(readFileSync(join(dir, file), 'utf8')) }));
}

/**
 * What makes the sources under `dir` impure, one line each: an import that is not relative or
 * leaves `dir`, any require(), and any use of the wall clock or randomness. Empty = pure.
 */
export function purityViolations(dir: string): string[] {
  const root = resolve(dir);
  const offenders: string[] = [];
  for (const { file, code } of sourcesUnder(root)) {
    for (const specifier of importSpecifiers(code)) {
      if (!specifier.startsWith('./') && !specifier.startsWith('../')) offenders.push(`${file}: imports ${specifier}`);
      else if (!resolve(root, dirname(file), specifier).startsWith(root + sep)) offenders.push(`${file}: ${specifier} leaves ${dir}`);
    }
    if (/\brequire\s*\(/.test(code)) offenders.push(`${file}: require()`);
    const clock = CLOCK_OR_RANDOM.exec(code);
    if (clock) offenders.push(`${file}: uses ${clock[0]}`);
  }
  return offenders;
}
