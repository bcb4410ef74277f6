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
 * Stricter than keepalived, because a configuration decides what runs as root:
 * - An included file is refused when it, or any directory on the way to it, could be changed by
 *   someone other than root (or the user running vrrpd): the rule of keepalived's
 *   enable_script_security for scripts (see includeSecurityProblem).
 * - Messages quote file content sparingly (issues.ts excerpt), and from a file that only a glob
 *   matched ("quiet" files: nobody named it) they quote no words at all, so `include /etc/*`
 *   cannot copy /etc/shadow into a terminal or the journal.
 * - Every limit is checked without recursion (nesting depth, issues per file), so hostile input
 *   gets an error, not a stack overflow.
 *
 * keepalived's preprocessor (`$NAME=...` definitions, `@system_id` line prefixes, `~SEQ`) is not
 * implemented: a line using it is an error, because reading it literally would configure
 * something other than what keepalived would.
 *
 * Never throws on bad input; problems are returned as located issues.
 */
import { closeSync, fstatSync, openSync, readSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { includeSecurityProblem, trustedOwners } from './files.js';
import { excerpt, type ConfigIssueCode } from './issues.js';
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
  /**
   * The files that only a glob pattern matched (and everything they include): nobody named them,
   * so they may be anything (`include /etc/*`), and messages quote nothing from them.
   */
  quietFiles: ReadonlySet<string>;
}

/** What the parser needs from the file system; tests and callers without includes never touch it. */
export interface IncludeReader {
  /** The files a glob matches, sorted, directories left out; [] when nothing matches. */
  expand(pattern: string): string[];
  read(path: string): string;
  /** A stable identity for cycle detection (the real path). */
  identity(path: string): string;
  /** Why `path` must not be read (its ownership or permissions), or undefined when it may. */
  refuse?(path: string): string | undefined;
}

