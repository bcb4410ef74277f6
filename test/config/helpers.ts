/** Shared helpers for the config tests: the example files and a compact way to look at issues. */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseIpv4, type Ipv4 } from '../../src/core/ip.js';
import { parseConfigText, type LoadResult } from '../../src/config/load.js';
import type { ConfigIssue } from '../../src/config/issues.js';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/', import.meta.url));

/** Every example file, as `preempt/master1.yaml` -> text. */
export function exampleFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const mode of ['preempt', 'nopreempt']) {
    for (const name of readdirSync(`${EXAMPLES_DIR}${mode}`).filter((n) => n.endsWith('.yaml')).sort()) {
      files.set(`${mode}/${name}`, readFileSync(`${EXAMPLES_DIR}${mode}/${name}`, 'utf8'));
    }
  }
  return files;
}

export function ip(text: string): Ipv4 {
  const value = parseIpv4(text);
  if (value === undefined) throw new Error(`bad address in test: ${text}`);
  return value;
}

/** `code path @line:column`, the part of an issue tests compare exactly. */
export function where(issue: ConfigIssue): string {
  return `${issue.code} ${issue.path} @${issue.line}:${issue.column}`;
}

export function errorsOf(result: LoadResult): ConfigIssue[] {
  if (result.ok) throw new Error(`expected the config to be rejected, it was accepted (warnings: ${result.warnings.map(where).join('; ')})`);
  return result.errors;
}

export function acceptedConfig(result: LoadResult) {
  if (!result.ok) throw new Error(`expected the config to be accepted: ${result.errors.map((e) => `${where(e)} ${e.message}`).join('; ')}`);
  return result;
}

export function parse(text: string): LoadResult {
  return parseConfigText(text, '/etc/vrrpd/vrrpd.yaml');
}

/**
 * A valid one-instance file, one setting per line so tests can point at a line. Line numbers:
 *  1 vrrp_script:          6 vrrp_instance:        11 priority
 *  2   check:              7   VI_1:               12 authentication (13 auth_type, 14 auth_pass)
 *  3     script            8     state             15 unicast_src_ip
 *  4     interval          9     interface         16 unicast_peer (17, 18)
 *  5     weight           10     virtual_router_id 19 virtual_ipaddress (20)  21 track_script (22)
 */
export const BASE_LINES = [
  'vrrp_script:',
  '  check:',
  '    script: "killall -0 kube-apiserver"',
  '    interval: 2',
  '    weight: -20',
  'vrrp_instance:',
  '  VI_1:',
  '    state: BACKUP',
  '    interface: ens32',
  '    virtual_router_id: 251',
  '    priority: 100',
  '    authentication:',
  '      auth_type: PASS',
  '      auth_pass: "123456"',
  '    unicast_src_ip: 10.0.0.51',
  '    unicast_peer:',
  '      - 10.0.0.52',
  '      - 10.0.0.53',
  '    virtual_ipaddress:',
  '      - 10.0.0.50 dev ens32',
  '    track_script:',
  '      - check',
];

/** BASE_LINES with some lines (1-based) replaced; `undefined` deletes nothing, it keeps the line. */
export function baseWith(replacements: Record<number, string> = {}, appended: string[] = []): string {
  return [...BASE_LINES.map((line, index) => replacements[index + 1] ?? line), ...appended].join('\n') + '\n';
}
