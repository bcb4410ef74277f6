/**
 * `vrrpd drain` and `vrrpd undrain`: ask the daemon over its control socket (it decides and saves
 * the drain), then, for drain, watch this node's addresses until none of the drained instances'
 * VIPs is left, or say which are still here when the timeout runs out.
 */
import { controlRequest } from '../daemon/control.js';
import { loadPacketAddon } from '../io/native.js';
import { parseIpv4, parseIpv6 } from '../core/ip.js';

/** How often drain looks at the addresses (getifaddrs, no process spawned). */
const POLL_MS = 20;

interface DrainReply {
  drained: string[];
  vips: { instance: string; address: string; prefix_length: number; ifname: string }[];
  save_error: string | null;
}

function describeError(command: string, socketPath: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED') return `vrrpd ${command}: no vrrpd is running (nothing listens on ${socketPath}); pass --socket`;
  if (code === 'EACCES') return `vrrpd ${command}: permission denied on ${socketPath}; run as root or as a member of the socket's group`;
  return `vrrpd ${command}: ${(error as Error).message}`;
}

/**
 * The VIPs of `vips` this node holds now: an address on the interface or one of its labels
 * (ens32:vip). IPv6 VIPs (no labels) are looked up among the IPv6 addresses; an addon too old to
 * list them counts them as held, so drain never says a VIP is gone when it cannot tell.
 */
export function heldVips(vips: DrainReply['vips']): DrainReply['vips'] {
  const addon = loadPacketAddon();
  const here = addon.ipv4Addresses();
  const here6 = vips.some((vip) => vip.address.includes(':')) ? addon.ipv6Addresses?.().map((a) => ({ ifname: a.ifname, address: BigInt(`0x${a.address}`) })) : [];
  return vips.filter((vip) => {
    if (vip.address.includes(':')) {
      const address = parseIpv6(vip.address);
      return here6 === undefined || here6.some((a) => a.address === address && a.ifname === vip.ifname);
    }
    const address = parseIpv4(vip.address);
    return here.some((a) => a.address === address && (a.ifname === vip.ifname || a.ifname.startsWith(`${vip.ifname}:`)));
  });
}

export async function drainCommand(
  options: { socketPath: string; instance: string | undefined; timeoutMs: number },
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const startedMs = performance.now();
  let reply: DrainReply;
  try {
    reply = (await controlRequest(options.socketPath, { command: 'drain', ...(options.instance === undefined ? {} : { instance: options.instance }) })) as DrainReply;
  } catch (error) {
    err.write(`${describeError('drain', options.socketPath, error)}\n`);
    return 1;
  }
  let left = heldVips(reply.vips);
  while (left.length > 0 && performance.now() - startedMs < options.timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    left = heldVips(reply.vips);
  }
  const names = reply.drained.join(', ') || 'no instance';
  if (left.length > 0) {
    const which = left.map((v) => `${v.address}/${v.prefix_length} on ${v.ifname} (${v.instance})`).join(', ');
    err.write(`vrrpd drain: timed out after ${options.timeoutMs / 1000} s: this node still holds ${which}; ${names} stay drained\n`);
    return 1;
  }
  const ms = Math.round(performance.now() - startedMs);
  out.write(`drained ${names}: this node holds none of their virtual addresses (${ms} ms); 'vrrpd undrain' lets them back\n`);
  if (reply.save_error !== null) {
    err.write(`vrrpd drain: ${reply.save_error}\n`);
    return 1;
  }
  return 0;
}

export async function undrainCommand(options: { socketPath: string; instance: string | undefined }, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let reply: { undrained: string[] };
  try {
    reply = (await controlRequest(options.socketPath, { command: 'undrain', ...(options.instance === undefined ? {} : { instance: options.instance }) })) as { undrained: string[] };
  } catch (error) {
    err.write(`${describeError('undrain', options.socketPath, error)}\n`);
    return 1;
  }
  out.write(reply.undrained.length === 0 ? 'nothing was drained\n' : `undrained ${reply.undrained.join(', ')}: back in the elections (preempt decides who holds the VIP)\n`);
  return 0;
}
