/**
 * YAML or keepalived.conf text -> validated VrrpdConfig, or a list of located issues. Never throws
 * on bad input: a config file is user input, and `vrrpd check-config` must report every problem it
 * can find. A keepalived.conf is read by keepalived.ts into the data a YAML file would give; from
 * the schema on, both formats share every stage.
 *
 * Stages: nesting depth (on yaml's CST, without recursion) -> YAML parse (syntax errors, duplicate
 * keys) -> restore string scalars YAML would have read as numbers -> zod schema (types, ranges,
 * unknown keys) -> cross-field rules and defaults (resolve.ts). Each stage runs only if the previous
 * one had no errors, because later stages rely on the shape the earlier ones guarantee; the depth
 * check comes first because the parser's composer and everything after it recurse.
 *
 * What comes back is for people: issues in file order, at most MAX_ISSUES_PER_FILE per file and
 * severity (a file that is not a configuration gives thousands), and quoting as little of the file
 * as locates the problem (issues.ts excerpt; nothing at all from files only an include glob matched).
 */
import { LineCounter, Parser, isPair, isScalar, isSeq, parseDocument, visit, type CST, type Document, type Scalar } from 'yaml';
import type { z } from 'zod';
import { ConfigSchema, CONFIG_LIMITS, UNSUPPORTED_KEEPALIVED_KEYWORDS, describeValue, unsupportedKeywordMessage, type VrrpdConfig } from './model.js';
import { capIssuesPerFile, closestMatch, excerpt, formatPath, type ConfigIssue, type ConfigIssueCode } from './issues.js';
import { readConfigText } from './files.js';
import { SourceLocator, type LocateTarget, type SourcePosition } from './locate.js';
import { resolveConfig, type PendingIssue } from './resolve.js';
import { detectConfigFormat, readKeepalivedConfig } from './keepalived.js';

export type LoadResult =
  | {
      ok: true;
      config: VrrpdConfig;
      warnings: ConfigIssue[];
      /**
       * Where a setting of the accepted file is written, for checks that run after loading (the
       * cross-node lint of check-config). `path` is the data path, e.g. ['vrrp_instance', 'VI_1',
       * 'priority']; a setting left to its default is placed at the nearest key that is written.
       * Optional so that other front ends (keepalived.conf) may leave it out: callers then have no line.
       */
      locate?: (path: readonly PropertyKey[], target?: LocateTarget) => SourcePosition;
    }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

/** Read and validate one file. I/O failures are issues too (code read_failed / file_too_large). */
export async function loadConfigFile(path: string): Promise<LoadResult> {
  const read = await readConfigText(path);
  if (!read.ok) return failed(path, read.code, read.message);
  return parseConfigText(read.text, path);
}

function failed(file: string, code: ConfigIssueCode, message: string): LoadResult {
  return { ok: false, errors: [{ code, file, line: 0, column: 0, path: '', message }], warnings: [] };
}

/**
 * Keys whose values are text even when they look like numbers or booleans: `auth_pass: 123456`
 * (the seed's own config) is the number 123456 to YAML, and `auth_pass: 0123` would silently become
 * 123. keepalived reads every value as text, so the text as written is what the user meant.
 */
const TEXT_KEYS: ReadonlySet<string> = new Set([
  'auth_pass', 'router_id', 'script_user', 'user', 'interface', 'dev', 'label', 'name', 'script',
  'notify', 'notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'socket',
]);
/** Lists whose plain items are names. */
const TEXT_LIST_KEYS: ReadonlySet<string> = new Set(['track_script', 'track_interface']);

function restoreTextScalars(document: Document, text: string): void {
  const restore = (node: unknown): void => {
    if (!isScalar(node) || node.type !== 'PLAIN' || node.range === undefined || node.range === null) return;
    if (typeof node.value !== 'number' && typeof node.value !== 'boolean' && typeof node.value !== 'bigint') return;
    (node as Scalar).value = (node as Scalar).source ?? text.slice(node.range[0], node.range[1]).trim();
  };
  visit(document, {
    Pair(_, pair) {
      if (!isPair(pair) || !isScalar(pair.key)) return;
      const key = String(pair.key.value);
      if (TEXT_KEYS.has(key)) restore(pair.value);
      if (TEXT_LIST_KEYS.has(key) && isSeq(pair.value)) for (const item of pair.value.items) restore(item);
    },
  });
}

/**
 * Validate YAML or keepalived.conf text. `fileName` is used in issues and, for a keepalived.conf,
 * as the directory that relative `include` patterns start from.
 */
