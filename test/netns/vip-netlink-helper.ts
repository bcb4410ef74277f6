/**
 * Helper of vip-netlink.test.ts, run inside a lab namespace with an empty PATH (no `ip` to run):
 * adds, re-adds, removes and re-removes a VIP with a label and a broadcast, and reports each result
 * and how long an add takes (median of 20, after the first has loaded the addon) next to a fork and
 * exec of /bin/true (median of 5) in the same process: what the netlink path replaced.
 */
import { spawnSync } from 'node:child_process';
import { parseIpv4 } from '../../src/core/ip.js';
import { addVip, removeVip, type VipSpec } from '../../src/io/vip.js';

const vip: VipSpec = { address: parseIpv4('10.0.0.50')!, prefixLength: 32, ifname: 'ens32', label: 'ens32:vip', broadcast: parseIpv4('10.0.0.255')! };
const missing: VipSpec = { ...vip, ifname: 'nosuch0' };
const added = addVip(vip);
const again = addVip(vip);
const listed = (await import('node:fs')).readFileSync('/proc/net/fib_trie', 'utf8').includes('10.0.0.50');
const removed = removeVip(vip);
const absent = removeVip(vip);
const noDevice = addVip(missing);
const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const adds: number[] = [];
for (let i = 0; i < 20; i++) {
  const started = performance.now();
  addVip(vip);
  adds.push(performance.now() - started);
  removeVip(vip);
}
const forks: number[] = [];
for (let i = 0; i < 5; i++) {
  const started = performance.now();
  spawnSync('/bin/true');
  forks.push(performance.now() - started);
}
const addMs = median(adds);
const forkMs = median(forks);
const brief = (r: ReturnType<typeof addVip>) => (r.ok ? r.change : r.error.code);
console.log(JSON.stringify({ added: brief(added), again: brief(again), listed, removed: brief(removed), absent: brief(absent), noDevice: brief(noDevice), addMs, forkMs }));