/** Everything has a limit: includes are recursive and globs can be wide. */
export const KEEPALIVED_LIMITS = {
  maxIncludeDepth: 8,
  maxFiles: 256,
  /** All files together. */
  maxTotalBytes: 4 * CONFIG_LIMITS.maxFileBytes,
  maxBlockDepth: CONFIG_LIMITS.maxNestingDepth,
  /**
   * Issues recorded per file before the rest of it is skipped: a file that gives this many is not a
   * keepalived.conf (a binary, /etc/*), and recording every one costs memory (500,000 stray '}'
   * made half a million issue objects).
   */
  maxIssuesPerFile: 200,
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
        // keepalived cuts the word here too; `auth_pass se#cret` is a classic surprise. The word is
        // not quoted: the column says where it is cut, and the word may be a password.
        problems.push({
          severity: 'warning', code: 'invalid_value', place: { file, line, column: i + 1 },
          message: `'${d}' in the middle of a word starts a comment, as in keepalived: the word ends here and the rest of the line is ignored. Write \\${d} for a literal ${d}`,
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

/** The grammar's issues, at most maxIssuesPerFile per file and then one that says so. */
class IssueList {
  readonly issues: GrammarIssue[] = [];
  private readonly counts = new Map<string, number>();

  /** Record an issue; false once its file has given too many. */
  report(issue: GrammarIssue): boolean {
    const count = (this.counts.get(issue.place.file) ?? 0) + 1;
    this.counts.set(issue.place.file, count);
    if (count <= KEEPALIVED_LIMITS.maxIssuesPerFile) {
      this.issues.push(issue);
      return true;
    }
    if (count === KEEPALIVED_LIMITS.maxIssuesPerFile + 1) {
      this.issues.push({
        severity: 'error', code: 'too_many', place: issue.place,
        message: `more than ${KEEPALIVED_LIMITS.maxIssuesPerFile} problems in this file; the rest are not reported (is it a keepalived.conf?)`,
      });
    }
    return false;
  }

  flooded(file: string): boolean {
    return (this.counts.get(file) ?? 0) > KEEPALIVED_LIMITS.maxIssuesPerFile;
  }
}

/** Files, includes and lines -> one flat stream of items. */
class Reader {
  readonly items: Item[] = [];
  readonly trailingComments = new Map<string, string>();
  readonly files: string[] = [];
  readonly quietFiles = new Set<string>();
  private totalBytes = 0;
  private readonly stack: string[] = [];

  constructor(
    private readonly includes: IncludeReader | undefined,
    private readonly list: IssueList,
  ) {}

  private report(issue: GrammarIssue): void {
    this.list.report(issue);
  }

  readText(text: string, file: string, identity: string, quiet = false): void {
    this.files.push(file);
    if (quiet) this.quietFiles.add(file);
    this.totalBytes += text.length;
    this.stack.push(identity);
    const lines = text.split('\n');
    for (let index = 0; index < lines.length; index++) {
      const lineNumber = index + 1;
      const lineText = lines[index]!;
      // A file that has given too many problems is not read further: it is no keepalived.conf.
      if (this.list.flooded(file)) break;
      const scan = scanLine(lineText, file, lineNumber);
      for (const problem of scan.problems) this.report(problem);
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
            this.report({ severity: 'error', code: 'conf_syntax', place: first.word, message: "include takes exactly one file name or glob pattern, alone on its line" });
          }
          this.items.push({ kind: 'eol' });
          continue;
        }
        if (/^\$[A-Za-z_][A-Za-z0-9_]*\s*=/.test(lineText.trim()) || first.word.text.startsWith('@') || first.word.text.startsWith('~SEQ')) {
          this.report({
            severity: 'error', code: 'unsupported_key', place: first.word,
            message: "keepalived's preprocessor ($NAME=... definitions, @system_id prefixes, ~SEQ) is not supported by vrrpd; write the lines out as keepalived would expand them",
          });
          this.items.push({ kind: 'eol' });
          continue;
        }
      }
      // One at a time: push(...items) passes every item as an argument, and a line of 100,000 '{'
      // overflows the stack that way.
      for (const item of scan.items) this.items.push(item);
      this.items.push({ kind: 'eol' });
    }
    this.stack.pop();
  }

  private include(patternWord: Word, fromFile: string): void {
    const pattern = patternWord.text;
    const shown = `'${excerpt(pattern, 2 * QUOTE_PATTERN)}'`;
    if (!this.includes) {
      this.report({ severity: 'error', code: 'read_failed', place: patternWord, message: `cannot include ${shown} here: no file system access` });
      return;
    }
    if (this.stack.length > KEEPALIVED_LIMITS.maxIncludeDepth) {
      this.report({ severity: 'error', code: 'too_many', place: patternWord, message: `includes are nested more than ${KEEPALIVED_LIMITS.maxIncludeDepth} deep` });
      return;
    }
    const resolved = isAbsolute(pattern) ? pattern : join(dirname(fromFile), pattern);
    // A file reached through a glob was named by nobody; so is anything such a file includes.
    const quiet = GLOB_MAGIC.test(pattern) || this.quietFiles.has(fromFile);
    let matches: string[];
    try {
      matches = this.includes.expand(resolved);
    } catch (error) {
      this.report({ severity: 'error', code: 'read_failed', place: patternWord, message: `cannot expand include ${shown}: ${reason(error)}` });
      return;
    }
    if (matches.length === 0) {
      this.report({ severity: 'warning', code: 'read_failed', place: patternWord, message: `include ${shown} matches no file; nothing is included (keepalived goes on the same way)` });
      return;
    }
    for (const match of matches) {
      if (this.files.length >= KEEPALIVED_LIMITS.maxFiles) {
        this.report({ severity: 'error', code: 'too_many', place: patternWord, message: `more than ${KEEPALIVED_LIMITS.maxFiles} configuration files` });
        return;
      }
      let refused: string | undefined;
      try {
        refused = this.includes.refuse?.(match);
      } catch (error) {
        refused = `cannot check its ownership: ${reason(error)}`;
      }
      if (refused !== undefined) {
        this.report({
          severity: 'error', code: 'insecure_file', place: patternWord,
          message: `include ${shown} refuses ${match}: ${refused}. An included file and every directory on the way to it must be owned by root${INCLUDE_OWNER_NOTE} and writable by no one else, as keepalived's enable_script_security asks of scripts: whoever can change the configuration decides what runs as root`,
        });
        continue;
      }
      let identity: string;
      let text: string;
      try {
        identity = this.includes.identity(match);
        if (this.stack.includes(identity)) {
          this.report({ severity: 'error', code: 'read_failed', place: patternWord, message: `include ${shown} includes ${match} again while reading it (an include loop)` });
          continue;
        }
        text = this.includes.read(match);
      } catch (error) {
        this.report({ severity: 'error', code: 'read_failed', place: patternWord, message: `cannot read included file ${match}: ${reason(error)}` });
        continue;
      }
      if (text.length > CONFIG_LIMITS.maxFileBytes || this.totalBytes + text.length > KEEPALIVED_LIMITS.maxTotalBytes) {
        this.report({ severity: 'error', code: 'file_too_large', place: patternWord, message: `included file ${match} is too large (${text.length} characters; ${KEEPALIVED_LIMITS.maxTotalBytes} for all files together)` });
        continue;
      }
      this.readText(text, match, identity, quiet);
    }
  }
}

