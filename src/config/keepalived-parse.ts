/**
 * keepalived.conf's grammar, as keepalived 2.2.7 reads it (lib/parser.c), turned into a tree of
 * statements in which every word keeps its file, line and column:
 *
 * - A line is words separated by blanks. `#` or `!` outside double quotes starts a comment, even in
 *   the middle of a word (keepalived's decomment); `\#` and `\!` are a literal # and !.
 * - `"..."` is one word without its quotes; keepalived has no escapes inside them.
 * - `{` and `}` outside quotes are words of their own wherever they stand, so
 *   `virtual_ipaddress { 10.0.0.50 dev ens32 }` is the same as the three-line form, and the `{` of
 *   a block may stand on the keyword's line or on the next.
 * - `include PATTERN` (exactly two words) splices in every file the glob matches, in sorted order,
 *   relative to the directory of the including file (keepalived chdir()s there), at any depth.
 *   A pattern that matches nothing is not an error in keepalived; it is a warning here.
 *
 * keepalived's preprocessor (`$NAME=...` definitions, `@system_id` line prefixes, `~SEQ`) is not
 * implemented: a line using it is an error, because reading it literally would configure
 * something other than what keepalived would.
 *
 * Never throws on bad input; problems are returned as located issues.
 */
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { ConfigIssueCode } from './issues.js';
import { CONFIG_LIMITS } from './model.js';

export interface SourcePlace {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units like the YAML locator. */
  column: number;
}

export interface Word extends SourcePlace {
  text: string;
  /** Written in double quotes (so `"{"` is a word, not a brace). */
  quoted: boolean;
}

export interface Statement {
  /** words[0] is the keyword; never empty. */
  words: Word[];
  /** The statements between `{` and `}`, when the keyword opened a block. */
  block?: Statement[];
  /** Where the block's `{` is. */
  open?: SourcePlace;
}

export interface GrammarIssue {
  severity: 'error' | 'warning';
  code: ConfigIssueCode;
  place: SourcePlace;
  message: string;
}

export interface ParsedConf {
  statements: Statement[];
  issues: GrammarIssue[];
  /** Comment text at the end of a line that has words, by `file:line` (for import-keepalived). */
  trailingComments: Map<string, string>;
  /** Every file read, the main one first. */
  files: string[];
}

/** What the parser needs from the file system; tests and callers without includes never touch it. */
export interface IncludeReader {
  /** The files a glob matches, sorted, directories left out; [] when nothing matches. */
  expand(pattern: string): string[];
  read(path: string): string;
  /** A stable identity for cycle detection (the real path). */
  identity(path: string): string;
}

/** Everything has a limit: includes are recursive and globs can be wide. */
export const KEEPALIVED_LIMITS = {
  maxIncludeDepth: 8,
  maxFiles: 256,
  /** All files together. */
  maxTotalBytes: 4 * CONFIG_LIMITS.maxFileBytes,
  maxBlockDepth: 16,
} as const;

type Item = { kind: 'word'; word: Word } | { kind: 'open'; place: SourcePlace } | { kind: 'close'; place: SourcePlace } | { kind: 'eol' };

export function commentKey(file: string, line: number): string {
  return `${file}:${line}`;
}

const BLANK = /[ \t\r\f\v]/;

interface LineScan {
  items: Item[];
  comment?: string;
  problems: GrammarIssue[];
}

