/**
 * The seed's cluster in a lab: three Kubernetes masters m1-m3 (master1-3: ens32, 10.0.0.51-53)
 * and a client (10.0.0.10) on one bridge. Each master is a network namespace AND a PID namespace
 * (pidns.ts), so that the seed's `killall -0 kube-apiserver` sees only its own node's apiserver,
 * and runs a kube-apiserver stand-in (apiserver.ts) and whichever daemon it is given (vrrpd or
 * keepalived, daemons.ts). A VipWatch follows who holds the VIP from the start. `vrrpd lab`, the
 * real-kernel tests, the interop tests and the benchmarks all run on this.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { makeCertificates, type Certificates } from './certs.js';
import { KeepalivedProcess, VrrpdProcess, type Daemon, type KeepalivedOptions, type VrrpdOptions } from './daemons.js';
import { labScript, ProcessHandle, withTimeout, type ExecResult, type Place } from './exec.js';
import { BridgeLab, TEST_FAMILY, type LabFamily } from './netns.js';
import { VipWatch } from './observers.js';
import { PidNode } from './pidns.js';

export const VIP = '10.0.0.50';
/** The VIP as `ip` prints it on a holder. */
export const VIP_CIDR = `${VIP}/32`;
/** The IPv6 VIP of a dual-stack cluster (examples/dual-stack), and as `ip` prints it. */
export const VIP6 = 'fd00::50';
export const VIP6_CIDR = `${VIP6}/64`;
/** The apiserver port: the stand-in's, which the client probes behind the VIP. */
export const API_PORT = 6443;
export const MASTER_IDS = ['m1', 'm2', 'm3'] as const;
export type Master = (typeof MASTER_IDS)[number];

export interface MasterSpec {
  /** Its host name in the lab (and on the command line): m1..m3. */
  id: Master;
  /** What the seed calls it: master1..master3. */
  name: string;
  index: 1 | 2 | 3;
  address: string;
  /** Its IPv6 address in a dual-stack cluster. */
  address6: string;
}

export const MASTERS: readonly MasterSpec[] = [
  { id: 'm1', name: 'master1', index: 1, address: '10.0.0.51', address6: 'fd00::51' },
  { id: 'm2', name: 'master2', index: 2, address: '10.0.0.52', address6: 'fd00::52' },
  { id: 'm3', name: 'master3', index: 3, address: '10.0.0.53', address6: 'fd00::53' },
];
export const CLIENT = 'client';
export const CLIENT_ADDRESS = '10.0.0.10';
export const CLIENT_ADDRESS6 = 'fd00::10';

export interface ClusterOptions {
  family?: LabFamily;
  /** One cluster per process (the demo's names: FAMILY<pid>m1, ...). */
  single?: boolean;
  /**
   * Make a CA and a serving certificate, and have the stand-ins serve https /readyz with them
   * (the recommended config's check).
   */
  tls?: boolean;
  /**
   * Give every host an IPv6 address too (fd00::51-53, the client fd00::10, /64), have the stand-ins
   * listen on both families, and watch the IPv6 VIP (fd00::50) as well: a dual-stack control plane.
   */
  dualStack?: boolean;
}

/** One master: its namespaces, its kube-apiserver stand-in and whichever daemon runs there. */
export class ClusterNode implements Place {
  apiserver: ProcessHandle | undefined;

  constructor(
    private readonly cluster: Cluster,
    readonly spec: MasterSpec,
    private readonly pid: PidNode,
  ) {}

  /** Its host name in the lab: m1..m3. */
  get name(): Master {
    return this.spec.id;
  }

  get dir(): string {
    return this.pid.dir;
  }

  spawn(cmd: string, args: readonly string[] = []): ReturnType<PidNode['spawn']> {
    return this.pid.spawn(cmd, args);
  }

  exec(cmd: string, args: readonly string[] = [], timeoutMs?: number): Promise<ExecResult> {
    return this.pid.exec(cmd, args, timeoutMs);
  }

  /** Start the kube-apiserver stand-in and wait until it listens. */
  async startApiserver(): Promise<void> {
    if (this.apiserver?.running) throw new Error(`${this.name}: kube-apiserver already running`);
    const certs = this.cluster.certs;
    const tls = certs === undefined ? [] : ['--cert', certs.cert, '--key', certs.key];
    const host = this.cluster.vips6 === undefined ? [] : ['--host', '::'];
    const { child, pid } = await this.spawn(this.cluster.apiserverBin, [labScript('apiserver'), '--name', this.name, '--port', String(API_PORT), ...host, ...tls]);
    const apiserver = new ProcessHandle(child, pid);
    const listening = new Promise<boolean>((resolve) => {
      child.stdout!.once('data', () => resolve(true));
      void apiserver.exited.then(() => resolve(false));
    });
    if (!(await withTimeout(listening, 10_000, false))) throw new Error(`${this.name}: kube-apiserver stand-in did not start: ${apiserver.errors}`);
    this.apiserver = apiserver;
  }

  /** SIGKILL the stand-in (the apiserver dies) and wait until it is gone (reaped, not a zombie). */
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

