/**
 * A lab for mixed clusters: the seed's three masters (10.0.0.51-53 on ens32) and a client
 * (10.0.0.10), each master in its own network namespace AND its own PID namespace, so that the
 * seed's `killall -0 kube-apiserver` check sees only the fake kube-apiserver of its own node.
 *
 * Per master, a tiny bash init (PID 1 of the node's PID namespace, so orphans inside are reaped
 * and never linger as zombies that `killall -0` would still count) is started with
 * `ip netns exec NS unshare --pid --fork --mount-proc --kill-child`. Everything else of the node
 * (the fake apiserver, keepalived, vrrpd) is started with `nsenter -t INIT -p -m -n`, i.e. in the
 * same network, PID and mount namespaces (the latter holds the node's own /proc).
 *
 * nsenter forks once to enter the PID namespace and does not pass signals on, so every process
 * handle here signals the inner process (nsenter's only child) by its host PID; nsenter then
 * reaps it and exits with its status.
 *
 * Observers that do not trust any daemon's own view:
 * - VipWatch: `ip -n NS monitor address` per master, so each VIP add/remove is seen when the kernel
 *   makes it, with a timestamp; `kernelHolders()` reads `ip -n NS addr` directly.
 * - Wire: one tcpdump in the switch namespace on all ports (`-i any`, Linux cooked v2 headers carry
 *   the ingress port), decoding every VRRP advert with codec.ts, attributed to the host whose port
 *   it entered the switch on.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { decodeAdvert, parseIpHeader } from '../../src/core/codec.js';
import { NodeProcess } from '../../src/lab/processes.js';
import { childrenOf, innerPid } from '../../src/lab/topology.js';
import { formatIpv4 } from '../../src/core/ip.js';
import { Lab, type ExecResult } from '../netns/lab.js';
import { sleep, VRRPD_BIN, VrrpdProcess } from '../netns/vrrpd.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const VIP = '10.0.0.50/32';
export const MASTERS = ['m1', 'm2', 'm3'] as const;
export type Master = (typeof MASTERS)[number];
export const MASTER_ADDRESS: Record<Master, string> = { m1: '10.0.0.51', m2: '10.0.0.52', m3: '10.0.0.53' };
export const CLIENT_ADDRESS = '10.0.0.10';

/**
 * Prefix for long-lived helpers: SIGKILL when the test process dies, even by SIGKILL, when no exit
 * handler runs. For a node's init that takes the whole node with it (unshare --kill-child).
 */
const DIE_WITH_PARENT = ['--pdeathsig', 'SIGKILL'];

/** PID 1 of each node: ignores the signals a stray broadcast could send and reaps orphans. */
const INIT_SCRIPT = 'trap "" TERM INT HUP QUIT USR1 USR2; while :; do sleep 1; done';

export { NodeProcess };

export interface KeepalivedLine {
  /** When the line reached the test (keepalived's console timestamps have 1 s resolution). */
  timeMs: number;
  text: string;
}

/** A keepalived 2.2.7 run in the foreground (`-n`) logging to the console (`-l -D`). */
export class KeepalivedProcess extends NodeProcess {
  readonly lines: KeepalivedLine[] = [];

  constructor(
    child: ChildProcess,
    pid: number,
    readonly host: string,
    readonly configPath: string,
  ) {
    super(child, pid);
    // -l logs to stderr; stdout is read too so that nothing is lost if that changes.
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        // "Wed Nov 25 19:46:27 2026: (VI_1) Entering MASTER STATE": drop keepalived's own clock.
        this.lines.push({ timeMs: Date.now(), text: line.replace(/^\w{3} \w{3} +\d+ [\d:]+ \d{4}: /, '') });
      });
    }
  }

  /** The states keepalived announced, in order ("Entering MASTER STATE" and friends). */
  states(): Array<{ timeMs: number; state: string }> {
    return this.lines.flatMap((l) => {
      const m = /\(\S+\) Entering (\w+) STATE/.exec(l.text);
      return m ? [{ timeMs: l.timeMs, state: m[1]! }] : [];
    });
  }

  async waitForLine(match: RegExp, timeoutMs: number, afterIndex = 0): Promise<KeepalivedLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(afterIndex).find((l) => match.test(l.text));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`keepalived on ${this.host}: no line matching ${match} within ${timeoutMs} ms; log:\n${this.log()}`);
      await sleep(20);
    }
  }

  waitForState(state: string, timeoutMs: number, afterIndex = 0): Promise<KeepalivedLine> {
    return this.waitForLine(new RegExp(`Entering ${state} STATE`), timeoutMs, afterIndex);
  }

  log(): string {
    return this.lines.map((l) => l.text).join('\n');
  }
}

