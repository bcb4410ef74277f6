/** The DaemonHost on a real Linux host, backed by src/io. */
import { formatIpv4 } from '../core/ip.js';
import { createScheduler, monotonicClock } from '../io/clock.js';
import { watchDeletedAddresses } from '../io/addrwatch.js';
import { readEffectiveCapabilities } from '../io/capabilities.js';
import { IoError } from '../io/errors.js';
import { packetGarpSender, probeGarp } from '../io/garp.js';
import { isLinkUsable, readInterface, watchLinks } from '../io/link.js';
import { openTransport } from '../io/transport.js';
import { addVip, addVipNow, removeStale, removeVip, removeVipNow, type VipResult, type VipSpec } from '../io/vip.js';
import type { DaemonHost } from './host.js';

function describe(vip: VipSpec): string {
  return `${formatIpv4(vip.address)}/${vip.prefixLength} dev ${vip.ifname}`;
}

/** Permission errors first: they decide the instance's FAULT, whatever else failed with them. */
const PERMISSION_CODES = new Set(['EPERM', 'EACCES']);

function throwIfFailed(vips: readonly VipSpec[], results: readonly VipResult[]): void {
  const failed = results.flatMap((r, i) => (r.ok ? [] : [{ vip: vips[i]!, error: r.error }]));
  if (failed.length === 0) return;
  // Keep an errno code (the daemon decides on it) and say which address each failure was for.
  const first = failed.find((f) => PERMISSION_CODES.has(f.error.code)) ?? failed[0]!;
  const prefix = `${first.error.operation}: `;
  const text = failed.map((f) => `${describe(f.vip)}: ${f.error.message.startsWith(prefix) ? f.error.message.slice(prefix.length) : f.error.message}`);
  throw new IoError(first.error.code, first.error.operation, text.join('; '));
}

/**
 * Synchronous when rtnetlink did every address (the usual case), so that the daemon sends a new
 * MASTER's GARP in the same tick; otherwise a promise for what `ip` still has to do.
 */
function applyVips(
  vips: readonly VipSpec[],
  now: (vip: VipSpec) => VipResult | undefined,
  later: (vip: VipSpec) => Promise<VipResult>,
): Promise<void> | void {
  const done = vips.map((vip) => now(vip));
  if (done.every((r): r is VipResult => r !== undefined)) return throwIfFailed(vips, done);
  return Promise.all(vips.map((vip, i) => done[i] ?? later(vip))).then((results) => throwIfFailed(vips, results));
}

export function createRealHost(onIoError: (error: Error) => void): DaemonHost {
  return {
    clock: monotonicClock,
    createScheduler: () => createScheduler(monotonicClock),
    interfaceInfo(name) {
      const facts = readInterface(name);
      return { name, address: facts?.firstIpv4, up: isLinkUsable(facts), exists: facts !== undefined };
    },
    capabilities: () => readEffectiveCapabilities(),
    openTransport(ifname, multicast, onPacket, onError, onOpen) {
      const transport = openTransport(ifname, { onPacket: (bytes) => onPacket(bytes), onError, onOpen: () => onOpen() }, { multicast });
      return {
        send: (payload, source, destinations) => transport.send(payload, { source, destinations }),
        close: () => transport.close(),
      };
    },
    addVips(vips) {
      return applyVips(vips, addVipNow, addVip);
    },
    removeVips(vips) {
      return applyVips(vips, removeVipNow, removeVip);
    },
    async removeStaleVips(vips) {
      const outcome = await removeStale(vips);
      for (const error of outcome.errors) onIoError(error);
      return outcome.removed;
    },
    sendGarp(ifname, addresses, repeat) {
      const outcome = packetGarpSender.sendGarpBurst(ifname, addresses, repeat);
      if (!outcome.ok) throw outcome.error;
    },
    probeGarp(ifname) {
      const outcome = probeGarp(ifname);
      if (!outcome.ok) throw outcome.error;
    },
    watchLinks(names, onChange) {
      return watchLinks(names, onChange, { onError: onIoError });
    },
    watchDeletedAddresses(onDeleted) {
      return watchDeletedAddresses(onDeleted, { onError: onIoError });
    },
  };
}
