/**
 * The masters of `vrrpd lab`: which daemon and which example config each runs, and what their
 * output means for the timeline. Each daemon's log lines become lab events through a callback; none
 * of this decides anything (lab.ts does).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Certificates } from './certs.js';
import type { ClusterNode, MasterSpec } from './cluster.js';
import type { Daemon, KeepalivedProcess, VrrpdProcess } from './daemons.js';
import { PACKAGE_ROOT } from './exec.js';

export type ConfigSet = 'recommended' | 'seed' | 'v3' | 'dual-stack';

/** advert_int of the v3 config set: VRRPv3's centisecond adverts, a crash taken over in about 0.36 s. */
export const V3_ADVERT_INT_S = 0.1;

/**
 * preempt_delay of the recommended config in the lab (unless --preempt-delay says otherwise). The
 * example's 30 s would make every return of the VIP to master1 take half a minute (and keepalived
 * counts it from the first lower advert seen, then adds Master_Down); the lab shows the same
 * behaviour at a tenth of the wait.
 */
export const LAB_PREEMPT_DELAY_S = 3;
/** preempt_delay in examples/recommended. */
export const EXAMPLE_PREEMPT_DELAY_S = 30;

function replaceOnce(text: string, from: RegExp, to: string, file: string): string {
  const matches = text.match(new RegExp(from.source, `${from.flags.replace('g', '')}g`)) ?? [];
  if (matches.length !== 1) throw new Error(`${file}: expected one match of ${from}, found ${matches.length}`);
  return text.replace(from, to);
}

/**
 * A keepalived.conf switched to VRRPv3 as README's "Sub-second failover with VRRPv3" says: `vrrp_version
 * 3` in global_defs, `advert_int` after virtual_router_id, and no authentication block (VRRPv3 has
 * none; keepalived would only warn and ignore it). Both daemons read the result.
 */
export function keepalivedConfV3(text: string, advertIntS = V3_ADVERT_INT_S, file = 'keepalived.conf'): string {
  let out = replaceOnce(text, /^([ \t]*)global_defs \{[^\n]*\n/m, '$&$1    vrrp_version 3\n', file);
  out = replaceOnce(out, /^([ \t]*)(virtual_router_id [^\n]*)$/m, `$1$2\n$1advert_int ${advertIntS}`, file);
  return replaceOnce(out, /^[ \t]*authentication \{[^}]*\}[^\n]*\n/m, '', file);
}

/** The same switch for a vrrpd YAML config (examples/recommended's layout). */
export function yamlConfigV3(text: string, advertIntS = V3_ADVERT_INT_S, file = 'vrrpd.yaml'): string {
  let out = replaceOnce(text, /^global_defs:[^\n]*\n/m, '$&  vrrp_version: 3\n', file);
  out = replaceOnce(out, /^( +)(virtual_router_id: [^\n]*)$/m, `$1$2\n$1advert_int: ${advertIntS}`, file);
  return replaceOnce(out, /^( +)authentication:[^\n]*\n(?:\1 +[^\n]*\n)+/m, '', file);
}

/**
 * examples/dual-stack's keepalived.conf of master N: 10.0.0.50 and fd00::50 in one sync group,
 * VRRPv3 at advert_int 0.1. vrrpd runs it as it is, as keepalived does.
 */
export function dualStackConfig(index: 1 | 2 | 3): string {
  return readFileSync(join(PACKAGE_ROOT, 'examples', 'dual-stack', 'keepalived', `master${index}.conf`), 'utf8');
}

/** The file extension (the format) of this config set's vrrpd configs. */
export function vrrpdConfigExt(set: ConfigSet): '.conf' | '.yaml' {
  return set === 'dual-stack' ? '.conf' : '.yaml';
}

/** The example config of master N for this config set, as the lab runs it. */
export function vrrpdConfig(set: ConfigSet, index: 1 | 2 | 3, caFile: string | undefined, preemptDelayS = LAB_PREEMPT_DELAY_S): string {
  if (set === 'dual-stack') return dualStackConfig(index);
  if (set === 'seed') return readFileSync(join(PACKAGE_ROOT, 'examples', 'preempt', `master${index}.yaml`), 'utf8');
  const file = join(PACKAGE_ROOT, 'examples', 'recommended', `master${index}.yaml`);
  let text = readFileSync(file, 'utf8');
  text = replaceOnce(text, /ca_file: \/etc\/kubernetes\/pki\/ca\.crt/, `ca_file: ${caFile}`, file);
  text = replaceOnce(text, new RegExp(`preempt_delay: ${EXAMPLE_PREEMPT_DELAY_S} `), `preempt_delay: ${preemptDelayS} `, file);
  return set === 'v3' ? yamlConfigV3(text, V3_ADVERT_INT_S, file) : text;
}

/** The seed's keepalived.conf of master N (switched to VRRPv3 for the v3 set, so that the cluster speaks one version). */
export function keepalivedConfig(index: 1 | 2 | 3, set: ConfigSet = 'seed'): string {
  if (set === 'dual-stack') return dualStackConfig(index);
  const file = join(PACKAGE_ROOT, 'examples', 'keepalived', 'preempt', `master${index}.conf`);
  const text = readFileSync(file, 'utf8');
  return set === 'v3' ? keepalivedConfV3(text, V3_ADVERT_INT_S, file) : text;
}

