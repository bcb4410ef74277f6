/**
 * The layers of src/ as a table the build enforces: which folder may import which, no import cycle
 * anywhere, and nothing in src/ reaching into test/. A new arrow is a decision to write down here,
 * not an accident (docs: README "How it is built").
 *
 *   cli -> daemon -> config, io -> core;  lab -> what it needs, never test/
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(REPO, 'src');

/** The folders of src/ and the folders each may import from (its own always allowed). */
export const ALLOWED_IMPORTS: Record<string, readonly string[]> = {
  core: [],
  config: ['core'],
  io: ['core'],
  daemon: ['core', 'config', 'io'],
  lab: ['core', 'config', 'io', 'daemon'],
  cli: ['core', 'config', 'io', 'daemon', 'lab'],
};

interface SourceFile {
  path: string;
  folder: string;
  imports: { specifier: string; resolved: string | undefined; line: number }[];
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'build' || name === 'node_modules' ? [] : walk(path);
    return /\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every `import ... from '...'`, `export ... from '...'` and `import('...')` of a file. */
export function importsOf(text: string): { specifier: string; line: number }[] {
  const found: { specifier: string; line: number }[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;
  for (const match of text.matchAll(pattern)) {
    const line = text.slice(0, match.index).split('\n').length;
    found.push({ specifier: match[1] as string, line });
  }
  return found;
}

function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return resolve(dirname(from), specifier).replace(/\.js$/, '.ts');
}

function folderOf(path: string): string {
  return relative(SRC, path).split('/')[0] as string;
}

function sourceFiles(): SourceFile[] {
  return walk(SRC).map((path) => ({
    path,
    folder: folderOf(path),
    imports: importsOf(readFileSync(path, 'utf8')).map(({ specifier, line }) => ({ specifier, line, resolved: resolveImport(path, specifier) })),
  }));
}

/** Import cycles between files, each as the list of files around it. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (state.get(next) === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (state.get(node) === undefined) visit(node);
  return cycles;
}

describe('the layers of src/', () => {
  const files = sourceFiles();

  it('every folder of src/ is in the table', () => {
    expect(new Set(files.map((f) => f.folder))).toEqual(new Set(Object.keys(ALLOWED_IMPORTS)));
  });

  it('imports only point down the table, and never into test/', () => {
    const violations: string[] = [];
    for (const file of files) {
      for (const { resolved, specifier, line } of file.imports) {
        if (resolved === undefined) continue;
        const where = `${relative(REPO, file.path)}:${line} imports ${specifier}`;
        if (!resolved.startsWith(`${SRC}/`)) {
          violations.push(`${where}: outside src/`);
          continue;
        }
        const target = folderOf(resolved);
        if (target !== file.folder && !(ALLOWED_IMPORTS[file.folder] ?? []).includes(target)) violations.push(`${where}: ${file.folder} may not import ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('no import cycle anywhere in src/', () => {
    const graph = new Map(files.map((f) => [f.path, f.imports.flatMap((i) => (i.resolved === undefined ? [] : [i.resolved]))]));
    expect(findCycles(graph).map((cycle) => cycle.map((p) => relative(SRC, p)).join(' -> '))).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('importsOf finds static, re-exported and dynamic imports with their lines', () => {
    const text = "import { a } from './a.js';\nexport { b } from '../b/b.js';\nconst c = await import('./c.js');\nimport type { D } from \"node:fs\";\n";
    expect(importsOf(text)).toEqual([
      { specifier: './a.js', line: 1 },
      { specifier: '../b/b.js', line: 2 },
      { specifier: './c.js', line: 3 },
      { specifier: 'node:fs', line: 4 },
    ]);
  });

  it('findCycles reports a cycle and is quiet on a tree', () => {
    expect(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toEqual([['a', 'b', 'c', 'a']]);
    expect(findCycles(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]))).toEqual([]);
  });
});
