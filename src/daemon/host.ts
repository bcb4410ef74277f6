/**
 * What the daemon's shell needs from the host, as one small typed interface. src/daemon/real-host.ts
 * backs it with src/io; tests back it with fakes. Nothing here knows about VRRP states: the engine
 * decides, the shell calls these in the order the engine's commands come.
 */
import type { AddressFamily, IpAddress, Ipv4, Ipv6 } from '../core/ip.js';
import type { Clock, Scheduler } from '../io/clock.js';
import type { MirrorDecodeResult, MirrorEndpoint } from '../io/mirror.js';
import type { Capabilities } from '../io/privileges.js';
import type { VipSpec } from '../io/vip.js';
import type { CheckPlan, InterfaceFacts, NotifyCommands, NotifyState, TrackFilePlan } from './engine.js';
import type { NotifySubject } from '../io/notify.js';

export type { VipSpec };

export interface Transport {
  /** Send one VRRP payload to every destination (the group, or each unicast peer). Never throws. */
  send(payload: Uint8Array, source: IpAddress, destinations: readonly IpAddress[]): void;
  close(): void;
}

/** A running health check. */
export interface CheckHandle {
  /** Run counters (runs, failures, timeouts, durations) for status. */
  stats(): object;
  /** Stop scheduling, end a run in progress, release what it holds. */
  stop(): Promise<void>;
}

/** The UDP mirror's sockets (docs/protocol.md#udp-mirror); the host holds the key and the sender counter. */
export interface MirrorHost {
  /**
   * Listen on exactly these addresses (replaces the previous set); every datagram that arrives is
   * opened with the key and handed to onDatagram with its verdict. Errors go to the host's io errors.
   */
  listen(port: number, endpoints: readonly MirrorEndpoint[], onDatagram: (endpoint: MirrorEndpoint, source: Ipv4, result: MirrorDecodeResult) => void): void;
  /** Seal the advert for each destination and send it from the socket bound to `source`. Throws when there is none. */
  send(payload: Uint8Array, source: Ipv4, destinations: readonly Ipv4[]): void;
  /** Keep the receive floors (peer -> highest counter taken) where the next start finds them. Throws on failure. */
  saveFloors(floors: ReadonlyMap<Ipv4, bigint>): void;
}

export interface DaemonHost {
  /** Present when `vrrpd.udp_mirror` is configured. */
  readonly mirror?: MirrorHost;
  readonly clock: Clock;
  /** The wall clock, for status only (never for a protocol timer). */
  wallClockMs(): number;
  readonly pid: number;
  createScheduler(): Scheduler;
  /** Call fn once every packet that waits in the sockets has been handled (setImmediate). */
  afterPendingIo(fn: () => void): void;
  interfaceFacts(name: string): InterfaceFacts;
  /** The daemon's effective capabilities; undefined when the host cannot tell. */
  capabilities(): Capabilities | undefined;
  /**
   * One socket per interface; `multicast` joins 224.0.0.18 there. Errors go to onError (an IoError
   * with an errno code and the operation); the transport retries opening, and calls onOpen each
   * time a socket is open.
   */
  openTransport(
    ifname: string,
    multicast: boolean,
    /** receivedAtMs: when the kernel received it (monotonic ms), if the socket says. */
    onPacket: (packet: Uint8Array, receivedAtMs?: number) => void,
    onError: (error: Error) => void,
    onOpen: () => void,
    /** 6: the IPv6 socket (ff02::12, or IPv6 peers); absent: IPv4. */
    family?: AddressFamily,
  ): Transport;
  /** Idempotent: an address that is already there is fine. Throws (with an errno `code`) otherwise. */
  addVips(vips: readonly VipSpec[]): void;
  /** Idempotent: an address that is already gone is fine. Throws as addVips. */
  removeVips(vips: readonly VipSpec[]): void;
  /** Remove whichever of these are present, whatever their prefix; returns what was removed. */
  removeStaleVips(vips: readonly VipSpec[]): Promise<VipSpec[]>;
  /** A burst of `repeat` gratuitous ARPs for each address, from the interface's MAC. Throws on failure. */
  sendGarp(ifname: string, addresses: readonly Ipv4[], repeat: number): void;
  /**
   * A burst of `repeat` unsolicited neighbour advertisements for each IPv6 address, from the
   * interface's MAC (IPv6's gratuitous ARP). Throws on failure.
   */
  sendNeighbourAdvert(ifname: string, addresses: readonly Ipv6[], repeat: number): void;
  /** Throws as sendGarp would when a GARP cannot leave on ifname, without sending one. */
  probeGarp(ifname: string): void;
  /** Calls onChange(ifname, up) when UP/RUNNING changes on any of the names. */
  watchLinks(names: readonly string[], onChange: (ifname: string, up: boolean) => void): { close(): void };
  /** Calls onDeleted when any IPv4 or IPv6 address is deleted from any interface (by anyone). */
  watchDeletedAddresses(onDeleted: (ifname: string, address: IpAddress) => void): { close(): void };
  /** Start a periodic check; onResult gets every run's raw result. */
  startCheck(check: CheckPlan, onResult: (ok: boolean, detail: string) => void): CheckHandle;
  /**
   * Watch a track file: init_file first (`initialise`, see the watch_file command), then onText with
   * its text at once (synchronously) and after every change. Errors go to onError.
   */
  watchFile(file: TrackFilePlan, initialise: 'start' | 'reload', onText: (text: string) => void, onError: (error: Error) => void): { close(): void };
  /** Queue the notify commands of an instance (or a sync group: `subject` GROUP) that entered `state`; returns at once. */
  notify(instance: string, state: NotifyState, priority: number, commands: NotifyCommands, subject?: NotifySubject): void;
}