/** An include pattern is quoted with twice the room of a keyword: it is a path. */
const QUOTE_PATTERN = 32;

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

/**
 * The flat item stream -> statements with blocks. Recursion is one level per block, and blocks
 * deeper than maxBlockDepth are skipped with a loop, so any input is safe for the stack.
 */
function buildTree(items: Item[], list: IssueList, quietFiles: ReadonlySet<string>): Statement[] {
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
        list.report({ severity: 'error', code: 'conf_syntax', place: item.place, message: "unbalanced '}': no block is open here" });
        continue;
      }
      if (item.kind === 'open') {
        pos++;
        list.report({ severity: 'error', code: 'conf_syntax', place: item.place, message: "'{' without a keyword before it" });
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
      const of = quietFiles.has(opener.place.file) || opener.keyword === '{' ? '' : ` of '${excerpt(opener.keyword)}'`;
      list.report({ severity: 'error', code: 'conf_syntax', place: opener.place, message: `the '{'${of} is never closed: '}' missing` });
    }
    return statements;
  };

  const nested = (depth: number, opener: { place: SourcePlace; keyword: string }): Statement[] => {
    if (depth + 1 > KEEPALIVED_LIMITS.maxBlockDepth) {
      if (!tooDeepReported) {
        list.report({
          severity: 'error', code: 'too_deep', place: opener.place,
          message: `blocks are nested more than ${KEEPALIVED_LIMITS.maxBlockDepth} deep (a keepalived.conf needs 3); this '{' and everything up to its '}' are not read`,
        });
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
  const list = new IssueList();
  const reader = new Reader(includes, list);
  let identity = fileName;
  try {
    if (includes) identity = includes.identity(fileName);
  } catch {
    // The main text came from the caller; it may not exist on disk.
  }
  reader.readText(text, fileName, identity);
  const statements = buildTree(reader.items, list, reader.quietFiles);
  return { statements, issues: list.issues, trailingComments: reader.trailingComments, files: reader.files, quietFiles: reader.quietFiles };
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
    // Bounded by what is read, not by stat: the file may grow in between.
    const fd = openSync(path, 'r');
    try {
      const info = fstatSync(fd);
      if (!info.isFile()) throw new Error('not a regular file');
      if (info.size > CONFIG_LIMITS.maxFileBytes) throw new Error(`${info.size} bytes; the limit is ${CONFIG_LIMITS.maxFileBytes}`);
      const buffer = Buffer.alloc(CONFIG_LIMITS.maxFileBytes + 1);
      let length = 0;
      for (let n = -1; n !== 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
      if (length > CONFIG_LIMITS.maxFileBytes) throw new Error(`more than ${CONFIG_LIMITS.maxFileBytes} bytes; the limit is ${CONFIG_LIMITS.maxFileBytes}`);
      return buffer.subarray(0, length).toString('utf8');
    } finally {
      closeSync(fd);
    }
  },
  identity(path) {
    return realpathSync(path);
  },
  refuse(path) {
    return includeSecurityProblem(path, trustedOwners());
  },
};

const GLOB_MAGIC = /[*?[{]/;

/** Said after "owned by root" in the refusal: who else may own an included file, and why. */
const INCLUDE_OWNER_NOTE = ' (or by the user running vrrpd, who can change its own files anyway)';

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
