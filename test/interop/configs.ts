/**
 * The seed's keepalived.conf files (fixtures/, byte for byte from the seed document) and the few
 * edits the scenarios make to them. Both daemons read the very same text: vrrpd reads
 * keepalived.conf directly, so a mixed cluster is a rolling swap with nothing converted.
 *
 * Each edit replaces one exact line shape and throws if it is not there, so a fixture that
 * changed shape cannot silently turn a scenario into something else.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export type SeedMode = 'preempt' | 'nopreempt';

export function fixturePath(mode: SeedMode, index: 1 | 2 | 3): string {
  return join(FIXTURES_DIR, `${mode}-master${index}.conf`);
}

/** The seed's config of master `index` (1..3) in preempt or nopreempt mode, unchanged. */
export function seedConf(mode: SeedMode, index: 1 | 2 | 3): string {
  return readFileSync(fixturePath(mode, index), 'utf8');
}

function replaceOnce(text: string, pattern: RegExp, replacement: string, what: string): string {
  const matches = text.match(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`));
  if (matches?.length !== 1) throw new Error(`config edit '${what}': expected exactly one match of ${pattern}, found ${matches?.length ?? 0}`);
  return text.replace(pattern, replacement);
}

/** Multicast mode: the same config without unicast_src_ip and the unicast_peer block. */
export function withoutUnicast(conf: string): string {
  let out = replaceOnce(conf, /^\s*unicast_src_ip .*\n/m, '', 'drop unicast_src_ip');
  out = replaceOnce(out, /^\s*unicast_peer \{[^}]*\}\n/m, '', 'drop unicast_peer');
  return out;
}

export function withPriority(conf: string, priority: number): string {
  return replaceOnce(conf, /^(\s*priority)\s+\d+/m, `$1 ${priority}`, 'priority');
}

export function withAuthPass(conf: string, password: string): string {
  return replaceOnce(conf, /^(\s*auth_pass)\s+\S+/m, `$1 ${password}`, 'auth_pass');
}

/** The seed leaves advert_int at its default (1 s); this sets it explicitly after virtual_router_id. */
export function withAdvertInt(conf: string, seconds: number): string {
  return replaceOnce(conf, /^(\s*)(virtual_router_id .*)$/m, `$1$2\n$1advert_int ${seconds}`, 'advert_int');
}

/** Add one more address to virtual_ipaddress, after the seed's 10.0.0.50. */
export function withExtraVip(conf: string, address: string): string {
  return replaceOnce(conf, /^(\s*)(10\.0\.0\.50 dev ens32.*)$/m, `$1$2\n$1${address} dev ens32`, 'extra VIP');
}

/** Replace the seed's VIP 10.0.0.50 by another address (same count, different list). */
export function withVip(conf: string, address: string): string {
  return replaceOnce(conf, /^(\s*)10\.0\.0\.50 dev ens32/m, `$1${address} dev ens32`, 'VIP');
}

/** VRRPv3 for every instance: keepalived's `vrrp_version 3`, as the first line of global_defs. */
export function withVrrpVersion3(conf: string): string {
  return replaceOnce(conf, /^(global_defs \{.*)$/m, '$1\n    vrrp_version 3', 'vrrp_version 3');
}

/** Drop the authentication block (VRRPv3 has none; both daemons would ignore it with a warning). */
export function withoutAuthentication(conf: string): string {
  return replaceOnce(conf, /^\s*authentication \{[^}]*\}\n/m, '', 'drop authentication');
}

/**
 * The seed's config switched to VRRPv3 at `advertInt` seconds (0.1: ten adverts a second), as a
 * user would: `vrrp_version 3` in global_defs, `advert_int`, and no PASS block (v3 has no
 * authentication). Everything else (script check, unicast peers, VIP) is the seed's.
 */
export function seedV3Conf(mode: SeedMode, index: 1 | 2 | 3, advertInt = 0.1): string {
  return withAdvertInt(withoutAuthentication(withVrrpVersion3(seedConf(mode, index))), advertInt);
}
