/**
 * Failover benchmark (issue 6): vrrpd next to keepalived 2.2.7, same lab, same keepalived.conf,
 * trials interleaved (vrrpd, keepalived, keepalived, vrrpd, ...) so that a busy spell of the
 * machine hits both alike.
 *
 * Scenarios (the seed's three masters, master1 = 10.0.0.51 holds the VIP at the start):
 * - crash:          master1's switch port goes down (carrier loss: it cannot say goodbye);
 * - graceful:       SIGTERM to master1's daemon (priority-0 goodbye);
 * - apiserver-seed: master1's apiserver dies; the seed's preempt config (killall -0, 2 s, weight -20);
 * - apiserver-fast: the same death; vrrpd with the recommended config (built-in http /readyz
 *   check, 200 ms, fall 3, weight 0), keepalived with the fastest check it has: vrrp_script
 *   intervals are whole seconds (>= 1) and there is no http check for VRRP, so `killall -0` every
 *   1 s, fall 1, weight 0. Different configs: the ratio compares what each can be set up to do.
 * - apiserver-fast-script: both daemons on that same keepalived.conf (killall, 1 s, fall 1, weight 0).
 * - v3-crash:       the seed's conf switched to VRRPv3 at advert_int 0.1 (vrrp_version 3, no
 *   authentication); kill -9 of master1's daemon, every process of it at once (keepalived's VRRP
 *   child would otherwise get SIGTERM from its dying parent and say goodbye). The VIP stays on
 *   master1 and its stand-in keeps answering until the new master's gratuitous ARP, as in production.
 * - v3-graceful:    the same conf; SIGTERM to master1's daemon (priority-0 goodbye).
 *
 * Figures per trial (client probes VIP:6443 every 10 ms; each master's stand-in answers its name):
 * - outage = first reply from the new master - last reply from the old one;
 * - D = first reply from the new master - the old master's last advert that mattered (the copy sent
 *   to the new master, with unicast peers): its
 *   priority-0 goodbye if it sent one (floor = Skew_Time of the new master), else its last advert
 *   at a priority the new master defers to (floor = Master_Down_Interval);
 * - overhead = D - floor, split into: timer lateness (the new master's first advert - reference -
 *   floor), advert -> gratuitous ARP at the client, GARP -> first reply.
 * - the floor comes from the configs (protocolFloor: version, advert_int, the new master's priority).
 * - wire D = the new master's first advert - that reference advert (both in the switch's capture):
 *   the daemons' own figure, without the client's 10 ms probe spacing. The VRRPv3 targets are
 *   judged on it: crash median wire D <= 400 ms, vrrpd/keepalived ratio of medians <= 1.00 (to two
 *   decimals, as the target is written and the table prints it), median overhead above the floor <= 10 ms.
 *
 *   node --import ./test/register.mjs test/bench/failover.ts [--trials 5] [--scenarios crash,graceful,v3-crash,v3-graceful] [--no-doc] [--verbose]
 *   (--no-doc: print the tables only; docs/benchmarks.md and the SVG timelines are left alone)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfigText } from '../../src/config/load.js';
import { seedConf } from '../interop/configs.js';
import { MASTER_IDS, MASTERS, type Master } from '../../src/lab/cluster.js';
import type { Daemon } from '../../src/lab/daemons.js';
import { keepalivedConfV3 } from '../../src/lab/demo-nodes.js';
import { protocolFloor, type ProtocolFloor } from '../../src/lab/floor.js';
import { childrenOf, sleep } from '../../src/lab/exec.js';
import { labUnavailableReason } from '../netns/lab.js';
import { DOCS_DIR, replaceSection } from './lib/doc.js';
import { FailoverLab, nowMs, type ArpSeen } from './lib/failover-lab.js';
import { describeMachine, finishMachineInfo, machineInfo } from './lib/machine.js';
import { cell, markdownTable, median, p95 } from './lib/stats.js';
import { timelineSvg, type TimelinePanel } from './lib/svg.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const SCENARIOS = ['crash', 'graceful', 'apiserver-seed', 'apiserver-fast', 'apiserver-fast-script', 'v3-crash', 'v3-graceful'] as const;
type ScenarioName = (typeof SCENARIOS)[number];
const IMPLS = ['vrrpd', 'keepalived'] as const;
type Impl = (typeof IMPLS)[number];
const PRIORITY: Record<Master, number> = { m1: 100, m2: 99, m3: 98 };
const isV3 = (scenario: ScenarioName): boolean => scenario.startsWith('v3-');
/** The VRRPv3 targets of issue 14 (crash at advert_int 0.1). */
const V3_TARGETS = { crashDMs: 400, ratio: 1.0, overheadMs: 10 };

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '5' },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    'no-doc': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});
const trials = Number(values.trials);
const scenarios = values.scenarios.split(',').map((s) => s.trim()) as ScenarioName[];
for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}; known: ${SCENARIOS.join(', ')}`);

function replaceOnce(text: string, from: RegExp, to: string): string {
  if ((text.match(new RegExp(from.source, 'gm')) ?? []).length !== 1) throw new Error(`expected one match of ${from}`);
  return text.replace(from, to);
}

/** The seed's conf with keepalived's fastest usable check: killall every 1 s, fall 1, weight 0. */
function fastScriptConf(index: 1 | 2 | 3): string {
  let conf = seedConf('preempt', index);
  conf = replaceOnce(conf, /^(\s*)interval 2\b.*$/m, '$1interval 1\n$1fall 1\n$1rise 2');
  conf = replaceOnce(conf, /^(\s*)weight -20\b.*$/m, '$1weight 0');
  return conf;
}

function recommendedYaml(index: 1 | 2 | 3, caFile: string): string {
  const text = readFileSync(join(REPO, 'examples', 'recommended', `master${index}.yaml`), 'utf8');
  return replaceOnce(text, /ca_file: \/etc\/kubernetes\/pki\/ca\.crt/, `ca_file: ${caFile}`);
}

interface Config {
  text: string;
  ext: '.conf' | '.yaml';
  what: string;
}

function configFor(scenario: ScenarioName, impl: Impl, index: 1 | 2 | 3, caFile: string): Config {
  if (isV3(scenario)) return { text: keepalivedConfV3(seedConf('preempt', index)), ext: '.conf', what: "the seed's preempt keepalived.conf, vrrp_version 3, advert_int 0.1, no authentication" };
  if (scenario === 'apiserver-fast' && impl === 'vrrpd') return { text: recommendedYaml(index, caFile), ext: '.yaml', what: 'examples/recommended (http /readyz 200 ms, fall 3, weight 0)' };
  if (scenario === 'apiserver-fast' || scenario === 'apiserver-fast-script') return { text: fastScriptConf(index), ext: '.conf', what: 'seed conf, killall 1 s, fall 1, weight 0' };
  return { text: seedConf('preempt', index), ext: '.conf', what: "the seed's preempt keepalived.conf" };
}

interface TrialResult {
  scenario: ScenarioName;
  impl: Impl;
  trial: number;
  ok: boolean;
  error?: string;
  newMaster?: string;
  outageMs?: number;
  dMs?: number;
  floorMs?: number;
  floorName?: string;
  overheadMs?: number;
  /** The new master's first advert - the reference advert, both on the switch. */
  wireDMs?: number;
  timerLateMs?: number;
  advertToGarpMs?: number;
  garpToReplyMs?: number;
  /** VIP added in the kernel (ip monitor, ms resolution) - the new master's first advert. */
  advertToVipMs?: number;
  panel?: TimelinePanel;
}

async function startCluster(lab: FailoverLab, scenario: ScenarioName, impl: Impl): Promise<Daemon[]> {
  const daemons: Daemon[] = [];
  for (const [i, host] of MASTER_IDS.entries()) {
    const index = (i + 1) as 1 | 2 | 3;
    const config = configFor(scenario, impl, index, lab.certs.ca);
    const node = lab.mixed.node(host);
    daemons.push(impl === 'keepalived' ? await node.startKeepalived(config.text) : await node.startVrrpd(config.text, config.ext));
    // master1 first, and a head start, so that it is the one elected in every trial.
    if (i === 0) await sleep(300);
  }
  return daemons;
}

/** Steady state: only master1 holds the VIP, only it advertises, and it answers the client. */
async function waitSteady(lab: FailoverLab, timeoutMs: number): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    const t = nowMs();
    const recent = lab.window(t - 1_500, t);
    const adverts = recent.adverts;
    const onlyM1 = adverts.length > 0 && adverts.every((a) => a.from === 'm1' && a.priority === 100);
    const served = recent.replies.some((r) => r.who === 'm1' && r.sentMs > t - 200);
    if (onlyM1 && served && lab.mixed.vips.holders().join(',') === 'm1') return;
    if (t > deadline) throw new Error(`no steady state with master1 in ${timeoutMs} ms: holders ${lab.mixed.vips.holders().join(',')}, adverts ${adverts.map((a) => `${a.from}:${a.priority}`).join(' ')}`);
    await sleep(100);
  }
}

/** Every process of a daemon (its descendants first), by host PID. */
async function processTree(pid: number): Promise<number[]> {
  const below: number[] = [];
  for (const child of await childrenOf(pid)) below.push(...(await processTree(child)));
  return [...below, pid];
}

/**
 * kill -9 of a daemon, all of it at once. The main process is stopped first, so that keepalived's
 * parent can neither respawn the VRRP child it sees die nor, dying first, have the kernel send that
 * child SIGTERM (PR_SET_PDEATHSIG), which would make it say goodbye: a crash sends nothing more.
 */
async function crashDaemon(daemon: Daemon): Promise<void> {
  const pids = await processTree(daemon.pid);
  process.kill(daemon.pid, 'SIGSTOP');
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // a short-lived child (a check) already gone
    }
  }
  // nsenter, which started the daemon in the node's PID namespace, passes a stopped child's stop
  // on to itself (job control) and stays stopped, its child unreaped, until it gets SIGCONT; it may
  // stop only after the kill above, so keep waking it until it has reaped and exited.
  void (async () => {
    while (daemon.child.exitCode === null && daemon.child.signalCode === null) {
      try {
        process.kill(daemon.child.pid!, 'SIGCONT');
      } catch {
        return;
      }
      await sleep(20);
    }
  })();
}

async function trigger(lab: FailoverLab, scenario: ScenarioName, daemons: Daemon[]): Promise<void> {
  switch (scenario) {
    case 'crash':
      await lab.mixed.lab.linkDown('m1', 'carrier');
      return;
    case 'v3-crash':
      await crashDaemon(daemons[0]!);
      return;
    case 'graceful':
    case 'v3-graceful':
      daemons[0]!.signal('SIGTERM');
      return;
    default:
      await lab.mixed.node('m1').killApiserver();
  }
}

/** 15..85 % of the advert interval, a low-discrepancy sequence (golden ratio), so 5 trials cover the interval evenly. */
function triggerPhaseMs(trial: number, intervalMs: number): number {
  return intervalMs * (0.15 + 0.7 * ((trial * 0.6180339887) % 1));
}

/** A master's advert interval, from its config. */
function advertIntervalMs(configText: string): number {
  const loaded = parseConfigText(configText, 'master1');
  if (!loaded.ok) throw new Error(`master1's config does not load: ${loaded.errors.map((e) => e.message).join('; ')}`);
  return Object.values(loaded.config.vrrp_instance)[0]!.advert_int * 1000;
}