/** One physical line -> words and braces (no end-of-line item). */
function scanLine(text: string, file: string, line: number): LineScan {
  const items: Item[] = [];
  const problems: GrammarIssue[] = [];
  let i = 0;
  let comment: string | undefined;
  while (i < text.length) {
    const c = text[i]!;
    if (BLANK.test(c)) {
      i++;
      continue;
    }
    const place = { file, line, column: i + 1 };
    if (c === '#' || c === '!') {
      comment = text.slice(i + 1).trim();
      break;
    }
    if (c === '{' || c === '}') {
      items.push({ kind: c === '{' ? 'open' : 'close', place });
      i++;
      continue;
    }
    if (c === '"') {
      const close = text.indexOf('"', i + 1);
      if (close < 0) {
        problems.push({ severity: 'error', code: 'conf_syntax', place, message: 'this quote is never closed (keepalived strings end on the same line)' });
        items.push({ kind: 'word', word: { ...place, text: text.slice(i + 1), quoted: true } });
        i = text.length;
        break;
      }
      items.push({ kind: 'word', word: { ...place, text: text.slice(i + 1, close), quoted: true } });
      i = close + 1;
      continue;
    }
    let word = '';
    while (i < text.length) {
      const d = text[i]!;
      if (d === '\\' && (text[i + 1] === '#' || text[i + 1] === '!')) {
        word += text[i + 1];
        i += 2;
        continue;
      }
      if (BLANK.test(d) || d === '{' || d === '}' || d === '"') break;
      if (d === '#' || d === '!') {
        // keepalived cuts the word here too; `auth_pass se#cret` is a classic surprise.
        problems.push({
          severity: 'warning', code: 'invalid_value', place: { file, line, column: i + 1 },
          message: `'${d}' in the middle of '${word}${text.slice(i).split(/\s/)[0]}' starts a comment, as in keepalived: the value is '${word}'. Write \\${d} for a literal ${d}`,
        });
        break;
      }
      word += d;
      i++;
    }
    items.push({ kind: 'word', word: { ...place, text: word, quoted: false } });
    if (i < text.length && (text[i] === '#' || text[i] === '!')) {
      comment = text.slice(i + 1).trim();
      break;
    }
  }
  return { items, ...(comment !== undefined ? { comment } : {}), problems };
}

/** Files, includes and lines -> one flat stream of items. */
class Reader {
  readonly items: Item[] = [];
  readonly issues: GrammarIssue[] = [];
  readonly trailingComments = new Map<string, string>();
  readonly files: string[] = [];
  private totalBytes = 0;
  private readonly stack: string[] = [];

  constructor(private readonly includes: IncludeReader | undefined) {}

  readText(text: string, file: string, identity: string): void {
    this.files.push(file);
    this.totalBytes += text.length;
    this.stack.push(identity);
    const lines = text.split('\n');
    for (let index = 0; index < lines.length; index++) {
      const lineNumber = index + 1;
      const lineText = lines[index]!;
      const scan = scanLine(lineText, file, lineNumber);
      this.issues.push(...scan.problems);
      const words = scan.items.flatMap((item) => (item.kind === 'word' ? [item.word] : []));
      if (scan.comment !== undefined && scan.comment.length > 0 && words.length > 0) {
        this.trailingComments.set(commentKey(file, lineNumber), scan.comment);
      }
      const first = scan.items[0];
      if (first?.kind === 'word' && !first.word.quoted) {
        if (first.word.text === 'include') {
          // keepalived reads an include line before it splits braces off, so `{a,b}` stays in the pattern.
          const words = includeWords(lineText, first.word.column + 'include'.length - 1, file, lineNumber);
          if (words.length === 1) {
            this.include(words[0]!, file);
          } else {
            this.issues.push({ severity: 'error', code: 'conf_syntax', place: first.word, message: "include takes exactly one file name or glob pattern, alone on its line" });
          }
          this.items.push({ kind: 'eol' });
          continue;
        }
        if (/^\$[A-Za-z_][A-Za-z0-9_]*\s*=/.test(lineText.trim()) || first.word.text.startsWith('@') || first.word.text.startsWith('~SEQ')) {
          this.issues.push({
            severity: 'error', code: 'unsupported_key', place: first.word,
            message: "keepalived's preprocessor ($NAME=... definitions, @system_id prefixes, ~SEQ) is not supported by vrrpd; write the lines out as keepalived would expand them",
          });
          this.items.push({ kind: 'eol' });
          continue;
        }
      }
      this.items.push(...scan.items, { kind: 'eol' });
    }
    this.stack.pop();
  }

