/**
 * The capabilities the daemon holds, read from /proc/self/status (CapEff). Root holds them all;
 * under the shipped unit an ordinary user holds CAP_NET_RAW and CAP_NET_ADMIN as ambient
 * capabilities, which become effective at exec (native-notes/capabilities.md).
 */
import { readFileSync } from 'node:fs';

/** <linux/capability.h> bit numbers. */
export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;

export interface Capabilities {
  /** The protocol-112 raw socket and the AF_PACKET socket for gratuitous ARP. */
  netRaw: boolean;
  /** Adding and removing the virtual addresses (rtnetlink, or `ip`). */
  netAdmin: boolean;
}

/** The CapEff mask of a /proc/PID/status text, or undefined when there is none. */
export function parseEffectiveCapabilities(statusText: string): Capabilities | undefined {
  const hex = /^CapEff:\s*([0-9a-fA-F]{1,16})\s*$/m.exec(statusText)?.[1];
  if (hex === undefined) return undefined;
  const mask = BigInt(`0x${hex}`);
  const has = (bit: number): boolean => (mask & (1n << BigInt(bit))) !== 0n;
  return { netRaw: has(CAP_NET_RAW), netAdmin: has(CAP_NET_ADMIN) };
}

/**
 * This process's effective capabilities, or undefined when /proc cannot tell (not Linux, /proc not
 * mounted): then only the failures themselves (EPERM) say what is missing.
 */
export function readEffectiveCapabilities(path = '/proc/self/status'): Capabilities | undefined {
  try {
    return parseEffectiveCapabilities(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}
