/**
 * Virtual addresses on the host: added and deleted over rtnetlink through the addon, in-process
 * (as keepalived does; no fork), with the daemon's own CAP_NET_ADMIN. Only listing runs iproute2
 * (`ip -4 -j addr show`, with execFile: no shell, arguments as a vector), which needs no
 * capability: vrrpd empties the capability sets its children would inherit, so a child could not
 * change an address (native-notes/capabilities.md). Every operation is idempotent and resolves to
 * a result; none rejects, because an unhandled rejection would take the daemon down with its VIPs.
 *
 * A VIP is IPv4 or IPv6 by its address (a number or a bigint, core/ip.ts). IPv6 VIPs are added with
 * IFA_F_NODAD (docs/protocol.md#ipv6-vips) and take no label or broadcast.
 */
import { execFile } from 'node:child_process';
import { familyOf, formatIp, formatIpv4, type IpAddress, type Ipv4, ipv6Bytes, parseIpv4, parseIpv6 } from '../core/ip.js';
import { IoError } from './errors.js';
import { isValidIfname } from './link.js';
import { loadPacketAddon, type PacketAddon } from './native.js';

export interface VipSpec {
  /** A number for IPv4, a bigint for IPv6: the family is the address's (core/ip.ts familyOf). */
  address: IpAddress;
  /** Prefix length handed to the kernel; 32 (IPv4) or 128 (IPv6) unless the config said /N. */
  prefixLength: number;
  ifname: string;
  /** `label` from virtual_ipaddress (shown by ifconfig-era tools as ens32:1). IPv4 only. */
  label?: string;
  /** `brd` from virtual_ipaddress. IPv4 only. */
  broadcast?: Ipv4;
}

/** `10.0.0.50/32` or `fd00::50/64`: how logs, status and `vrrpd release` show a VIP. */
export function formatVip(vip: Pick<VipSpec, 'address' | 'prefixLength'>): string {
  return `${formatIp(vip.address)}/${vip.prefixLength}`;
}

export interface InterfaceAddress {
  address: IpAddress;
  prefixLength: number;
  ifname: string;
  label: string | undefined;
  broadcast: Ipv4 | undefined;
  /** A secondary address (same subnet as an earlier primary). */
  secondary: boolean;
}

export type VipResult =
  | { ok: true; change: 'added' | 'already_present' | 'removed' | 'absent' }
  | { ok: false; error: IoError };

export type ListResult = { ok: true; addresses: InterfaceAddress[] } | { ok: false; error: IoError };


export interface IpRunnerOptions {
  /** The ip binary. Default 'ip' from PATH. */
  ipCommand?: string;
  /** Kill a hung ip after this long. Default 5000 ms. */
  timeoutMs?: number;
}

interface IpRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  spawnError: NodeJS.ErrnoException | undefined;
}

function runIp(args: readonly string[], options: IpRunnerOptions): Promise<IpRun> {
  return new Promise((resolve) => {
    execFile(
      options.ipCommand ?? 'ip',
      args,
      { timeout: options.timeoutMs ?? 5000, encoding: 'utf8', maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const errno = error as (NodeJS.ErrnoException & { code?: unknown }) | null;
        // execFile reports a non-zero exit as an error whose code is the exit status (a number);
        // a string code (ENOENT, EACCES) means ip could not be started at all.
        const spawnError = errno !== null && typeof errno.code === 'string' ? errno : undefined;
        const exitCode = errno === null ? 0 : typeof errno.code === 'number' ? errno.code : 1;
        resolve({ exitCode, stdout, stderr, spawnError });
      },
    );
  });
}

/** iproute2 prints the kernel's strerror after "RTNETLINK answers:"; map the ones we act on. */
export function classifyIpError(stderr: string): string {
  const text = stderr.toLowerCase();
  // Older kernels answer with strerror; newer ones with an extended-ack message.
  if (text.includes('file exists') || text.includes('address already assigned')) return 'EEXIST';
  if (text.includes('cannot assign requested address') || text.includes('address not found')) return 'EADDRNOTAVAIL';
  if (text.includes('operation not permitted')) return 'EPERM';
  if (text.includes('cannot find device') || text.includes('does not exist') || text.includes('no such device')) {
    return 'ENODEV';
  }
  if (text.includes('network is down')) return 'ENETDOWN';
  return 'EIPCMD';
}

