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
  | 'duplicate_tracker'
  | 'owner_with_weighted_tracker'
  | 'missing_auth_pass'
  | 'conflicting_source'
  | 'missing_check'
  | 'bad_label'
  | 'auth_pass_truncated'
  | 'nopreempt_cleared'
  | 'peer_is_self'
  | 'nopreempt_with_weight';

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

/** Render a path of keys and indexes as `vrrp_instance.VI_1.unicast_peer[1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
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
