/**
 * Random edits of the keepalived fixtures (braces, quotes, comment characters, deleted, repeated or
 * swapped lines, values replaced by odd ones) are accepted, or rejected with issues located in the
 * file; the loader never throws. Accepted files also import: the YAML loads to the same model.
 * VRRPD_FUZZ_RUNS raises the number of runs; fast-check prints the seed of any failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import { renderKeepalivedAsYaml } from '../../src/config/keepalived-yaml.js';
import { parseConfigText } from '../../src/config/load.js';
import type { ConfigIssue } from '../../src/config/issues.js';
import { detectConfigFormat, readKeepalivedConfig } from '../../src/config/keepalived.js';
import { KEEPALIVED_FIXTURES, seedFixtures } from './keepalived-fixtures.js';
import { readFileSync } from 'node:fs';

const FUZZ_RUNS = Number(process.env['VRRPD_FUZZ_RUNS'] ?? '') || 400;

const fixtures = [...seedFixtures().values(), readFileSync(new URL('features/every-keyword.conf', KEEPALIVED_FIXTURES), 'utf8')];

/** Values that stress the grammar, the number reading, the schema and the locator. */
const VALUE_POOL = [
  '', '{', '}', '{ }', '"', '""', '"a b"', '#', '!', '\\#', '\\', '-1', '0', '256', '1e9', '0x10', '1.5', 'MASTER', 'master',
  '10.0.0.999', '10.0.0.50/24 dev ens32 label ens32:1', '__proto__', 'constructor', 'toString', 'weight', 'reverse', 'dev',
  'nopreempt', 'vrrp_instance', 'global_defs', 'track_script', '\u00e9\u4e2d\u6587', '\uffff', '\t', '$X=1', '@node1', '~SEQ(i,1,3)',
  'AH', 'PASS', 'true', 'scope global', 'broadcast', 'min_ttl 2',
];

const PUNCTUATION = [...'{}"#!\\ \n\t$@~:;='];

type Edit =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'replaceValue'; line: number; value: string }
  | { kind: 'deleteLine'; line: number }
  | { kind: 'repeatLine'; line: number }
  | { kind: 'swapLines'; line: number; other: number };

const editArbitrary: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...PUNCTUATION), fc.constantFrom(...VALUE_POOL), fc.string({ maxLength: 6 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('replaceValue' as const), line: fc.nat(), value: fc.oneof(fc.constantFrom(...VALUE_POOL), fc.integer({ min: -1000, max: 1000 }).map(String), fc.string({ maxLength: 8 })) }),
  fc.record({ kind: fc.constant('deleteLine' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('repeatLine' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('swapLines' as const), line: fc.nat(), other: fc.nat() }),
);

function applyEdit(text: string, edit: Edit): string {
  const lines = text.split('\n');
  const line = 'line' in edit ? edit.line % lines.length : 0;
  switch (edit.kind) {
    case 'insert': {
      const at = edit.at % (text.length + 1);
      return text.slice(0, at) + edit.text + text.slice(at);
    }
    case 'delete': {
      const at = edit.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + edit.length);
    }
    case 'replaceValue': {
      // keepalived's `keyword value  # comment`: replace the second word.
      lines[line] = lines[line]!.replace(/^(\s*\S+\s+)\S+/, (_, head: string) => `${head}${edit.value}`);
      return lines.join('\n');
    }
    case 'deleteLine':
      lines.splice(line, 1);
      return lines.join('\n');
    case 'repeatLine':
      lines.splice(line, 0, lines[line]!);
      return lines.join('\n');
    case 'swapLines': {
      const other = edit.other % lines.length;
      [lines[line], lines[other]] = [lines[other]!, lines[line]!];
      return lines.join('\n');
    }
  }
}

describe('keepalived.conf loader under random edits', () => {
  it('accepts or rejects with located issues, never throws; what it accepts imports to the same model', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(fc.constantFrom(...fixtures), fc.array(editArbitrary, { minLength: 1, maxLength: 4 }), (fixture, edits) => {
        // `include` would read the file system relative to the test's directory; that is tested
        // on its own, so an edit that spells it is left out.
        const text = edits.reduce(applyEdit, fixture);
        fc.pre(!/\binclude\b/.test(text));
        const lineCount = text.split('\n').length;
        const result = parseConfigText(text, 'fuzz.conf');
        const located = (issue: ConfigIssue) => {
          expect(issue.file).toBe('fuzz.conf');
          expect(issue.code.length).toBeGreaterThan(0);
          expect(issue.message.length).toBeGreaterThan(0);
          expect(typeof issue.path).toBe('string');
          expect(issue.line).toBeGreaterThanOrEqual(1);
          expect(issue.line).toBeLessThanOrEqual(lineCount);
          expect(issue.column).toBeGreaterThanOrEqual(1);
          expect(issue.column).toBeLessThanOrEqual(text.split('\n')[issue.line - 1]!.length + 1);
          expect(Object.keys(issue).sort()).toEqual(['code', 'column', 'file', 'line', 'message', 'path']);
        };
        result.warnings.forEach(located);
        if (!result.ok) {
          rejected++;
          expect(result.errors.length).toBeGreaterThan(0);
          result.errors.forEach(located);
          return;
        }
        accepted++;
        expect(Object.keys(result.config.vrrp_instance).length).toBeGreaterThan(0);
        if (detectConfigFormat(text) !== 'keepalived') return; // an edit made it read as YAML; nothing to import
        const read = readKeepalivedConfig(text, 'fuzz.conf');
        const yaml = renderKeepalivedAsYaml(read, { sourceFile: 'fuzz.conf' });
        const imported = parseConfigText(yaml, 'fuzz.yaml');
        if (!imported.ok) throw new Error(`import of an accepted file is rejected: ${JSON.stringify(imported.errors)}\n${yaml}`);
        expect(isDeepStrictEqual(imported.config, result.config)).toBe(true);
      }),
      { numRuns: FUZZ_RUNS },
    );
    // Both outcomes must actually occur, or the edits are not exercising the loader.
    expect(accepted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  }, Math.max(20_000, FUZZ_RUNS * 20));
});