async function runTrial(lab: FailoverLab, scenario: ScenarioName, impl: Impl, trial: number): Promise<TrialResult> {
  let daemons: Daemon[] = [];
  const base: TrialResult = { scenario, impl, trial, ok: false };
  try {
    daemons = await startCluster(lab, scenario, impl);
    await waitSteady(lab, 25_000);
    // Every check has run (the seed's every 2 s).
    await sleep(2_500);
    const arp = await lab.arpCapture();
    // The trigger comes phaseMs after one of master1's adverts: where in the advert interval a
    // crash lands decides most of the outage (Master_Down runs from the last advert), so trial k
    // uses the same phase for both daemons, spread over the interval from trial to trial.
    const configOf = (index: 1 | 2 | 3): string => configFor(scenario, impl, index, lab.certs.ca).text;
    const phaseMs = triggerPhaseMs(trial, advertIntervalMs(configOf(1)));
    const mark = lab.wire.mark();
    const advert = await lab.wire.waitFor((a) => a.from === 'm1', 3_000, mark, 'an advert from master1');
    await sleep(Math.max(0, advert.timeMs + phaseMs - nowMs()));
    const t0 = nowMs();
    await trigger(lab, scenario, daemons);
    const triggeredMs = nowMs() - t0;
    let first: { replyMs: number; sentMs: number; who: string } | undefined;
    const deadline = t0 + 15_000;
    while (first === undefined) {
      first = lab.replies.find((r) => r.sentMs > t0 && r.who !== 'm1');
      if (nowMs() > deadline) break;
      if (first === undefined) await sleep(20);
    }
    await sleep(800);
    const garps: ArpSeen[] = (await arp.stop()).filter((a) => a.gratuitous && a.senderIp === '10.0.0.50');
    if (first === undefined) throw new Error('no reply from another master within 15 s');
    const win = lab.window(t0 - 5_000, nowMs());
    const lastOld = win.replies.filter((r) => r.who === 'm1' && r.replyMs <= first.replyMs).at(-1);
    if (lastOld === undefined) throw new Error('no reply from master1 before the trigger');
    const newMaster = first.who as Master;
    const newPriority = PRIORITY[newMaster];
    // With unicast peers each advert goes out once per peer: the copy addressed to the new master
    // is the one its timer runs from (the copies may leave milliseconds apart on a busy machine).
    const newAddress = MASTERS.find((m) => m.id === newMaster)!.address;
    const m1Adverts = win.adverts.filter((a) => a.from === 'm1' && a.timeMs <= first.replyMs && (a.destination === newAddress || a.destination === '224.0.0.18'));
    const lastM1 = m1Adverts.at(-1);
    if (lastM1 === undefined) throw new Error('no advert from master1 on the wire');
    let reference = lastM1;
    if (lastM1.priority !== 0) {
      const deferred = m1Adverts.filter((a) => a.priority >= newPriority).at(-1);
      if (deferred === undefined) throw new Error('no advert from master1 at a priority above the new master');
      reference = deferred;
    }
    const floor: ProtocolFloor = protocolFloor(configOf((MASTER_IDS.indexOf(newMaster) + 1) as 1 | 2 | 3), configOf(1), lastM1.priority === 0);
    const floorMs = floor.ms;
    const floorName = floor.name;
    const firstNewAdvert = win.adverts.find((a) => a.from === newMaster && a.timeMs > reference.timeMs);
    const garp = garps.find((g) => g.from === newMaster && g.timeMs > reference.timeMs);
    const vipAdd = lab.mixed.vips.events.find((e) => e.host === newMaster && e.held && e.timeMs > t0);
    const dMs = first.replyMs - reference.timeMs;
    const rel = (t: number): number => t - t0;
    const panel: TimelinePanel = {
      label: `${impl} (trial ${trial}): ${newMaster} took over; outage ${(first.replyMs - lastOld.replyMs).toFixed(0)} ms, D ${dMs.toFixed(0)} ms, overhead ${(dMs - floorMs).toFixed(1)} ms`,
      adverts: win.adverts.map((a) => ({ t: rel(a.timeMs), from: a.from, priority: a.priority })),
      vip: lab.mixed.vips.events.filter((e) => e.timeMs > t0 - 5_000).map((e) => ({ t: rel(e.timeMs), host: e.host, held: e.held })),
      garps: garps.map((g) => ({ t: rel(g.timeMs), from: g.from })),
      replies: win.replies.map((r) => ({ t: rel(r.replyMs), who: r.who })),
      failures: win.failures.map((f) => rel(f.sentMs)),
      lastOld: rel(lastOld.replyMs),
      firstNew: rel(first.replyMs),
      reference: rel(reference.timeMs),
      floorMs,
      floorName,
    };
    const result: TrialResult = {
      ...base,
      ok: true,
      newMaster,
      outageMs: first.replyMs - lastOld.replyMs,
      dMs,
      floorMs,
      floorName,
      overheadMs: dMs - floorMs,
      wireDMs: firstNewAdvert === undefined ? undefined : firstNewAdvert.timeMs - reference.timeMs,
      timerLateMs: firstNewAdvert === undefined ? undefined : firstNewAdvert.timeMs - reference.timeMs - floorMs,
      advertToGarpMs: firstNewAdvert === undefined || garp === undefined ? undefined : garp.timeMs - firstNewAdvert.timeMs,
      garpToReplyMs: garp === undefined ? undefined : first.replyMs - garp.timeMs,
      advertToVipMs: firstNewAdvert === undefined || vipAdd === undefined ? undefined : vipAdd.timeMs - firstNewAdvert.timeMs,
      panel,
    };
    if (values.verbose) {
      console.error(`  trigger took ${triggeredMs.toFixed(1)} ms; reference advert at ${reference.timeMs.toFixed(1)}`);
      const daemon = daemons[MASTER_IDS.indexOf(newMaster)]!;
      const lines = 'transitions' in daemon ? daemon.lines.map((l) => ({ t: l.timeMs, text: l.msg })) : daemon.lines.map((l) => ({ t: l.timeMs, text: l.text }));
      for (const l of lines.filter((l) => l.t >= reference.timeMs - 50 && l.t <= first.replyMs + 100)) console.error(`    ${newMaster} log +${(l.t - reference.timeMs).toFixed(0)} ms: ${l.text}`);
      for (const a of win.adverts.filter((a) => a.timeMs >= reference.timeMs - 1)) console.error(`    wire +${(a.timeMs - reference.timeMs).toFixed(1)} ms: ${a.from} prio ${a.priority}`);
      for (const g of garps) console.error(`    garp +${(g.timeMs - reference.timeMs).toFixed(1)} ms from ${g.from}`);
    }
    return result;
  } catch (error) {
    return { ...base, error: (error as Error).message.slice(0, 500) };
  } finally {
    await lab.reset();
    lab.prune(nowMs() - 1_000);
  }
}