  private include(patternWord: Word, fromFile: string): void {
    const pattern = patternWord.text;
    if (!this.includes) {
      this.issues.push({ severity: 'error', code: 'read_failed', place: patternWord, message: `cannot include '${pattern}' here: no file system access` });
      return;
    }
    if (this.stack.length > KEEPALIVED_LIMITS.maxIncludeDepth) {
      this.issues.push({ severity: 'error', code: 'too_many', place: patternWord, message: `includes are nested more than ${KEEPALIVED_LIMITS.maxIncludeDepth} deep` });
      return;
    }
    const resolved = isAbsolute(pattern) ? pattern : join(dirname(fromFile), pattern);
    let matches: string[];
    try {
      matches = this.includes.expand(resolved);
    } catch (error) {
      this.issues.push({ severity: 'error', code: 'read_failed', place: patternWord, message: `cannot expand include '${pattern}': ${reason(error)}` });
      return;
    }
    if (matches.length === 0) {
      this.issues.push({ severity: 'warning', code: 'read_failed', place: patternWord, message: `include '${pattern}' matches no file; nothing is included (keepalived goes on the same way)` });
      return;
    }
    for (const match of matches) {
      if (this.files.length >= KEEPALIVED_LIMITS.maxFiles) {
        this.issues.push({ severity: 'error', code: 'too_many', place: patternWord, message: `more than ${KEEPALIVED_LIMITS.maxFiles} configuration files` });
        return;
      }
      let identity: string;
      let text: string;
      try {
        identity = this.includes.identity(match);
        if (this.stack.includes(identity)) {
          this.issues.push({ severity: 'error', code: 'read_failed', place: patternWord, message: `include '${pattern}' includes ${match} again while reading it (an include loop)` });
          continue;
        }
        text = this.includes.read(match);
      } catch (error) {
        this.issues.push({ severity: 'error', code: 'read_failed', place: patternWord, message: `cannot read included file ${match}: ${reason(error)}` });
        continue;
      }
      if (text.length > CONFIG_LIMITS.maxFileBytes || this.totalBytes + text.length > KEEPALIVED_LIMITS.maxTotalBytes) {
        this.issues.push({ severity: 'error', code: 'file_too_large', place: patternWord, message: `included file ${match} is too large (${text.length} characters; ${KEEPALIVED_LIMITS.maxTotalBytes} for all files together)` });
        continue;
      }
      this.readText(text, match, identity);
    }
  }
}

/** The words after `include`, split on blanks only (quotes kept together), up to a comment. */
function includeWords(lineText: string, from: number, file: string, line: number): Word[] {
  const words: Word[] = [];
  const pattern = /"([^"]*)"|([^\s"]+)/g;
  pattern.lastIndex = from;
  for (let match = pattern.exec(lineText); match; match = pattern.exec(lineText)) {
    if (match[2] !== undefined && (match[2].startsWith('#') || match[2].startsWith('!'))) break;
    words.push({ file, line, column: match.index + 1, text: match[1] ?? match[2]!, quoted: match[1] !== undefined });
  }
  return words;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The flat item stream -> statements with blocks. */
function buildTree(items: Item[], issues: GrammarIssue[]): Statement[] {
  let pos = 0;
  let tooDeepReported = false;

  const parseBlock = (depth: number, opener: { place: SourcePlace; keyword: string } | undefined): Statement[] => {
    const statements: Statement[] = [];
    while (pos < items.length) {
      const item = items[pos]!;
      if (item.kind === 'eol') {
        pos++;
        continue;
      }
      if (item.kind === 'close') {
        pos++;
        if (opener) return statements;
        issues.push({ severity: 'error', code: 'conf_syntax', place: item.place, message: "unbalanced '}': no block is open here" });
        continue;
      }
      if (item.kind === 'open') {
        pos++;
        issues.push({ severity: 'error', code: 'conf_syntax', place: item.place, message: "'{' without a keyword before it" });
        nested(depth, { place: item.place, keyword: '{' });
        continue;
      }
      const words: Word[] = [];
      while (pos < items.length && items[pos]!.kind === 'word') {
        words.push((items[pos] as { word: Word }).word);
        pos++;
      }
      const statement: Statement = { words };
      let look = pos;
      while (look < items.length && items[look]!.kind === 'eol') look++;
      const next = items[look];
      if (next?.kind === 'open') {
        pos = look + 1;
        statement.open = next.place;
        statement.block = nested(depth, { place: next.place, keyword: words[0]!.text });
      }
      statements.push(statement);
    }
    if (opener) {
      issues.push({ severity: 'error', code: 'conf_syntax', place: opener.place, message: `the '{' of '${opener.keyword}' is never closed: '}' missing` });
    }
    return statements;
  };

  const nested = (depth: number, opener: { place: SourcePlace; keyword: string }): Statement[] => {
    if (depth + 1 > KEEPALIVED_LIMITS.maxBlockDepth) {
      if (!tooDeepReported) {
        issues.push({ severity: 'error', code: 'conf_syntax', place: opener.place, message: `blocks are nested more than ${KEEPALIVED_LIMITS.maxBlockDepth} deep` });
        tooDeepReported = true;
      }
      // Skip to the matching '}' without recursing.
      let open = 1;
      while (pos < items.length && open > 0) {
        const kind = items[pos]!.kind;
        if (kind === 'open') open++;
        if (kind === 'close') open--;
        pos++;
      }
      return [];
    }
    return parseBlock(depth + 1, opener);
  };

  return parseBlock(0, undefined);
}

