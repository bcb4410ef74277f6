/**
 * The means an instance needs to hold its VIPs, and what happens without them: one place for every
 * rule that puts an instance in FAULT because the host cannot do what MASTER requires. A MASTER
 * that cannot add its VIP, announce it, or advertise would hold nothing while its peers, hearing it
 * (or not), stop holding the VIP too; so it fails closed: FAULT, a priority-0 goodbye if it was
 * MASTER, and a cause in status that says what is missing.
 *
 * | means                       | lacking it                         | fault cause                    | cleared when                                     |
 * | --------------------------- | ---------------------------------- | ------------------------------ | ------------------------------------------------ |
 * | the instance's interface    | missing at start, or vanished      | missing_interface:IF           | the VRRP socket opens on it (retried every 1 s)  |
 * | VRRP socket (CAP_NET_RAW)   | socket open fails EPERM/EACCES     | no_permission:vrrp_socket      | the socket opens (retried every 1 s)             |
 * | VIP add (CAP_NET_ADMIN)     | not in CapEff at start, or add     | no_permission:vip_add          | a re-test passes: removing the instance's VIPs   |
 * |                             | fails EPERM/EACCES                 |                                | (absent in FAULT anyway) needs the same          |
 * |                             |                                    |                                | permission; tried every RETEST_MS                |
 * | GARP (CAP_NET_RAW)          | the burst fails EPERM/EACCES       | no_permission:garp             | a re-test passes: the AF_PACKET socket opens     |
 * |                             |                                    |                                | (nothing sent); tried every RETEST_MS            |
 *
 * Whether the daemon may run at all is decided before anything on the host is touched
 * (checkMeansAtStart): without CAP_NET_RAW no instance can ever speak VRRP, and with none of the
 * instances' interfaces present there is nothing to run on; both exit 1 with one line saying what
 * is missing. Anything less (CAP_NET_ADMIN missing, some interfaces missing) starts, with those
 * instances in FAULT, so that `vrrpd status` can say why.
 */
import type { Capabilities } from '../io/privileges.js';

/** A host operation that failed, as data: `operation` as the io layer names it, `code` an errno name. */
export interface HostFailure {
  operation: string;
  code: string;
  message: string;
}

/** How often a permission FAULT is re-tested. */
export const RETEST_MS = 60_000;
/**
 * A cause that comes back after a re-test passed (the test allowed what the real operation is still
 * refused) is re-tested after twice the time, up to this: a few seconds of lost VIP an hour at worst.
 */
export const RETEST_MAX_MS = 3_600_000;

const PERMISSION_CODES = new Set(['EPERM', 'EACCES']);

export type Means = 'vrrp_socket' | 'vip_add' | 'garp';

export function permissionCause(means: Means): string {
  return `no_permission:${means}`;
}

export function missingInterfaceCause(ifname: string): string {
  return `missing_interface:${ifname}`;
}

/** Causes that the opening of the instance's VRRP socket clears. */
export function clearedBySocketOpen(ifname: string): string[] {
  return [permissionCause('vrrp_socket'), missingInterfaceCause(ifname)];
}

/** Causes that only a re-test clears (see the table above); also tested at start. */
export const RETESTED: readonly ('vip_add' | 'garp')[] = ['vip_add', 'garp'];

export function isPermissionFailure(failure: Pick<HostFailure, 'code'>): boolean {
  return PERMISSION_CODES.has(failure.code);
}

/**
 * The fault cause a failed host operation means for the instances on `ifname`, or undefined when
 * the failure is not about the means (a send on a downed link, a transient socket error): those
 * are logged and retried, and the protocol copes as it would with a lost packet.
 */
export function faultCauseOf(operation: 'transport' | 'vip_add' | 'garp', io: Pick<HostFailure, 'operation' | 'code'>, ifname: string): string | undefined {
  if (operation === 'transport') {
    // Only opening decides: a send refused with EPERM is a firewall's verdict on one packet.
    if (io.operation !== 'transport.open' && io.operation !== 'transport.watch') return undefined;
    if (PERMISSION_CODES.has(io.code)) return permissionCause('vrrp_socket');
    if (io.code === 'ENODEV') return missingInterfaceCause(ifname);
    return undefined;
  }
  return PERMISSION_CODES.has(io.code) ? permissionCause(operation) : undefined;
}

export interface HostMeans {
  /** Effective capabilities; undefined when they cannot be read (then only failures tell). */
  capabilities: Capabilities | undefined;
  interfaceExists(ifname: string): boolean;
}

export interface MeansInstance {
  name: string;
  interfaceName: string;
}

export type StartVerdict =
  /** `line` is the one line to print; exit 1. */
  | { ok: false; line: string }
  /** Run; each warning is one line naming what is missing and which instances go FAULT. */
  | { ok: true; warnings: string[] };

const HOW_TO_GRANT = 'run as root or with AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN';

/** Before anything on the host is touched: may the daemon run at all, and what will be in FAULT? */
export function checkMeansAtStart(instances: readonly MeansInstance[], host: HostMeans): StartVerdict {
  const caps = host.capabilities;
  if (caps !== undefined && !caps.netRaw) {
    const both = !caps.netAdmin;
    return {
      ok: false,
      line: both
        ? `vrrpd: cannot run: CAP_NET_RAW and CAP_NET_ADMIN are missing (needed for the VRRP socket, gratuitous ARP and the virtual addresses); ${HOW_TO_GRANT}`
        : `vrrpd: cannot run: CAP_NET_RAW is missing (needed for the VRRP socket and gratuitous ARP); ${HOW_TO_GRANT}`,
    };
  }
  const missing = new Map<string, string[]>();
  for (const instance of instances) {
    if (host.interfaceExists(instance.interfaceName)) continue;
    missing.set(instance.interfaceName, [...(missing.get(instance.interfaceName) ?? []), instance.name]);
  }
  const describe = (ifname: string, names: string[]): string => `interface ${ifname} does not exist (needed by ${names.join(', ')})`;
  if (instances.length > 0 && [...missing.values()].flat().length === instances.length) {
    return { ok: false, line: `vrrpd: cannot run: ${[...missing].map(([ifname, names]) => describe(ifname, names)).join('; ')}` };
  }
  const warnings: string[] = [];
  if (caps !== undefined && !caps.netAdmin) {
    warnings.push(`vrrpd: CAP_NET_ADMIN is missing (needed to add the virtual addresses): every instance stays in FAULT; ${HOW_TO_GRANT}`);
  }
  for (const [ifname, names] of missing) warnings.push(`vrrpd: ${describe(ifname, names)}: in FAULT until it appears`);
  return { ok: true, warnings };
}

/** The causes an instance starts with, from the same facts checkMeansAtStart judged. */
export function startFaults(instance: MeansInstance, host: HostMeans): string[] {
  const causes: string[] = [];
  if (!host.interfaceExists(instance.interfaceName)) causes.push(missingInterfaceCause(instance.interfaceName));
  if (host.capabilities !== undefined && !host.capabilities.netRaw) causes.push(permissionCause('vrrp_socket'));
  if (host.capabilities !== undefined && !host.capabilities.netAdmin) causes.push(permissionCause('vip_add'));
  return causes;
}