/** `vrrpd run` inside a node's namespaces: the parent's signal() would only reach nsenter. */
export class NodeVrrpdProcess extends VrrpdProcess {
  constructor(
    lab: Lab,
    host: string,
    socketPath: string,
    configPath: string,
    child: ChildProcess,
    readonly pid: number,
  ) {
    super(lab, host, socketPath, configPath, child);
  }

  override signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}

export type Daemon = KeepalivedProcess | NodeVrrpdProcess;

/** One master: its namespaces, its fake kube-apiserver and whichever daemon runs there. */
export class Node {
  apiserver: NodeProcess | undefined;
  private serial = 0;

  constructor(
    private readonly mixed: MixedLab,
    readonly name: Master,
    /** Host PID of the node's init (PID 1 in its PID namespace). */
    readonly initPid: number,
    readonly dir: string,
  ) {}

  get address(): string {
    return MASTER_ADDRESS[this.name];
  }

  private nsenterArgs(cmd: string, args: readonly string[]): string[] {
    return ['-t', String(this.initPid), '-p', '-m', '-n', `--wd=${REPO_ROOT}`, '--', cmd, ...args];
  }

  /** Start a long-running command inside the node's namespaces. */
  async spawn(cmd: string, args: readonly string[] = []): Promise<{ child: ChildProcess; pid: number }> {
    const child = this.mixed.lab.spawn(this.name, 'nsenter', this.nsenterArgs(cmd, args));
    return { child, pid: await innerPid(child, `${this.name}: ${cmd}`) };
  }

  /** Run a short command inside the node's namespaces (its own /proc: `ps` shows only this node). */
  exec(cmd: string, args: readonly string[] = [], timeoutMs?: number): Promise<ExecResult> {
    return this.mixed.lab.exec(this.name, 'nsenter', this.nsenterArgs(cmd, args), timeoutMs);
  }

  /** Start the fake kube-apiserver (a copy of sleep whose comm is kube-apiserver). */
  async startApiserver(): Promise<void> {
    if (this.apiserver?.running) throw new Error(`${this.name}: kube-apiserver already running`);
    const { child, pid } = await this.spawn(this.mixed.apiserverBin, ['infinity']);
    this.apiserver = new NodeProcess(child, pid);
  }

  /** SIGKILL the fake kube-apiserver and wait until it is gone (reaped, not a zombie). */
  async killApiserver(): Promise<void> {
    const apiserver = this.apiserver;
    if (apiserver === undefined || !apiserver.running) throw new Error(`${this.name}: kube-apiserver not running`);
    apiserver.signal('SIGKILL');
    await apiserver.exited;
  }

  /** What the seed's check sees here: 0 while this node's kube-apiserver runs. */
  async checkApiserver(): Promise<number> {
    return (await this.exec('killall', ['-0', 'kube-apiserver'])).code;
  }

  /** Start keepalived in the foreground with this config text (written to a file of the node). */
  async startKeepalived(configText: string): Promise<KeepalivedProcess> {
    const id = `keepalived-${++this.serial}`;
    const configPath = join(this.dir, `${id}.conf`);
    writeFileSync(configPath, configText);
    const pidFile = (what: string): string => join(this.dir, `${id}-${what}.pid`);
    // -n foreground, -l console log (stderr), -D detailed, -G no syslog; unique pid files per run,
    // since every node shares the host's file system.
    const { child, pid } = await this.spawn('keepalived', ['-n', '-l', '-D', '-G', '-f', configPath, '-p', pidFile('main'), '-r', pidFile('vrrp'), '-c', pidFile('checkers')]);
    const proc = new KeepalivedProcess(child, pid, this.name, configPath);
    this.mixed.track(proc);
    return proc;
  }

