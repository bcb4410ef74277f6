/**
 * Running the real `vrrpd run` process (dist/cli/main.js) inside a lab namespace, and reading what
 * it says (src/lab/daemons.ts's VrrpdProcess: pino JSON lines on stdout, and `vrrpd status --json`
 * over its control socket); and the seed's master N as a config.
 */
import { VrrpdProcess } from '../../src/lab/daemons.js';
import { VRRPD_MAIN } from '../../src/lab/exec.js';
import type { Lab } from './lab.js';

export { VrrpdProcess, type LogLine } from '../../src/lab/daemons.js';
export { sleep, waitUntil } from '../../src/lab/exec.js';
export const VRRPD_BIN = VRRPD_MAIN;

export interface SeedNodeOptions {
  /** 1..3: 10.0.0.5N, priority 101 - N. */
  index: number;
  unicast: boolean;
  nopreempt?: boolean;
  priority?: number;
  authPass?: string;
  advertInt?: number;
  extraInstanceYaml?: string;
  extraTopYaml?: string;
}

/** The seed's master N as vrrpd YAML, without the script check (tracking has its own tests). */
export function seedNodeYaml(options: SeedNodeOptions): string {
  const n = options.index;
  const peers = [1, 2, 3].filter((i) => i !== n).map((i) => `      - 10.0.0.5${i}`);
  const unicast = options.unicast ? `    unicast_src_ip: 10.0.0.5${n}\n    unicast_peer:\n${peers.join('\n')}\n` : '';
  return `${options.extraTopYaml ?? ''}vrrp_instance:
  VI_1:
    state: ${options.nopreempt ? 'BACKUP' : n === 1 ? 'MASTER' : 'BACKUP'}
    interface: ens32
    virtual_router_id: 251
    priority: ${options.priority ?? 101 - n}
    advert_int: ${options.advertInt ?? 1}
${options.nopreempt ? '    nopreempt: true\n' : ''}    authentication:
      auth_type: PASS
      auth_pass: "${options.authPass ?? '123456'}"
${unicast}    virtual_ipaddress:
      - 10.0.0.50
${options.extraInstanceYaml ?? ''}`;
}

/** Write the config and start `vrrpd run` (debug log) in the host's namespace. */
/** The hosts whose ens32 holds `vip` (e.g. '10.0.0.50/32') now, in the order given. */
export async function vipHolders(lab: Lab, vip: string, hosts: readonly string[] = ['m1', 'm2', 'm3']): Promise<string[]> {
  const out: string[] = [];
  for (const host of hosts) if ((await lab.addrs(host)).includes(vip)) out.push(host);
  return out;
}

export function startVrrpd(lab: Lab, host: string, configYaml: string): VrrpdProcess {
  const { cmd, args, configPath, socketPath } = VrrpdProcess.command(lab.place(host).dir, configYaml, { logLevel: 'debug' });
  return new VrrpdProcess(lab, host, socketPath, configPath, lab.spawn(host, cmd, args));
}
