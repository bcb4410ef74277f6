/**
 * keepalived.conf -> the same plain object a vrrpd YAML file parses to, plus a locator from a
 * setting's path to its file:line:column. load.ts then runs the one zod schema and the one set of
 * cross-field rules over it, so both formats get the same checks and the same messages.
 *
 * Every keyword is accounted for:
 * - keywords with a vrrpd equivalent become the field of the same name;
 * - keywords vrrpd ignores without changing what the cluster does (e-mail, SNMP, scheduling,
 *   GARP pacing, ...) are warnings that say so and what it means;
 * - anything else (IPVS, VMACs, misspellings) is put into the object as written, so the
 *   schema reports it exactly as for YAML: "unknown key" with a suggestion, or "a keepalived keyword
 *   that vrrpd does not support". Those are errors.
 *
 * Values are text in keepalived; a value becomes a number only where the schema wants one and the
 * text is a plain decimal, so `priority high` is reported by the schema as "got 'high'", like YAML.
 */
import { excerpt, formatPath, QUOTE_LIMIT, type ConfigIssue, type ConfigIssueCode } from './issues.js';
import type { LocateTarget } from './locate.js';
import { commentKey, fileSystemIncludes, parseKeepalivedConf, type IncludeReader, type SourcePlace, type Statement, type Word } from './keepalived-parse.js';

export type ConfigFormat = 'yaml' | 'keepalived';

/** keepalived's top-level block keywords; a first line starting with one is keepalived.conf. */
const KEEPALIVED_TOP_LEVEL = new Set([
  'global_defs', 'vrrp_script', 'track_file', 'vrrp_instance', 'vrrp_sync_group', 'include', 'virtual_server', 'virtual_server_group',
  'static_ipaddress', 'static_routes', 'static_rules', 'vrrp_track_file', 'vrrp_track_process', 'garp_group',
  'bfd_instance', 'linkbeat_interfaces', 'net_namespace', 'instance',
]);

/**
 * Which grammar a file is written in, from its content alone. keepalived's grammar has blocks
 * (`word ... {`, `}`) and `!` comments; YAML has `key:` lines. Each significant line (comments and
 * blank lines left out) votes; the first significant line breaks a tie, and text that looks like
 * neither is YAML, whose parser then reports it.
 */