  /** Start `vrrpd run` with this config text; `ext` picks the file name (.conf or .yaml). */
  async startVrrpd(configText: string, ext: '.conf' | '.yaml'): Promise<NodeVrrpdProcess> {
    const id = `vrrpd-${++this.serial}`;
    const configPath = join(this.dir, `${id}${ext}`);
    const socketPath = join(this.dir, `${id}.sock`);
    writeFileSync(configPath, configText);
    const { child, pid } = await this.spawn(process.execPath, [VRRPD_BIN, 'run', '--config', configPath, '--socket', socketPath, '--log-level', 'debug']);
    const proc = new NodeVrrpdProcess(this.mixed.lab, this.name, socketPath, configPath, child, pid);
    this.mixed.track(proc);
    return proc;
  }
}

export interface HolderEvent {
  timeMs: number;
  host: Master;
  held: boolean;
}

/** Which masters hold the VIP, from the kernel's own address notifications. */
export class VipWatch {
  readonly events: HolderEvent[] = [];
  private readonly held = new Set<Master>();
  private readonly monitors: ChildProcess[] = [];

  constructor(private readonly lab: Lab, readonly vip = VIP) {}

  async start(): Promise<void> {
    for (const host of MASTERS) {
      // Started through the lab, so that it is killed with the lab even if this process dies.
      const monitor = this.lab.spawn(host, 'setpriv', [...DIE_WITH_PARENT, 'ip', '-4', '-o', 'monitor', 'address']);
      this.monitors.push(monitor);
      createInterface({ input: monitor.stdout! }).on('line', (line) => {
        if (!line.includes(` inet ${this.vip} `)) return;
        this.record(host, !line.startsWith('Deleted'));
      });
    }
    // The monitors need a moment to subscribe; then the kernel's current state seeds the set.
    await sleep(100);
    for (const host of MASTERS) if ((await this.lab.addrs(host)).includes(this.vip)) this.record(host, true);
  }

  private record(host: Master, held: boolean): void {
    if (this.held.has(host) === held) return;
    if (held) this.held.add(host);
    else this.held.delete(host);
    this.events.push({ timeMs: Date.now(), host, held });
  }

  holders(): Master[] {
    return MASTERS.filter((h) => this.held.has(h));
  }

  /** The largest number of masters that held the VIP at the same time in [fromMs, now]. */
  maxHolders(fromMs: number): number {
    const set = new Set<Master>();
    for (const e of this.events) {
      if (e.timeMs > fromMs) break;
      if (e.held) set.add(e.host);
      else set.delete(e.host);
    }
    let max = set.size;
    for (const e of this.events) {
      if (e.timeMs <= fromMs) continue;
      if (e.held) set.add(e.host);
      else set.delete(e.host);
      max = Math.max(max, set.size);
    }
    return max;
  }

  /** How long, in total, two or more masters held the VIP at once in [fromMs, now]. */
  dualMs(fromMs: number): number {
    const set = new Set<Master>();
    let total = 0;
    let dualSince: number | undefined;
    for (const e of this.events) {
      if (e.held) set.add(e.host);
      else set.delete(e.host);
      const at = Math.max(e.timeMs, fromMs);
      if (set.size >= 2 && dualSince === undefined) dualSince = at;
      if (set.size < 2 && dualSince !== undefined) {
        total += at - dualSince;
        dualSince = undefined;
      }
    }
    if (dualSince !== undefined) total += Date.now() - dualSince;
    return total;
  }

  /** The first master that added the VIP after `fromMs`. */
  firstTaker(fromMs: number): Master | undefined {
    return this.since(fromMs).find((e) => e.held)?.host;
  }

  /** What moved after `fromMs`, times relative to it, for assertion messages. */
  describe(fromMs: number): string {
    return this.since(fromMs).map((e) => `+${e.timeMs - fromMs}ms ${e.host} ${e.held ? 'added' : 'removed'}`).join('; ') || 'no change';
  }

