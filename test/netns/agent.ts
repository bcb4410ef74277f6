/**
 * A test agent: runs the real src/io adapters inside a network namespace (started by lab.ts with
 * `ip netns exec NS node --import ./test/register.mjs test/netns/agent.ts`) and speaks
 * JSON lines: requests {id, op, ...} on stdin, replies {id, ok, result|error} and events {event, ...}
 * on stdout. vitest's own process cannot enter a namespace, so this is how tests drive the adapters.
 */
import { createInterface } from 'node:readline';
import { formatIp, formatIpv4, type IpAddress, type Ipv4, parseIp, parseIpv4 } from '../../src/core/ip.js';
import { monotonicClock } from '../../src/io/clock.js';
import type { IoError } from '../../src/io/errors.js';
import { packetGarpSender } from '../../src/io/garp.js';
import { readInterface, watchLinks, type LinkWatcher } from '../../src/io/link.js';
import { loadPacketAddon } from '../../src/io/native.js';
import { packetNaSender } from '../../src/io/ndisc.js';
import { heldVips } from '../../src/cli/drain.js';
import { openTransport, type VrrpTransport } from '../../src/io/transport.js';
import { openTransport6, type Vrrp6Transport } from '../../src/io/transport6.js';
import { addVip, listAddresses, removeStale, removeVip, type VipSpec } from '../../src/io/vip.js';

type Request = { id: number; op: string } & Record<string, unknown>;

