/**
 * What is on the wire: tcpdump in a lab namespace (to a file, or live through a pipe), the one pcap
 * reader, and the decoding of what the lab looks for in frames: VRRP adverts (with the product's own
 * codec) and ARP.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAdvert, isAdvertV3, parseIpHeader } from '../core/codec.js';
import { formatIp } from '../core/ip.js';
import type { ChildProcess } from 'node:child_process';
import { closedPromise, waitForItem, type ExecResult } from './exec.js';

/** What a capture needs of the lab (netns.ts's BridgeLab, which starts captures with tcpdump()). */
export interface CaptureLab {
  readonly dir: string;
  readonly switchNs: string;
  readonly hosts: ReadonlyMap<string, { name: string; switchPort: string }>;
  spawn(nsOrHost: string, cmd: string, args: readonly string[]): ChildProcess;
  exec(nsOrHost: string, cmd: string, args: readonly string[]): Promise<ExecResult>;
}

export interface CapturedFrame {
  /** pcap timestamp (wall clock, microsecond resolution) in ms. */
  timeMs: number;
  /** The whole frame, link-layer header included. */
  bytes: Uint8Array;
}

const PCAP_MAGIC_LE_US = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL2 = 276;
const SLL2_HEADER_LENGTH = 20;
const ETHERNET_HEADER_LENGTH = 14;
const PACKET_OUTGOING = 4;

/** Incremental reader of a classic little-endian microsecond pcap stream or file. */
export class PcapReader {
  private buffer = Buffer.alloc(0);
  linkType: number | undefined;

  constructor(private readonly onFrame: (frame: CapturedFrame, linkType: number) => void) {}

  push(chunk: Uint8Array): void {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    if (this.linkType === undefined) {
      if (this.buffer.length < 24) return;
      if (this.buffer.readUInt32LE(0) !== PCAP_MAGIC_LE_US) throw new Error('not a little-endian microsecond pcap');
      this.linkType = this.buffer.readUInt32LE(20);
      this.buffer = this.buffer.subarray(24);
    }
    while (this.buffer.length >= 16) {
      const length = this.buffer.readUInt32LE(8);
      if (this.buffer.length < 16 + length) return;
      const timeMs = this.buffer.readUInt32LE(0) * 1000 + this.buffer.readUInt32LE(4) / 1000;
      this.onFrame({ timeMs, bytes: new Uint8Array(this.buffer.subarray(16, 16 + length)) }, this.linkType);
      this.buffer = this.buffer.subarray(16 + length);
    }
  }
}

/** Every frame of a whole pcap file. */
export function parsePcap(data: Uint8Array): CapturedFrame[] {
  if (data.length < 24) throw new Error('not a little-endian pcap');
  const frames: CapturedFrame[] = [];
  new PcapReader((frame) => frames.push(frame)).push(data);
  return frames;
}

export interface CaptureOptions {
  /** Interface in the namespace; 'any' with linkType LINUX_SLL2 for every port of the switch. */
  iface?: string;
  /** A pcap filter, e.g. 'ip proto 112 or arp'. */
  filter?: string;
  /** Snap length; 0 (the default) keeps whole frames. */
  snaplen?: number;
  /** The kernel capture buffer in KiB (tcpdump -B). */
  bufferKb?: number;
  linkType?: 'LINUX_SLL2';
  /** Where to write the capture (the default: a file in the lab's directory). */
  file?: string;
  /** Read frames as they come (tcpdump -w -) instead of from a file at stop(). */
  onFrame?: (frame: CapturedFrame, linkType: number) => void;
}

let captureSerial = 0;

