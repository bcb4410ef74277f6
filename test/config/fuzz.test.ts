/**
 * Random edits of the example files (YAML punctuation, deleted or repeated lines, swapped values,
 * tags, anchors) are either accepted or rejected with located issues; the loader never throws.
 * VRRPD_FUZZ_RUNS raises the number of runs; fast-check prints the seed of any failure.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseConfigText } from '../../src/config/load.js';
import { exampleFiles } from './helpers.js';

const FUZZ_RUNS = Number(process.env['VRRPD_FUZZ_RUNS'] ?? '') || 400;

const examples = [...exampleFiles().values()];

/** Values that stress YAML typing, zod and the source locator. */
const VALUE_POOL = [
  '', 'null', '~', 'true', 'no', '-1', '0', '256', '1e9', '.nan', '.inf', '[]', '{}', '[a, [b]]', '"x"', "'y'", 'MASTER',
  'master', '10.0.0.999', '10.0.0.50/24 dev ens32 label ens32:1', '__proto__', 'constructor', '*a', '&a x', '!!binary aGk=',
  '!!set {a}', '!!omap [a: 1]', '!custom x', '0x1F', '0o17', '2001-01-01', '|\n  block', '>\n  folded', '? complex', '- - nested',
  'a: b: c', '"unterminated', '\t', '#comment', '@', '`', '%YAML 1.2', '---', '...', '\u00e9\u4e2d', '\uffff',
];

const PUNCTUATION = [...':-[]{},"\'#&*!|>%@` \n\t?=<\\'];

type Edit =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'replaceValue'; line: number; value: string }
  | { kind: 'deleteLine'; line: number }
  | { kind: 'repeatLine'; line: number }
  | { kind: 'swapLines'; line: number; other: number }
  | { kind: 'reindent'; line: number; spaces: number };

const editArbitrary: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...PUNCTUATION), fc.constantFrom(...VALUE_POOL), fc.string({ maxLength: 6 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('replaceValue' as const), line: fc.nat(), value: fc.oneof(fc.constantFrom(...VALUE_POOL), fc.integer({ min: -1000, max: 1000 }).map(String), fc.string({ maxLength: 8 })) }),
  fc.record({ kind: fc.constant('deleteLine' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('repeatLine' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('swapLines' as const), line: fc.nat(), other: fc.nat() }),
  fc.record({ kind: fc.constant('reindent' as const), line: fc.nat(), spaces: fc.integer({ min: 0, max: 8 }) }),
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
      const colon = lines[line]!.indexOf(': ');
      lines[line] = colon >= 0 ? `${lines[line]!.slice(0, colon + 2)}${edit.value}` : lines[line]!.replace(/- .*/, `- ${edit.value}`);
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
    case 'reindent':
      lines[line] = ' '.repeat(edit.spaces) + lines[line]!.trimStart();
      return lines.join('\n');
  }
}

describe('config loader under random edits', () => {
  it('accepts or rejects with located issues, never throws', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(fc.constantFrom(...examples), fc.array(editArbitrary, { minLength: 1, maxLength: 4 }), (example, edits) => {
        const text = edits.reduce(applyEdit, example);
        const lineCount = text.split('\n').length;
        const result = parseConfigText(text, 'fuzz.yaml');
        const located = (issue: { file: string; line: number; column: number; path: string; code: string; message: string }) => {
          expect(issue.file).toBe('fuzz.yaml');
          expect(issue.code.length).toBeGreaterThan(0);
          expect(issue.message.length).toBeGreaterThan(0);
          expect(typeof issue.path).toBe('string');
          expect(issue.line).toBeGreaterThanOrEqual(1);
          expect(issue.line).toBeLessThanOrEqual(lineCount);
          expect(issue.column).toBeGreaterThanOrEqual(1);
        };
        result.warnings.forEach(located);
        if (result.ok) {
          accepted++;
          expect(Object.keys(result.config.vrrp_instance).length).toBeGreaterThan(0);
        } else {
          rejected++;
          expect(result.errors.length).toBeGreaterThan(0);
          result.errors.forEach(located);
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
    // Both outcomes must actually occur, or the edits are not exercising the loader.
    expect(accepted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  }, Math.max(10_000, FUZZ_RUNS * 10));
});