function write(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function ip(text: unknown): Ipv4 {
  const address = typeof text === 'string' ? parseIpv4(text) : undefined;
  if (address === undefined) throw new Error(`not an IPv4 address: ${String(text)}`);
  return address;
}

/** IPv4 or IPv6 text: a VIP of either family. */
function anyIp(text: unknown): IpAddress {
  const address = typeof text === 'string' ? parseIp(text) : undefined;
  if (address === undefined) throw new Error(`not an IP address: ${String(text)}`);
  return address;
}

function errorJson(error: IoError): Record<string, string> {
  return { code: error.code, operation: error.operation, message: error.message };
}

function vipSpec(request: Record<string, unknown>): VipSpec {
  const spec: VipSpec = {
    address: anyIp(request.address),
    prefixLength: Number(request.prefixLength ?? (String(request.address).includes(':') ? 128 : 32)),
    ifname: String(request.ifname),
  };
  if (typeof request.label === 'string') spec.label = request.label;
  if (typeof request.broadcast === 'string') spec.broadcast = ip(request.broadcast);
  return spec;
}

function vipJson(vip: { address: IpAddress; prefixLength: number; ifname: string }): Record<string, unknown> {
  return { ...vip, address: `${formatIp(vip.address)}/${vip.prefixLength}` };
}

const transports = new Map<string, VrrpTransport>();

/** What both transports (IPv4 and IPv6) report: each packet with when it was read and received. */
const transportEvents = {
  onPacket: (bytes: Uint8Array, on: string, receivedAtMs?: number): void =>
    write({ event: 'packet', ifname: on, hex: Buffer.from(bytes).toString('hex'), atMs: monotonicClock.nowMs(), receivedAtMs }),
  onError: (error: IoError): void => write({ event: 'error', ...errorJson(error) }),
};
const transports6 = new Map<string, Vrrp6Transport>();
const watchers: LinkWatcher[] = [];

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'transport.open': {
      const ifname = String(request.ifname);
      transports.get(ifname)?.close();
      const transport = openTransport(
        ifname,
        transportEvents,
        { multicast: request.multicast !== false, reopenDelayMs: 200 },
      );
      transports.set(ifname, transport);
      return { isOpen: transport.isOpen };
    }
    case 'transport6.open': {
      const ifname = String(request.ifname);
      transports6.get(ifname)?.close();
      const transport = openTransport6(
        ifname,
        transportEvents,
        { multicast: request.multicast !== false, reopenDelayMs: 200 },
      );
      transports6.set(ifname, transport);
      return null;
    }
    case 'transport6.send': {
      const transport = transports6.get(String(request.ifname));
      if (!transport) throw new Error('no IPv6 transport');
      transport.send(Buffer.from(String(request.payloadHex), 'hex'), {
        source: anyIp(request.source) as bigint,
        destinations: (request.destinations as string[]).map((d) => anyIp(d) as bigint),
      });
      return null;
    }
    case 'transport.send': {
      const transport = transports.get(String(request.ifname));
      if (!transport) throw new Error('no transport');
      transport.send(Buffer.from(String(request.payloadHex), 'hex'), {
        source: ip(request.source),
        destinations: (request.destinations as string[]).map(ip),
      });
      return null;
    }
    case 'transport6.close':
      transports6.get(String(request.ifname))?.close();
      transports6.delete(String(request.ifname));
      return null;
    case 'transport.close':
      transports.get(String(request.ifname))?.close();
      transports.delete(String(request.ifname));
      return null;
    case 'vip.add':
    case 'vip.remove': {
      const result = await (request.op === 'vip.add' ? addVip : removeVip)(vipSpec(request));
      return result.ok ? { ok: true, change: result.change } : { ok: false, error: errorJson(result.error) };
    }
    case 'vip.list': {
      const result = await listAddresses(String(request.ifname));
      if (!result.ok) return { ok: false, error: errorJson(result.error) };
      return {
        ok: true,
        addresses: result.addresses.map((a) => ({
          ...a,
          address: `${formatIp(a.address)}/${a.prefixLength}`,
          broadcast: a.broadcast === undefined ? undefined : formatIpv4(a.broadcast),
        })),
      };
    }
    case 'vip.removeStale': {
      const result = await removeStale((request.vips as Record<string, unknown>[]).map(vipSpec));
      return { removed: result.removed.map(vipJson), errors: result.errors.map(errorJson) };
    }
    case 'garp': {
      const outcome = packetGarpSender.sendGarpBurst(
        String(request.ifname),
        (request.addresses as string[]).map(ip),
        Number(request.repeat),
      );
      return outcome.ok ? outcome : { ok: false, error: errorJson(outcome.error) };
    }
    case 'na': {
      // IPv6's GARP (src/io/ndisc.ts); `vips` first adds them, as a new MASTER does, in the same call.
      const addresses = (request.addresses as string[]).map(anyIp).filter((a): a is bigint => typeof a === 'bigint');
      for (const vip of (request.vips as Record<string, unknown>[] | undefined) ?? []) {
        const added = addVip(vipSpec(vip));
        if (!added.ok) return { ok: false, error: errorJson(added.error) };
      }
      // CLOCK_MONOTONIC is one clock for every process on the host, whatever its namespace: the
      // test compares this with when another namespace saw the result.
      const startedAtMs = Number(process.hrtime.bigint()) / 1e6;
      const outcome = packetNaSender.sendNaBurst(String(request.ifname), addresses, Number(request.repeat));
      return outcome.ok ? { ...outcome, startedAtMs } : { ok: false, error: errorJson(outcome.error) };
    }
    case 'frames': {
      // Whole frames as hex, for a test's own variants (a control with a flag cleared).
      const frames = (request.frames as string[]).map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
      return { sent: loadPacketAddon().sendFrames(String(request.ifname), frames) };
    }
    case 'drain.held':
      // What `vrrpd drain` waits on: which of these VIPs this namespace holds.
      return heldVips(request.vips as Parameters<typeof heldVips>[0]).map((v) => v.address);
    case 'link.read': {
      const facts = readInterface(String(request.ifname));
      return facts === undefined
        ? null
        : { ...facts, mac: undefined, firstIpv4: facts.firstIpv4 === undefined ? undefined : formatIpv4(facts.firstIpv4) };
    }
    case 'link.watch': {
      const ifnames = request.ifnames as string[];
      const watcher = watchLinks(ifnames, (ifname, up) => write({ event: 'link', ifname, up, atMs: monotonicClock.nowMs() }), {
        onError: (error) => write({ event: 'error', ...errorJson(error) }),
        // The test measures the monitor path, so the backstop poll must not be what catches changes.
        pollIntervalMs: 0,
      });
      watchers.push(watcher);
      return Object.fromEntries(ifnames.map((ifname) => [ifname, watcher.isUp(ifname)]));
    }
    case 'block': {
      // Keep the event loop busy, as a GC or a long check result would: packets wait in the socket.
      const until = monotonicClock.nowMs() + Number(request.ms);
      while (monotonicClock.nowMs() < until) {
        // busy
      }
      return null;
    }
    case 'exit':
      for (const transport of transports.values()) transport.close();
      for (const transport of transports6.values()) transport.close();
      for (const watcher of watchers) watcher.close();
      setImmediate(() => process.exit(0));
      return null;
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let request: Request;
  try {
    request = JSON.parse(line) as Request;
  } catch {
    write({ event: 'error', code: 'EAGENT', operation: 'agent', message: `bad request ${line}` });
    return;
  }
  handle(request).then(
    (result) => write({ id: request.id, ok: true, result }),
    (error: unknown) => write({ id: request.id, ok: false, error: String(error) }),
  );
});
// The test process going away (crash, kill) closes stdin: do not linger in a deleted namespace.
process.stdin.on('end', () => process.exit(0));
write({ event: 'ready', pid: process.pid });