export interface ProcessEvent {
  timeMs: number;
  kind: 'state' | 'check' | 'link' | 'error';
  node: string;
  text: string;
  /** For kind 'state': the state entered. */
  state?: string;
}

export type EventSink = (event: ProcessEvent) => void;

/** `vrrpd run`'s JSON lines as state, check and link events. */
function followVrrpd(daemon: VrrpdProcess, master: MasterSpec, sink: EventSink, namesInstances: boolean): void {
  const node = `${master.name} vrrpd`;
  daemon.onLine((entry) => {
    const timeMs = entry.timeMs;
    // With more than one instance per node (the dual-stack set), each line says which.
    const who = namesInstances && typeof entry.instance === 'string' ? `${node} ${entry.instance}` : node;
    if (typeof entry.sync_group === 'string' && typeof entry.from === 'string' && typeof entry.to === 'string') {
      // A sync group's own state (its members' transitions come as instance lines).
      sink({ timeMs, kind: 'state', node: master.name, text: `${node}: sync group ${entry.sync_group} ${entry.from} -> ${entry.to}` });
    } else if (typeof entry.from === 'string' && typeof entry.to === 'string') {
      const causes = Array.isArray(entry.fault_causes) && entry.fault_causes.length > 0 ? `, failing: ${entry.fault_causes.join(', ')}` : '';
      sink({ timeMs, kind: 'state', node: master.name, state: entry.to, text: `${who}: ${entry.from} -> ${entry.to} (${String(entry.reason)}, priority ${String(entry.effective_priority)}${causes})` });
    } else if (entry.event === 'preempt_delay_started') {
      // A master below our priority is still accepted (Master_Down reset) until preempt_delay has run out.
      sink({ timeMs, kind: 'state', node: master.name, text: `${who}: lower-priority master; preempt_delay ${String(entry.detail)} starts, until then it stays BACKUP` });
    } else if (entry.event === 'priority_changed') {
      sink({ timeMs, kind: 'check', node: master.name, text: `${who}: priority ${String(entry.detail)}` });
    } else if (entry.msg === 'link down' || entry.msg === 'link up') {
      sink({ timeMs, kind: 'link', node: master.name, text: `${who}: ${String(entry.interface)} ${entry.msg}` });
    } else if (typeof entry.level === 'number' && entry.level >= 50) {
      sink({ timeMs, kind: 'error', node: master.name, text: `${who}: ${String(entry.msg)}` });
    }
  });
}

/** keepalived's state, script and link lines as events (its clock has 1 s resolution: the lab's is used). */
function followKeepalived(daemon: KeepalivedProcess, master: MasterSpec, sink: EventSink): void {
  const who = `${master.name} keepalived`;
  daemon.onLine((line, news) => {
    if (news?.kind === 'state') sink({ timeMs: line.timeMs, kind: 'state', node: master.name, state: news.state!, text: `${who}: -> ${news.state!}` });
    else if (news !== undefined) sink({ timeMs: line.timeMs, kind: news.kind, node: master.name, text: `${who}: ${line.text.trim()}` });
  });
}

/** One master of the demo: its cluster node, the daemon kind and config it runs, where its events go. */
export class DemoNode {
  daemon: Daemon | undefined;

  constructor(
    readonly node: ClusterNode,
    readonly daemonKind: 'vrrpd' | 'keepalived',
    private readonly configSet: ConfigSet,
    private readonly preemptDelayS: number,
    private readonly certs: Certificates | undefined,
    private readonly sink: EventSink,
  ) {}

  get master(): MasterSpec {
    return this.node.spec;
  }

  startApiserver(): Promise<void> {
    return this.node.startApiserver();
  }

  killApiserver(): Promise<void> {
    return this.node.killApiserver();
  }

  /** The config text this node's daemon runs (keepalived.conf or YAML). */
  configText(): string {
    const index = this.master.index;
    return this.daemonKind === 'keepalived' ? keepalivedConfig(index, this.configSet) : vrrpdConfig(this.configSet, index, this.certs?.ca, this.preemptDelayS);
  }

  /**
   * Start this node's VRRP daemon with the lab's config; resolve once its instance runs. The lab
   * starts master1's daemon and waits for that before it starts the others: with every node
   * starting in BACKUP, the first Master_Down to run out wins, and master1's is only 4 ms shorter
   * than master2's.
   */
  async startDaemon(): Promise<Daemon> {
    let daemon: Daemon;
    if (this.daemonKind === 'keepalived') {
      const keepalived = await this.node.startKeepalived(this.configText());
      followKeepalived(keepalived, this.master, this.sink);
      daemon = keepalived;
    } else {
      const vrrpd = await this.node.startVrrpd(this.configText(), vrrpdConfigExt(this.configSet), { logLevel: 'info' });
      followVrrpd(vrrpd, this.master, this.sink, this.configSet === 'dual-stack');
      daemon = vrrpd;
    }
    this.daemon = daemon;
    await daemon.waitStarted(15_000);
    return daemon;
  }
}
