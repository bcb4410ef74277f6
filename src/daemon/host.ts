/**
 * What the daemon needs from the host, as one small typed interface. src/daemon/real-host.ts backs
 * it with src/io; tests can back it with fakes. Nothing here knows about VRRP states.
 */
import type { Ipv4 } from '../core/ip.js';
import type { Capabilities } from '../io/capabilities.js';
import type { Clock, Scheduler } from '../io/clock.js';
import type { VipSpec } from '../io/vip.js';

export type { Capabilities, VipSpec };

export interface InterfaceInfo {
  name: string;
  /** Primary IPv4 address, if any. */
  address: Ipv4 | undefined;
  /** UP and RUNNING (a missing interface is down). */
  up: boolean;
  /** The interface exists (up or not). */
  exists: boolean;
}

export interface Transport {
  /** Send one VRRP payload to every destination (the group, or each unicast peer). Never throws. */
  send(payload: Uint8Array, source: Ipv4, destinations: readonly Ipv4[]): void;
  close(): void;
}

export interface DaemonHost {
  readonly clock: Clock;
  createScheduler(): Scheduler;
  interfaceInfo(name: string): InterfaceInfo;
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
    onPacket: (packet: Uint8Array) => void,
    onError: (error: Error) => void,
    onOpen: () => void,
  ): Transport;
  /**
   * Idempotent: an address that is already there is fine. Fails (throws, or rejects) with a
   * reason otherwise. Returns nothing when the work is already done (rtnetlink), a promise when it
   * is not (the `ip` fallback).
   */
  addVips(vips: readonly VipSpec[]): Promise<void> | void;
  /** Idempotent: an address that is already gone is fine. Sync or async as addVips. */
  removeVips(vips: readonly VipSpec[]): Promise<void> | void;
  /** Remove whichever of these are present, whatever their prefix; returns what was removed. */
  removeStaleVips(vips: readonly VipSpec[]): Promise<VipSpec[]>;
  /** A burst of `repeat` gratuitous ARPs for each address, from the interface's MAC. */
  sendGarp(ifname: string, addresses: readonly Ipv4[], repeat: number): void;
  /** Throws as sendGarp would when a GARP cannot leave on ifname, without sending one. */
  probeGarp(ifname: string): void;
  /** Calls onChange(ifname, up) when UP/RUNNING changes on any of the names. */
  watchLinks(names: readonly string[], onChange: (ifname: string, up: boolean) => void): { close(): void };
  /** Calls onDeleted when any IPv4 address is deleted from any interface (by anyone). */
  watchDeletedAddresses(onDeleted: (ifname: string, address: Ipv4) => void): { close(): void };
}
