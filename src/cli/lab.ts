/**
 * `vrrpd lab`: build the seed's three-master cluster in network namespaces on this machine, run
 * the real daemons, break the master in the ways that matter and show what the client saw.
 * Everything it makes is removed on exit, on Ctrl-C and on SIGTERM (and by the next run after a
 * kill -9). It checks root and every tool it needs before it touches anything.
 */
import { parseArgs } from 'node:util';
import { DemoLab, SCENARIOS, type LabResult, type Scenario } from '../lab/lab.js';
import { missingPrerequisites } from '../lab/prerequisites.js';
import { LAB_PREEMPT_DELAY_S, type ConfigSet } from '../lab/processes.js';
import { formatSummary } from '../lab/timeline.js';
import { MASTERS, VIP } from '../lab/topology.js';

export const LAB_USAGE = `Usage: sudo vrrpd lab [--scenario NAME] [--config-set recommended|seed] [--keepalived m2,m3] [--json]

Builds the seed's cluster in network namespaces on this machine: master1-3 (ens32, 10.0.0.51-53,
priorities 100/99/98, unicast peers) with VIP ${VIP}, each with a kube-apiserver stand-in on :6443,
and a client (10.0.0.10) that asks the VIP who serves it every 10 ms. Then it runs the scenarios
and prints a timeline and the outage the client saw for every move of the VIP. Root only; it
deletes everything it made when it ends, also on Ctrl-C.

Options:
  --scenario NAME     one of: ${SCENARIOS.join(', ')} (default: all). The election always runs first.
                        apiserver  master1's kube-apiserver dies, then comes back (preemption)
                        graceful   the daemon on master1 gets SIGTERM, then starts again
                        crash      master1's cable is pulled (no goodbye), then plugged back
  --config-set SET    recommended (default): examples/recommended, built-in https /readyz check
                        every 200 ms with weight 0, preempt_delay shortened to ${LAB_PREEMPT_DELAY_S} s for the lab
                      seed: examples/preempt, the seed's keepalived config as YAML
                        (killall -0 kube-apiserver every 2 s, weight -20)
  --keepalived NODES  run keepalived 2.x with the seed's keepalived.conf (examples/keepalived/preempt)
                      on these masters instead of vrrpd, e.g. m2,m3: a mixed cluster
  --json              print one JSON document (events and summary) instead of the live timeline
  -h, --help          this text

Exit codes: 0 every scenario went as expected, 1 one did not, 2 usage or missing prerequisites,
130 interrupted.
`;

function parseNodes(text: string): Set<string> {
  const ids = new Set<string>();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const master = MASTERS.find((m) => m.id === part || m.name === part);
    if (master === undefined) throw new Error(`--keepalived: unknown node '${part}' (use m1, m2, m3 or master1..3)`);
    ids.add(master.id);
  }
  return ids;
}

export async function labCommand(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let options: { scenarios: Scenario[]; configSet: ConfigSet; keepalivedNodes: Set<string>; json: boolean };
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string' },
        'config-set': { type: 'string' },
        keepalived: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      out.write(LAB_USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0]}'`);
    const scenario = values.scenario;
    if (scenario !== undefined && !(SCENARIOS as readonly string[]).includes(scenario)) throw new Error(`--scenario must be one of ${SCENARIOS.join(', ')}; got '${scenario}'`);
    const configSet = values['config-set'] ?? 'recommended';
    if (configSet !== 'recommended' && configSet !== 'seed') throw new Error(`--config-set must be recommended or seed; got '${configSet}'`);
    options = {
      scenarios: scenario === undefined ? [...SCENARIOS] : [scenario as Scenario],
      configSet,
      keepalivedNodes: values.keepalived === undefined ? new Set() : parseNodes(values.keepalived),
      json: values.json === true,
    };
  } catch (error) {
    err.write(`vrrpd lab: ${(error as Error).message}\n\n${LAB_USAGE}`);
    return 2;
  }

  const vrrpdNodes = MASTERS.filter((m) => !options.keepalivedNodes.has(m.id)).length;
  const problems = missingPrerequisites({
    killall: options.configSet === 'seed' || options.keepalivedNodes.size > 0,
    openssl: options.configSet === 'recommended' && vrrpdNodes > 0,
    keepalived: options.keepalivedNodes.size > 0,
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

  if (!options.json) {
    const daemons = MASTERS.map((m) => `${m.name}: ${options.keepalivedNodes.has(m.id) ? 'keepalived' : 'vrrpd'}`).join(', ');
    const config =
      options.configSet === 'recommended'
        ? `recommended config (https /readyz every 200 ms, weight 0; preempt_delay ${LAB_PREEMPT_DELAY_S} s instead of 30 s)`
        : "seed config (killall -0 kube-apiserver every 2 s, weight -20)";
    out.write(`vrrpd lab: ${daemons}; ${config}; VIP ${VIP}\n`);
    if (options.keepalivedNodes.size > 0) out.write(`keepalived nodes run the seed's keepalived.conf (examples/keepalived/preempt)\n`);
  }

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