/** Parse keepalived.conf text; `includes` resolves `include` lines (none: they are errors). */
export function parseKeepalivedConf(text: string, fileName: string, includes?: IncludeReader): ParsedConf {
  const reader = new Reader(includes);
  let identity = fileName;
  try {
    if (includes) identity = includes.identity(fileName);
  } catch {
    // The main text came from the caller; it may not exist on disk.
  }
  reader.readText(text, fileName, identity);
  const issues = reader.issues;
  const statements = buildTree(reader.items, issues);
  return { statements, issues, trailingComments: reader.trailingComments, files: reader.files };
}

// ---------------------------------------------------------------------------------------------
// Includes from the real file system. Node 20 has no fs.glob, so a small one: *, ?, [...] and
// {a,b} (keepalived passes GLOB_BRACE) in any path segment.
// ---------------------------------------------------------------------------------------------

export const fileSystemIncludes: IncludeReader = {
  expand(pattern) {
    return expandGlob(pattern).filter((path) => {
      try {
        return statSync(path).isFile();
      } catch {
        return false;
      }
    });
  },
  read(path) {
    const info = statSync(path);
    if (info.size > CONFIG_LIMITS.maxFileBytes) throw new Error(`${info.size} bytes; the limit is ${CONFIG_LIMITS.maxFileBytes}`);
    return readFileSync(path, 'utf8');
  },
  identity(path) {
    return realpathSync(path);
  },
};

const GLOB_MAGIC = /[*?[{]/;

/** Expand `{a,b}` first (as GLOB_BRACE does), then match segment by segment. Sorted, unique. */
export function expandGlob(pattern: string): string[] {
  const results = new Set<string>();
  for (const alternative of expandBraces(pattern, 0)) {
    for (const path of globOne(alternative)) results.add(path);
  }
  return [...results].sort();
}

function expandBraces(pattern: string, depth: number): string[] {
  const open = pattern.indexOf('{');
  if (open < 0 || depth > 8) return [pattern];
  let level = 0;
  let close = -1;
  const commas: number[] = [];
  for (let i = open; i < pattern.length; i++) {
    if (pattern[i] === '{') level++;
    else if (pattern[i] === '}') {
      level--;
      if (level === 0) {
        close = i;
        break;
      }
    } else if (pattern[i] === ',' && level === 1) commas.push(i);
  }
  if (close < 0) return [pattern];
  const parts: string[] = [];
  let start = open + 1;
  for (const comma of [...commas, close]) {
    parts.push(pattern.slice(start, comma));
    start = comma + 1;
  }
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  return parts.flatMap((part) => expandBraces(head + part + tail, depth + 1)).slice(0, 1024);
}

function globOne(pattern: string): string[] {
  const absolute = pattern.startsWith('/');
  const segments = pattern.split('/').filter((segment) => segment.length > 0);
  let current: string[] = [absolute ? '/' : '.'];
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    const next: string[] = [];
    for (const base of current) {
      if (!GLOB_MAGIC.test(segment)) {
        next.push(join(base, segment));
        continue;
      }
      const matcher = segmentRegExp(segment);
      let names: string[];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        // As glob(3): a leading dot must be matched explicitly.
        if (name.startsWith('.') && !segment.startsWith('.')) continue;
        if (!matcher.test(name)) continue;
        const path = join(base, name);
        if (!last) {
          try {
            if (!statSync(path).isDirectory()) continue;
          } catch {
            continue;
          }
        }
        next.push(path);
      }
    }
    current = next.slice(0, KEEPALIVED_LIMITS.maxFiles * 4);
  });
  // join('.', x) drops the './', which is what a relative pattern should give back.
  return current.filter((path) => {
    try {
      statSync(path);
      return true;
    } catch {
      return false;
    }
  });
}

function segmentRegExp(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      source += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = close;
    } else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
