/**
 * `vrrpd lab`: build the seed's three-master cluster in network namespaces on this machine, run
 * the real daemons, break the master in the ways that matter and show what the client saw.
 * Everything it makes is removed on exit, on Ctrl-C and on SIGTERM (and by the next run after a
 * kill -9). It checks root and every tool it needs before it touches anything.
 */
import { DemoLab, describeCluster, SCENARIOS, type LabResult, type Scenario } from '../lab/lab.js';
import { missingPrerequisites } from '../lab/prerequisites.js';
import { MASTERS, VIP } from '../lab/cluster.js';
import { EXAMPLE_PREEMPT_DELAY_S, LAB_PREEMPT_DELAY_S, V3_ADVERT_INT_S, type ConfigSet } from '../lab/demo-nodes.js';
import { formatSummary } from '../lab/timeline.js';
import { stringValue, UsageError, type Values } from './args.js';

/** What `vrrpd lab --help` says after the options (main.ts has the options themselves). */
export const LAB_DETAILS = `The cluster: master1-3 (ens32, 10.0.0.51-53, priorities 100/99/98, unicast peers) with VIP
${VIP}, each with a kube-apiserver stand-in on :6443, and a client (10.0.0.10) that asks the VIP
who serves it every 10 ms. The lab prints a timeline and the outage the client saw for every move
of the VIP. Root only; it deletes everything it made when it ends, also on Ctrl-C.

Scenarios (--scenario; default: all of them; the election always runs first):
  election   the three daemons start; master1 (priority 100) must end up holding the VIP
  apiserver  master1's kube-apiserver dies, then comes back (preemption)
  graceful   the daemon on master1 gets SIGTERM, then starts again
  crash      master1's cable is pulled (no goodbye), then plugged back

Config sets (--config-set), for the nodes that run vrrpd:
  recommended  examples/recommended: built-in https /readyz check every 200 ms, weight 0,
               preempt_delay ${LAB_PREEMPT_DELAY_S} s instead of ${EXAMPLE_PREEMPT_DELAY_S} s (--preempt-delay). The default.
  seed         examples/preempt: the seed's keepalived config as YAML
               (killall -0 kube-apiserver every 2 s, weight -20)
  v3           the recommended config switched to VRRPv3 (vrrp_version 3, advert_int ${V3_ADVERT_INT_S},
               no authentication): a crashed master is replaced in 3 x ${V3_ADVERT_INT_S} s + Skew_Time, about
               0.36 s instead of 3.6 s. The lab also captures the adverts (tcpdump) and prints each
               failover timed from the wire next to that floor.
  dual-stack   examples/dual-stack: a dual-stack control plane, ${VIP} and fd00::50 in one
               vrrp_sync_group (VRRPv3 at advert_int ${V3_ADVERT_INT_S}, killall -0 kube-apiserver every 1 s,
               weight 0; keepalived.conf, run as it is by both daemons). The client asks both VIPs;
               every move shows the IPv6 outage and how long the VIPs were on different nodes.
Nodes named by --keepalived run keepalived with the seed's keepalived.conf
(examples/keepalived/preempt), switched to VRRPv3 at ${V3_ADVERT_INT_S} s with --config-set v3.

Examples:
  sudo vrrpd lab --config-set v3 --scenario crash
      sub-second failover: master1's cable is pulled and master2 serves the VIP about 0.36 s
      after master1's last advert
  sudo vrrpd lab --keepalived m2,m3
      a mixed cluster: keepalived takes the VIP over from vrrpd, and vrrpd takes it back
  sudo vrrpd lab --keepalived m1 --scenario apiserver
      the middle of a rolling swap done with the recommended config: keepalived on master1 with the
      seed's weight -20, vrrpd backups with preempt_delay. An apiserver death on master1 then takes
      preempt_delay + Master_Down instead of Master_Down (README, "Migrating from keepalived");
      add --preempt-delay ${EXAMPLE_PREEMPT_DELAY_S} to see it with the example's own value
`;