  /** Start keepalived in the foreground with this config text. */
  async startKeepalived(configText: string, options?: KeepalivedOptions): Promise<KeepalivedProcess> {
    return this.cluster.track(await KeepalivedProcess.start(this, configText, options));
  }

  /** Start `vrrpd run` with this config text; `ext` picks the format (.conf or .yaml). */
  async startVrrpd(configText: string, ext: '.conf' | '.yaml' = '.yaml', options: Omit<VrrpdOptions, 'ext'> = {}): Promise<VrrpdProcess> {
    return this.cluster.track(await VrrpdProcess.start(this, configText, { ...options, ext }));
  }
}

export class Cluster {
  readonly nodes = new Map<Master, ClusterNode>();
  readonly vips: VipWatch<Master>;
  /** Who holds the IPv6 VIP, in a dual-stack cluster. */
  readonly vips6: VipWatch<Master> | undefined;
  /** The stand-in's name: a symlink to node named kube-apiserver. */
  readonly apiserverBin: string;
  private readonly daemons = new Set<Daemon>();

  private constructor(
    readonly lab: BridgeLab,
    /** The CA (for a vrrpd config's ca_file) and the stand-ins' certificate, with options.tls. */
    readonly certs: Certificates | undefined,
    dualStack: boolean,
  ) {
    this.vips = new VipWatch(lab, MASTER_IDS, VIP_CIDR);
    this.vips6 = dualStack ? new VipWatch(lab, MASTER_IDS, VIP6_CIDR) : undefined;
    this.apiserverBin = join(lab.dir, 'bin', 'kube-apiserver');
  }

  /** Build the cluster; on failure everything made so far is deleted before the error is thrown. */
  static async create(options: ClusterOptions = {}): Promise<Cluster> {
    const lab = await BridgeLab.create({
      family: options.family ?? TEST_FAMILY,
      single: options.single,
      hosts: [
        ...MASTERS.map((m) => ({ name: m.id, addresses: [`${m.address}/24`, ...(options.dualStack ? [`${m.address6}/64`] : [])] })),
        { name: CLIENT, addresses: [`${CLIENT_ADDRESS}/24`, ...(options.dualStack ? [`${CLIENT_ADDRESS6}/64`] : [])] },
      ],
    });
    try {
      const pki = join(lab.dir, 'pki');
      if (options.tls) mkdirSync(pki);
      const cluster = new Cluster(lab, options.tls ? makeCertificates(pki) : undefined, options.dualStack === true);
      mkdirSync(join(lab.dir, 'bin'));
      // The check matches the comm, which comes from the name exec'd: a symlink named kube-apiserver.
      symlinkSync(process.execPath, cluster.apiserverBin);
      for (const spec of MASTERS) cluster.nodes.set(spec.id, new ClusterNode(cluster, spec, await PidNode.start(lab, spec.id)));
      await cluster.vips.start();
      await cluster.vips6?.start();
      return cluster;
    } catch (error) {
      await lab.destroy();
      throw error;
    }
  }

  node(name: Master): ClusterNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`no master ${name}`);
    return node;
  }

  /** Daemons started on the nodes, for reset(). */
  track<D extends Daemon>(daemon: D): D {
    this.daemons.add(daemon);
    void daemon.exited.then(() => this.daemons.delete(daemon));
    return daemon;
  }

  /** Who holds the VIP (or another address), read from the kernel now (`ip -n NS addr`). */
  async kernelHolders(vip = VIP_CIDR): Promise<Master[]> {
    const out: Master[] = [];
    for (const host of MASTER_IDS) if ((await this.lab.addrs(host, 'ens32', vip.includes(':') ? 6 : 4)).includes(vip)) out.push(host);
    return out;
  }

  /**
   * Between scenarios: SIGKILL every daemon, make every link and apiserver as at the start,
   * remove leftover VIPs (kill -9 leaves them, as in production).
   */
  async reset(): Promise<void> {
    for (const daemon of this.daemons) daemon.signal('SIGKILL');
    await Promise.all([...this.daemons].map((d) => d.exited));
    for (const host of MASTER_IDS) {
      await this.lab.linkUp(host, 'admin');
      await this.lab.linkUp(host, 'carrier');
      await this.lab.heal(host);
      await this.lab.exec(host, 'ip', ['addr', 'del', VIP_CIDR, 'dev', 'ens32']);
      if (this.vips6 !== undefined) await this.lab.exec(host, 'ip', ['addr', 'del', VIP6_CIDR, 'dev', 'ens32']);
      const node = this.node(host);
      if (!node.apiserver?.running) await node.startApiserver();
    }
  }

  /** Cut a master off the bridge while its own link stays up (no FAULT): a partition. */
  partition(host: Master): Promise<void> {
    return this.lab.partition(host);
  }

  heal(host: Master): Promise<void> {
    return this.lab.heal(host);
  }

  /** Stop every process (a node's init takes its whole PID namespace with it) and delete everything. */
  destroy(): Promise<void> {
    return this.lab.destroy();
  }

  destroySync(): void {
    this.lab.destroySync();
  }
}
