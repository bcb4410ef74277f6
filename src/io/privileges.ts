/**
 * The daemon's own capabilities, and what its children inherit of them.
 *
 * Under the shipped unit vrrpd runs as an ordinary user with CAP_NET_ADMIN and CAP_NET_RAW in its
 * ambient set: that is how node gets them at exec (node has no file capabilities). Left alone, the
 * ambient set passes to every program vrrpd execs, so a check or notify script would run with
 * CAP_NET_ADMIN. vrrpd itself needs no child to hold a capability (VIPs and GARP go through the
 * addon, in-process; `ip` only lists and monitors), so at start it empties the ambient and the
 * inheritable sets and keeps its effective and permitted ones (native-notes/capabilities.md).
 */
import { readFileSync } from 'node:fs';
import { loadPacketAddon } from './native.js';

export interface CapabilitySets {
  inheritable: bigint;
  permitted: bigint;
  effective: bigint;
  bounding: bigint;
  ambient: bigint;
  /** /proc/self/status `Seccomp`: 0 none, 1 strict, 2 filter. */
  seccomp: number;
}

/** capabilities(7) numbers, for messages. */
const CAPABILITY_NAMES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

export const CAP_NET_ADMIN = 1n << 12n;
export const CAP_NET_RAW = 1n << 13n;
/** What vrrpd needs, and all the shipped unit grants it. */
export const VRRPD_CAPABILITIES = CAP_NET_ADMIN | CAP_NET_RAW;

/** Parse the Cap* and Seccomp lines of a /proc/PID/status text. Missing lines read as 0. */
export function parseCapabilitySets(statusText: string): CapabilitySets {
  const hex = (field: string): bigint => {
    const value = new RegExp(`^${field}:\\s*([0-9a-fA-F]+)\\s*$`, 'm').exec(statusText)?.[1];
    return value === undefined ? 0n : BigInt(`0x${value}`);
  };
  const seccomp = /^Seccomp:\s*(\d+)\s*$/m.exec(statusText)?.[1];
  return {
    inheritable: hex('CapInh'),
    permitted: hex('CapPrm'),
    effective: hex('CapEff'),
    bounding: hex('CapBnd'),
    ambient: hex('CapAmb'),
    seccomp: seccomp === undefined ? 0 : Number(seccomp),
  };
}

/** The two capabilities vrrpd itself needs, as the effective set says. */
export interface Capabilities {
  /** The protocol-112 raw socket and the AF_PACKET socket for gratuitous ARP. */
  netRaw: boolean;
  /** Adding and removing the virtual addresses over rtnetlink. */
  netAdmin: boolean;
}

/** CAP_NET_RAW and CAP_NET_ADMIN in a /proc/PID/status text's CapEff, or undefined without that line. */
export function parseEffectiveCapabilities(statusText: string): Capabilities | undefined {
  if (!/^CapEff:\s*[0-9a-fA-F]+\s*$/m.test(statusText)) return undefined;
  const effective = parseCapabilitySets(statusText).effective;
  return { netRaw: (effective & CAP_NET_RAW) !== 0n, netAdmin: (effective & CAP_NET_ADMIN) !== 0n };
}

/**
 * This process's effective CAP_NET_RAW and CAP_NET_ADMIN, or undefined when /proc cannot tell (not
 * Linux, /proc not mounted): then only the failures themselves (EPERM) say what is missing.
 */
export function readEffectiveCapabilities(path = '/proc/self/status'): Capabilities | undefined {
  try {
    return parseEffectiveCapabilities(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** This process's capability sets (its main thread's), or undefined without /proc. */
export function readOwnCapabilities(): CapabilitySets | undefined {
  try {
    return parseCapabilitySets(readFileSync('/proc/self/status', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Everything this process may use (effective | permitted). Without /proc, root counts as holding
 * everything and anyone else as holding nothing.
 */
export function ownCapabilities(euid: number = process.geteuid?.() ?? 0): bigint {
  const sets = readOwnCapabilities();
  if (sets === undefined) return euid === 0 ? (1n << BigInt(CAPABILITY_NAMES.length)) - 1n : 0n;
  return sets.effective | sets.permitted;
}

/** `CAP_NET_ADMIN, CAP_NET_RAW` for a mask; unknown bits as `cap_N`. */
export function capabilityNames(mask: bigint): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if ((mask >> BigInt(bit)) & 1n) names.push(CAPABILITY_NAMES[bit] ?? `cap_${bit}`);
  }
  return names;
}

export type ChildCapabilitiesOutcome =
  /** Both sets are empty now (or were already). */
  | { ok: true; cleared: ('ambient' | 'inheritable')[]; inheritableKept?: string }
  | { ok: false; message: string };

/**
 * Empty the ambient and inheritable capability sets, so that nothing vrrpd execs from now on
 * starts with a capability (a child that switches to another user loses them anyway). The
 * effective and permitted sets stay: the daemon keeps its raw sockets and rtnetlink.
 *
 * Under a seccomp filter the inheritable set is left alone: capset is in systemd's @privileged
 * group, which the shipped unit filters out (and a filter that kills instead of failing with
 * EPERM would kill the daemon). Emptying the ambient set is enough there: a non-root child then
 * starts with no capability, and only a file that root marked with inheritable file capabilities
 * could bring one back (`inheritableKept` says so).
 */
export function clearChildCapabilities(readSets: () => CapabilitySets | undefined = readOwnCapabilities): ChildCapabilitiesOutcome {
  const before = readSets();
  if (before !== undefined && before.ambient === 0n && before.inheritable === 0n) return { ok: true, cleared: [] };
  let addon;
  try {
    addon = loadPacketAddon();
  } catch (error) {
    return { ok: false, message: `cannot empty the ambient capability set for scripts: ${(error as Error).message}` };
  }
  if (typeof addon.clearAmbientCapabilities !== 'function' || typeof addon.clearInheritableCapabilities !== 'function') {
    return { ok: false, message: 'cannot empty the ambient capability set for scripts: the vrrpd_packet addon is older than this vrrpd; rebuild it (`npm run install`)' };
  }
  const cleared: ('ambient' | 'inheritable')[] = [];
  try {
    if (before === undefined || before.ambient !== 0n) {
      addon.clearAmbientCapabilities();
      cleared.push('ambient');
    }
  } catch (error) {
    return { ok: false, message: `cannot empty the ambient capability set for scripts: ${(error as Error).message}` };
  }
  let inheritableKept: string | undefined;
  if (before !== undefined && before.inheritable !== 0n && before.seccomp !== 0) {
    inheritableKept = `inheritable set ${capabilityNames(before.inheritable).join(', ')} kept (a seccomp filter is in place, and capset may be filtered): scripts still start with no capability unless they run a file with inheritable file capabilities`;
  } else if (before === undefined || before.inheritable !== 0n) {
    try {
      addon.clearInheritableCapabilities();
      cleared.push('inheritable');
    } catch (error) {
      return { ok: false, message: `cannot empty the inheritable capability set for scripts: ${(error as Error).message}` };
    }
  }
  const after = readSets();
  if (after !== undefined && (after.ambient !== 0n || (inheritableKept === undefined && after.inheritable !== 0n))) {
    const names = (mask: bigint): string => capabilityNames(mask).join(', ') || 'none';
    return { ok: false, message: `capability sets for scripts still not empty (ambient ${names(after.ambient)}, inheritable ${names(after.inheritable)})` };
  }
  return { ok: true, cleared, ...(inheritableKept !== undefined ? { inheritableKept } : {}) };
}