/** tcpdump in a lab namespace; start() resolves once it is listening. */
export class Capture {
  private stderrText = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly file: string | undefined,
  ) {}

  static async start(lab: CaptureLab, nsOrHost: string, options: CaptureOptions): Promise<Capture> {
    const file = options.onFrame === undefined ? (options.file ?? join(lab.dir, `cap-${++captureSerial}.pcap`)) : undefined;
    const args = ['-i', options.iface ?? 'ens32', '-nn', '-s', String(options.snaplen ?? 0)];
    if (options.bufferKb !== undefined) args.push('-B', String(options.bufferKb));
    if (options.linkType !== undefined) args.push('-y', options.linkType);
    // --immediate-mode: without it libpcap's ring hands packets over up to a second late, and a
    // capture stopped right after the traffic would miss them. -Z root: tcpdump otherwise drops to
    // its own user, which cannot write into the lab's 0700 directory.
    args.push('--immediate-mode', '-U', '-Z', 'root', '-w', file ?? '-', ...(options.filter ?? '').split(/\s+/).filter(Boolean));
    const child = lab.spawn(nsOrHost, 'tcpdump', args);
    const capture = new Capture(child, file);
    if (options.onFrame !== undefined) {
      const reader = new PcapReader(options.onFrame);
      child.stdout!.on('data', (chunk: Buffer) => reader.push(chunk));
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${capture.stderrText}`)), 10_000);
      child.stderr!.on('data', (chunk: Buffer) => {
        capture.stderrText += chunk.toString();
        if (capture.stderrText.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`tcpdump exited: ${capture.stderrText}`));
      });
    });
    return capture;
  }

  /** What tcpdump said (at the end: packets captured, received, dropped by the kernel). */
  get stderr(): string {
    return this.stderrText;
  }

  /** Stop tcpdump; return every frame it wrote to its file ([] for a live capture: its frames went to onFrame). */
  async stop(): Promise<CapturedFrame[]> {
    const closed = closedPromise(this.child);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    await closed;
    return this.file !== undefined && existsSync(this.file) ? parsePcap(readFileSync(this.file)) : [];
  }
}

export interface WireAdvert {
  /** pcap timestamp (wall clock, microsecond resolution) in ms. */
  timeMs: number;
  /** The lab host whose switch port the frame entered on ('?' if none). */
  from: string;
  source: string;
  destination: string;
  ttl: number;
  tos: number;
  ipId: number;
  /** The version nibble: 2, or 3 (VRRPv3: no auth fields, the interval in centiseconds). */
  version: number;
  vrid: number;
  priority: number;
  /** VRRPv2: the interval byte (whole seconds); VRRPv3: the Max Adver Int in seconds (advertIntervalCs / 100). */
  advertIntervalSec: number;
  /** VRRPv3's Max Adver Int in centiseconds; VRRPv2's interval x 100. */
  advertIntervalCs: number;
  /** VRRPv2's auth type; 0 for VRRPv3, which has none. */
  authType: number;
  addresses: string[];
  /** The IPv4 or IPv6 packet (header + VRRP message). For IPv6, `ttl` is the hop limit and `tos` the traffic class. */
  packet: Uint8Array;
}

/** Decode the IPv4 or IPv6 packet of a VRRP advert, or undefined if it is none. */
export function decodeWireAdvert(packet: Uint8Array, timeMs: number, from: string): WireAdvert | undefined {
  const ip = parseIpHeader(packet);
  if (!ip.ok) return undefined;
  const advert = decodeAdvert(packet, ip.ip.headerLength, undefined, ip.ip.family);
  if (!advert.ok) return undefined;
  const a = advert.advert;
  return {
    timeMs,
    from,
    source: formatIp(ip.ip.source),
    destination: formatIp(ip.ip.destination),
    ttl: ip.ip.ttl,
    tos: ip.ip.tos,
    ipId: ip.ip.id,
    version: a.version,
    vrid: a.virtualRouterId,
    priority: a.priority,
    advertIntervalSec: isAdvertV3(a) ? a.advertIntervalCs / 100 : a.advertIntervalSec,
    advertIntervalCs: isAdvertV3(a) ? a.advertIntervalCs : a.advertIntervalSec * 100,
    authType: isAdvertV3(a) ? 0 : a.authType,
    addresses: a.addresses.map(formatIp),
    packet: packet.slice(),
  };
}

/** The VRRP adverts among captured Ethernet frames (a file capture's), attributed to `from`. */
export function ethernetAdverts(frames: readonly CapturedFrame[], from = '?'): WireAdvert[] {
  return frames.flatMap((frame) => decodeWireAdvert(frame.bytes.subarray(ETHERNET_HEADER_LENGTH), frame.timeMs, from) ?? []);
}

/** A short description of an advert for messages. */
export function brief(a: WireAdvert): string {
  return `${a.timeMs.toFixed(1)} ${a.from} ${a.source}->${a.destination} prio ${a.priority}`;
}

export interface ArpFrame {
  senderMac: string;
  senderIp: string;
  targetIp: string;
  /** Sender and target address are the same: an announcement (gratuitous ARP). */
  gratuitous: boolean;
}

/** The ARP packet of an Ethernet frame, or undefined if it is none. */
export function decodeArp(frame: Uint8Array): ArpFrame | undefined {
  if (frame.length < 42 || frame[12] !== 0x08 || frame[13] !== 0x06) return undefined;
  const ip = (at: number): string => [...frame.subarray(at, at + 4)].join('.');
  const senderMac = [...frame.subarray(22, 28)].map((b) => b.toString(16).padStart(2, '0')).join(':');
  const senderIp = ip(28);
  const targetIp = ip(38);
  return { senderMac, senderIp, targetIp, gratuitous: senderIp === targetIp };
}

/**
 * Live capture of VRRP adverts. `Wire.switch(lab)` watches every switch port at once (what each
 * host put on the wire, whichever way it was addressed); `Wire.host(lab, host)` captures on a
 * host's ens32 and keeps the whole Ethernet frames too (golden packets).
 */
export class Wire {
  readonly adverts: WireAdvert[] = [];
  /** Whole frames, only for host captures (Ethernet link type). */
  readonly frames: CapturedFrame[] = [];
  private capture: Capture | undefined;

  private constructor() {}

  /** All switch ports; frames are attributed by ingress port, the bridge's own copies skipped. */
  static async switch(lab: CaptureLab, filter = 'ip proto 112'): Promise<Wire> {
    const links = await lab.exec(lab.switchNs, 'ip', ['-o', 'link', 'show']);
    const portOwner = new Map<number, string>();
    for (const line of links.stdout.split('\n')) {
      const m = /^(\d+): ([^@:]+)/.exec(line);
      if (!m) continue;
      for (const host of lab.hosts.values()) if (host.switchPort === m[2]) portOwner.set(Number(m[1]), host.name);
    }
    const wire = new Wire();
    wire.capture = await Capture.start(lab, lab.switchNs, {
      iface: 'any',
      linkType: 'LINUX_SLL2',
      filter,
      onFrame: ({ timeMs, bytes }, linkType) => {
        if (linkType !== LINKTYPE_LINUX_SLL2) throw new Error(`unexpected link type ${linkType}`);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const from = portOwner.get(view.getUint32(4));
        // A frame appears once per port it crosses: keep only where it entered the switch.
        if (from === undefined || bytes[10] === PACKET_OUTGOING) return;
        wire.add(bytes.subarray(SLL2_HEADER_LENGTH), timeMs, from);
      },
    });
    return wire;
  }

  /** One host's ens32, whole Ethernet frames (sent and received). */
  static async host(lab: CaptureLab, host: string, filter = 'ip proto 112'): Promise<Wire> {
    const wire = new Wire();
    wire.capture = await Capture.start(lab, host, {
      filter,
      onFrame: (frame, linkType) => {
        if (linkType !== LINKTYPE_ETHERNET) throw new Error(`unexpected link type ${linkType}`);
        wire.frames.push(frame);
        wire.add(frame.bytes.subarray(ETHERNET_HEADER_LENGTH), frame.timeMs, host);
      },
    });
    return wire;
  }

  private add(packet: Uint8Array, timeMs: number, from: string): void {
    const advert = decodeWireAdvert(packet, timeMs, from);
    if (advert) this.adverts.push(advert);
  }

  /** Index to pass as `from` to the queries below (adverts seen after this call). */
  mark(): number {
    return this.adverts.length;
  }

  since(from: number): WireAdvert[] {
    return this.adverts.slice(from);
  }

  waitFor(match: (a: WireAdvert) => boolean, timeoutMs: number, from = 0, what = 'a matching advert'): Promise<WireAdvert> {
    return waitForItem(this.adverts, match, timeoutMs, from, () => `wire: no ${what} within ${timeoutMs} ms; last adverts: ${JSON.stringify(this.adverts.slice(-8).map(brief))}; tcpdump: ${this.capture?.stderr ?? ''}`, 10);
  }

  async stop(): Promise<void> {
    await this.capture?.stop();
  }
}

