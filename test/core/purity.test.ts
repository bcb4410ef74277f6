/**
 * The core stays pure because the compiler says so, not because we remember: src/core/tsconfig.json
 * ("types": [], lib ES2022) must reject Node's and the browser's globals. This proves the config
 * bites (a file using Buffer, setTimeout and process fails to compile under it, a clean one passes)
 * and that no file in src/core imports from node: or from a package, nor uses the wall clock or
 * randomness. That scan is test/core/purity-scanner.ts, and the same scanner is tested here on
 * planted violations, so a clean src/core means the scanner looked.
 */
import { describe, expect, it, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importSpecifiers, purityViolations, sourcesUnder, stripComments } from './purity-scanner.js';

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

describe('src/core imports only itself', () => {
  it('finds the core files', () => {
    const names = sourcesUnder(CORE).map((s) => s.file);
    expect(names).toEqual(expect.arrayContaining(['codec.ts', 'checks.ts', 'types.ts', 'ip.ts', 'timers.ts', 'machine.ts']));
  });

  it('no import from node: or a non-relative module, static or dynamic, no require, no wall clock or randomness', () => {
    expect(purityViolations(CORE)).toEqual([]);
  });
});

// The scanner above is the one tested here (test/core/purity-scanner.ts): if it stopped seeing
// violations, these fail, so a clean result for src/core means something.
describe('the purity scanner', () => {
  it('finds every kind of module specifier', () => {
    const sample = [
      "import { x } from 'node:fs';",
      'import y from "zod";',
      "import './side-effect.js';",
      "export { z } from '../core/ip.js';",
      "const os = await import('node:os');",
      "const cp = require('child_process');",
    ].join('\n');
    expect(importSpecifiers(sample).sort()).toEqual(['../core/ip.js', './side-effect.js', 'child_process', 'node:fs', 'node:os', 'zod']);
  });

  it('ignores comments but not strings that look like them', () => {
    const code = stripComments(
      [
        "/* import 'node:fs' in a block comment */",
        "// import 'node:os' in a line comment",
        "const url = 'http://example.test/'; // trailing comment",
        "import { a } from './a.js';",
      ].join('\n'),
    );
    expect(importSpecifiers(code)).toEqual(['./a.js']);
    expect(code).toContain("'http://example.test/'");
    expect(code).not.toContain('trailing comment');
  });

  it('reports each violation in a planted source tree, and nothing in a clean one', () => {
    const root = mkdtempSync(join(tmpdir(), 'vrrpd-purity-scan-'));
    dirs.push(root);
    const core = join(root, 'core');
    mkdirSync(join(core, 'sub'), { recursive: true });
    writeFileSync(join(root, 'outside.ts'), 'export const o = 1;\n');
    writeFileSync(join(core, 'clean.ts'), "import { o } from './sub/ok.js';\n// Date.now() in prose is fine\nexport const c = o;\n");
    writeFileSync(join(core, 'sub', 'ok.ts'), 'export const o = 1;\n');
    expect(purityViolations(core)).toEqual([]);

    writeFileSync(join(core, 'node.ts'), "import { readFileSync } from 'node:fs';\n");
    writeFileSync(join(core, 'package.ts'), "export { z } from 'zod';\n");
    writeFileSync(join(core, 'escape.ts'), "import { o } from '../outside.js';\n");
    writeFileSync(join(core, 'dynamic.ts'), "export const m = () => import('node:os');\n");
    writeFileSync(join(core, 'req.ts'), 'export const r = require(name);\n');
    writeFileSync(join(core, 'clock.ts'), 'export const t = Date.now();\n');
    writeFileSync(join(core, 'random.ts'), 'export const r = Math.random();\n');
    writeFileSync(join(core, 'perf.ts'), 'export const p = performance.now();\n');
    expect(purityViolations(core)).toEqual([
      'clock.ts: uses Date.now',
      'dynamic.ts: imports node:os',
      'escape.ts: ../outside.js leaves ' + core,
      'node.ts: imports node:fs',
      'package.ts: imports zod',
      'perf.ts: uses performance.',
      'random.ts: uses Math.random',
      'req.ts: require()',
    ]);
  });
});
