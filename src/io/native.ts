/**
 * Loading the vrrpd_packet addon (src/io/native/packet.c): GARP and NA frames out of AF_PACKET, the
 * IPv4 address list straight from getifaddrs(), VIP changes over rtnetlink, the capability
 * sets children would inherit, and (spawn.c) starting check and notify commands.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IoError } from './errors.js';

export interface PacketAddon {
  /** Write whole Ethernet frames on an interface; returns the count sent, throws with errno codes. */
  sendFrames(ifname: string, frames: Uint8Array[]): number;
  /** Every IPv4 address, up or down, in getifaddrs order; ifname is the label (ens32 or ens32:vip). */
  ipv4Addresses(): Array<{ ifname: string; address: number }>;
  /** Every IPv6 address, as ipv4Addresses; the address as 32 hex digits. Absent from an older addon. */
  ipv6Addresses?(): Array<{ ifname: string; address: string }>;
  /** Set FD_CLOEXEC on every descriptor >= 3 that lacks it; returns how many it changed. */
  closeOnExec?(): number;
  /** This process's AF_INET raw sockets of a protocol (raw-socket does not say which one it opened). */
  rawSocketFds?(protocol: number): number[];
  /** How long ago (ms) the kernel received the packet the last read on fd returned; undefined without a stamp. */
  receiveAgeMs?(fd: number): number | undefined;
  /**
   * Add (true) or delete one address over rtnetlink: IPv4 as a host-order number, IPv6 as its 16
   * bytes (added with IFA_F_NODAD; no label, no broadcast). Throws with the kernel's errno name as
   * code (EEXIST, EADDRNOTAVAIL, ENODEV, EPERM). Absent from an addon built before it existed.
   */
  addressChange?(add: boolean, ifname: string, address: number | Uint8Array, prefixLength: number, label: string | null, broadcast: number | null): void;
  /** Empty the calling thread's ambient capability set; throws with an errno name as code. */
  clearAmbientCapabilities?(): void;
  /** Empty the calling thread's inheritable capability set (capset); throws as above. */
  clearInheritableCapabilities?(): void;
  /**
   * Who is at the other end of a connected unix socket (SO_PEERCRED, SO_PEERGROUPS); throws with an
   * errno name as code. `groups` is empty when the kernel cannot tell. native-notes/peer-credentials.md
   */
  peerCredentials?(fd: number): PeerCredentials;
  /**
   * Start a command without copying the daemon's page tables (clone with CLONE_VM | CLONE_VFORK):
   * own session, stdin /dev/null, stdout and stderr into one pipe of which the first `maxOutput`
   * bytes are kept, cwd /, default signal dispositions, uid/gid switched when not -1, every other
   * descriptor closed on exec. `env` null: the daemon's environment. Returns the pid; onExit runs
   * once, from the event loop, after the addon has reaped the child. Throws with an errno name as
   * code (ENOENT, EACCES, EPERM; ENOSYS on a kernel without CLONE_PIDFD). See native-notes/spawn.md.
   */
  spawnCommand?(
    file: string,
    argv: readonly string[],
    env: readonly string[] | null,
    uid: number,
    gid: number,
    maxOutput: number,
    onExit: (exitCode: number | null, signal: number, output: Buffer) => void,
  ): number;
  /** The output kept so far of a child spawnCommand started that has not exited; undefined otherwise. */
  commandOutput?(pid: number): Buffer | undefined;
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
  /** Supplementary groups at connect() time. */
  groups: number[];
}

const ADDON_RELATIVE_PATH = join('src', 'io', 'native', 'build', 'Release', 'vrrpd_packet.node');

/**
 * The addon is built into src/io/native/build by the package's install script, while this file runs
 * either as src/io/native.ts (tests) or dist/io/native.js (installed): walk up to the directory that
 * has package.json and the build, rather than trusting a fixed number of '..'.
 */
export function findAddonPath(startUrl: string = import.meta.url): string | undefined {
  let dir = dirname(fileURLToPath(startUrl));
  for (;;) {
    const candidate = join(dir, ADDON_RELATIVE_PATH);
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

let addon: PacketAddon | undefined;

/** Load once; throws IoError ENOADDON when the build is missing (callers turn it into a result). */
export function loadPacketAddon(): PacketAddon {
  if (addon !== undefined) return addon;
  const path = findAddonPath();
  if (path === undefined) {
    throw new IoError('ENOADDON', 'native.load', `${ADDON_RELATIVE_PATH} not found; run \`npm run install\` to build it`);
  }
  addon = createRequire(import.meta.url)(path) as PacketAddon;
  return addon;
}