  /** Events after `fromMs`, e.g. to show what moved during a window. */
  since(fromMs: number): HolderEvent[] {
    return this.events.filter((e) => e.timeMs > fromMs);
  }

  /** Wait until exactly `expected` hold the VIP; return the time of the event that made it so. */
  async waitForHolders(expected: readonly Master[], timeoutMs: number, what = `holders ${expected.join(',') || 'none'}`): Promise<number> {
    const want = [...expected].sort().join(',');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.holders().join(',') === want) return this.events.at(-1)?.timeMs ?? Date.now();
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; holders now [${this.holders().join(',')}]; events ${JSON.stringify(this.events.slice(-10))}`);
      await sleep(10);
    }
  }

  stop(): void {
    for (const monitor of this.monitors) monitor.kill('SIGTERM');
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
  vrid: number;
  priority: number;
  advertIntervalSec: number;
  authType: number;
  addresses: string[];
  /** The IPv4 packet (header + VRRP message). */
  packet: Uint8Array;
}

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL2 = 276;
const SLL2_HEADER_LENGTH = 20;
const ETHERNET_HEADER_LENGTH = 14;
const PACKET_OUTGOING = 4;

/** Decode the IPv4 packet of a VRRP advert, or undefined if it is none. */
export function decodeWireAdvert(packet: Uint8Array, timeMs: number, from: string): WireAdvert | undefined {
  const ip = parseIpHeader(packet);
  if (!ip.ok) return undefined;
  const advert = decodeAdvert(packet, ip.ip.headerLength);
  if (!advert.ok) return undefined;
  const a = advert.advert;
  return {
    timeMs,
    from,
    source: formatIpv4(ip.ip.source),
    destination: formatIpv4(ip.ip.destination),
    ttl: ip.ip.ttl,
    tos: ip.ip.tos,
    ipId: ip.ip.id,
    vrid: a.virtualRouterId,
    priority: a.priority,
    advertIntervalSec: a.advertIntervalSec,
    authType: a.authType,
    addresses: a.addresses.map(formatIpv4),
    packet: packet.slice(),
  };
}

/** Incremental reader of a little-endian pcap stream (tcpdump -w -). */
class PcapStream {
  private buffer = Buffer.alloc(0);
  linkType: number | undefined;

  constructor(private readonly onFrame: (timeMs: number, frame: Uint8Array, linkType: number) => void) {}

  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.linkType === undefined) {
      if (this.buffer.length < 24) return;
      if (this.buffer.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('tcpdump: not a little-endian microsecond pcap stream');
      this.linkType = this.buffer.readUInt32LE(20);
      this.buffer = this.buffer.subarray(24);
    }
    while (this.buffer.length >= 16) {
      const length = this.buffer.readUInt32LE(8);
      if (this.buffer.length < 16 + length) return;
      const timeMs = this.buffer.readUInt32LE(0) * 1000 + this.buffer.readUInt32LE(4) / 1000;
      this.onFrame(timeMs, new Uint8Array(this.buffer.subarray(16, 16 + length)), this.linkType);
      this.buffer = this.buffer.subarray(16 + length);
    }
  }
}

/**
 * Live capture of VRRP adverts. `Wire.switch(lab)` watches every switch port at once (what each
 * host put on the wire, whichever way it was addressed); `Wire.host(lab, host)` captures on a
 * host's ens32 and keeps the whole Ethernet frames too (golden packets).
 */
export class Wire {
  readonly adverts: WireAdvert[] = [];
  /** Whole frames, only for host captures (Ethernet link type). */
  readonly frames: Array<{ timeMs: number; bytes: Uint8Array }> = [];
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {}

  private static async start(lab: Lab, ns: string, args: string[], attribute: (linkHeader: Uint8Array, linkType: number) => { from: string; skip: boolean; ipOffset: number }, keepFrames: boolean): Promise<Wire> {
    const child = lab.spawn(ns, 'setpriv', [...DIE_WITH_PARENT, 'tcpdump', '-nn', '--immediate-mode', '-U', '-s', '0', '-w', '-', ...args]);
    const wire = new Wire(child);
    const stream = new PcapStream((timeMs, frame, linkType) => {
      const { from, skip, ipOffset } = attribute(frame, linkType);
      if (skip) return;
      if (keepFrames) wire.frames.push({ timeMs, bytes: frame });
      const advert = decodeWireAdvert(frame.subarray(ipOffset), timeMs, from);
      if (advert) wire.adverts.push(advert);
    });
    child.stdout!.on('data', (chunk: Buffer) => stream.push(chunk));
    await new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${wire.stderr}`)), 10_000);
      child.stderr!.on('data', (chunk: Buffer) => {
        wire.stderr += chunk.toString();
        if (wire.stderr.includes('listening on')) {
          clearTimeout(timer);
          resolvePromise();
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`tcpdump exited: ${wire.stderr}`));
      });
    });
    return wire;
  }

  /** All switch ports; frames are attributed by ingress port, the bridge's own copies skipped. */
  static async switch(lab: Lab, filter = 'ip proto 112'): Promise<Wire> {
    const links = await lab.exec(lab.switchNs, 'ip', ['-o', 'link', 'show']);
    const portOwner = new Map<number, string>();
    for (const line of links.stdout.split('\n')) {
      const m = /^(\d+): ([^@:]+)/.exec(line);
      if (!m) continue;
      for (const host of lab.hosts.values()) if (host.switchPort === m[2]) portOwner.set(Number(m[1]), host.name);
    }
    return Wire.start(
      lab,
      lab.switchNs,
      ['-i', 'any', '-y', 'LINUX_SLL2', ...filter.split(/\s+/).filter(Boolean)],
      (frame, linkType) => {
        if (linkType !== LINKTYPE_LINUX_SLL2) throw new Error(`unexpected link type ${linkType}`);
        const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
        const ifindex = view.getUint32(4);
        const packetType = frame[10];
        const from = portOwner.get(ifindex);
        // A frame appears once per port it crosses: keep only where it entered the switch.
        return { from: from ?? '?', skip: from === undefined || packetType === PACKET_OUTGOING, ipOffset: SLL2_HEADER_LENGTH };
      },
      false,
    );
  }

  /** One host's ens32, whole Ethernet frames (sent and received). */
  static async host(lab: Lab, host: string, filter = 'ip proto 112'): Promise<Wire> {
    return Wire.start(
      lab,
      host,
      ['-i', 'ens32', ...filter.split(/\s+/).filter(Boolean)],
      (_frame, linkType) => {
        if (linkType !== LINKTYPE_ETHERNET) throw new Error(`unexpected link type ${linkType}`);
        return { from: host, skip: false, ipOffset: ETHERNET_HEADER_LENGTH };
      },
      true,
    );
  }

  /** Index to pass as `from` to the queries below (adverts seen after this call). */
  mark(): number {
    return this.adverts.length;
  }

  since(from: number): WireAdvert[] {
    return this.adverts.slice(from);
  }

  async waitFor(match: (a: WireAdvert) => boolean, timeoutMs: number, from = 0, what = 'a matching advert'): Promise<WireAdvert> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.adverts.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`wire: no ${what} within ${timeoutMs} ms; last adverts: ${JSON.stringify(this.adverts.slice(-8).map(brief))}; tcpdump: ${this.stderr}`);
      await sleep(10);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGINT');
    await exited;
  }
}

