/**
 * Helper of vip-netlink.test.ts, run inside a lab namespace with an empty PATH (no `ip` to run):
 * adds, re-adds, removes and re-removes a VIP with a label and a broadcast, and reports each result
 * and how long the add took.
 */
import { parseIpv4 } from '../../src/core/ip.js';
import { addVip, removeVip, type VipSpec } from '../../src/io/vip.js';

const vip: VipSpec = { address: parseIpv4('10.0.0.50')!, prefixLength: 32, ifname: 'ens32', label: 'ens32:vip', broadcast: parseIpv4('10.0.0.255')! };
const missing: VipSpec = { ...vip, ifname: 'nosuch0' };
const started = performance.now();
const added = addVip(vip);
const addMs = performance.now() - started;
const again = addVip(vip);
const listed = (await import('node:fs')).readFileSync('/proc/net/fib_trie', 'utf8').includes('10.0.0.50');
const removed = removeVip(vip);
const absent = removeVip(vip);
const noDevice = addVip(missing);
const brief = (r: ReturnType<typeof addVip>) => (r.ok ? r.change : r.error.code);
console.log(JSON.stringify({ added: brief(added), again: brief(again), listed, removed: brief(removed), absent: brief(absent), noDevice: brief(noDevice), addMs }));