function checkSpec(vip: VipSpec, operation: string): IoError | undefined {
  if (!isValidIfname(vip.ifname)) return new IoError('EINVAL', operation, `bad interface name ${JSON.stringify(vip.ifname)}`);
  const ipv6 = familyOf(vip.address) === 6;
  if (!Number.isInteger(vip.prefixLength) || vip.prefixLength < 0 || vip.prefixLength > (ipv6 ? 128 : 32)) {
    return new IoError('EINVAL', operation, `bad prefix length ${vip.prefixLength} for ${formatIp(vip.address)}`);
  }
  // The kernel keeps labels and broadcast addresses for IPv4 only; silently dropping them would
  // hide a configuration that does not do what it says.
  if (ipv6 && (vip.label !== undefined || vip.broadcast !== undefined)) {
    return new IoError('EINVAL', operation, `${formatVip(vip)}: an IPv6 address takes no label and no brd`);
  }
  if (vip.label !== undefined && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(vip.label)) {
    return new IoError('EINVAL', operation, `bad label ${JSON.stringify(vip.label)}`);
  }
  return undefined;
}

function failure(operation: string, run: IpRun, what: string): IoError {
  if (run.spawnError !== undefined) {
    return new IoError(run.spawnError.code ?? 'EIO', operation, `cannot run ip: ${run.spawnError.message}`);
  }
  const stderr = run.stderr.trim();
  return new IoError(classifyIpError(stderr), operation, `${what}: ${stderr || `ip exited ${run.exitCode}`}`);
}

/**
 * The add or delete over rtnetlink through the addon, as keepalived does it: no fork/exec of `ip`,
 * which blocked the event loop for 3-15 ms on a loaded 2-core machine while a new MASTER's
 * gratuitous ARP waited for it (the failover benchmark, docs/benchmarks.md), and which would need
 * the capability vrrpd no longer lets children inherit. Without the addon there is no way to
 * change an address: an error result (the addon also sends the GARP, so nothing works without it).
 */
function viaNetlink(verb: 'add' | 'del', vip: VipSpec): VipResult {
  const operation = verb === 'add' ? 'vip.add' : 'vip.remove';
  let addon: PacketAddon;
  try {
    addon = loadPacketAddon();
  } catch (error) {
    return { ok: false, error: new IoError('ENOADDON', operation, (error as Error).message) };
  }
  if (typeof addon.addressChange !== 'function') {
    return { ok: false, error: new IoError('ENOADDON', operation, 'the vrrpd_packet addon is older than this vrrpd; rebuild it (`npm run install`)') };
  }
  try {
    // The addon takes an IPv4 address as a number and an IPv6 one as its 16 bytes.
    const address = typeof vip.address === 'bigint' ? ipv6Bytes(vip.address) : vip.address >>> 0;
    addon.addressChange(verb === 'add', vip.ifname, address, vip.prefixLength, vip.label ?? null, vip.broadcast === undefined ? null : vip.broadcast >>> 0);
    return { ok: true, change: verb === 'add' ? 'added' : 'removed' };
  } catch (error) {
    const code = typeof (error as { code?: unknown }).code === 'string' ? String((error as { code: string }).code) : 'EIO';
    if (verb === 'add' && code === 'EEXIST') return { ok: true, change: 'already_present' };
    if (verb === 'del' && code === 'EADDRNOTAVAIL') return { ok: true, change: 'absent' };
    const what = `${verb === 'add' ? 'adding' : 'removing'} ${formatVip(vip)} on ${vip.ifname}`;
    return { ok: false, error: new IoError(code, operation, `${what}: ${(error as Error).message}`) };
  }
}

/** Add a VIP synchronously over rtnetlink (a new MASTER's GARP follows in the same tick). */
export function addVip(vip: VipSpec): VipResult {
  const invalid = checkSpec(vip, 'vip.add');
  if (invalid) return { ok: false, error: invalid };
  return viaNetlink('add', vip);
}

