/**
 * `vrrpd lab`: the seed's cluster on this machine, and the failures it exists for.
 *
 * Three masters run the example configs with real daemons (vrrpd, or keepalived on the nodes asked
 * for), each with a kube-apiserver stand-in on :6443; a client asks VIP:6443 who serves it every
 * 10 ms. Scenarios then hurt the master that holds the VIP and restore it:
 * - election:  the cluster starts; the highest priority takes the VIP;
 * - apiserver: its kube-apiserver dies; the VIP moves; it comes back, and preemption returns the VIP;
 * - graceful:  its daemon gets SIGTERM (priority-0 goodbye); the VIP moves; the daemon restarts;
 * - crash:     its cable is pulled (switch port down, no goodbye); the VIP moves after Master_Down.
 * The client-observed outage of every move is the time from the last reply of the old holder to the
 * first reply of the new one. Each scenario starts and ends with the preferred master holding the VIP.
 * With the v3 config set (VRRPv3 at advert_int 0.1) the lab also captures the adverts on the switch
 * and times each failover from the wire: the old master's last advert that mattered to the new
 * master's first, next to the protocol's floor computed from the configs.
 * With the dual-stack config set (examples/dual-stack: 10.0.0.50 and fd00::50 in one sync group) the
 * client also asks [fd00::50]:6443, and every move reports the IPv6 outage and how long the two VIPs
 * were held on different nodes (more than one advert interval fails the step).
 */
import { API_PORT, CLIENT, CLIENT_ADDRESS, CLIENT_ADDRESS6, Cluster, MASTERS, VIP, VIP6 } from './cluster.js';
import type { Daemon } from './daemons.js';
import { DemoNode, EXAMPLE_PREEMPT_DELAY_S, V3_ADVERT_INT_S, type ConfigSet, type ProcessEvent } from './demo-nodes.js';
import { sleep, withTimeout } from './exec.js';
import { removeLeftovers, type LabFamily } from './netns.js';
import { Probe, splitTime, type ProbeReply } from './observers.js';
import { Timeline, type LabEvent, type SummaryRow } from './timeline.js';
import { Wire } from './wire.js';

/** The demo's names: namespaces vrdemo<pid>sw, vrdemo<pid>m1, ...; files in /tmp/vrrpd-demo-<pid>-XXXXXX. */
export const DEMO_FAMILY: LabFamily = { ns: 'vrdemo', dir: 'vrrpd-demo-' };

