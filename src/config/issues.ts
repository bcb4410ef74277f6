/**
 * Configuration problems as values: every error and warning carries a stable code, the file, the
 * 1-based line and column of the offending node, the dotted path of the setting and a message a
 * person can act on.
 */

/** Stable codes; tests and tools match on these, people read the message. */
export type ConfigIssueCode =
  | 'read_failed'
  | 'file_too_large'
  | 'yaml_syntax'
  /** keepalived.conf grammar: braces, quotes, include, a block where a value belongs. */
  | 'conf_syntax'
  | 'duplicate_key'
  | 'yaml_warning'
  | 'missing_key'
  | 'wrong_type'
  | 'out_of_range'
  | 'invalid_value'
  | 'invalid_address'
  | 'invalid_name'
  | 'unknown_key'
  | 'unsupported_key'
  | 'too_many'
  | 'duplicate_vrid'
  | 'duplicate_address'
  | 'unknown_track_script'
  | 'unknown_track_file'
  | 'duplicate_tracker'
  | 'owner_with_weighted_tracker'
  | 'missing_auth_pass'
  | 'conflicting_source'
  | 'missing_check'
  | 'bad_label'
  | 'auth_pass_truncated'
  | 'nopreempt_cleared'
  | 'peer_is_self'
  | 'nopreempt_with_weight'
  /** An included file, or a directory on the way to it, that someone other than its owner could change. */
  | 'insecure_file'
  /** Collections or blocks nested deeper than a configuration ever needs. */
  | 'too_deep'
  /** A vrrpd endpoint without authentication that other hosts can reach. */
  | 'exposed_endpoint'
  /** advert_int rounded to what the version can carry, as keepalived rounds it. */
  | 'advert_int_rounded'
  /** An authentication block in a VRRPv3 instance: ignored, as keepalived ignores it. */
  | 'v3_authentication_ignored'
  /** An address of the other family than the instance's (IPv4 in an IPv6 instance or the reverse). */
  | 'address_family_mismatch'
  /** `version 2` on an IPv6 instance: VRRP over IPv6 is VRRPv3 only. */
  | 'ipv6_needs_v3'
  /** A setting that changes nothing in this instance (old_unicast_checksum in VRRPv2 or multicast). */
  | 'no_effect'
  /** A vrrp_sync_group member that is no vrrp_instance, or is in another group already. */
  | 'unknown_sync_member'
  | 'duplicate_sync_member'
  /** A sync group rule keepalived applies with a message (one member, weights dropped on members). */
  | 'sync_group_adjusted'
  /** unicast_fault_no_peer with no unicast peer: the instance will stay in FAULT. */
  | 'fault_no_peer';

export interface ConfigIssue {
  code: ConfigIssueCode;
  file: string;
  /** 1-based; 0 when the problem has no place in the file (e.g. it cannot be read). */
  line: number;
  /** 1-based; 0 with line 0. */
  column: number;
  /** Dotted path of the setting, e.g. `vrrp_instance.VI_1.priority`; '' for the whole file. */
  path: string;
  message: string;
}

/** `config error at /etc/vrrpd/vrrpd.yaml:14:5 vrrp_instance.VI_1.priority: must be 1..255, got 300` */
export function formatIssue(issue: ConfigIssue, severity: 'error' | 'warning' = 'error'): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  const path = issue.path === '' ? '' : ` ${issue.path}`;
  return `config ${severity} at ${where}${path}: ${issue.message}`;
}

/**
 * Render a path of keys and indexes as `vrrp_instance.VI_1.unicast_peer[1]`. A key is text from the
 * file (an unknown key can be a whole line of whatever was included), so each is cut like a quote.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = excerpt(String(segment), PATH_SEGMENT_LIMIT);
      out += out === '' ? key : `.${key}`;
    }
  }
  return out;
}

/** Levenshtein distance, for "did you mean" hints. Inputs are short keys; O(n*m) is fine. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The closest candidate if it is close enough to be a plausible typo, else undefined. */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const lowered = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === lowered ? 0 : editDistance(lowered, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A third of the word, at least 2 edits: catches "prority" and "virtual_router" but not "foo" -> "fall".
  const allowed = Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= allowed && bestDistance < word.length ? best : undefined;
}

/** Characters of file content a message quotes at most: enough for any keyword, not for a secret. */
export const QUOTE_LIMIT = 32;
/** A path segment may be a name (up to 64 characters, model.ts maxNameLength): those stay whole. */
const PATH_SEGMENT_LIMIT = 64;

/**
 * Text from a configuration file as a message may repeat it: one line of printable characters, at
 * most `limit` of them. Messages go to terminals and to the journal, and an `include` can pull in
 * any file the daemon can read; a message names the place, it does not reproduce the content.
 */
export function excerpt(text: string, limit: number = QUOTE_LIMIT): string {
  // Control characters (and lone surrogates, invalid UTF-8 read as U+FFFD) would garble a terminal.
  const printable = text.replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\uFFFD]/gu, '?');
  const characters = [...printable];
  return characters.length <= limit ? printable : `${characters.slice(0, limit).join('')}...`;
}

/** Issues shown per file and severity; a file that is not a configuration at all gives thousands. */
export const MAX_ISSUES_PER_FILE = 20;

/**
 * The first MAX_ISSUES_PER_FILE issues of each file, in the order given, and after them one issue
 * per file, placed where the first hidden one is, that says how many more there are.
 */
export function capIssuesPerFile(issues: readonly ConfigIssue[], severity: 'error' | 'warning'): ConfigIssue[] {
  const shown = new Map<string, number>();
  const hidden = new Map<string, { first: ConfigIssue; count: number }>();
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const count = shown.get(issue.file) ?? 0;
    if (count < MAX_ISSUES_PER_FILE) {
      shown.set(issue.file, count + 1);
      out.push(issue);
      continue;
    }
    const entry = hidden.get(issue.file);
    if (entry) entry.count++;
    else hidden.set(issue.file, { first: issue, count: 1 });
  }
  for (const [file, { first, count }] of hidden) {
    // Right after the last shown issue of the same file: the summary ends that file's list.
    let index = out.length;
    for (let i = out.length - 1; i >= 0; i--) {
      if (out[i]!.file === file) {
        index = i + 1;
        break;
      }
    }
    out.splice(index, 0, {
      code: 'too_many', file, line: first.line, column: first.column, path: '',
      message: `... and ${count} more ${severity}${count === 1 ? '' : 's'} in this file from here on, not shown (fix the first ones and check again)`,
    });
  }
  return out;
}