/** Remove a VIP synchronously over rtnetlink. */
export function removeVip(vip: VipSpec): VipResult {
  const invalid = checkSpec(vip, 'vip.remove');
  if (invalid) return { ok: false, error: invalid };
  return viaNetlink('del', vip);
}

interface IpJsonAddr {
  family?: string;
  local?: string;
  prefixlen?: number;
  broadcast?: string;
  label?: string;
  secondary?: boolean;
}

/** Parse `ip -j addr show` output (inet and inet6 entries). Exported for unit tests. */
export function parseIpAddrJson(json: string, ifname: string): InterfaceAddress[] {
  const links = JSON.parse(json) as Array<{ ifname?: string; addr_info?: IpJsonAddr[] }>;
  const result: InterfaceAddress[] = [];
  for (const link of links) {
    for (const info of link.addr_info ?? []) {
      if ((info.family !== 'inet' && info.family !== 'inet6') || info.local === undefined) continue;
      const ipv6 = info.family === 'inet6';
      const address = ipv6 ? parseIpv6(info.local) : parseIpv4(info.local);
      if (address === undefined) continue;
      result.push({
        address,
        prefixLength: info.prefixlen ?? (ipv6 ? 128 : 32),
        ifname: link.ifname ?? ifname,
        label: info.label,
        broadcast: info.broadcast === undefined ? undefined : parseIpv4(info.broadcast),
        secondary: info.secondary === true,
      });
    }
  }
  return result;
}

/** IPv4 and IPv6 addresses on an interface, in kernel order (IPv4 first, primary first). */
export async function listAddresses(ifname: string, options: IpRunnerOptions = {}): Promise<ListResult> {
  if (!isValidIfname(ifname)) {
    return { ok: false, error: new IoError('EINVAL', 'vip.list', `bad interface name ${JSON.stringify(ifname)}`) };
  }
  const run = await runIp(['-j', 'addr', 'show', 'dev', ifname], options);
  if (run.exitCode !== 0 || run.spawnError !== undefined) {
    return { ok: false, error: failure('vip.list', run, `ip -j addr show dev ${ifname}`) };
  }
  try {
    return { ok: true, addresses: parseIpAddrJson(run.stdout || '[]', ifname) };
  } catch (error) {
    return { ok: false, error: new IoError('EIPCMD', 'vip.list', `unparsable ip -j output: ${String(error)}`) };
  }
}

export interface StaleRemoval {
  removed: VipSpec[];
  errors: IoError[];
}

/**
 * Remove any of these VIPs that are present, whatever prefix length they were added with (a
 * kill -9 or a changed config can leave 10.0.0.50/24 behind for a /32 VIP, or fd00::50/128 for a
 * /64 one). IPv4 and IPv6 alike: the addresses compare by value within a family. For startup and
 * `vrrpd release`. `ip` only lists; the addon removes. The caller must not pass an address
 * owner's real address (priority 255).
 */
export async function removeStale(vips: readonly VipSpec[], options: IpRunnerOptions = {}): Promise<StaleRemoval> {
  const outcome: StaleRemoval = { removed: [], errors: [] };
  const byInterface = new Map<string, VipSpec[]>();
  for (const vip of vips) byInterface.set(vip.ifname, [...(byInterface.get(vip.ifname) ?? []), vip]);
  for (const [ifname, wanted] of byInterface) {
    const listed = await listAddresses(ifname, options);
    if (!listed.ok) {
      // A missing interface holds no stale VIP.
      if (listed.error.code !== 'ENODEV') outcome.errors.push(listed.error);
      continue;
    }
    for (const present of listed.addresses) {
      if (!wanted.some((vip) => vip.address === present.address)) continue;
      const spec: VipSpec = { address: present.address, prefixLength: present.prefixLength, ifname };
      const result = removeVip(spec);
      if (!result.ok) outcome.errors.push(result.error);
      else if (result.change === 'removed') outcome.removed.push(spec);
    }
  }
  return outcome;
}

