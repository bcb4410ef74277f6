/**
 * The core stays pure because the compiler says so, not because we remember: src/core/tsconfig.json
 * ("types": [], lib ES2022) must reject Node's and the browser's globals. This proves the config
 * bites (a file using Buffer, setTimeout and process fails to compile under it, a clean one passes)
 * and that no file in src/core imports from node: or from a package.
 */
import { describe, expect, it, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CORE = join(REPO, 'src/core');
const CORE_TSCONFIG = join(CORE, 'tsconfig.json');
const TSC = join(REPO, 'node_modules/.bin/tsc');

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Compile one source file under the core's compiler options; returns tsc's exit status and output. */
function compileUnderCoreConfig(source: string): { status: number; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vrrpd-purity-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'probe.ts'), source);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: CORE_TSCONFIG, compilerOptions: { rootDir: '.', noEmit: true }, include: ['./probe.ts'] }),
  );
  try {
    const output = execFileSync(TSC, ['-p', dir, '--noEmit', '--pretty', 'false'], { encoding: 'utf8', stdio: 'pipe' });
    return { status: 0, output };
  } catch (error) {
    const failed = error as { status?: number; stdout?: string; stderr?: string };
    return { status: failed.status ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe('the core tsconfig rejects host globals', () => {
  it('Buffer, setTimeout and process do not compile', () => {
    const { status, output } = compileUnderCoreConfig(
      [
        'export const bytes = Buffer.from("x");',
        'export const timer = setTimeout(() => undefined, 1);',
        'export const pid = process.pid;',
        '',
      ].join('\n'),
    );
    expect(status).not.toBe(0);
    for (const name of ['Buffer', 'setTimeout', 'process']) {
      expect(output).toMatch(new RegExp(`probe\\.ts\\(\\d+,\\d+\\): error TS\\d+: Cannot find name '${name}'`));
    }
  }, 60_000);

  it('a clean file (Uint8Array, DataView, ES2022) compiles', () => {
    const { status, output } = compileUnderCoreConfig(
      [
        'const bytes = new Uint8Array(8);',
        'new DataView(bytes.buffer).setUint16(0, 0x2133);',
        'export const last = [1, 2, 3].at(-1);',
        'export const first = bytes[0];',
        '',
      ].join('\n'),
    );
    expect(output).toBe('');
    expect(status).toBe(0);
  }, 60_000);
});

/** Every .ts file under src/core with comments removed (so prose may mention what code may not use). */
function coreSources(): Array<{ file: string; code: string }> {
  const files = readdirSync(CORE, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  return files.map((file) => ({
    file,
    code: readFileSync(join(CORE, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1'),
  }));
}

describe('src/core imports only itself', () => {
  it('finds the core files', () => {
    const names = coreSources().map((s) => s.file);
    expect(names).toEqual(expect.arrayContaining(['codec.ts', 'checks.ts', 'types.ts', 'ip.ts', 'timers.ts']));
  });

  it('no import from node: or a non-relative module, static or dynamic, and no require', () => {
    const offenders: string[] = [];
    for (const { file, code } of coreSources()) {
      const specifiers = [
        ...code.matchAll(/\bfrom\s*['"]([^'"]+)['"]/g),
        ...code.matchAll(/\bimport\s*['"]([^'"]+)['"]/g),
        ...code.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]/g),
        ...code.matchAll(/\brequire\s*\(\s*['"]([^'"]+)['"]/g),
      ].map((m) => m[1] as string);
      for (const specifier of specifiers) {
        if (!specifier.startsWith('./') && !specifier.startsWith('../')) offenders.push(`${file}: ${specifier}`);
        else if (!resolve(CORE, dirname(file), specifier).startsWith(CORE)) offenders.push(`${file}: ${specifier} leaves src/core`);
      }
      if (/\brequire\s*\(/.test(code)) offenders.push(`${file}: require()`);
    }
    expect(offenders).toEqual([]);
  });

  it('no wall clock or randomness (they compile under ES2022, so the compiler cannot catch them)', () => {
    const offenders = coreSources()
      .filter(({ code }) => /\bDate\.now\b|\bnew Date\b|\bMath\.random\b|\bperformance\./.test(code))
      .map((s) => s.file);
    expect(offenders).toEqual([]);
  });

  it('the import scanner catches what it should (guard against a regex that matches nothing)', () => {
    const sample = "import { x } from 'node:fs';\nimport y from \"zod\";\nimport './ok.js';\nconst z = await import('node:os');";
    const found = [...sample.matchAll(/\bfrom\s*['"]([^'"]+)['"]/g), ...sample.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
    expect(found).toEqual(['node:fs', 'zod', 'node:os']);
  });
});
