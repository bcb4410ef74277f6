/** The DaemonHost on a real Linux host, backed by src/io. */
import { formatIp, type Ipv4 } from '../core/ip.js';
import { createScheduler, monotonicClock } from '../io/clock.js';
import { watchDeletedAddresses } from '../io/addrwatch.js';
import { IoError, toIoError } from '../io/errors.js';
import { packetGarpSender, probeGarp } from '../io/garp.js';
import { packetNaSender } from '../io/ndisc.js';
import { isLinkUsable, readInterface, watchLinks } from '../io/link.js';
import { initialiseTrackFile, watchTrackFile } from '../io/trackfile.js';
import type { MirrorSockets } from '../io/mirror.js';
import type { Notifier, NotifyState, NotifySubject } from '../io/notify.js';
import { readEffectiveCapabilities } from '../io/privileges.js';
import { openTransport } from '../io/transport.js';
import { openTransport6, readLinkLocal6 } from '../io/transport6.js';
import { addVip, removeStale, removeVip, type VipResult, type VipSpec } from '../io/vip.js';
import { startPeriodicCheck, type CheckLog, type Probe } from './checks.js';
import type { DaemonHost, MirrorHost } from './host.js';

export interface RealHostOptions {
  onIoError: (error: Error) => void;
  notifier: Notifier;
  /** Each transition for the notify FIFOs (global_defs notify_fifo), in the engine's order. */
  notifyFifo?: (name: string, state: NotifyState, priority: number, subject?: NotifySubject) => void;
  checkLog: CheckLog;
  /**
   * The probe the preflight prepared for a tracker, handed out once: a check starts exactly what
   * was judged. A check without one (none should be) is prepared from its plan.
   */
  takePreparedProbe: (trackerName: string) => Probe | undefined;
  /** The UDP mirror's sockets, when it is configured (the supervisor holds the key and the epoch). */
  mirror?: MirrorSockets;
  /** Where the mirror's receive floors are kept (the state directory); absent: in memory only. */
  saveMirrorFloors?: (floors: ReadonlyMap<Ipv4, bigint>) => void;
}

/** The mirror's sockets as the shell sees them: datagrams come back opened, with their verdict. */
function mirrorHost(sockets: MirrorSockets, saveFloors: ((floors: ReadonlyMap<Ipv4, bigint>) => void) | undefined): MirrorHost {
  return {
    saveFloors(floors) {
      saveFloors?.(floors);
    },
    listen(port, endpoints, onDatagram) {
      sockets.listen(port, endpoints, (endpoint, datagram, source) => onDatagram(endpoint, source, sockets.open(datagram, source, endpoint.address)));
    },
    send(payload, source, destinations) {
      sockets.send(payload, source, destinations);
    },
  };
}

function describe(vip: VipSpec): string {
  return `${formatIp(vip.address)}/${vip.prefixLength} dev ${vip.ifname}`;
}

/** Permission errors first: they decide the instance's FAULT, whatever else failed with them. */
const PERMISSION_CODES = new Set(['EPERM', 'EACCES']);

/**
 * VIPs over rtnetlink, synchronously, so the engine's order (advert, VIPs, GARP) is the host's.
 * A failure throws an IoError with the kernel's errno name and which address each failure was for.
 */
function applyVips(vips: readonly VipSpec[], change: (vip: VipSpec) => VipResult): void {
  const failed = vips.flatMap((vip) => {
    const result = change(vip);
    return result.ok ? [] : [{ vip, error: result.error }];
  });
  if (failed.length === 0) return;
  const first = failed.find((f) => PERMISSION_CODES.has(f.error.code)) ?? failed[0]!;
  const prefix = `${first.error.operation}: `;
  const text = failed.map((f) => `${describe(f.vip)}: ${f.error.message.startsWith(prefix) ? f.error.message.slice(prefix.length) : f.error.message}`);
  throw new IoError(first.error.code, first.error.operation, text.join('; '));
}

export function createRealHost(options: RealHostOptions): DaemonHost {
  const { onIoError } = options;
  return {
    ...(options.mirror !== undefined ? { mirror: mirrorHost(options.mirror, options.saveMirrorFloors) } : {}),
    clock: monotonicClock,
    wallClockMs: () => Date.now(),
    pid: process.pid,
    createScheduler: () => createScheduler(monotonicClock),
    afterPendingIo: (fn) => {
      setImmediate(fn);
    },
    interfaceFacts(name) {
      const facts = readInterface(name);
      return { address: facts?.firstIpv4, linkLocal6: facts === undefined ? undefined : readLinkLocal6(name), up: isLinkUsable(facts), exists: facts !== undefined };
    },
    capabilities: () => readEffectiveCapabilities(),
    openTransport(ifname, multicast, onPacket, onError, onOpen, family) {
      if (family === 6) {
        const transport6 = openTransport6(ifname, { onPacket: (bytes, _ifname, receivedAtMs) => onPacket(bytes, receivedAtMs), onError, onOpen: () => onOpen() }, { multicast });
        return {
          send: (payload, source, destinations) => transport6.send(payload, { source: BigInt(source), destinations: destinations.map((d) => BigInt(d)) }),
          close: () => transport6.close(),
        };
      }
      const transport = openTransport(ifname, { onPacket: (bytes, _ifname, receivedAtMs) => onPacket(bytes, receivedAtMs), onError, onOpen: () => onOpen() }, { multicast });
      return {
        send: (payload, source, destinations) => transport.send(payload, { source: source as Ipv4, destinations: destinations as readonly Ipv4[] }),
        close: () => transport.close(),
      };
    },
    addVips(vips) {
      applyVips(vips, addVip);
    },
    removeVips(vips) {
      applyVips(vips, removeVip);
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
    sendNeighbourAdvert(ifname, addresses, repeat) {
      const outcome = packetNaSender.sendNaBurst(ifname, addresses, repeat);
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
    watchFile(file, initialise, onText, onError) {
      if (file.init !== undefined) {
        try {
          initialiseTrackFile(file.path, file.init, initialise === 'reload');
        } catch (error) {
          onError(toIoError('track_file.init', error));
        }
      }
      return watchTrackFile(file.path, onText, (error) => onError(toIoError('track_file.watch', error)));
    },
    startCheck(check, onResult) {
      return startPeriodicCheck(check, options.takePreparedProbe(check.name), onResult, options.checkLog);
    },
    notify(instance, state, priority, commands, subject) {
      options.notifier.transition(commands, instance, state, priority, subject);
      options.notifyFifo?.(instance, state, priority, subject);
    },
  };
}
