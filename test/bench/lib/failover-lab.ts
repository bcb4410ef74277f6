/**
 * What the failover benchmark adds to src/lab's cluster (the seed's three masters, each in its own
 * network and PID namespace, and a client, on one bridge; each master with its apiserver stand-in,
 * which the seed's `killall -0 kube-apiserver` finds, whose https /readyz vrrpd's http check asks,
 * and which answers the client with the master's name):
 * - the client's probe asks VIP:6443 every 10 ms who serves it;
 * - Wire: every advert each master put on the switch, with pcap timestamps (the same wall clock);
 * - per trial, a capture of ARP on the client's port: when the new master's gratuitous ARP arrived;
 * - windows of all three for a trial, and a reset between trials.
 * Daemons are started through the cluster's nodes (keepalived or vrrpd, the same config text).
 */
import { API_PORT, CLIENT, Cluster, VIP } from '../../../src/lab/cluster.js';
import { sleep } from '../../../src/lab/exec.js';
import { Probe, pruneBefore, type ProbeFailure, type ProbeSample } from '../../../src/lab/observers.js';
import { decodeArp, Wire, type WireAdvert } from '../../../src/lab/wire.js';

export interface ArpSeen {
  timeMs: number;
  /** The lab host whose MAC sent it. */
  from: string;
  senderIp: string;
  gratuitous: boolean;
}

export const nowMs = (): number => performance.timeOrigin + performance.now();

export class FailoverLab {
  private constructor(
    readonly mixed: Cluster,
    readonly wire: Wire,
    readonly probe: Probe,
  ) {}

  static async create(): Promise<FailoverLab> {
    const mixed = await Cluster.create({ tls: true });
    try {
      for (const node of mixed.nodes.values()) await node.startApiserver();
      const wire = await Wire.switch(mixed.lab);
      const probe = await Probe.start(mixed.lab, CLIENT, { host: VIP, port: API_PORT });
      return new FailoverLab(mixed, wire, probe);
    } catch (error) {
      await mixed.destroy();
      throw error;
    }
  }

  /** The CA for vrrpd's http check (ca_file). */
  get certs(): { ca: string } {
    return this.mixed.certs!;
  }

  /** Every answered probe (sent and answered, wall clock ms, µs resolution). */
  get replies(): ProbeSample[] {
    return this.probe.samples;
  }

  /** The probe results sent in [fromMs, toMs], and the adverts seen then. */
  window(fromMs: number, toMs: number): { replies: ProbeSample[]; failures: ProbeFailure[]; adverts: WireAdvert[] } {
    return {
      replies: this.probe.samples.filter((r) => r.sentMs >= fromMs && r.sentMs <= toMs),
      failures: this.probe.failures.filter((f) => f.sentMs >= fromMs && f.sentMs <= toMs),
      adverts: this.wire.adverts.filter((a) => a.timeMs >= fromMs && a.timeMs <= toMs),
    };
  }

  /** Forget probe results and adverts before `beforeMs` (a long run would keep them all). */
  prune(beforeMs: number): void {
    this.probe.prune(beforeMs);
    pruneBefore(this.wire.adverts, (a) => a.timeMs, beforeMs);
  }

  /** ARP frames on the client's switch port, for the gratuitous ARP of the new master. */
  async arpCapture(): Promise<{ stop(): Promise<ArpSeen[]> }> {
    const capture = await this.mixed.lab.tcpdump(CLIENT, 'arp');
    const macs = new Map([...this.mixed.lab.hosts.values()].map((h) => [h.mac.toLowerCase(), h.name]));
    return {
      stop: async () =>
        (await capture.stop()).flatMap(({ timeMs, bytes }) => {
          const arp = decodeArp(bytes);
          return arp === undefined ? [] : [{ timeMs, from: macs.get(arp.senderMac) ?? arp.senderMac, senderIp: arp.senderIp, gratuitous: arp.gratuitous }];
        }),
    };
  }

  /** Every daemon SIGKILLed, links up, VIPs gone, stand-ins running, the client's ARP entry flushed. */
  async reset(): Promise<void> {
    await this.mixed.reset();
    await this.mixed.lab.exec(CLIENT, 'ip', ['neigh', 'flush', 'dev', 'ens32']);
    await sleep(200);
  }

  async destroy(): Promise<void> {
    this.probe.stop();
    await this.wire.stop();
    await this.mixed.destroy();
  }
}
