/**
 * Interface facts (MAC, flags, first IPv4 address) and a link watcher. The machine's tracked
 * primary interface goes FAULT when the link is not UP and RUNNING, so the watcher must notice
 * changes quickly: it listens to `ip -o monitor link` (rtnetlink, pushed by the kernel) and re-reads
 * /sys on every event, with a slow poll as a backstop for anything the monitor missed.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { parseIpv4, type Ipv4 } from '../core/ip.js';
import { startChore } from './clock.js';
import type { IoError } from './errors.js';
import { runIpMonitor } from './ipmonitor.js';
import { loadPacketAddon } from './native.js';

/** <linux/if.h> flag bits as shown in /sys/class/net/IF/flags. */
const IFF_UP = 0x1;
const IFF_NOARP = 0x80;

export interface InterfaceFacts {
  ifname: string;
  ifindex: number;
  /** 6 bytes. */
  mac: Uint8Array;
  /** aa:bb:cc:dd:ee:ff */
  macText: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Kernel's IFF_RUNNING: up with an operational lower layer (operstate up, or unknown for dummies). */
  running: boolean;
  /** IFF_NOARP: no gratuitous ARP on this interface. */
  noarp: boolean;
  /** /sys operstate: up, down, lowerlayerdown, dormant, unknown, ... */
  operstate: string;
  mtu: number;
  /** The first IPv4 address in kernel order (the primary), or undefined when it has none; known while down too. */
  firstIpv4: Ipv4 | undefined;
}

/** Linux interface names: 1..15 bytes, no '/', not '.' or '..'; we also refuse whitespace and ':'. */
export function isValidIfname(ifname: string): boolean {
  return /^[A-Za-z0-9_.@-]{1,15}$/.test(ifname) && ifname !== '.' && ifname !== '..';
}