export function detectConfigFormat(text: string): ConfigFormat {
  let yamlLines = 0;
  let braceLines = 0;
  let first: ConfigFormat | undefined;
  for (const raw of text.split('\n', 2000)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const yamlLike = /^(- +)?[^\s#!:{}"'][^\s:{}]*:(\s|$)/.test(line) || line === '---' || line.startsWith('%YAML') || line.startsWith('- ');
    const withoutStrings = line.replace(/"[^"]*"/g, '""');
    const braceLike = /^[}{]/.test(withoutStrings) || /[{}]\s*([#!].*)?$/.test(withoutStrings);
    if (yamlLike) yamlLines++;
    else if (braceLike) braceLines++;
    if (first === undefined) {
      const keyword = /^[A-Za-z_]+/.exec(line)?.[0];
      if (yamlLike) first = 'yaml';
      else if (braceLike || (keyword !== undefined && KEEPALIVED_TOP_LEVEL.has(keyword))) first = 'keepalived';
      else first = 'yaml';
    }
  }
  if (braceLines > 0 && yamlLines === 0) return 'keepalived';
  if (yamlLines > 0 && braceLines === 0) return 'yaml';
  return first ?? 'yaml';
}

// ---------------------------------------------------------------------------------------------
// Keyword tables.
// ---------------------------------------------------------------------------------------------

/**
 * number: one value, a number where it is a plain decimal. text: one value as written.
 * words: one or more values joined by a space (`script_user root root`). command: the same, for
 * scripts (vrrpd splits them on whitespace like keepalived). flag: no value, means true.
 */
type ValueKind = 'number' | 'text' | 'words' | 'command' | 'flag';

const GLOBAL_DEFS_KEYWORDS: Record<string, ValueKind> = {
  router_id: 'text',
  vrrp_version: 'number',
  script_user: 'words',
  enable_script_security: 'flag',
  vrrp_garp_master_delay: 'number',
  vrrp_garp_master_repeat: 'number',
  vrrp_garp_master_refresh: 'number',
  vrrp_skip_check_adv_addr: 'flag',
  vrrp_startup_delay: 'number',
  vrrp_check_unicast_src: 'flag',
  notify_fifo: 'words',
  notify_fifo_script: 'command',
  vrrp_notify_fifo: 'words',
  vrrp_notify_fifo_script: 'command',
};

const VRRP_SCRIPT_KEYWORDS: Record<string, ValueKind> = {
  script: 'command',
  interval: 'number',
  timeout: 'number',
  rise: 'number',
  fall: 'number',
  user: 'words',
  init_fail: 'flag',
  // weight W [reverse]: handled on its own.
};

const VRRP_INSTANCE_KEYWORDS: Record<string, ValueKind> = {
  state: 'text',
  interface: 'text',
  virtual_router_id: 'number',
  priority: 'number',
  version: 'number',
  advert_int: 'number',
  nopreempt: 'flag',
  preempt_delay: 'number',
  unicast_src_ip: 'text',
  mcast_src_ip: 'text',
  dont_track_primary: 'flag',
  native_ipv6: 'flag',
  garp_master_delay: 'number',
  garp_master_repeat: 'number',
  garp_master_refresh: 'number',
  check_unicast_src: 'flag',
  unicast_fault_no_peer: 'flag',
  skip_check_adv_addr: 'flag',
  notify_master: 'command',
  notify_backup: 'command',
  notify_fault: 'command',
  notify_stop: 'command',
  notify: 'command',
};

const AUTHENTICATION_KEYWORDS: Record<string, ValueKind> = {
  auth_type: 'text',
  // keepalived takes the first word only.
  auth_pass: 'text',
};

/** Keywords vrrpd ignores because they do not change what the cluster does; the reason is the warning. */
const NO_EMAIL = 'vrrpd sends no e-mail; use notify scripts to be told about transitions';
const NO_SNMP = 'vrrpd has no SNMP agent; use `vrrpd status --json` or the logs';
const NO_SCHEDULING = 'vrrpd runs as an ordinary process; give it priority with systemd (Nice=, CPUSchedulingPolicy=, MemoryLock)';
const GARP_PACING = 'vrrpd sends each GARP burst back to back (garp_master_repeat per VIP, again after garp_master_delay)';
const NO_IPVS = 'vrrpd does not do IPVS; nothing is synchronised';

const IGNORED_GLOBAL_DEFS: Record<string, string> = {
  notification_email: NO_EMAIL, notification_email_from: NO_EMAIL, smtp_server: NO_EMAIL, smtp_connect_timeout: NO_EMAIL,
  smtp_helo_name: NO_EMAIL, smtp_alert: NO_EMAIL, smtp_alert_vrrp: NO_EMAIL, smtp_alert_checker: NO_EMAIL, email_faults: NO_EMAIL,
  enable_traps: NO_SNMP, enable_snmp_vrrp: NO_SNMP, enable_snmp_keepalived: NO_SNMP, enable_snmp_rfc: NO_SNMP,
  enable_snmp_rfcv2: NO_SNMP, enable_snmp_rfcv3: NO_SNMP, enable_snmp_checker: NO_SNMP, snmp_socket: NO_SNMP,
  lvs_id: NO_IPVS, lvs_flush: NO_IPVS, lvs_sync_daemon: NO_IPVS, lvs_timeouts: NO_IPVS,
  vrrp_priority: NO_SCHEDULING, vrrp_no_swap: NO_SCHEDULING, vrrp_rt_priority: NO_SCHEDULING, vrrp_rlimit_rttime: NO_SCHEDULING,
  vrrp_cpu_affinity: NO_SCHEDULING, max_auto_priority: NO_SCHEDULING, checker_priority: NO_SCHEDULING, checker_no_swap: NO_SCHEDULING,
  vrrp_garp_interval: GARP_PACING, vrrp_gna_interval: GARP_PACING, vrrp_garp_master_refresh_repeat: GARP_PACING,
  vrrp_garp_lower_prio_delay: GARP_PACING, vrrp_garp_lower_prio_repeat: GARP_PACING,
  vrrp_iptables: 'vrrpd adds no iptables rules (keepalived only adds them with vrrp_strict)',
  vrrp_ipsets: 'vrrpd adds no ipsets (keepalived only uses them with vrrp_strict)',
  dynamic_interfaces: 'vrrpd always waits for a missing interface: the instance is FAULT until it appears',
  script_security: 'use enable_script_security',
};

const IGNORED_INSTANCE: Record<string, string> = {
  smtp_alert: NO_EMAIL,
  debug: 'use `vrrpd run --log-level debug`',
  lvs_sync_daemon_interface: NO_IPVS,
  garp_master_refresh_repeat: GARP_PACING,
  garp_lower_prio_delay: GARP_PACING,
  garp_lower_prio_repeat: GARP_PACING,
  kernel_rx_buf_size: 'vrrpd sizes its socket buffers itself',
  linkbeat_use_polling: 'vrrpd watches links through netlink',
  promote_secondaries: 'vrrpd does not set it; set net.ipv4.conf.<interface>.promote_secondaries=1 with sysctl if you rely on it',
  accept: 'vrrpd never blocks traffic to the VIPs (keepalived only does with vrrp_strict), which is what accept means',
  no_accept: 'vrrpd never blocks traffic to the VIPs; keepalived only does so with vrrp_strict, which vrrpd does not support',
};

/** Keywords whose value decides whether ignoring them is harmless. */
function ignoredWithValue(keyword: string, words: Word[]): string | undefined {
  const value = words[1]?.text;
  if (keyword === 'vrrp_mcast_group4' && value === '224.0.0.18') return 'vrrpd always uses 224.0.0.18, which is what this asks for';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The mapping.
// ---------------------------------------------------------------------------------------------

/** A note for import-keepalived: said as a comment inside the mapping at `path`. */
export interface ImportNote {
  path: PropertyKey[];
  text: string;
}

export interface KeepalivedRead {
  /** The plain object, shaped like parsed YAML; meaningful only when `fatal` is false. */
  data: Record<string, unknown>;
  /** Errors found while reading (grammar, values keepalived itself would refuse, ...). */
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
  /** True when the structure is too broken to validate (unbalanced braces, unreadable include). */
  fatal: boolean;
  place(path: readonly PropertyKey[], target?: LocateTarget): SourcePlace;
  notes: ImportNote[];
  /** The comment at the end of the line a setting is written on, if any. */
  trailingCommentOf(path: readonly PropertyKey[]): string | undefined;
  /** Every file read, in reading order (the main one first). */
  files: readonly string[];
  /** Files only an include glob matched: messages quote nothing from them (keepalived-parse.ts). */
  quietFiles: ReadonlySet<string>;
}

interface Located {
  key: SourcePlace;
  value: SourcePlace;
}

function pathKey(path: readonly PropertyKey[]): string {
  return path.map((segment) => (typeof segment === 'number' ? `#${segment}` : `.${String(segment)}`)).join('\u0000');
}

const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** keepalived reads numbers with strtol/strtod after its quotes are gone: `weight "-20"` is -20. */
function numberOrText(text: string): number | string {
  return NUMBER_TEXT.test(text.trim()) ? Number(text.trim()) : text;
}

class Mapper {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];
  readonly notes: ImportNote[] = [];
  private readonly places = new Map<string, Located>();

  constructor(private readonly rootFile: string) {}

  record(path: PropertyKey[], key: SourcePlace, value: SourcePlace = key): void {
    // Copies: callers pass Words, and an issue spreads its place.
    this.places.set(pathKey(path), { key: placeOf(key), value: placeOf(value) });
  }

  place(path: readonly PropertyKey[], target: LocateTarget = 'value'): SourcePlace {
    for (let n = path.length; n >= 0; n--) {
      const found = this.places.get(pathKey(path.slice(0, n)));
      // A path that goes past what the file says (a missing key) points at the deepest thing that
      // exists, by its keyword, as the YAML locator does.
      if (found) return n === path.length ? found[target] : found.key;
    }
    return { file: this.rootFile, line: 1, column: 1 };
  }

  /** Where exactly `path` is written, or undefined when the file does not say it. */
  exactPlace(path: readonly PropertyKey[]): SourcePlace | undefined {
    return this.places.get(pathKey(path))?.key;
  }

  issue(severity: 'error' | 'warning', code: ConfigIssueCode, place: SourcePlace, path: PropertyKey[], message: string): void {
    const issue: ConfigIssue = { code, file: place.file, line: place.line, column: place.column, path: formatPath(path), message };
    (severity === 'error' ? this.errors : this.warnings).push(issue);
  }

  /** A keyword vrrpd ignores on purpose: a warning, and a comment in imported YAML. */
  ignored(statement: Statement, parent: PropertyKey[], why: string): void {
    const keyword = statement.words[0]!;
    this.issue('warning', 'unsupported_key', keyword, [...parent, keyword.text], `'${keyword.text}' is ignored: ${why}`);
    this.notes.push({ path: parent, text: `keepalived '${statement.words.map((w) => w.text).join(' ')}${statement.block ? ' { ... }' : ''}' (${keyword.file}:${keyword.line}) is ignored: ${why}` });
  }

  /** A name for a record key: refuse what would not survive as an object key. */
  nameOf(statement: Statement, section: string): Word | undefined {
    const keyword = statement.words[0]!;
    const name = statement.words[1];
    if (!name) {
      this.issue('error', 'missing_key', keyword, [section], `'${section}' needs a name, as in '${section} VI_1 {'`);
      return undefined;
    }
    for (const extra of statement.words.slice(2)) {
      this.issue('error', 'invalid_value', extra, [section, name.text], `unexpected '${excerpt(extra.text)}' after '${section} ${excerpt(name.text)}'`);
    }
    if (name.text === '__proto__') {
      this.issue('error', 'invalid_name', name, [section], "'__proto__' cannot be used as a name");
      return undefined;
    }
    return name;
  }

  requireBlock(statement: Statement, path: PropertyKey[]): Statement[] | undefined {
    if (statement.block) return statement.block;
    const keyword = statement.words[0]!;
    this.issue('error', 'conf_syntax', keyword, path, `'${keyword.text}' needs a block: '${keyword.text}${statement.words.length > 1 ? ' ...' : ''} { ... }'`);
    return undefined;
  }

  /** A `keyword value...` line into `target[keyword]`. */
  scalar(statement: Statement, kind: ValueKind, target: Record<string, unknown>, path: PropertyKey[]): void {
    const [keyword, ...values] = statement.words as [Word, ...Word[]];
    const fieldPath = [...path, keyword.text];
    if (statement.block) {
      this.issue('error', 'conf_syntax', statement.open ?? keyword, fieldPath, `'${keyword.text}' takes ${kind === 'flag' ? 'no value' : 'a value'}, not a block`);
      return;
    }
    if (Object.hasOwn(target, keyword.text)) {
      const earlier = this.places.get(pathKey(fieldPath));
      this.issue('warning', 'duplicate_key', keyword, fieldPath,
        `'${keyword.text}' is set again${earlier ? ` (first at line ${earlier.key.line}${earlier.key.file === keyword.file ? '' : ` of ${earlier.key.file}`})` : ''}; this later one wins, as in keepalived`);
    }
    if (kind === 'flag') {
      if (values.length > 0) {
        this.issue('error', 'invalid_value', values[0]!, fieldPath,
          `'${keyword.text}' takes no value: keepalived reads '${keyword.text} ${excerpt(values[0]!.text)}' as ${keyword.text} on. Remove the line to turn it off`);
      }
      target[keyword.text] = true;
      this.record(fieldPath, keyword);
      return;
    }
    if (values.length === 0) {
      // Like `priority:` in YAML: the schema says "got an empty value" at the keyword.
      target[keyword.text] = null;
      this.record(fieldPath, keyword);
      return;
    }
    const first = values[0]!;
    this.record(fieldPath, keyword, first);
    if (kind === 'words' || kind === 'command') {
      target[keyword.text] = values.length === 1 ? first.text : values.map((w) => w.text).join(' ');
      return;
    }
    for (const extra of values.slice(1)) {
      this.issue('warning', 'invalid_value', extra, fieldPath, `'${excerpt(extra.text)}' after '${keyword.text} ${excerpt(first.text)}' is ignored (keepalived ignores it too)`);
    }
    target[keyword.text] = kind === 'number' ? numberOrText(first.text) : first.text;
  }

  /** Everything with no vrrpd field: into the object as written, for the schema to name. */
  unknown(statement: Statement, target: Record<string, unknown>, path: PropertyKey[]): void {
    const keyword = statement.words[0]!;
    if (keyword.text === '__proto__') {
      this.issue('error', 'invalid_name', keyword, path, "'__proto__' cannot be used as a key");
      return;
    }
    const value = statement.words.length > 1 ? statement.words.slice(1).map((w) => w.text).join(' ') : statement.block ? {} : true;
    target[keyword.text] = value;
    this.record([...path, keyword.text], keyword, statement.words[1] ?? keyword);
  }
}

function mapGlobalDefs(mapper: Mapper, block: Statement[], target: Record<string, unknown>): void {
  const path = ['global_defs'];
  for (const statement of block) {
    const keyword = statement.words[0]!.text;
    const kind = GLOBAL_DEFS_KEYWORDS[keyword];
    if (kind) mapper.scalar(statement, kind, target, path);
    else if (IGNORED_GLOBAL_DEFS[keyword]) mapper.ignored(statement, path, IGNORED_GLOBAL_DEFS[keyword]);
    else if (ignoredWithValue(keyword, statement.words)) mapper.ignored(statement, path, ignoredWithValue(keyword, statement.words)!);
    else mapper.unknown(statement, target, path);
  }
}

function mapScript(mapper: Mapper, block: Statement[], target: Record<string, unknown>, path: PropertyKey[]): void {
  for (const statement of block) {
    const keyword = statement.words[0]!;
    if (keyword.text === 'weight' && !statement.block) {
      // weight W [reverse]
      const [, value, ...rest] = statement.words;
      const single: Statement = { words: value ? [keyword, value] : [keyword] };
      mapper.scalar(single, 'number', target, path);
      for (const extra of rest) {
        if (extra.text === 'reverse' && target['reverse'] === undefined) {
          target['reverse'] = true;
          mapper.record([...path, 'reverse'], extra);
        } else {
          mapper.issue('error', 'invalid_value', extra, [...path, 'weight'], `unexpected '${excerpt(extra.text)}' after 'weight ${excerpt(value?.text ?? '')}' (only 'reverse' may follow)`);
        }
      }
      continue;
    }
    const kind = VRRP_SCRIPT_KEYWORDS[keyword.text];
    if (kind) mapper.scalar(statement, kind, target, path);
    else mapper.unknown(statement, target, path);
  }
}

/**
 * `vrrp_track_file NAME { file PATH; weight W [reverse]; init_file [VALUE] [overwrite] }` (also the
 * top-level `track_file NAME {...}`, its newer name): `init_file` becomes {value, overwrite}.
 */
function mapTrackFile(mapper: Mapper, block: Statement[], target: Record<string, unknown>, path: PropertyKey[]): void {
  for (const statement of block) {
    const keyword = statement.words[0]!;
    if (keyword.text === 'init_file' && !statement.block) {
      const init: Record<string, unknown> = {};
      for (const word of statement.words.slice(1)) {
        if (word.text === 'overwrite' && init['overwrite'] === undefined) init['overwrite'] = true;
        else if (/^-?\d/.test(word.text) && init['value'] === undefined) init['value'] = numberOrText(word.text);
        else mapper.issue('error', 'invalid_value', word, [...path, 'init_file'], `unexpected '${excerpt(word.text)}' after init_file (expected init_file [VALUE] [overwrite])`);
      }
      target['init_file'] = init;
      mapper.record([...path, 'init_file'], keyword, statement.words[1] ?? keyword);
      continue;
    }
    if (keyword.text === 'file' && !statement.block) {
      mapper.scalar(statement, 'text', target, path);
      continue;
    }
    if (keyword.text === 'weight' && !statement.block) {
      mapScript(mapper, [statement], target, path);
      continue;
    }
    mapper.unknown(statement, target, path);
  }
}

/** `NAME [weight W] [reverse]`: a plain name, or the {name, weight, reverse} mapping. */
function mapTrackEntries(mapper: Mapper, block: Statement[], list: unknown[], path: PropertyKey[]): void {
  for (const statement of block) {
    const [name, ...rest] = statement.words as [Word, ...Word[]];
    const entryPath = [...path, list.length];
    if (statement.block) mapper.issue('error', 'conf_syntax', statement.open ?? name, entryPath, `a ${String(path[path.length - 1])} entry takes no block`);
    mapper.record(entryPath, name);
    mapper.record([...entryPath, 'name'], name);
    const entry: Record<string, unknown> = { name: name.text };
    for (let i = 0; i < rest.length; i++) {
      const word = rest[i]!;
      if (word.text === 'weight' && entry['weight'] === undefined) {
        const value = rest[i + 1];
        if (!value) {
          entry['weight'] = null;
          mapper.record([...entryPath, 'weight'], word);
        } else {
          entry['weight'] = numberOrText(value.text);
          mapper.record([...entryPath, 'weight'], word, value);
          i++;
        }
      } else if (word.text === 'reverse' && entry['reverse'] === undefined) {
        entry['reverse'] = true;
        mapper.record([...entryPath, 'reverse'], word);
      } else {
        mapper.issue('error', 'invalid_value', word, entryPath, `unexpected '${excerpt(word.text)}' in '${excerpt(statement.words.map((w) => w.text).join(' '), 2 * QUOTE_LIMIT)}' (expected NAME [weight W] [reverse], one per line)`);
      }
    }
    list.push(Object.keys(entry).length === 1 ? name.text : entry);
  }
}

/**
 * One address per word, so `unicast_peer { a b }` gives both peers, as its writer meant; keepalived
 * 2.2.7 reads only the first address of a line (it takes the second for an option and reports it),
 * so that is a warning. min_ttl/max_ttl are ignored.
 */
function mapPeers(mapper: Mapper, block: Statement[], list: unknown[], path: PropertyKey[]): void {
  for (const statement of block) {
    if (statement.block) mapper.issue('error', 'conf_syntax', statement.open ?? statement.words[0]!, path, 'a unicast_peer entry takes no block');
    const words = statement.words;
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!;
      if (i > 0 && word.text !== 'min_ttl' && word.text !== 'max_ttl') {
        mapper.issue('warning', 'invalid_value', word, [...path, list.length],
          `${excerpt(word.text)} is taken as a further peer; keepalived 2.2.7 reads only the first address of a line (it reports '${excerpt(word.text)}' as an unknown option), so a keepalived node given this file would not send to it. Write one peer per line`);
      }
      if (word.text === 'min_ttl' || word.text === 'max_ttl') {
        mapper.issue('warning', 'unsupported_key', word, path, `'${word.text}' is ignored: vrrpd does not filter peers' adverts by TTL (keepalived 2.2.7 does not check unicast TTL either)`);
        mapper.notes.push({ path: path.slice(0, -1), text: `unicast_peer option '${word.text} ${words[i + 1]?.text ?? ''}' (${word.file}:${word.line}) is ignored: vrrpd does not filter peers by TTL` });
        i++;
        continue;
      }
      mapper.record([...path, list.length], word);
      list.push(word.text);
    }
  }
}

/**
 * `ADDR[/LEN] [dev X] [label X] [brd B]` per line, kept as the string the YAML form also accepts so
 * the schema checks both the same way. `scope global` is what vrrpd does anyway; `broadcast` is
 * keepalived's long spelling of brd.
 */
function mapVirtualAddresses(mapper: Mapper, block: Statement[], list: unknown[], path: PropertyKey[]): void {
  for (const statement of block) {
    const entryPath = [...path, list.length];
    if (statement.block) mapper.issue('error', 'conf_syntax', statement.open ?? statement.words[0]!, entryPath, 'a virtual_ipaddress entry takes no block');
    const words: Word[] = [];
    for (let i = 0; i < statement.words.length; i++) {
      const word = statement.words[i]!;
      if (i > 0 && word.text === 'scope' && statement.words[i + 1]?.text === 'global') {
        i++;
        continue;
      }
      words.push(word.text === 'broadcast' ? { ...word, text: 'brd' } : word);
    }
    const [address, ...options] = words as [Word, ...Word[]];
    mapper.record(entryPath, address);
    mapper.record([...entryPath, 'address'], address);
    for (let i = 0; i + 1 < options.length; i += 2) mapper.record([...entryPath, options[i]!.text], options[i]!, options[i + 1]!);
    list.push(words.map((w) => w.text).join(' '));
  }
}

function mapAuthentication(mapper: Mapper, block: Statement[], target: Record<string, unknown>, path: PropertyKey[]): void {
  for (const statement of block) {
    const kind = AUTHENTICATION_KEYWORDS[statement.words[0]!.text];
    if (kind) mapper.scalar(statement, kind, target, path);
    else mapper.unknown(statement, target, path);
  }
}

const LIST_BLOCKS = ['unicast_peer', 'virtual_ipaddress', 'track_script', 'track_interface', 'track_file'] as const;

function mapInstance(mapper: Mapper, block: Statement[], target: Record<string, unknown>, path: PropertyKey[]): void {
  for (let statement of block) {
    const keyword = statement.words[0]!;
    const name = keyword.text;
    if ((LIST_BLOCKS as readonly string[]).includes(name)) {
      const fieldPath = [...path, name];
      // Without its block (`virtual_ipaddress 10.0.0.50`) it is an error; the words are still read
      // as one entry so that the schema does not add "is required" for the same line.
      const body = mapper.requireBlock(statement, fieldPath) ?? [{ words: statement.words.slice(1) }].filter((line) => line.words.length > 0);
      if (!statement.block) statement = { words: [keyword] };
      for (const extra of statement.words.slice(1)) mapper.issue('error', 'invalid_value', extra, fieldPath, `unexpected '${excerpt(extra.text)}' before the '{' of ${name}`);
      // keepalived adds to the list when a block is repeated.
      const list = (Array.isArray(target[name]) ? target[name] : (target[name] = [])) as unknown[];
      if (list.length === 0) mapper.record(fieldPath, keyword, statement.open ?? keyword);
      if (name === 'unicast_peer') mapPeers(mapper, body, list, fieldPath);
      else if (name === 'virtual_ipaddress') mapVirtualAddresses(mapper, body, list, fieldPath);
      else mapTrackEntries(mapper, body, list, fieldPath);
      continue;
    }
    if (name === 'authentication') {
      const fieldPath = [...path, name];
      const body = mapper.requireBlock(statement, fieldPath);
      if (!body) continue;
      const auth = (typeof target[name] === 'object' && target[name] !== null ? target[name] : (target[name] = {})) as Record<string, unknown>;
      mapper.record(fieldPath, keyword, statement.open ?? keyword);
      mapAuthentication(mapper, body, auth, fieldPath);
      continue;
    }
    if (name === 'old_unicast_checksum' && !statement.block) {
      // keepalived: bare = the 224.0.0.18 pseudo-header, `never` = no automatic switch to it.
      const [, mode, ...extra] = statement.words;
      const fieldPath = [...path, name];
      if (mode !== undefined && mode.text !== 'never') {
        mapper.issue('error', 'invalid_value', mode, fieldPath, `unknown old_unicast_checksum mode '${excerpt(mode.text)}' (keepalived ignores it with "Unknown old_unicast_chksum mode"): write \`old_unicast_checksum\` or \`old_unicast_checksum never\``);
      }
      for (const word of extra) mapper.issue('warning', 'invalid_value', word, fieldPath, `'${excerpt(word.text)}' after '${statement.words.slice(0, 2).map((w) => w.text).join(' ')}' is ignored (keepalived ignores it too)`);
      target[name] = mode?.text === 'never' ? 'never' : true;
      mapper.record(fieldPath, keyword, mode ?? keyword);
      continue;
    }
    if (name === 'preempt' && statement.words.length === 1 && !statement.block) {
      // keepalived's explicit default; it undoes an earlier nopreempt.
      target['nopreempt'] = false;
      mapper.record([...path, 'nopreempt'], keyword);
      continue;
    }
    const kind = VRRP_INSTANCE_KEYWORDS[name];
    if (kind) mapper.scalar(statement, kind, target, path);
    else if (IGNORED_INSTANCE[name]) mapper.ignored(statement, path, IGNORED_INSTANCE[name]);
    else if (ignoredWithValue(name, statement.words)) mapper.ignored(statement, path, ignoredWithValue(name, statement.words)!);
    else mapper.unknown(statement, target, path);
  }
}

const SYNC_GROUP_KEYWORDS: Record<string, ValueKind> = {
  notify_master: 'command',
  notify_backup: 'command',
  notify_fault: 'command',
  notify_stop: 'command',
  notify: 'command',
  sync_group_tracking_weight: 'flag',
};

const IGNORED_SYNC_GROUP: Record<string, string> = {
  smtp_alert: NO_EMAIL,
  notify_priority_changes: 'vrrpd has no notify FIFO, which is where keepalived reports priority changes',
};

/**
 * `vrrp_sync_group NAME { group { VI_1 VI_2 } track_* { ... } notify_* CMD ... }`: `group` lists
 * instance names, any number per line as keepalived reads them; `global_tracking` is keepalived's
 * deprecated spelling of sync_group_tracking_weight.
 */
function mapSyncGroup(mapper: Mapper, block: Statement[], target: Record<string, unknown>, path: PropertyKey[]): void {
  for (const statement of block) {
    const keyword = statement.words[0]!;
    const name = keyword.text;
    const fieldPath = [...path, name];
    if (name === 'group') {
      const body = mapper.requireBlock(statement, fieldPath);
      if (!body) continue;
      if (Array.isArray(target['group'])) {
        mapper.issue('error', 'duplicate_key', keyword, fieldPath, 'the group list is given twice (keepalived: "Group list already specified for sync group"); list every member in one group block');
        continue;
      }
      const list: unknown[] = [];
      target['group'] = list;
      mapper.record(fieldPath, keyword, statement.open ?? keyword);
      for (const line of body) {
        if (line.block) mapper.issue('error', 'conf_syntax', line.open ?? line.words[0]!, fieldPath, 'a group entry takes no block');
        for (const word of line.words) {
          mapper.record([...fieldPath, list.length], word);
          list.push(word.text);
        }
      }
      continue;
    }
    if (name === 'track_script' || name === 'track_interface' || name === 'track_file') {
      const body = mapper.requireBlock(statement, fieldPath);
      if (!body) continue;
      const list = (Array.isArray(target[name]) ? target[name] : (target[name] = [])) as unknown[];
      if (list.length === 0) mapper.record(fieldPath, keyword, statement.open ?? keyword);
      mapTrackEntries(mapper, body, list, fieldPath);
      continue;
    }
    if (name === 'global_tracking' && !statement.block) {
      mapper.issue('warning', 'duplicate_key', keyword, fieldPath, 'global_tracking is deprecated (keepalived says so too); it means sync_group_tracking_weight, write that instead');
      target['sync_group_tracking_weight'] = true;
      mapper.record([...path, 'sync_group_tracking_weight'], keyword);
      continue;
    }
    const kind = SYNC_GROUP_KEYWORDS[name];
    if (kind) mapper.scalar(statement, kind, target, path);
    else if (IGNORED_SYNC_GROUP[name]) mapper.ignored(statement, path, IGNORED_SYNC_GROUP[name]);
    else mapper.unknown(statement, target, path);
  }
}

function sectionOf(data: Record<string, unknown>, key: string): Record<string, unknown> {
  const existing = data[key];
  if (typeof existing === 'object' && existing !== null && !Array.isArray(existing)) return existing as Record<string, unknown>;
  const fresh: Record<string, unknown> = {};
  data[key] = fresh;
  return fresh;
}

export interface ReadKeepalivedOptions {
  /** How `include` reads files; the real file system by default. */
  includes?: IncludeReader;
}

/** keepalived.conf text -> the plain object, its locator, and the issues found on the way. */
export function readKeepalivedConfig(text: string, fileName: string, options: ReadKeepalivedOptions = {}): KeepalivedRead {
  const parsed = parseKeepalivedConf(text, fileName, options.includes ?? fileSystemIncludes);
  const mapper = new Mapper(fileName);
  let fatal = false;
  for (const issue of parsed.issues) {
    if (issue.severity === 'error') fatal = true;
    mapper.issue(issue.severity, issue.code, issue.place, [], issue.message);
  }

  const data: Record<string, unknown> = {};
  mapper.record([], { file: fileName, line: 1, column: 1 });
  if (fatal) {
    // The tree is not what the file meant (a missing '}' moves everything after it): mapping it
    // would only add errors that are consequences of the first.
    return {
      data, errors: mapper.errors, warnings: mapper.warnings, fatal, place: (path, target) => mapper.place(path, target), notes: [], trailingCommentOf: () => undefined,
      files: parsed.files, quietFiles: parsed.quietFiles,
    };
  }
  for (const statement of parsed.statements) {
    const keyword = statement.words[0]!;
    switch (keyword.text) {
      case 'global_defs': {
        const body = mapper.requireBlock(statement, ['global_defs']);
        if (!body) break;
        for (const extra of statement.words.slice(1)) mapper.issue('error', 'invalid_value', extra, ['global_defs'], `unexpected '${excerpt(extra.text)}' after global_defs`);
        const target = sectionOf(data, 'global_defs');
        mapper.record(['global_defs'], keyword, statement.open ?? keyword);
        mapGlobalDefs(mapper, body, target);
        break;
      }
      case 'vrrp_script':
      case 'vrrp_track_file':
      case 'track_file':
      case 'vrrp_sync_group':
      case 'vrrp_instance': {
        // `track_file NAME {...}` at the top level is keepalived 2.1's name for vrrp_track_file.
        const section = keyword.text === 'track_file' ? 'vrrp_track_file' : keyword.text;
        const records = sectionOf(data, section);
        if (!mapper.exactPlace([section])) mapper.record([section], keyword);
        const name = mapper.nameOf(statement, section);
        const body = mapper.requireBlock(statement, name ? [section, name.text] : [section]);
        if (!name || !body) break;
        const path = [section, name.text];
        if (Object.hasOwn(records, name.text)) {
          mapper.issue('error', 'duplicate_key', name, path, `${section} ${name.text} is defined twice (first at ${describePlace(mapper.place(path, 'key'), name.file)})`);
          break;
        }
        const target: Record<string, unknown> = {};
        records[name.text] = target;
        mapper.record(path, name, name);
        if (section === 'vrrp_script') mapScript(mapper, body, target, path);
        else if (section === 'vrrp_track_file') mapTrackFile(mapper, body, target, path);
        else if (section === 'vrrp_sync_group') mapSyncGroup(mapper, body, target, path);
        else mapInstance(mapper, body, target, path);
        break;
      }
      default:
        mapper.unknown(statement, data, []);
    }
  }

  return {
    data,
    errors: mapper.errors,
    warnings: mapper.warnings,
    fatal,
    place: (path, target) => mapper.place(path, target),
    notes: mapper.notes,
    trailingCommentOf: (path) => {
      const at = mapper.exactPlace(path);
      return at ? parsed.trailingComments.get(commentKey(at.file, at.line)) : undefined;
    },
    files: parsed.files,
    quietFiles: parsed.quietFiles,
  };
}

function placeOf(place: SourcePlace): SourcePlace {
  return { file: place.file, line: place.line, column: place.column };
}

function describePlace(place: SourcePlace, currentFile: string): string {
  return place.file === currentFile ? `line ${place.line}` : `${place.file}:${place.line}`;
}
