/**
 * docs/protocol.md is the protocol reference code cites, so it must not drift from the code:
 * - its transition table is src/core/transitions.ts rendered (the test prints the rows to paste);
 * - its receive-check table lists DROP_REASONS in their order;
 * - every `docs/protocol.md#anchor` cited in src/ or test/, and every `(#anchor)` link inside the
 *   page, names a heading that exists;
 * - the folders already moved off the old out-of-repository reference do not cite it again.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TRANSITIONS, type TransitionRule } from '../../src/core/transitions.js';
import { DROP_REASONS } from '../../src/core/types.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DOC_PATH = join(REPO, 'docs/protocol.md');
const DOC = readFileSync(DOC_PATH, 'utf8');
const TABLE_BEGIN = '<!-- transition-table:begin (generated from src/core/transitions.ts; do not edit by hand) -->';
const TABLE_END = '<!-- transition-table:end -->';

/** GitHub's heading anchor: lower case, punctuation other than - and _ dropped, spaces to hyphens. */
export function headingSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function docAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!inFence && heading) anchors.add(headingSlug(heading[1]!));
  }
  return anchors;
}

/** The markdown rows of the transition table, as the doc must hold them. */
export function renderTransitionTable(rows: readonly TransitionRule[]): string {
  const lines = ['| from | to | reason | rule | explained in |', '| --- | --- | --- | --- | --- |'];
  for (const row of rows) {
    const anchor = row.doc.slice('docs/protocol.md#'.length);
    lines.push(`| ${row.from} | ${row.to} | \`${row.reason}\` | ${row.rule} | [${anchor}](#${anchor}) |`);
  }
  return lines.join('\n');
}

function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/protocol.md has no section '## ${heading}'`);
  const next = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, next < 0 ? undefined : next);
}

/** Every text file under `dir` (relative to the repository), skipping builds and dependencies. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'build') walk(full);
      } else if (/\.(ts|mjs|js|sh|conf|yaml|yml|md|c)$/.test(entry.name)) {
        out.push(full);
      }
    }
  };
  walk(join(REPO, dir));
  return out;
}

describe('docs/protocol.md', () => {
  it('the transition table is the one in src/core/transitions.ts', () => {
    const begin = DOC.indexOf(TABLE_BEGIN);
    const end = DOC.indexOf(TABLE_END);
    expect(begin, `docs/protocol.md lacks the marker ${TABLE_BEGIN}`).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(begin);
    const inDoc = DOC.slice(begin + TABLE_BEGIN.length, end).trim();
    const fromCode = renderTransitionTable(TRANSITIONS);
    expect(inDoc, `paste this between the transition-table markers of docs/protocol.md:\n${fromCode}\n`).toBe(fromCode);
  });

  it('the receive checks are listed in the order of DROP_REASONS', () => {
    const rows = [...section(DOC, 'Receive checks').matchAll(/^\| (\d+) \| `([a-z_]+)` \|/gm)];
    expect(rows.map((m) => Number(m[1]))).toEqual(DROP_REASONS.map((_, i) => i + 1));
    expect(rows.map((m) => m[2])).toEqual([...DROP_REASONS]);
  });

  it('every docs/protocol.md#anchor cited in src/ and test/ exists', () => {
    const anchors = docAnchors(DOC);
    const missing: string[] = [];
    let citations = 0;
    for (const file of [...filesUnder('src'), ...filesUnder('test')]) {
      if (file === fileURLToPath(import.meta.url)) continue; // this test's own prose names the pattern
      for (const match of readFileSync(file, 'utf8').matchAll(/docs\/protocol\.md#([\w-]+)/g)) {
        citations++;
        if (!anchors.has(match[1]!)) missing.push(`${relative(REPO, file)}: #${match[1]}`);
      }
    }
    expect(missing).toEqual([]);
    // The scan must find the citations we know of (src/core/transitions.ts alone has 14).
    expect(citations).toBeGreaterThanOrEqual(TRANSITIONS.length);
  });

  it('every #anchor link inside the page exists', () => {
    const anchors = docAnchors(DOC);
    const links = [...DOC.matchAll(/\]\(#([\w-]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((link) => !anchors.has(link))).toEqual([]);
  });

  it('the heading slugs follow GitHub (the anchors code cites are the ones a reader can follow)', () => {
    expect(headingSlug('Where vrrpd differs from keepalived')).toBe('where-vrrpd-differs-from-keepalived');
    expect(headingSlug('VIPs')).toBe('vips');
    expect(headingSlug('keepalived quirks we reproduce')).toBe('keepalived-quirks-we-reproduce');
    expect(headingSlug('Rise and fall')).toBe('rise-and-fall');
    expect(headingSlug('`preempt_delay`, and more!')).toBe('preempt_delay-and-more');
    expect(docAnchors('# A\n```\n# not a heading\n```\n## B c\n')).toEqual(new Set(['a', 'b-c']));
  });

  it('cleaned folders cite docs/protocol.md, not the reference outside the repository', () => {
    // src/daemon, src/io, src/cli, test/netns and test/packaging join this list once their
    // citations are replaced too.
    const folders = ['src/core', 'src/config', 'test/core', 'test/config', 'test/sim', 'test/interop'];
    const offenders: string[] = [];
    for (const file of folders.flatMap(filesUnder)) {
      if (file === fileURLToPath(import.meta.url)) continue; // this test names what it looks for
      const text = readFileSync(file, 'utf8');
      if (/behaviour\.md|\/work\/shared|shared\/(reference|seed)\//.test(text)) offenders.push(relative(REPO, file));
    }
    expect(offenders).toEqual([]);
  });
});
