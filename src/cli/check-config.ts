/**
 * `vrrpd check-config FILE...`: validate configuration files without touching the network, so a
 * bad file is caught before `systemctl reload`. Every problem is printed with file:line:column;
 * the exit code is 0 when every file is accepted, 3 when any is rejected (2 for no files).
 *
 * Files are checked one by one first. Given several files (one per node), the accepted ones are
 * then compared (config/lint.ts): VRID, advert_int, auth and VIPs equal on every node, symmetric
 * unicast peers, distinct priorities, weights that can move the VIP. A lint error (the cluster
 * would split) exits 3 like a rejected file; lint warnings leave the exit code alone. One file
 * alone is not linted: there is nothing to compare it with.
 *
 * Each file gets exactly the checks `vrrpd run` makes before it touches the host
 * (daemon/preflight.ts): users, scripts and notify commands as the user vrrpd will run as
 * (--user; by default the invoking user), so that check-config says ok only for what run starts.
 */
import { formatIp } from '../core/ip.js';
import { formatIssue } from '../config/issues.js';
import { countFindings, formatFinding, lintCluster, type LintNode } from '../config/lint.js';
import type { VrrpInstance } from '../config/model.js';
import { describeIdentity, identityForUser, preflightFile, type DaemonIdentity } from '../daemon/preflight.js';

export interface TextSink {
  write(text: string): unknown;
}

export const EXIT_OK = 0;
export const EXIT_USAGE = 2;
export const EXIT_CONFIG_REJECTED = 3;

export interface CheckConfigOptions {
  /** --user: the user vrrpd will run as; the invoking user when absent. */
  user?: string;
}

/** The user the shipped unit (systemd/vrrpd.service) runs vrrpd as. */
const UNIT_USER = 'vrrpd';

export async function checkConfigCommand(files: string[], out: TextSink, err: TextSink, options: CheckConfigOptions = {}): Promise<number> {
  if (files.length === 0) {
    err.write('vrrpd check-config: give at least one FILE\n');
    return EXIT_USAGE;
  }
  let identity: DaemonIdentity;
  try {
    identity = identityForUser(options.user);
  } catch (error) {
    const hint = options.user === UNIT_USER ? ' (systemd/install.sh creates it)' : '';
    err.write(`vrrpd check-config: --user: ${(error as Error).message}${hint}\n`);
    return EXIT_USAGE;
  }
  out.write(`${checkedAs(identity, options.user !== undefined)}\n`);
  let rejected = 0;
  const accepted: LintNode[] = [];
  for (const file of files) {
    const result = await preflightFile(file, identity);
    if (result.stage === 'load') {
      for (const warning of result.warnings) err.write(`${formatIssue(warning, 'warning')}\n`);
      for (const error of result.errors) err.write(`${formatIssue(error, 'error')}\n`);
      err.write(`${file}: rejected (${plural(result.errors.length, 'error')})\n`);
      rejected++;
      continue;
    }
    for (const warning of result.loadWarnings) err.write(`${formatIssue(warning, 'warning')}\n`);
    // The lines `vrrpd run` prints for the same problems.
    for (const problem of result.problems) err.write(`config error in ${file}: ${problem}\n`);
    for (const warning of result.warnings) err.write(`config warning in ${file}: ${warning}\n`);
    if (!result.ok) {
      err.write(`${file}: rejected (${plural(result.problems.length, 'error')})\n`);
      rejected++;
      continue;
    }
    accepted.push({ file, config: result.config, warnings: result.loadWarnings, ...(result.locate ? { locate: result.locate } : {}) });
    const instances = Object.values(result.config.vrrp_instance);
    const warningCount = result.loadWarnings.length + result.warnings.length;
    const warned = warningCount > 0 ? `, ${plural(warningCount, 'warning')}` : '';
    out.write(`${file}: ok, ${plural(instances.length, 'instance')}${warned}\n`);
    for (const instance of instances) out.write(`  ${describeInstance(instance)}\n`);
    for (const group of Object.values(result.config.vrrp_sync_group ?? {})) out.write(`  sync group ${group.name}: ${group.group.join(', ')} move together\n`);
  }
  const lintErrors = files.length > 1 ? lintAccepted(accepted, rejected, out, err) : 0;
  return rejected > 0 || lintErrors > 0 ? EXIT_CONFIG_REJECTED : EXIT_OK;
}

/** Whom the scripts were judged as, and how to judge them as the shipped unit runs vrrpd. */
function checkedAs(identity: DaemonIdentity, asked: boolean): string {
  const line = `checked as ${describeIdentity(identity)}`;
  if (asked && identity.user === UNIT_USER) return `${line}, as the packaged unit runs vrrpd`;
  return `${line}${asked ? '' : ', the user running check-config'}; the packaged unit runs vrrpd as user ${UNIT_USER} with CAP_NET_ADMIN and CAP_NET_RAW: check with --user ${UNIT_USER} before switching to it`;
}

/** Compare the accepted files as the nodes of one cluster; returns the number of lint errors. */
function lintAccepted(accepted: LintNode[], rejected: number, out: TextSink, err: TextSink): number {
  const scope = `cross-node check of ${plural(accepted.length, 'file')}${rejected > 0 ? ` (${rejected} rejected ${rejected === 1 ? 'file is' : 'files are'} left out)` : ''}`;
  if (accepted.length < 2) {
    out.write(`${scope}: skipped, nothing to compare\n`);
    return 0;
  }
  const findings = lintCluster(accepted);
  for (const finding of findings) err.write(`${formatFinding(finding)}\n\n`);
  const counts = countFindings(findings);
  out.write(`${scope}: ${findings.length === 0 ? 'no findings' : counts.text}\n`);
  return counts.errors;
}

/** One line a reviewer can compare across nodes. */
export function describeInstance(instance: VrrpInstance): string {
  const mode = instance.unicast_peer.length > 0 ? `unicast to ${instance.unicast_peer.map(formatIp).join(', ')}` : 'multicast';
  const preempt = instance.nopreempt ? 'nopreempt' : 'preempt';
  const vips = instance.virtual_ipaddress.map((vip) => `${formatIp(vip.address)}/${vip.prefix_len} dev ${vip.dev}`).join(', ');
  // VRRPv3 has no authentication: a PASS block there is ignored (the loader warns).
  const auth = instance.version === 3 ? 'no auth (VRRPv3)' : instance.authentication ? 'auth PASS' : 'no auth';
  return `${instance.name}: VRRPv${instance.version}, VRID ${instance.virtual_router_id} on ${instance.interface}, ${instance.state}, priority ${instance.priority}, advert_int ${instance.advert_int}s, ${preempt}, ${auth}, ${mode}; VIPs ${vips}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