export function parseConfigText(text: string, fileName: string): LoadResult {
  const result = parseAnyText(text, fileName);
  const warnings = capIssuesPerFile(result.warnings, 'warning');
  return result.ok ? { ...result, warnings } : { ...result, errors: capIssuesPerFile(result.errors, 'error'), warnings };
}

function parseAnyText(text: string, fileName: string): LoadResult {
  const warnings: ConfigIssue[] = [];
  if (text.length > CONFIG_LIMITS.maxFileBytes) {
    return failed(fileName, 'file_too_large', `file is ${text.length} characters; the limit is ${CONFIG_LIMITS.maxFileBytes}`);
  }
  // The format is told by content, so /etc/keepalived/keepalived.conf works as it is.
  if (detectConfigFormat(text) === 'keepalived') return parseKeepalivedText(text, fileName);
  const tooDeep = yamlNestingProblem(text, fileName);
  if (tooDeep) return { ok: false, errors: [tooDeep], warnings };
  const lineCounter = new LineCounter();
  let document: Document;
  try {
    document = parseDocument(text, { lineCounter, keepSourceTokens: true, uniqueKeys: true, prettyErrors: false });
  } catch (error) {
    // The parser reports problems as document errors; this is a last guard, not an expected path.
    return failed(fileName, 'yaml_syntax', `cannot parse YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  const locator = new SourceLocator(document, lineCounter);

  for (const warning of document.warnings) {
    warnings.push({ code: 'yaml_warning', file: fileName, ...locator.positionOf(warning.pos[0]), path: '', message: firstLine(warning.message) });
  }
  if (document.errors.length > 0) {
    const errors = document.errors.map((error): ConfigIssue => ({
      code: error.code === 'DUPLICATE_KEY' ? 'duplicate_key' : 'yaml_syntax',
      file: fileName,
      ...locator.positionOf(error.pos[0]),
      path: '',
      message: firstLine(error.message),
    }));
    return { ok: false, errors, warnings };
  }

  // toJS throws on an alias without its anchor, and a `__proto__` key would vanish into an
  // object's prototype on the way through toJS and zod; find both first so they have a place.
  const structureErrors: ConfigIssue[] = [];
  visit(document, {
    Alias(_, alias) {
      if (alias.resolve(document) === undefined) {
        structureErrors.push({
          code: 'yaml_syntax', file: fileName, ...locator.positionOf(alias.range?.[0] ?? 0), path: '',
          message: `alias *${alias.source} has no anchor &${alias.source} before it`,
        });
      }
    },
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === '__proto__') {
        structureErrors.push({ code: 'invalid_name', file: fileName, ...locator.positionOf(pair.key.range?.[0] ?? 0), path: '', message: "'__proto__' cannot be used as a key" });
      }
    },
  });
  if (structureErrors.length > 0) return { ok: false, errors: structureErrors, warnings };

  let data: unknown;
  try {
    restoreTextScalars(document, text);
    data = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Alias abuse (a "billion laughs" file) is refused here; the file as a whole is at fault.
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, errors: [{ code: 'yaml_syntax', file: fileName, line: 1, column: 1, path: '', message: `cannot read YAML: ${reason}` }], warnings };
  }

  const locate = (path: readonly PropertyKey[], target?: LocateTarget): SourcePosition => locator.locate(path, target);
  return validateConfigData(data, (path, target) => ({ file: fileName, ...locate(path, target) }), warnings, [], locate);
}

/**
 * Validate configuration data that is already plain objects (what a YAML file parses to), through
 * the same schema, rules and defaults as a file. Issues carry the file name but no line: there is no
 * text to point into. The simulator builds thousands of random configs this way.
 */
export function parseConfigData(data: unknown, fileName: string): LoadResult {
  return validateConfigData(data, () => ({ file: fileName, line: 1, column: 1 }), []);
}

/**
 * The first collection nested deeper than CONFIG_LIMITS.maxNestingDepth, as an issue. yaml's CST
 * parser keeps its own stack, but its composer, toJS, visit and zod recurse: 100,000 nested `[`
 * ended in "Maximum call stack size exceeded". The CST is walked here with an explicit stack.
 */
function yamlNestingProblem(text: string, fileName: string): ConfigIssue | undefined {
  const lineCounter = new LineCounter();
  const pending: { token: CST.Token; depth: number }[] = [];
  try {
    for (const token of new Parser(lineCounter.addNewLine).parse(text)) pending.push({ token, depth: 0 });
  } catch {
    // The real parse reports whatever this one could not get through.
    return undefined;
  }
  // The first place in the file, whatever order the walk takes.
  let first: number | undefined;
  while (pending.length > 0) {
    const { token, depth } = pending.pop()!;
    if (token.type === 'document') {
      if (token.value) pending.push({ token: token.value, depth });
      continue;
    }
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth + 1 > CONFIG_LIMITS.maxNestingDepth) {
      first = Math.min(first ?? token.offset, token.offset);
      continue;
    }
    for (const item of token.items) {
      if ('key' in item && item.key) pending.push({ token: item.key, depth: depth + 1 });
      if (item.value) pending.push({ token: item.value, depth: depth + 1 });
    }
  }
  if (first === undefined) return undefined;
  const { line, col } = lineCounter.linePos(first);
  return {
    code: 'too_deep', file: fileName, line: Math.max(1, line), column: Math.max(1, col), path: '',
    message: `collections are nested more than ${CONFIG_LIMITS.maxNestingDepth} deep here (a vrrpd configuration needs 4); the file is not read further`,
  };
}

/** Where a setting is written, in either format; a keepalived.conf's includes make `file` vary. */
type PlaceFn = (path: readonly PropertyKey[], target: LocateTarget) => SourcePosition & { file: string };

/** How the data was read, for the shared stages; a YAML file needs none of it. */
interface SourceInfo {
  /** Files in reading order, so issues are sorted file by file (a keepalived.conf's includes). */
  files?: readonly string[];
  /** Whether a key written at this place may be quoted in a message (not in a glob-matched file). */
  mayQuote?: (file: string) => boolean;
}

/**
 * The stages both formats share: the zod schema, then cross-field rules and defaults. `earlierErrors`
 * (found while reading a keepalived.conf) are reported together with the schema's.
 */
function validateConfigData(
  data: unknown,
  place: PlaceFn,
  warnings: ConfigIssue[],
  earlierErrors: ConfigIssue[] = [],
  locate: (path: readonly PropertyKey[], target?: LocateTarget) => SourcePosition = (path, target = 'value') => place(path, target),
  source: SourceInfo = {},
): LoadResult {
  const toIssue = (pending: ShownPending, target: LocateTarget = pending.target ?? 'value'): ConfigIssue => {
    const at = place(pending.path, target);
    // An unknown key may be a line of anything (`include /etc/shadow`): it is repeated only when it
    // looks like a keyword and comes from a file someone named.
    const unknown = pending.unknownKey;
    const why = unknown === undefined ? undefined
      : source.mayQuote !== undefined && !source.mayQuote(at.file) ? 'an include glob matched this file and nobody named it, so it may hold anything'
      : !KEYWORD_SHAPE.test(unknown.key) ? 'it does not look like a keyword'
      : undefined;
    return {
      code: pending.code,
      ...at,
      path: formatPath(why !== undefined ? pending.path.slice(0, -1) : pending.path),
      message: why !== undefined ? `unknown key${unknown!.suggestion ? ` (did you mean '${unknown!.suggestion}'?)` : ''}; it is not repeated here: ${why}` : pending.message,
    };
  };
  const sort = (issues: ConfigIssue[]): ConfigIssue[] => sortByPosition(issues, source.files);

  const parsed = ConfigSchema.safeParse(data, { reportInput: true, error: fallbackMessage });
  if (!parsed.success) {
    const errors = parsed.error.issues.flatMap(zodIssueToPending).map((pending) => toIssue(pending));
    return { ok: false, errors: sort([...earlierErrors, ...errors]), warnings: sort(warnings) };
  }

  const resolved = resolveConfig(parsed.data);
  warnings.push(...resolved.warnings.map((pending) => toIssue(pending)));
  const errors = [...earlierErrors, ...resolved.errors.map((pending) => toIssue(pending))];
  if (errors.length > 0) return { ok: false, errors: sort(errors), warnings: sort(warnings) };
  return { ok: true, config: resolved.config, warnings: sort(warnings), locate };
}

/** A pending issue that may be about an unknown key, which is not always repeated. */
type ShownPending = PendingIssue & { unknownKey?: { key: string; suggestion: string | undefined } };

/** What a misspelt keyword looks like; a line of /etc/shadow or a PEM key does not. */
const KEYWORD_SHAPE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;

/**
 * A keepalived.conf: its own reader builds the same plain data a YAML file gives (keepalived.ts),
 * then the shared stages run. Grammar errors (unbalanced braces, an unreadable include) stop
 * before the schema, as YAML syntax errors do.
 */
function parseKeepalivedText(text: string, fileName: string): LoadResult {
  const read = readKeepalivedConfig(text, fileName);
  if (read.fatal) return { ok: false, errors: sortByPosition(read.errors, read.files), warnings: sortByPosition(read.warnings, read.files) };
  return validateConfigData(read.data, read.place, read.warnings, read.errors, undefined, {
    files: read.files,
    mayQuote: (file) => !read.quietFiles.has(file),
  });
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

/** File by file in reading order (files not listed first, as the main file), then by line and column. */
function sortByPosition(issues: ConfigIssue[], files: readonly string[] = []): ConfigIssue[] {
  const order = new Map(files.map((file, index) => [file, index] as const));
  const rank = (file: string): number => order.get(file) ?? -1;
  return issues.sort((a, b) => rank(a.file) - rank(b.file) || a.line - b.line || a.column - b.column);
}

/** Messages for the few zod checks that carry no message of their own. */
function fallbackMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be ${issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => String(v)).join(', ')}, got ${describeValue(issue.input)}`;
    case 'unrecognized_keys':
      return 'unknown key';
    default:
      return undefined;
  }
}

function zodIssueToPending(issue: z.core.$ZodIssue): ShownPending[] {
  const path = issue.path as PropertyKey[];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = objectKeysAt(ConfigSchema, path);
      return issue.keys.map((key): ShownPending => {
        if (UNSUPPORTED_KEEPALIVED_KEYWORDS.has(key)) {
          return { code: 'unsupported_key', path: [...path, key], target: 'key', message: unsupportedKeywordMessage(key) };
        }
        // A long key is no typo of a short one, and its edit distance costs length x candidates.
        const suggestion = key.length <= 64 ? closestMatch(key, known) : undefined;
        const hint = suggestion ? ` (did you mean '${suggestion}'?)` : known.length > 0 ? ` (expected one of: ${known.join(', ')})` : '';
        return { code: 'unknown_key', path: [...path, key], target: 'key', message: `unknown key '${excerpt(key)}'${hint}`, unknownKey: { key, suggestion } };
      });
    }
    case 'invalid_type':
      return [{ code: issue.input === undefined ? 'missing_key' : 'wrong_type', path, message: issue.message }];
    case 'too_big':
    case 'too_small':
      return [{ code: issue.origin === 'array' ? 'too_many' : 'out_of_range', path, message: issue.message }];
    case 'custom': {
      const code = (issue.params as { code?: ConfigIssueCode } | undefined)?.code ?? 'invalid_value';
      return [{ code, path, message: issue.message }];
    }
    case 'invalid_union':
      return [{ code: 'wrong_type', path, message: issue.message }];
    default:
      return [{ code: 'invalid_value', path, message: issue.message }];
  }
}

