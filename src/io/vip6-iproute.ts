/**
 * IPv6 VIPs through iproute2, until they have their own rtnetlink request in the addon: `ip -6 addr
 * replace ADDR/LEN dev IF nodad` (idempotent; `nodad` so that a short dual master never leaves the
 * VIP `dadfailed`) and `ip -6 addr del`. Synchronous like the IPv4 netlink path, so the engine's
 * order (advert, VIPs, announcement) holds; the fork costs a few milliseconds of event loop. Runs
 * with the daemon's own user: vrrpd empties the capability sets children inherit, so under the
 * shipped unit (a non-root user) this fails with EPERM and the instance stays out of MASTER.
 */
import { execFileSync } from 'node:child_process';
import { formatIpv6 } from '../core/ip.js';
import { IoError } from './errors.js';
import { isValidIfname } from './link.js';
import { classifyIpError, type VipResult, type VipSpec } from './vip.js';

function run(verb: 'replace' | 'del', vip: VipSpec): VipResult {
  const operation = verb === 'replace' ? 'vip.add' : 'vip.remove';
  if (typeof vip.address !== 'bigint' || !isValidIfname(vip.ifname) || !Number.isInteger(vip.prefixLength) || vip.prefixLength < 1 || vip.prefixLength > 128) {
    return { ok: false, error: new IoError('EINVAL', operation, 'not an IPv6 virtual address') };
  }
  const text = `${formatIpv6(vip.address)}/${vip.prefixLength}`;
  const args = ['-6', 'addr', verb, text, 'dev', vip.ifname, ...(verb === 'replace' ? ['nodad'] : [])];
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000, encoding: 'utf8' });
    return { ok: true, change: verb === 'replace' ? 'added' : 'removed' };
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message);
    const code = classifyIpError(stderr);
    if (verb === 'del' && code === 'EADDRNOTAVAIL') return { ok: true, change: 'absent' };
    return { ok: false, error: new IoError(code, operation, `${verb === 'replace' ? 'adding' : 'removing'} ${text} on ${vip.ifname}: ${stderr.trim()}`) };
  }
}

export function addVip6(vip: VipSpec): VipResult {
  return run('replace', vip);
}

export function removeVip6(vip: VipSpec): VipResult {
  return run('del', vip);
}