function fmt(r: TrialResult): string {
  if (!r.ok) return `${r.scenario} ${r.impl} #${r.trial}: FAILED ${r.error}`;
  return `${r.scenario.padEnd(21)} ${r.impl.padEnd(10)} #${r.trial} ${r.newMaster} outage ${cell(r.outageMs)} ms  D ${cell(r.dMs)} ms  wire D ${cell(r.wireDMs, 1)} ms  floor ${r.floorName} ${r.floorMs}  overhead ${cell(r.overheadMs, 1)} ms (timer ${cell(r.timerLateMs, 1)}, advert->GARP ${cell(r.advertToGarpMs, 1)}, GARP->reply ${cell(r.garpToReplyMs, 1)}, advert->VIP ${cell(r.advertToVipMs)})`;
}

const TITLES: Record<ScenarioName, string> = {
  crash: 'crash (switch port down)',
  graceful: 'graceful stop (SIGTERM)',
  'apiserver-seed': 'apiserver death, seed config (killall 2 s, weight -20)',
  'apiserver-fast': 'apiserver death, fast check (vrrpd: http 200 ms fall 3 weight 0; keepalived: killall 1 s fall 1 weight 0)',
  'apiserver-fast-script': 'apiserver death, same conf for both (killall 1 s, fall 1, weight 0)',
  'v3-crash': 'VRRPv3 0.1 s crash (kill -9 of the daemon)',
  'v3-graceful': 'VRRPv3 0.1 s graceful stop (SIGTERM)',
};