/** A short description of an advert for messages. */
export function brief(a: WireAdvert): string {
  return `${a.timeMs.toFixed(1)} ${a.from} ${a.source}->${a.destination} prio ${a.priority}`;
}

/**
 * The lab: masters m1-m3 (each with its PID namespace and init) and a client, on one bridge. Every
 * process is killed and every namespace deleted by destroy(), also when creation fails half-way
 * and (through Lab) at process exit.
 */
export class MixedLab {
  readonly nodes = new Map<Master, Node>();
  readonly apiserverBin: string;
  readonly vips: VipWatch;
  private readonly dir = mkdtempSync(join(tmpdir(), 'vrrpd-interop-'));
  private readonly inits: ChildProcess[] = [];
  private readonly daemons = new Set<Daemon>();
  private destroyed = false;

  private constructor(readonly lab: Lab) {
    this.apiserverBin = join(this.dir, 'bin', 'kube-apiserver');
    this.vips = new VipWatch(lab);
  }

  static async create(): Promise<MixedLab> {
    const lab = await Lab.create({
      hosts: [
        ...MASTERS.map((name) => ({ name, addresses: [`${MASTER_ADDRESS[name]}/24`] })),
        { name: 'client', addresses: [`${CLIENT_ADDRESS}/24`] },
      ],
    });
    const mixed = new MixedLab(lab);
    try {
      await mixed.build();
    } catch (error) {
      await mixed.destroy();
      throw error;
    }
    return mixed;
  }