/**
 * The keys an object schema at `path` accepts, for "did you mean". Walks the zod definitions
 * through wrappers (optional, default, pipe/preprocess, union) so it follows the schema as written.
 */
function objectKeysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  let current = expand(schema);
  for (const segment of path) {
    current = current.flatMap((node) => {
      const def = definitionOf(node);
      if (def?.type === 'object' && typeof segment === 'string') return expand(def.shape?.[segment]);
      if (def?.type === 'record') return expand(def.valueType);
      if (def?.type === 'array' && typeof segment === 'number') return expand(def.element);
      return [];
    });
  }
  const keys = new Set<string>();
  for (const node of current) {
    const def = definitionOf(node);
    if (def?.type === 'object' && def.shape) for (const key of Object.keys(def.shape)) keys.add(key);
  }
  return [...keys];
}

interface LooseDefinition {
  type?: string;
  shape?: Record<string, unknown>;
  valueType?: unknown;
  element?: unknown;
  innerType?: unknown;
  in?: unknown;
  out?: unknown;
  options?: unknown[];
}

function definitionOf(node: unknown): LooseDefinition | undefined {
  return (node as { _zod?: { def?: LooseDefinition } } | undefined)?._zod?.def;
}

/** A schema and everything it wraps, so callers see the objects, records and arrays inside. */
function expand(node: unknown, depth = 0): unknown[] {
  const def = definitionOf(node);
  if (!def || depth > 16) return [];
  const inner: unknown[] = [];
  if (def.innerType) inner.push(def.innerType);
  if (def.type === 'pipe') inner.push(def.in, def.out);
  if (def.type === 'union' && def.options) inner.push(...def.options);
  return [node, ...inner.flatMap((child) => expand(child, depth + 1))];
}

// Re-exported so callers need one import for the loader and its result types.
export { formatIssue, type ConfigIssue } from './issues.js';