/**
 * The VRRPv3 rows: per scenario and daemon, the wire D (the new master's first advert - the old
 * master's last advert that mattered) against the floor from the configs, and the targets.
 */
function v3Rows(results: readonly TrialResult[]): { table: string; verdicts: string[] } {
  const rows: string[][] = [];
  const verdicts: string[] = [];
  const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  for (const scenario of scenarios.filter(isV3)) {
    const of = (impl: Impl): TrialResult[] => results.filter((r) => r.scenario === scenario && r.impl === impl && r.ok && r.wireDMs !== undefined);
    const wireMedian = (impl: Impl): number => median(of(impl).map((r) => r.wireDMs!));
    const ratio = wireMedian('vrrpd') / wireMedian('keepalived');
    for (const impl of IMPLS) {
      const list = of(impl);
      if (list.length === 0) continue;
      const floor = list[0]!;
      const d = wireMedian(impl);
      const overhead = d - floor.floorMs!;
      const targets: string[] = [];
      if (impl === 'vrrpd') {
        if (scenario === 'v3-crash') targets.push(`D ≤ ${V3_TARGETS.crashDMs} ms: ${verdict(d <= V3_TARGETS.crashDMs)}`);
        // The ratio is judged as printed, to two decimals.
        targets.push(`ratio ≤ ${V3_TARGETS.ratio.toFixed(2)}: ${verdict(Number(ratio.toFixed(2)) <= V3_TARGETS.ratio)}`);
        targets.push(`overhead ≤ ${V3_TARGETS.overheadMs} ms: ${verdict(overhead <= V3_TARGETS.overheadMs)}`);
        verdicts.push(`${scenario}: vrrpd wire D median ${cell(d, 1)} ms, keepalived ${cell(wireMedian('keepalived'), 1)} ms, ratio ${cell(ratio, 3)}, overhead ${cell(overhead, 1)} ms above the floor ${floor.floorName} ${cell(floor.floorMs, 3)} ms; ${targets.join(', ')}`);
      }
      rows.push([
        TITLES[scenario],
        impl,
        `${list.length}`,
        `${floor.floorName} ${cell(floor.floorMs, 3)}`,
        cell(d, 1),
        cell(p95(list.map((r) => r.wireDMs!)), 1),
        cell(overhead, 1),
        cell(median(list.map((r) => r.dMs!)), 1),
        impl === 'vrrpd' ? cell(ratio, 3) : '',
        targets.join('; '),
      ]);
    }
  }
  const table = markdownTable(['scenario', 'daemon', 'n', 'floor ms (from the config)', 'wire D median ms', 'wire D p95 ms', 'overhead above the floor ms (median)', 'D to the VIP answering ms (median)', 'ratio vrrpd/keepalived (wire D medians)', 'targets'], rows);
  return { table, verdicts };
}