export interface LabCommandOptions {
  scenarios: Scenario[];
  configSet: ConfigSet;
  keepalivedNodes: Set<string>;
  preemptDelayS: number;
  json: boolean;
}

function parseNodes(text: string): Set<string> {
  const ids = new Set<string>();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const master = MASTERS.find((m) => m.id === part || m.name === part);
    if (master === undefined) throw new UsageError(`--keepalived: unknown node '${part}' (use m1, m2, m3 or master1..3)`);
    ids.add(master.id);
  }
  return ids;
}

/** The lab's options from the parsed command line; a bad value is a UsageError. */
export function labOptions(values: Values): LabCommandOptions {
  const scenario = stringValue(values, 'scenario');
  if (scenario !== undefined && !(SCENARIOS as readonly string[]).includes(scenario)) throw new UsageError(`--scenario must be one of ${SCENARIOS.join(', ')}; got '${scenario}'`);
  const configSet = stringValue(values, 'config-set') ?? 'recommended';
  if (configSet !== 'recommended' && configSet !== 'seed' && configSet !== 'v3' && configSet !== 'dual-stack') {
    throw new UsageError(`--config-set must be recommended, seed, v3 or dual-stack; got '${configSet}'`);
  }
  const delayText = stringValue(values, 'preempt-delay');
  const preemptDelayS = delayText === undefined ? LAB_PREEMPT_DELAY_S : Number(delayText);
  // The config's own limit (0..1000 s); the lab's timeouts grow with it.
  if (delayText !== undefined && (delayText.trim() === '' || !Number.isFinite(preemptDelayS) || preemptDelayS < 0 || preemptDelayS > 1000)) {
    throw new UsageError(`--preempt-delay must be a number of seconds from 0 to 1000; got '${delayText}'`);
  }
  const keepalived = stringValue(values, 'keepalived');
  return {
    scenarios: scenario === undefined ? [...SCENARIOS] : [scenario as Scenario],
    configSet,
    keepalivedNodes: keepalived === undefined ? new Set() : parseNodes(keepalived),
    preemptDelayS,
    json: values.json === true,
  };
}

export async function labCommand(values: Values, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const options = labOptions(values);

  const vrrpdNodes = MASTERS.filter((m) => !options.keepalivedNodes.has(m.id)).length;
  const problems = missingPrerequisites({
    killall: options.configSet === 'seed' || options.configSet === 'dual-stack' || options.keepalivedNodes.size > 0,
    openssl: (options.configSet === 'recommended' || options.configSet === 'v3') && vrrpdNodes > 0,
    keepalived: options.keepalivedNodes.size > 0,
    tcpdump: options.configSet === 'v3',
  });
  if (problems.length > 0) {
    err.write(`vrrpd lab cannot run here; nothing was changed.\n${problems.map((p) => `- ${p}`).join('\n')}\n`);
    return 2;
  }

  const controller = new AbortController();
  const lab = new DemoLab({ ...options, live: options.json ? undefined : out, signal: controller.signal });
  const onExit = (): void => lab.destroySync();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      controller.abort(new Error(`interrupted by ${signal}`));
      // Cleaning up should take a second; if something hangs, do it the hard way.
      setTimeout(() => {
        lab.destroySync();
        process.exit(130);
      }, 10_000).unref();
    } else {
      lab.destroySync();
      process.exit(130);
    }
  };
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  if (!options.json) out.write(describeCluster(options));

  let result: LabResult;
  try {
    result = await lab.run();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }

  if (options.json) {
    out.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    out.write(`\n${formatSummary(result.summary)}`);
    out.write(`\n${result.interrupted ? 'interrupted; ' : ''}lab removed (namespaces ${result.prefix}*); ${(result.duration_ms / 1000).toFixed(1)} s in all\n`);
    if (result.error !== undefined) err.write(`vrrpd lab: ${result.error}\n`);
  }
  if (result.interrupted) return 130;
  return result.ok ? 0 : 1;
}
