/** The DaemonHost on a real Linux host, backed by src/io. */
import { formatIpv4 } from '../core/ip.js';
import { createProbe, PeriodicCheck, type CheckLog } from '../io/checks.js';
import { createScheduler, monotonicClock } from '../io/clock.js';
import { watchDeletedAddresses } from '../io/addrwatch.js';
import { IoError } from '../io/errors.js';
import { packetGarpSender } from '../io/garp.js';
import { isLinkUsable, readInterface, watchLinks } from '../io/link.js';
import type { Notifier } from '../io/notify.js';
import { openTransport } from '../io/transport.js';
import { addVipNow, removeStale, removeVipNow, type VipResult, type VipSpec } from '../io/vip.js';
import type { DaemonHost } from './host.js';
import type { ProbePlan } from './plan.js';

export interface RealHostOptions {
  onIoError: (error: Error) => void;
  notifier: Notifier;
  checkLog: CheckLog;
}

function describe(vip: VipSpec): string {
  return `${formatIpv4(vip.address)}/${vip.prefixLength} dev ${vip.ifname}`;
}

/**
 * VIPs over rtnetlink, synchronously, so the engine's order (advert, VIPs, GARP) is the host's.
 * A failure throws with the kernel's errno name as code (EPERM, ENODEV).
 */
function applyVips(vips: readonly VipSpec[], change: (vip: VipSpec) => VipResult | undefined): void {
  const failed: string[] = [];
  let code: string | undefined;
  for (const vip of vips) {
    const result = change(vip);
    if (result === undefined) throw new IoError('ENOADDON', 'vip', 'the vrrpd_packet addon has no rtnetlink support; rebuild it (npm rebuild vrrpd)');
    if (!result.ok) {
      failed.push(`${describe(vip)}: ${result.error.message}`);
      code ??= result.error.code;
    }
  }
  if (failed.length > 0) throw new IoError(code ?? 'EIO', 'vip', failed.join('; '));
}

export function createRealHost(options: RealHostOptions): DaemonHost {
  const { onIoError } = options;
  return {
    clock: monotonicClock,
    wallClockMs: () => Date.now(),
    pid: process.pid,
    createScheduler: () => createScheduler(monotonicClock),
    afterPendingIo: (fn) => {
      setImmediate(fn);
    },
    interfaceFacts(name) {
      const facts = readInterface(name);
      return { address: facts?.firstIpv4, up: isLinkUsable(facts) };
    },
    openTransport(ifname, multicast, onPacket, onError) {
      const transport = openTransport(ifname, { onPacket: (bytes) => onPacket(bytes), onError }, { multicast });
      return {
        send: (payload, source, destinations) => transport.send(payload, { source, destinations }),
        close: () => transport.close(),
      };
    },
    addVips(vips) {
      applyVips(vips, addVipNow);
    },
    removeVips(vips) {
      applyVips(vips, removeVipNow);
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
    watchLinks(names, onChange) {
      return watchLinks(names, onChange, { onError: onIoError });
    },
    watchDeletedAddresses(onDeleted) {
      return watchDeletedAddresses(onDeleted, { onError: onIoError });
    },
    startCheck(check, onResult) {
      const plan = check.probe as ProbePlan;
      const periodic = new PeriodicCheck({
        trackerName: check.name,
        intervalMs: check.intervalMs,
        timeoutMs: check.timeoutMs,
        probe: createProbe(plan.script, plan, options.checkLog),
        onResult,
        log: options.checkLog,
      });
      periodic.start();
      return { stats: () => periodic.stats(), stop: () => periodic.stop() };
    },
    notify(instance, state, priority, commands) {
      options.notifier.transition(commands, instance, state, priority);
    },
  };
}