function readSys(ifname: string, attribute: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${ifname}/${attribute}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function parseMac(text: string): Uint8Array | undefined {
  const parts = text.trim().split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return undefined;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * Every IPv4 address of the host with its interface. From the addon's getifaddrs(), because Node's
 * os.networkInterfaces() drops interfaces that are not UP and RUNNING (libuv filters them), which
 * would hide a link's addresses exactly while it is down. Falls back to Node's view without the addon.
 */
function allIpv4Addresses(): Array<{ ifname: string; address: Ipv4 }> {
  try {
    return loadPacketAddon().ipv4Addresses();
  } catch {
    const result: Array<{ ifname: string; address: Ipv4 }> = [];
    for (const [ifname, entries] of Object.entries(networkInterfaces())) {
      for (const entry of entries ?? []) {
        const address = entry.family === 'IPv4' ? parseIpv4(entry.address) : undefined;
        if (address !== undefined) result.push({ ifname, address });
      }
    }
    return result;
  }
}

/** IPv4 addresses of an interface in kernel order (primary first), up or down, as host-order numbers. */
export function interfaceIpv4Addresses(ifname: string): Ipv4[] {
  // getifaddrs names IPv4 entries by their label, which is the device name or starts with "name:".
  return allIpv4Addresses()
    .filter((entry) => entry.ifname === ifname || entry.ifname.startsWith(`${ifname}:`))
    .map((entry) => entry.address);
}

/** Every IPv4 address on this host (namespace), for "is this packet from ourselves". */
export function localIpv4Addresses(): Set<Ipv4> {
  return new Set(allIpv4Addresses().map((entry) => entry.address));
}

/** Read an interface's facts from /sys; undefined when it does not exist (or the name is unsafe). */
function readFlags(ifname: string): number | undefined {
  const text = readSys(ifname, 'flags');
  return text === undefined ? undefined : parseInt(text, 16);
}

function readOperstate(ifname: string): string {
  return readSys(ifname, 'operstate') ?? 'unknown';
}

/**
 * /sys flags hold dev->flags, which never has IFF_RUNNING; the kernel derives RUNNING from the
 * operational state (dev_get_flags): up, or unknown for drivers without carrier reporting.
 */
function isRunning(up: boolean, operstate: string): boolean {
  return up && (operstate === 'up' || operstate === 'unknown');
}

export function readInterface(ifname: string): InterfaceFacts | undefined {
  if (!isValidIfname(ifname)) return undefined;
  const flags = readFlags(ifname);
  const indexText = readSys(ifname, 'ifindex');
  if (flags === undefined || indexText === undefined) return undefined;
  const macText = readSys(ifname, 'address') ?? '00:00:00:00:00:00';
  const operstate = readOperstate(ifname);
  const up = (flags & IFF_UP) !== 0;
  return {
    ifname,
    ifindex: Number(indexText),
    mac: parseMac(macText) ?? new Uint8Array(6),
    macText,
    up,
    running: isRunning(up, operstate),
    noarp: (flags & IFF_NOARP) !== 0,
    operstate,
    mtu: Number(readSys(ifname, 'mtu') ?? 0),
    firstIpv4: interfaceIpv4Addresses(ifname)[0],
  };
}

/** keepalived's test for a usable link: IFF_UP and IFF_RUNNING. A missing interface is down. */
export function isLinkUsable(facts: InterfaceFacts | undefined): boolean {
  return facts !== undefined && facts.up && facts.running;
}

/*
 * The periodic checks below read only what they need: readInterface also lists every address of
 * the host (getifaddrs), and run once or twice a second that was a measurable part of an idle
 * MASTER's CPU (bench:scale, docs/benchmarks.md).
 */

/** The interface's ifindex alone; undefined when it does not exist. */
export function readIfindex(ifname: string): number | undefined {
  if (!isValidIfname(ifname)) return undefined;
  const text = readSys(ifname, 'ifindex');
  return text === undefined ? undefined : Number(text);
}

/** isLinkUsable(readInterface(ifname)) in two small reads. */
export function readLinkUsable(ifname: string): boolean {
  if (!isValidIfname(ifname)) return false;
  const flags = readFlags(ifname);
  if (flags === undefined || (flags & IFF_UP) === 0) return false;
  return isRunning(true, readOperstate(ifname));
}

/** What a gratuitous ARP needs: the MAC and IFF_NOARP. undefined when the interface does not exist. */
export function readArpFacts(ifname: string): { mac: Uint8Array; noarp: boolean } | undefined {
  if (!isValidIfname(ifname)) return undefined;
  const flags = readFlags(ifname);
  if (flags === undefined) return undefined;
  return { mac: parseMac(readSys(ifname, 'address') ?? '') ?? new Uint8Array(6), noarp: (flags & IFF_NOARP) !== 0 };
}

export interface LinkWatcher {
  /** Last known usability of a watched interface (UP and RUNNING). */
  isUp(ifname: string): boolean;
  close(): void;
}

export interface LinkWatchOptions {
  onError?: (error: IoError) => void;
  /** Backstop re-read of /sys, in case the monitor missed or lost an event. Default 2000 ms; 0 = off. */
  pollIntervalMs?: number;
  /** Delay before restarting a monitor that exited. Default 1000 ms. */
  restartDelayMs?: number;
  /** The ip binary. Default 'ip' from PATH. */
  ipCommand?: string;
}

/** `2: ens32: <...>`, `Deleted 2: ens32: ...`, `5: ens32@if4: <...>` -> ens32 */
export function parseMonitorLine(line: string): string | undefined {
  const match = /^(?:Deleted\s+)?\d+:\s+([^:@\s]+)[@:]/.exec(line);
  return match?.[1];
}

/**
 * Watch interfaces for UP/RUNNING changes. onChange(ifname, up) fires only when usability changes;
 * the state at start is available from isUp() and is not reported as a change.
 */
export function watchLinks(
  ifnames: readonly string[],
  onChange: (ifname: string, up: boolean) => void,
  options: LinkWatchOptions = {},
): LinkWatcher {
  const state = new Map<string, boolean>();
  for (const ifname of ifnames) state.set(ifname, readLinkUsable(ifname));
  let closed = false;

  const recheck = (): void => {
    if (closed) return;
    for (const [ifname, wasUp] of state) {
      const up = readLinkUsable(ifname);
      if (up !== wasUp) {
        state.set(ifname, up);
        onChange(ifname, up);
      }
    }
  };

  // Any link event re-reads every watched interface: a rename or a lower device's change can
  // affect a watched name without naming it, and the reads are a few small sysfs files.
  const monitor = runIpMonitor(['monitor', 'link'], 'link.monitor', (line) => {
    if (parseMonitorLine(line) !== undefined) recheck();
  }, { ...options, onStart: recheck });
  // The poll is the fallback for a monitor that missed something; it rides on the daemon's own
  // wake-ups from 3/4 of its interval on (a MASTER at advert_int 1: every other advert).
  const pollIntervalMs = options.pollIntervalMs ?? 2000;
  const poll = pollIntervalMs > 0 ? startChore(recheck, pollIntervalMs) : undefined;

  return {
    isUp: (ifname) => state.get(ifname) ?? readLinkUsable(ifname),
    close() {
      closed = true;
      poll?.close();
      monitor.close();
    },
  };
}