  private async build(): Promise<void> {
    mkdirSync(dirname(this.apiserverBin));
    // `exec -a` changes argv[0] only; killall matches the comm, which comes from the file name.
    copyFileSync('/bin/sleep', this.apiserverBin);
    chmodSync(this.apiserverBin, 0o755);
    for (const name of MASTERS) {
      const init = this.lab.spawn(name, 'setpriv', [...DIE_WITH_PARENT, 'unshare', '--pid', '--fork', '--mount-proc', '--kill-child', 'bash', '-c', INIT_SCRIPT]);
      this.inits.push(init);
      const initPid = await innerPid(init, `${name}: init`);
      const dir = join(this.dir, name);
      mkdirSync(dir);
      this.nodes.set(name, new Node(this, name, initPid, dir));
    }
    await this.vips.start();
  }

  node(name: Master): Node {
    return this.nodes.get(name)!;
  }

  track(daemon: Daemon): void {
    this.daemons.add(daemon);
    void daemon.exited.then(() => this.daemons.delete(daemon));
  }

  /** Who holds the VIP, read from the kernel now (`ip -n NS addr`). */
  async kernelHolders(vip = VIP): Promise<Master[]> {
    const out: Master[] = [];
    for (const host of MASTERS) if ((await this.lab.addrs(host)).includes(vip)) out.push(host);
    return out;
  }

  /**
   * Between scenarios: SIGKILL every daemon, make every link and apiserver as at the start,
   * remove leftover VIPs (kill -9 leaves them, as in production).
   */
  async reset(): Promise<void> {
    for (const daemon of this.daemons) daemon.signal('SIGKILL');
    await Promise.all([...this.daemons].map((d) => d.exited));
    for (const host of MASTERS) {
      await this.lab.linkUp(host, 'admin');
      await this.lab.linkUp(host, 'carrier');
      await this.lab.exec(this.lab.switchNs, 'ip', ['link', 'set', this.lab.host(host).switchPort, 'master', 'br0']);
      await this.lab.exec(host, 'ip', ['addr', 'del', VIP, 'dev', 'ens32']);
      const node = this.node(host);
      if (!node.apiserver?.running) await node.startApiserver();
    }
  }

  /** Cut a host off the bridge while its own link stays up (no FAULT): a partition. */
  async partition(host: Master): Promise<void> {
    const result = await this.lab.exec(this.lab.switchNs, 'ip', ['link', 'set', this.lab.host(host).switchPort, 'nomaster']);
    if (result.code !== 0) throw new Error(`partition ${host}: ${result.stderr}`);
  }

  async heal(host: Master): Promise<void> {
    const result = await this.lab.exec(this.lab.switchNs, 'ip', ['link', 'set', this.lab.host(host).switchPort, 'master', 'br0']);
    if (result.code !== 0) throw new Error(`heal ${host}: ${result.stderr}`);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.vips.stop();
    // PID 1 of a node dying takes every process of that node with it; each nsenter then reaps its
    // child and exits, so nothing is left orphaned outside the namespaces.
    for (const init of this.inits) {
      const pid = (await childrenOf(init.pid!))[0];
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    await Promise.all([...this.daemons].map((d) => Promise.race([d.exited, sleep(2_000)])));
    await this.lab.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