export const SCENARIOS = ['election', 'apiserver', 'graceful', 'crash'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface LabOptions {
  configSet: ConfigSet;
  /** preempt_delay of the recommended config, in seconds. */
  preemptDelayS: number;
  /** Master ids (m1..m3) that run keepalived instead of vrrpd. */
  keepalivedNodes: ReadonlySet<string>;
  /** Scenarios to run after the election (which always runs: every other one needs a cluster). */
  scenarios: readonly Scenario[];
  /** Where to print the live timeline; undefined for --json. */
  live: NodeJS.WritableStream | undefined;
  /** Aborted on Ctrl-C / SIGTERM: the lab stops waiting and cleans up. */
  signal: AbortSignal;
}

export interface LabResult {
  ok: boolean;
  interrupted: boolean;
  error?: string;
  prefix: string;
  config_set: ConfigSet;
  preempt_delay_s: number;
  daemons: Record<string, 'vrrpd' | 'keepalived'>;
  /** What each master runs, in words: daemon, config file, check. */
  configs: Record<string, string>;
  duration_ms: number;
  /** Namespaces of a killed earlier run that this run deleted. */
  removed_leftovers: string[];
  /** In time order (the live output shows them in the order they arrived). */
  events: LabEvent[];
  summary: SummaryRow[];
}

/**
 * How long a failover may take before the lab calls it failed: Master_Down plus the slowest check,
 * plus preempt_delay (a backup with preempt_delay keeps accepting a master whose priority dropped).
 */
const FAILOVER_TIMEOUT_MS = 15_000;
/** A return by preemption waits preempt_delay, then Master_Down. */
const RETURN_TIMEOUT_MS = 22_000;
/** Pause after a move, so the timeline shows the new holder serving before the next step. */
const DWELL_MS = 1_500;
/** Dual-stack: the VIPs may be on different nodes for at most one advert interval of the example. */
const DUAL_STACK_APART_LIMIT_MS = V3_ADVERT_INT_S * 1000;

class ScenarioFailed extends Error {}

/** What a master runs, in words, for the header and the JSON. */
export function describeNode(kind: 'vrrpd' | 'keepalived', configSet: ConfigSet, preemptDelayS: number): string {
  const v3 = `VRRPv3, advert_int ${V3_ADVERT_INT_S}, no authentication`;
  if (configSet === 'dual-stack') {
    return `${kind} with examples/dual-stack's keepalived.conf (10.0.0.50 and fd00::50 in one sync group, ${v3}; killall -0 kube-apiserver every 1 s, weight 0)`;
  }
  if (kind === 'keepalived' && configSet === 'v3') return `keepalived with the seed's keepalived.conf switched to ${v3} (examples/keepalived/preempt: killall -0 kube-apiserver every 2 s, weight -20)`;
  if (kind === 'keepalived') return "keepalived with the seed's keepalived.conf (examples/keepalived/preempt: killall -0 kube-apiserver every 2 s, weight -20)";
  if (configSet === 'seed') return 'vrrpd with the seed config (examples/preempt: killall -0 kube-apiserver every 2 s, weight -20)';
  const delay = preemptDelayS === EXAMPLE_PREEMPT_DELAY_S ? `preempt_delay ${preemptDelayS} s` : `preempt_delay ${preemptDelayS} s instead of ${EXAMPLE_PREEMPT_DELAY_S} s`;
  if (configSet === 'v3') return `vrrpd with the recommended config switched to ${v3} (examples/recommended: https /readyz every 200 ms, weight 0; ${delay})`;
  return `vrrpd with the recommended config (examples/recommended: https /readyz every 200 ms, weight 0; ${delay})`;
}

/** The header of the live output: the VIP, then one line per kind of node, naming what runs there. */
export function describeCluster(options: Pick<LabOptions, 'configSet' | 'keepalivedNodes' | 'preemptDelayS'>): string {
  const groups = new Map<string, string[]>();
  for (const master of MASTERS) {
    const what = describeNode(options.keepalivedNodes.has(master.id) ? 'keepalived' : 'vrrpd', options.configSet, options.preemptDelayS);
    groups.set(what, [...(groups.get(what) ?? []), master.name]);
  }
  const vips = options.configSet === 'dual-stack' ? `VIPs ${VIP} and ${VIP6}` : `VIP ${VIP}`;
  return `vrrpd lab, ${vips}:\n${[...groups].map(([what, names]) => `  ${names.join(', ')}: ${what}`).join('\n')}\n`;
}

/**
 * The election's row of the summary. The election is won by whoever holds the VIP once it has
 * settled: every node starts in BACKUP and the first Master_Down to run out takes the VIP, so
 * another master may answer first (a slow start of master1); master1 then preempts, as VRRP means it to.
 */
export function electionRow(startMs: number, first: ProbeReply, won: ProbeReply | undefined, expected: string, waitedMs: number): SummaryRow {
  const after = (reply: ProbeReply): string => `${((reply.timeMs - startMs) / 1000).toFixed(2)} s`;
  if (first.node === expected) return { scenario: 'election', step: `cluster started; VIP answers after ${after(first)}`, outage_ms: null, from: null, to: expected, ok: true };
  if (won === undefined) {
    return { scenario: 'election', step: `cluster started; ${first.node} answers after ${after(first)}`, outage_ms: null, from: null, to: first.node, ok: false, note: `expected ${expected}, which did not take the VIP within ${waitedMs / 1000} s` };
  }
  return {
    scenario: 'election',
    step: `cluster started; ${first.node} answers after ${after(first)}, ${expected} preempts after ${after(won)}`,
    outage_ms: won.prevTimeMs === null ? null : won.timeMs - won.prevTimeMs,
    from: won.prevNode ?? first.node,
    to: expected,
    ok: true,
  };
}

export class DemoLab {
  readonly prefix = `${DEMO_FAMILY.ns}${process.pid}`;
  readonly timeline: Timeline;
  private cluster: Cluster | undefined;
  private readonly nodes = new Map<string, DemoNode>();
  private probe: Probe | undefined;
  /** The client's probe of the IPv6 VIP (dual-stack config set only). */
  private probe6: Probe | undefined;
  /** The adverts on the switch (v3 config set only): failovers timed from the wire. */
  private wire: Wire | undefined;
  private removedLeftovers: string[] = [];
  private closing = false;
  private destroyed = false;

  constructor(private readonly options: LabOptions) {
    this.timeline = new Timeline(options.live);
  }

  private get signal(): AbortSignal {
    return this.options.signal;
  }

  async run(): Promise<LabResult> {
    const startedMs = Date.now();
    let ok = true;
    let interrupted = false;
    let error: string | undefined;
    try {
      await this.setUp();
      await this.election();
      for (const scenario of this.options.scenarios) {
        if (scenario === 'election') continue;
        await this.settleOn(MASTERS[0]!.name, `before ${scenario}`);
        if (scenario === 'apiserver') await this.apiserverDeath();
        else if (scenario === 'graceful') await this.gracefulStop();
        else await this.crash();
      }
    } catch (caught) {
      if (this.signal.aborted) {
        interrupted = true;
        this.timeline.add('error', 'interrupted: stopping everything and deleting the namespaces');
      } else {
        error = caught instanceof ScenarioFailed ? caught.message : caught instanceof Error ? caught.message : String(caught);
        this.timeline.add('error', `stopped: ${error}`);
      }
      ok = false;
    } finally {
      await this.destroy();
      this.timeline.close();
    }
    ok &&= this.timeline.summary.every((row) => row.ok);
    return {
      ok,
      interrupted,
      ...(error === undefined ? {} : { error }),
      prefix: this.prefix,
      config_set: this.options.configSet,
      preempt_delay_s: this.options.preemptDelayS,
      daemons: Object.fromEntries(MASTERS.map((m) => [m.name, this.kindOf(m.id)])),
      configs: Object.fromEntries(MASTERS.map((m) => [m.name, describeNode(this.kindOf(m.id), this.options.configSet, this.options.preemptDelayS)])),
      duration_ms: Date.now() - startedMs,
      removed_leftovers: this.removedLeftovers,
      events: [...this.timeline.events].sort((a, b) => a.t_ms - b.t_ms),
      summary: this.timeline.summary,
    };
  }

  private kindOf(id: string): 'vrrpd' | 'keepalived' {
    return this.options.keepalivedNodes.has(id) ? 'keepalived' : 'vrrpd';
  }

  private get preemptDelayMs(): number {
    return this.options.preemptDelayS * 1000;
  }

  private async setUp(): Promise<void> {
    const removed = removeLeftovers(DEMO_FAMILY);
    this.removedLeftovers = removed;
    if (removed.length > 0) this.timeline.say(`removed ${removed.length} namespace(s) left behind by a killed earlier run: ${removed.join(', ')}`);
    const set = this.options.configSet;
    const needsCerts = (set === 'recommended' || set === 'v3') && MASTERS.some((m) => !this.options.keepalivedNodes.has(m.id));
    const cluster = await Cluster.create({ family: DEMO_FAMILY, single: true, tls: needsCerts, dualStack: set === 'dual-stack' });
    this.cluster = cluster;
    this.timeline.say(`network: namespaces ${cluster.lab.namespaceNames.join(', ')}; bridge br0 in ${cluster.lab.switchNs}`);
    const sink = (event: ProcessEvent): void => void this.timeline.add(event.kind, event.text, event.timeMs, { node: event.node });
    for (const clusterNode of cluster.nodes.values()) {
      const node = new DemoNode(clusterNode, this.kindOf(clusterNode.name), this.options.configSet, this.options.preemptDelayS, cluster.certs, sink);
      this.nodes.set(clusterNode.name, node);
      await node.startApiserver();
    }
    // The stand-ins answer with their host name (m1); the demo speaks the seed's (master1).
    const nameOf = (id: string): string => MASTERS.find((m) => m.id === id)?.name ?? id;
    cluster.vips.onChange(({ host, held, timeMs }) => {
      if (!this.closing) this.timeline.add('vip', `${nameOf(host)} ${held ? 'holds' : 'released'} ${VIP}`, timeMs, { node: nameOf(host) });
    });
    cluster.vips6?.onChange(({ host, held, timeMs }) => {
      if (!this.closing) this.timeline.add('vip', `${nameOf(host)} ${held ? 'holds' : 'released'} ${VIP6}`, timeMs, { node: nameOf(host) });
    });
    this.probe = await Probe.start(cluster.lab, CLIENT, { host: VIP, port: API_PORT, label: nameOf, onReply: (reply) => this.onReply(reply, VIP) });
    this.timeline.say(`client ${CLIENT_ADDRESS} asks ${VIP}:${API_PORT} who serves it every 10 ms`);
    if (cluster.vips6 !== undefined) {
      this.probe6 = await Probe.start(cluster.lab, CLIENT, { host: VIP6, port: API_PORT, label: nameOf, onReply: (reply) => this.onReply(reply, VIP6) });
      this.timeline.say(`client ${CLIENT_ADDRESS6} asks [${VIP6}]:${API_PORT} who serves it every 10 ms`);
    }
    if (this.options.configSet === 'v3') {
      this.wire = await Wire.switch(cluster.lab);
      this.timeline.say('tcpdump on the switch times each failover from the adverts on the wire');
    }
  }

  private onReply(reply: ProbeReply, vip: string): void {
    if (this.closing) return;
    // One VIP: "VIP"; a dual-stack run names which one.
    const which = this.probe6 === undefined ? 'VIP' : vip;
    const where = vip.includes(':') ? `[${vip}]:${API_PORT}` : `${vip}:${API_PORT}`;
    if (reply.prevNode === null || reply.prevTimeMs === null) {
      this.timeline.add('client', `client: first reply on ${where}, from ${reply.node}`, reply.timeMs, { node: reply.node });
    } else if (reply.prevNode !== reply.node) {
      const outage = reply.timeMs - reply.prevTimeMs;
      this.timeline.add('client', `${which} moved to ${reply.node}; client outage ${outage} ms`, reply.timeMs, { node: reply.node, outage_ms: outage });
    } else {
      const gap = reply.timeMs - reply.prevTimeMs;
      this.timeline.add('client', `client: ${reply.node} answers again on ${where} after ${gap} ms without a reply`, reply.timeMs, { node: reply.node, outage_ms: gap });
    }
  }

  private node(name: string): DemoNode {
    const node = [...this.nodes.values()].find((n) => n.master.name === name);
    if (node === undefined) throw new Error(`no master named ${name}`);
    return node;
  }

  private async startDaemon(node: DemoNode): Promise<Daemon> {
    const daemon = await node.startDaemon();
    void daemon.exited.then(({ code, signal }) => {
      if (!this.closing) this.timeline.add('state', `${node.master.name} ${daemon.kind}: exited (${signal ?? `code ${code}`})`, Date.now(), { node: node.master.name });
    });
    return daemon;
  }

  private async election(): Promise<void> {
    this.timeline.scenario = 'election';
    this.timeline.add('scenario', 'election: start the three daemons; the highest priority (master1, 100) should end up holding the VIP');
    const startMs = Date.now();
    this.timeline.startClock(startMs);
    const nodes = [...this.nodes.values()];
    // master1 first, and the others once its instance runs (startDaemon waits for that, for
    // keepalived too): with every node in BACKUP, the first Master_Down to run out wins, and
    // master1's is only 4 ms shorter than master2's.
    await this.startDaemon(nodes[0]!);
    this.timeline.add('action', `${nodes[0]!.master.name}: ${nodes[0]!.daemonKind} started`);
    await Promise.all(nodes.slice(1).map((node) => this.startDaemon(node)));
    this.timeline.add('action', `${nodes.slice(1).map((n) => `${n.master.name}: ${n.daemonKind}`).join(', ')} started`);
    const first = await this.probe!.waitFor(() => true, 0, 20_000, this.signal);
    if (first === undefined) {
      this.timeline.row({ scenario: 'election', step: 'cluster started', outage_ms: null, from: null, to: null, ok: false, note: 'nobody answered on the VIP within 20 s' });
      throw new ScenarioFailed('no master took the VIP within 20 s of the start');
    }
    const expected = MASTERS[0]!.name;
    const waitMs = RETURN_TIMEOUT_MS + this.preemptDelayMs;
    const won = first.node === expected ? first : await this.probe!.waitFor((r) => r.node === expected, 0, waitMs, this.signal);
    const row = electionRow(startMs, first, won, expected, waitMs);
    if (this.probe6 !== undefined && row.ok) {
      const won6 = await this.probe6.waitFor((r) => r.node === expected, 0, waitMs, this.signal);
      row.outage6_ms = won6 === undefined || won6.prevTimeMs === null ? null : won6.timeMs - won6.prevTimeMs;
      if (won6 === undefined) Object.assign(row, { ok: false, note: `${expected} did not serve ${VIP6} within ${waitMs / 1000} s` });
    }
    this.timeline.row(row);
    if (!row.ok) throw new ScenarioFailed(`election: ${row.note ?? ''}`);
    await this.settleOn(expected, 'after the election');
  }

  /** Wait until the client has had replies only from `name` for a while; fail the run otherwise. */
  private async settleOn(name: string, when: string, steadyMs = 500, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let steadySince: number | undefined;
    for (;;) {
      const last = this.probe!.last;
      const now = Date.now();
      const last6 = this.probe6?.last;
      const served6 = this.probe6 === undefined || (last6 !== undefined && last6.node === name && now - last6.timeMs < 150);
      if (last !== undefined && last.node === name && now - last.timeMs < 150 && served6) {
        steadySince ??= now;
        if (now - steadySince >= steadyMs) return;
      } else {
        steadySince = undefined;
      }
      if (now > deadline) throw new ScenarioFailed(`${when}: ${name} did not serve the VIP steadily within ${timeoutMs / 1000} s (last reply: ${last ? `${last.node}, ${now - last.timeMs} ms ago` : 'none'})`);
      await sleep(25, this.signal);
    }
  }

  /**
   * Do something to the holder, then wait for the client to be served by another master (a
   * failover); then undo it and wait for the holder to serve again (the return, by preemption).
   */
  private async failAndRestore(scenario: Scenario, title: string, hurt: { step: string; act: () => Promise<void> }, heal: { step: string; act: () => Promise<void> }): Promise<void> {
    const holder = MASTERS[0]!.name;
    this.timeline.scenario = scenario;
    this.timeline.add('scenario', title);
    const probe = this.probe!;

    let mark = probe.replies.length;
    let mark6 = this.probe6?.replies.length ?? 0;
    const hurtAtMs = Date.now();
    await hurt.act();
    const failoverTimeoutMs = FAILOVER_TIMEOUT_MS + this.preemptDelayMs;
    const moved = await probe.waitFor((r) => r.node !== holder, mark, failoverTimeoutMs, this.signal);
    if (moved === undefined) {
      this.timeline.row({ scenario, step: hurt.step, outage_ms: null, from: holder, to: holder, ok: false, note: `no other master answered within ${failoverTimeoutMs / 1000} s` });
      throw new ScenarioFailed(`${scenario}: the VIP did not move within ${failoverTimeoutMs / 1000} s`);
    }
    const failoverRow: SummaryRow = { scenario, step: hurt.step, outage_ms: moved.timeMs - (moved.prevTimeMs ?? moved.timeMs), from: holder, to: moved.node, ok: true };
    await this.dualStackMove(failoverRow, (node) => node !== holder, mark6, hurtAtMs);
    this.timeline.row(failoverRow);
    await sleep(DWELL_MS, this.signal);
    if (this.wire !== undefined) Object.assign(failoverRow, await this.wireTiming(hurtAtMs, moved.node));

    mark = probe.replies.length;
    mark6 = this.probe6?.replies.length ?? 0;
    const interim = probe.last?.node ?? moved.node;
    const healAtMs = Date.now();
    await heal.act();
    const returnTimeoutMs = RETURN_TIMEOUT_MS + this.preemptDelayMs;
    const back = await probe.waitFor((r) => r.node === holder, mark, returnTimeoutMs, this.signal);
    if (back === undefined) {
      this.timeline.row({ scenario, step: heal.step, outage_ms: null, from: interim, to: interim, ok: false, note: `${holder} did not take the VIP back within ${returnTimeoutMs / 1000} s` });
      throw new ScenarioFailed(`${scenario}: ${holder} did not take the VIP back within ${returnTimeoutMs / 1000} s`);
    }
    const returnRow: SummaryRow = { scenario, step: heal.step, outage_ms: back.timeMs - (back.prevTimeMs ?? back.timeMs), from: back.prevNode ?? interim, to: holder, ok: true };
    await this.dualStackMove(returnRow, (node) => node === holder, mark6, healAtMs);
    this.timeline.row(returnRow);
    await this.settleOn(holder, `${scenario}: after the return`);
  }

  /**
   * Dual-stack: both VIPs must settle on one node that `accept`s (another master after a failure,
   * the preferred one after a return), within the failover timeout; the row then names that node,
   * gets the client's outage on the IPv6 VIP, and fails if the two were held on different nodes for
   * more than one advert interval. In the 99/98 race the first node to answer may be the loser
   * (it held the VIPs for a moment), so the IPv4 probe's first new node is not where they land.
   */
  private async dualStackMove(row: SummaryRow, accept: (node: string) => boolean, mark6: number, sinceMs: number): Promise<void> {
    const cluster = this.cluster!;
    const probe6 = this.probe6;
    if (probe6 === undefined || cluster.vips6 === undefined) return;
    const deadline = Date.now() + FAILOVER_TIMEOUT_MS;
    let settled: string | undefined;
    while (settled === undefined && Date.now() < deadline) {
      const [last4, last6, now] = [this.probe!.last, probe6.last, Date.now()];
      if (last4 !== undefined && last6 !== undefined && last4.node === last6.node && accept(last4.node) && now - last4.timeMs < 150 && now - last6.timeMs < 150) settled = last4.node;
      else await sleep(20, this.signal);
    }
    // The client's outage on the IPv6 VIP, measured as the IPv4 row's: to the first answer from a
    // node that `accept`s (in the race, possibly the loser, which answered for a moment).
    const moved6 = settled === undefined ? undefined : probe6.replies.slice(mark6).find((r) => accept(r.node));
    row.outage6_ms = moved6 === undefined ? null : moved6.timeMs - (moved6.prevTimeMs ?? moved6.timeMs);
    if (settled !== undefined) row.to = settled;
    // Let the kernels' notifications of the move arrive before measuring the split.
    await sleep(200, this.signal);
    row.apart_ms = splitTime(cluster.vips, cluster.vips6, sinceMs).longestMs;
    if (settled === undefined) Object.assign(row, { ok: false, note: `${VIP} and ${VIP6} did not settle on one node within ${FAILOVER_TIMEOUT_MS / 1000} s` });
    else if (row.apart_ms > DUAL_STACK_APART_LIMIT_MS) Object.assign(row, { ok: false, note: `the VIPs were on different nodes for ${row.apart_ms} ms (limit: one advert interval, ${DUAL_STACK_APART_LIMIT_MS} ms)` });
  }

  /**
   * The failover as the wire shows it: the old master's last advert that mattered (its priority-0
   * goodbye, else its last advert at a priority the new master defers to) to the new master's first
   * advert, and the floor the protocol sets between them (from the two configs).
   */
  private async wireTiming(hurtAtMs: number, newName: string): Promise<Pick<SummaryRow, 'failover_ms' | 'floor_ms' | 'floor'>> {
    const oldNode = this.node(MASTERS[0]!.name);
    const newNode = this.node(newName);
    const adverts = this.wire!.adverts;
    const first = adverts.find((a) => a.from === newNode.master.id && a.timeMs > hurtAtMs);
    if (first === undefined) return {};
    // The copy addressed to the new master (unicast sends one per peer): its timer runs from that one.
    const before = adverts.filter((a) => a.from === oldNode.master.id && a.timeMs < first.timeMs && (a.destination === newNode.master.address || a.destination === '224.0.0.18'));
    const last = before.at(-1);
    if (last === undefined) return {};
    const goodbye = last.priority === 0;
    const reference = goodbye ? last : before.filter((a) => a.priority >= first.priority).at(-1);
    if (reference === undefined) return {};
    const { protocolFloor } = await import('./floor.js');
    const floor = protocolFloor(newNode.configText(), oldNode.configText(), goodbye);
    return { failover_ms: Math.round((first.timeMs - reference.timeMs) * 10) / 10, floor_ms: floor.ms, floor: `${floor.name}: ${floor.formula}` };
  }

  private apiserverDeath(): Promise<void> {
    const node = this.node(MASTERS[0]!.name);
    const name = node.master.name;
    return this.failAndRestore(
      'apiserver',
      `apiserver: ${name}'s kube-apiserver dies, and comes back`,
      {
        step: `${name}'s kube-apiserver killed`,
        act: async () => {
          this.timeline.add('action', `${name}'s kube-apiserver killed (SIGKILL)`, Date.now(), { node: name });
          await node.killApiserver();
        },
      },
      {
        step: `apiserver back on ${name}; preemption`,
        act: async () => {
          this.timeline.add('action', `kube-apiserver starting again on ${name}`, Date.now(), { node: name });
          await node.startApiserver();
        },
      },
    );
  }

  private gracefulStop(): Promise<void> {
    const node = this.node(MASTERS[0]!.name);
    const name = node.master.name;
    const kind = node.daemonKind;
    return this.failAndRestore(
      'graceful',
      `graceful: ${kind} on ${name} is stopped (SIGTERM, as by systemctl stop), then started again`,
      {
        step: `${kind} on ${name} stopped (SIGTERM)`,
        act: async () => {
          this.timeline.add('action', `${name}: SIGTERM to ${kind}`, Date.now(), { node: name });
          node.daemon?.signal('SIGTERM');
        },
      },
      {
        step: `${kind} restarted on ${name}; preemption`,
        act: async () => {
          const previous = node.daemon;
          if (previous !== undefined && previous.running) await withTimeout(previous.exited, 5_000, undefined);
          this.timeline.add('action', `${name}: ${kind} started again`, Date.now(), { node: name });
          await this.startDaemon(node);
        },
      },
    );
  }

  private crash(): Promise<void> {
    const node = this.node(MASTERS[0]!.name);
    const name = node.master.name;
    return this.failAndRestore(
      'crash',
      `crash: ${name}'s cable is pulled (switch port down: no goodbye, the others wait Master_Down)`,
      {
        step: `${name}'s link down`,
        act: async () => {
          this.timeline.add('action', `${name}: link down (cable pulled)`, Date.now(), { node: name });
          await this.cluster!.lab.linkDown(node.master.id, 'carrier');
        },
      },
      {
        step: `${name}'s link back; preemption`,
        act: async () => {
          this.timeline.add('action', `${name}: link up (cable back)`, Date.now(), { node: name });
          await this.cluster!.lab.linkUp(node.master.id, 'carrier');
        },
      },
    );
  }

  /** Stop every process and delete every namespace and file of this run. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.closing = true;
    await this.wire?.stop().catch(() => undefined);
    await this.cluster?.destroy();
    this.destroySync();
  }

  /** For the process 'exit' handler: no awaiting there. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closing = true;
    this.cluster?.destroySync();
  }
}
