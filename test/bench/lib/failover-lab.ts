/**
 * The failover benchmark's lab, on top of test/interop/mixed-lab.ts (the seed's three masters, each
 * in its own network and PID namespace, and a client, on one bridge):
 * - each master runs an apiserver stand-in (apiserver-standin.mjs through a symlink named
 *   kube-apiserver): the seed's `killall -0 kube-apiserver` finds it, vrrpd's http check gets 200
 *   from its /readyz, and port 8080 answers the client with the master's name;
 * - the client probes VIP:8080 every 10 ms (probe-client.mjs) and records who answered, when;
 * - Wire: every advert each master put on the switch, with pcap timestamps (the same wall clock);
 * - per trial, a capture of ARP on the client's port: when the new master's gratuitous ARP arrived.
 * Daemons are started through the mixed lab's Node (keepalived or vrrpd, the same config text).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Capture } from '../../netns/lab.js';
import { sleep } from '../../netns/vrrpd.js';
import { MASTERS, MixedLab, NodeProcess, VIP, Wire, type Daemon, type Master, type WireAdvert } from '../../interop/mixed-lab.js';
import { makeCertificates, type Certificates } from './certs.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const PROBE_PORT = 8080;

export interface ProbeReply {
  /** When the probe was sent and answered (wall clock ms, µs resolution). */
  sentMs: number;
  replyMs: number;
  who: string;
}

export interface ProbeFailure {
  sentMs: number;
  error: string;
}

export interface ArpSeen {
  timeMs: number;
  /** The lab host whose MAC sent it. */
  from: string;
  senderIp: string;
  gratuitous: boolean;
}

export const nowMs = (): number => performance.timeOrigin + performance.now();

export class FailoverLab {
  readonly replies: ProbeReply[] = [];
  readonly failures: ProbeFailure[] = [];
  readonly standins = new Map<Master, NodeProcess>();
  private client: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'vrrpd-bench-'));
  readonly certs: Certificates;
  private readonly standinBin: string;

  private constructor(
    readonly mixed: MixedLab,
    readonly wire: Wire,
  ) {
    this.certs = makeCertificates(this.dir);
    // comm comes from the name the binary was executed by, so the symlink makes `killall` see it.
    this.standinBin = join(this.dir, 'kube-apiserver');
    symlinkSync(process.execPath, this.standinBin);
  }

  static async create(): Promise<FailoverLab> {
    const mixed = await MixedLab.create();
    try {
      const wire = await Wire.switch(mixed.lab);
      const lab = new FailoverLab(mixed, wire);
      for (const host of MASTERS) await lab.startStandin(host);
      lab.startClient();
      return lab;
    } catch (error) {
      await mixed.destroy();
      throw error;
    }
  }

  /** Start this master's apiserver stand-in; resolves once both of its ports listen. */
  async startStandin(host: Master): Promise<void> {
    const node = this.mixed.node(host);
    const { child, pid } = await node.spawn(this.standinBin, [join(HERE, 'apiserver-standin.mjs'), host, this.certs.cert, this.certs.key, String(PROBE_PORT)]);
    const proc = new NodeProcess(child, pid);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${host}: apiserver stand-in did not start`)), 10_000);
      createInterface({ input: child.stdout! }).once('line', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.standins.set(host, proc);
    // The mixed lab's own bookkeeping (reset(), killApiserver()) looks here.
    node.apiserver = proc;
  }

  async killStandin(host: Master): Promise<void> {
    const proc = this.standins.get(host);
    if (proc === undefined || !proc.running) throw new Error(`${host}: apiserver stand-in not running`);
    proc.signal('SIGKILL');
    await proc.exited;
  }

  private startClient(): void {
    const child = this.mixed.lab.spawn('client', 'setpriv', ['--pdeathsig', 'SIGKILL', process.execPath, join(HERE, 'probe-client.mjs'), '--port', String(PROBE_PORT)]);
    this.client = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { t: number; r?: number; n?: string; e?: string };
      if (m.r !== undefined) this.replies.push({ sentMs: m.t, replyMs: m.r, who: m.n ?? '?' });
      else this.failures.push({ sentMs: m.t, error: m.e ?? '?' });
    });
  }

  /** The probe results sent in [fromMs, toMs]. */
  window(fromMs: number, toMs: number): { replies: ProbeReply[]; failures: ProbeFailure[]; adverts: WireAdvert[] } {
    return {
      replies: this.replies.filter((r) => r.sentMs >= fromMs && r.sentMs <= toMs),
      failures: this.failures.filter((f) => f.sentMs >= fromMs && f.sentMs <= toMs),
      adverts: this.wire.adverts.filter((a) => a.timeMs >= fromMs && a.timeMs <= toMs),
    };
  }

  /** Forget probe results and adverts before `beforeMs` (a long run would keep them all). */
  prune(beforeMs: number): void {
    const keep = <T>(list: T[], time: (x: T) => number): void => {
      const kept = list.filter((x) => time(x) >= beforeMs);
      list.splice(0, list.length, ...kept);
    };
    keep(this.replies, (r) => r.sentMs);
    keep(this.failures, (f) => f.sentMs);
    keep(this.wire.adverts, (a) => a.timeMs);
  }

  /** ARP frames on the client's switch port, for the gratuitous ARP of the new master. */
  async arpCapture(): Promise<{ stop(): Promise<ArpSeen[]> }> {
    const capture: Capture = await this.mixed.lab.tcpdump('client', 'arp');
    const macs = new Map([...this.mixed.lab.hosts.values()].map((h) => [h.mac.toLowerCase(), h.name]));
    return {
      stop: async () => {
        const frames = await capture.stop();
        const out: ArpSeen[] = [];
        for (const { timeMs, bytes } of frames) {
          if (bytes.length < 42 || bytes[12] !== 0x08 || bytes[13] !== 0x06) continue;
          const mac = [...bytes.subarray(22, 28)].map((b) => b.toString(16).padStart(2, '0')).join(':');
          const senderIp = [...bytes.subarray(28, 32)].join('.');
          const targetIp = [...bytes.subarray(38, 42)].join('.');
          out.push({ timeMs, from: macs.get(mac) ?? mac, senderIp, gratuitous: senderIp === targetIp });
        }
        return out;
      },
    };
  }

  /** Every daemon SIGKILLed, links up, VIPs gone, stand-ins running, the client's ARP entry flushed. */
  async reset(daemons: readonly Daemon[]): Promise<void> {
    for (const daemon of daemons) daemon.signal('SIGKILL');
    await Promise.all(daemons.map((d) => d.exited));
    const lab = this.mixed.lab;
    for (const host of MASTERS) {
      await lab.linkUp(host, 'admin');
      await lab.linkUp(host, 'carrier');
      await lab.exec(host, 'ip', ['addr', 'del', VIP, 'dev', 'ens32']);
      if (!this.standins.get(host)?.running) await this.startStandin(host);
    }
    await lab.exec('client', 'ip', ['neigh', 'flush', 'dev', 'ens32']);
    await sleep(200);
  }

  async destroy(): Promise<void> {
    this.client?.kill('SIGKILL');
    await this.wire.stop();
    await this.mixed.destroy();
  }
}