async function main(): Promise<void> {
  if (labUnavailableReason !== undefined) {
    console.error(`bench:failover needs network namespaces: ${labUnavailableReason}`);
    process.exit(2);
  }
  const machine = machineInfo();
  console.error(`machine: ${describeMachine(machine)}`);
  const lab = await FailoverLab.create();
  const results: TrialResult[] = [];
  try {
    for (const scenario of scenarios) {
      for (let trial = 1; trial <= trials; trial++) {
        const order: Impl[] = trial % 2 === 1 ? ['vrrpd', 'keepalived'] : ['keepalived', 'vrrpd'];
        for (const impl of order) {
          const result = await runTrial(lab, scenario, impl, trial);
          results.push(result);
          console.error(fmt(result));
        }
      }
    }
  } finally {
    await lab.destroy();
  }
  const done = finishMachineInfo(machine);

  const rows: string[][] = [];
  const overheadRows: string[][] = [];
  const svgs: string[] = [];
  for (const scenario of scenarios) {
    const of = (impl: Impl): TrialResult[] => results.filter((r) => r.scenario === scenario && r.impl === impl && r.ok);
    const outage = (impl: Impl): number[] => of(impl).map((r) => r.outageMs!);
    const vMed = median(outage('vrrpd'));
    const kMed = median(outage('keepalived'));
    const failed = (impl: Impl): string => {
      const n = results.filter((r) => r.scenario === scenario && r.impl === impl && !r.ok).length;
      return n === 0 ? '' : ` (${n} failed)`;
    };
    rows.push([
      TITLES[scenario],
      `${of('vrrpd').length}${failed('vrrpd')}`,
      cell(vMed),
      cell(p95(outage('vrrpd'))),
      `${of('keepalived').length}${failed('keepalived')}`,
      cell(kMed),
      cell(p95(outage('keepalived'))),
      cell(vMed / kMed, 2),
    ]);
    for (const impl of IMPLS) {
      const list = of(impl);
      if (list.length === 0) continue;
      const m = (f: (r: TrialResult) => number | undefined): string => cell(median(list.map(f).filter((v): v is number => v !== undefined)), 1);
      overheadRows.push([
        TITLES[scenario].replace(/ \(.*$/, ''),
        impl,
        `${list[0]!.floorName} ${list[0]!.floorMs}`,
        m((r) => r.dMs),
        m((r) => r.overheadMs),
        cell(p95(list.map((r) => r.overheadMs!)), 1),
        m((r) => r.timerLateMs),
        m((r) => r.advertToGarpMs),
        m((r) => r.garpToReplyMs),
        m((r) => r.advertToVipMs),
      ]);
    }
    const panels = IMPLS.flatMap((impl) => {
      const list = of(impl);
      // The trial whose outage is the median one: a typical run, not a lucky one.
      const sorted = [...list].sort((a, b) => a.outageMs! - b.outageMs!);
      const pick = sorted[Math.floor((sorted.length - 1) / 2)];
      return pick?.panel ? [pick.panel] : [];
    });
    if (panels.length > 0) {
      const from = Math.min(isV3(scenario) ? -300 : -1_000, ...panels.map((p) => p.reference - (isV3(scenario) ? 50 : 200)));
      const to = Math.max(...panels.map((p) => p.firstNew)) + (isV3(scenario) ? 200 : 600);
      const file = `failover-${scenario}.svg`;
      // --no-doc leaves docs/ alone: the timelines belong to the run that writes the section.
      if (!values['no-doc']) writeFileSync(join(DOCS_DIR, file), timelineSvg(`Failover: ${TITLES[scenario]}`, panels, Math.floor(from / 100) * 100, Math.ceil(to / 100) * 100));
      svgs.push(file);
    }
  }
  const outageTable = markdownTable(['scenario', 'vrrpd n', 'vrrpd median ms', 'vrrpd p95 ms', 'keepalived n', 'keepalived median ms', 'keepalived p95 ms', 'ratio (medians)'], rows);
  const overheadTable = markdownTable(
    ['scenario', 'daemon', 'floor ms', 'D median ms', 'overhead median ms', 'overhead p95 ms', 'timer late ms', 'advert → GARP ms', 'GARP → reply ms', 'advert → VIP in kernel ms'],
    overheadRows,
  );
  const allTrials = results.map((r) => `    ${fmt(r)}`).join('\n');
  const v3 = scenarios.some(isV3) ? v3Rows(results) : undefined;
  const v3Section =
    v3 === undefined
      ? ''
      : `### VRRPv3 at advert_int 0.1

Both daemons on the seed's keepalived.conf switched to VRRPv3 (\`vrrp_version 3\`, \`advert_int 0.1\`, no authentication block). *crash* is a kill -9 of master1's daemon, every process of it at once; the VIP stays on master1 and its stand-in keeps answering until the new master's gratuitous ARP (as after a daemon crash in production), so the client's outage above says little here: D does. **Wire D** = the new master's first advert - master1's last advert that mattered, both in the switch's capture (the daemons' own figure, without the client's probe spacing); the floor is computed from the configs: Master_Down = 3 × Master_Adver_Interval + Skew_Time (RFC 5798, in keepalived's integer µs), or Skew_Time after a priority-0 goodbye. Targets (issue 14): crash median D ≤ ${V3_TARGETS.crashDMs} ms, vrrpd/keepalived ratio of the wire D medians ≤ ${V3_TARGETS.ratio.toFixed(2)} (judged to two decimals), overhead above the floor ≤ ${V3_TARGETS.overheadMs} ms.

${v3.table}

`;
  const body = `## Failover (\`npm run bench:failover\`)

Run: ${describeMachine(done)}. ${trials} trials per scenario and daemon, interleaved.

Client-observed outage (last reply from the old master to the first reply from the new one; the client probes the VIP every 10 ms):

${outageTable}

D (first reply from the new master minus the old master's last advert that mattered) against the protocol floor; overhead = D - floor, split into the new master's timer lateness (its first advert - reference - floor), its first advert to the gratuitous ARP at the client, and that GARP to the first reply (which includes up to 10 ms of probe spacing). "advert → VIP" comes from \`ip monitor\` (ms resolution, pipe latency included).

${overheadTable}

${v3Section}${svgs.map((f) => `![${f}](${f})`).join('\n\n')}

<details><summary>Every trial</summary>

${allTrials}

</details>`;
  console.log(`\n${outageTable}\n\n${overheadTable}\n`);
  if (v3 !== undefined) console.log(`${v3.table}\n\n${v3.verdicts.join('\n')}\n\nmachine: ${describeMachine(done)}\n`);
  if (!values['no-doc']) {
    replaceSection('failover', body);
    console.error(`wrote docs/benchmarks.md (failover section) and ${svgs.join(', ')}`);
  }
  writeFileSync(join(tmpdir(), 'vrrpd-failover-results.json'), JSON.stringify({ machine: done, results: results.map(({ panel: _panel, ...r }) => r) }, null, 1));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
await main();
process.exit(0);
