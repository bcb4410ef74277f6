/**
 * The simulated Ethernet segment: a virtual clock and a bus with one time-ordered queue per link
 * (a directed pair of routers), after TigerBeetle's VOPR and quinn's test Pair.
 *
 * Every packet is a real IPv4 datagram (the bytes a raw socket would see). Each link draws its own
 * fate for each packet from the seed: lost, corrupted, delayed by base + jitter (kept in order), or
 * reordered (an extra delay that lets later packets overtake it), and possibly duplicated. Partitions
 * block links, symmetric or one way; a packet already on the wire when a link is cut is lost too.
 *
 * The bus also remembers, per link, since when it has delivered everything it was given
 * (`cleanSinceMs`). The safety checker needs that: VRRP only promises to resolve a dual master over
 * links that actually carry the adverts.
 */
import { isMulticast, type Ipv4, formatIpv4 } from '../../src/core/ip.js';
import type { Prng } from './prng.js';

/**
 * The virtual clock: milliseconds that only move forward, and only when the simulator says so. The
 * network and the scenarios use whole milliseconds; VRRPv3 timers land between them (keepalived's
 * microsecond skew: 361.328 ms), and the clock steps to exactly those instants.
 */
export class VirtualClock {
  private current = 0;

  get nowMs(): number {
    return this.current;
  }

  advanceTo(timeMs: number): void {
    if (timeMs < this.current) throw new Error(`clock would go back from ${this.current} to ${timeMs}`);
    this.current = timeMs;
  }
}

/** How one link treats packets. Probabilities are per packet and independent. */
export interface LinkConditions {
  lossRate: number;
  /** One-way delay every packet takes. */
  delayMs: number;
  /** Extra uniform delay 0..jitterMs; packets on a link stay in order unless reordered. */
  jitterMs: number;
  duplicateRate: number;
  /** Chance that a packet skips the in-order rule and takes up to reorderExtraMs more. */
  reorderRate: number;
  reorderExtraMs: number;
  /** Chance that one bit of the VRRP part flips (the IP header is left alone: the kernel would drop those). */
  corruptRate: number;
}

/** A quiet LAN: 1 ms, nothing lost. */
export const CLEAN_LINK: LinkConditions = {
  lossRate: 0,
  delayMs: 1,
  jitterMs: 0,
  duplicateRate: 0,
  reorderRate: 0,
  reorderExtraMs: 0,
  corruptRate: 0,
};

/** The longest a packet can spend on a link with these conditions. */
export function maxDelayMs(conditions: LinkConditions): number {
  return conditions.delayMs + conditions.jitterMs + (conditions.reorderRate > 0 ? conditions.reorderExtraMs : 0);
}

/** What a router looks like from the wire. */
export interface Endpoint {
  readonly name: string;
  readonly address: Ipv4;
  /** Host up and link up: packets can leave. */
  canSend(): boolean;
  /** Host up, link up and something listening: packets can be handed over. */
  canReceive(): boolean;
  receive(nowMs: number, packet: Uint8Array): void;
}

export type PacketFate = 'in_flight' | 'delivered' | 'lost' | 'corrupted' | 'partitioned' | 'sender_down' | 'receiver_down';

export interface PacketRecord {
  id: number;
  sentAtMs: number;
  from: string;
  to: string;
  /** The IP destination: the multicast group or the peer. */
  destination: Ipv4;
  packet: Uint8Array;
  duplicate: boolean;
  fate: PacketFate;
  deliveredAtMs?: number;
}

interface InFlight {
  deliverAtMs: number;
  /** Global send order: breaks ties between packets due at the same millisecond. */
  seq: number;
  packet: Uint8Array;
  corrupted: boolean;
  record: PacketRecord | undefined;
}

export class Link {
  readonly queue: InFlight[] = [];
  conditions: LinkConditions;
  blocked = false;
  /** Since when every packet given to this link was delivered (or it changed state). */
  cleanSinceMs = 0;
  /** Delivery time of the last in-order packet, so jitter never reorders. */
  private lastInOrderDeliverAtMs = 0;

  constructor(
    readonly from: Endpoint,
    readonly to: Endpoint,
    conditions: LinkConditions,
  ) {
    this.conditions = conditions;
  }

  enqueue(item: InFlight, inOrder: boolean): void {
    if (inOrder) {
      item.deliverAtMs = Math.max(item.deliverAtMs, this.lastInOrderDeliverAtMs);
      this.lastInOrderDeliverAtMs = item.deliverAtMs;
    }
    // Sorted by (deliverAtMs, seq); nearly always an append.
    let index = this.queue.length;
    while (index > 0) {
      const before = this.queue[index - 1] as InFlight;
      if (before.deliverAtMs < item.deliverAtMs || (before.deliverAtMs === item.deliverAtMs && before.seq < item.seq)) break;
      index--;
    }
    this.queue.splice(index, 0, item);
  }
}

export interface NetworkCounters {
  sent: number;
  delivered: number;
  lost: number;
  corrupted: number;
  duplicated: number;
  reordered: number;
  partitioned: number;
  senderDown: number;
  receiverDown: number;
}

export class Network {
  private readonly endpoints: Endpoint[] = [];
  private readonly links = new Map<Ipv4, Map<Ipv4, Link>>();
  private defaults: LinkConditions;
  private seq = 0;
  /** The largest delay any condition set so far allowed: the checkers' bound on time in flight. */
  maxDelayBoundMs: number;
  /**
   * Last time the network itself misbehaved or changed: a packet lost or corrupted, a partition or
   * condition change. Drops towards a host that is down do not count (that host is not a candidate).
   */
  lastDisturbanceMs = 0;
  readonly counters: NetworkCounters = { sent: 0, delivered: 0, lost: 0, corrupted: 0, duplicated: 0, reordered: 0, partitioned: 0, senderDown: 0, receiverDown: 0 };
  /** Every packet with its fate, when recording is on (scenario tests inspect it). */
  readonly log: PacketRecord[] | undefined;

  constructor(
    private readonly prng: Prng,
    private readonly clock: VirtualClock,
    defaults: LinkConditions = CLEAN_LINK,
    options: { record?: boolean } = {},
  ) {
    this.defaults = { ...defaults };
    this.maxDelayBoundMs = maxDelayMs(defaults);
    this.log = options.record === true ? [] : undefined;
  }

  attach(endpoint: Endpoint): void {
    if (this.endpoints.some((e) => e.address === endpoint.address)) throw new Error(`address ${formatIpv4(endpoint.address)} attached twice`);
    for (const other of this.endpoints) {
      this.linkMap(endpoint.address).set(other.address, new Link(endpoint, other, { ...this.defaults }));
      this.linkMap(other.address).set(endpoint.address, new Link(other, endpoint, { ...this.defaults }));
    }
    this.endpoints.push(endpoint);
  }

  link(from: Ipv4, to: Ipv4): Link {
    const link = this.links.get(from)?.get(to);
    if (link === undefined) throw new Error(`no link ${formatIpv4(from)} -> ${formatIpv4(to)}`);
    return link;
  }

  allLinks(): Link[] {
    return [...this.links.values()].flatMap((m) => [...m.values()]);
  }

  /** Change the conditions of every link (and of links attached later), or of one directed link. */
  setConditions(conditions: Partial<LinkConditions>, only?: { from: Ipv4; to: Ipv4 }): void {
    const nowMs = this.clock.nowMs;
    const targets = only === undefined ? this.allLinks() : [this.link(only.from, only.to)];
    if (only === undefined) this.defaults = { ...this.defaults, ...conditions };
    for (const link of targets) {
      link.conditions = { ...link.conditions, ...conditions };
      this.maxDelayBoundMs = Math.max(this.maxDelayBoundMs, maxDelayMs(link.conditions));
      link.cleanSinceMs = nowMs;
    }
    this.lastDisturbanceMs = nowMs;
  }

  /** Cut every link between the two groups, both ways. */
  partition(groupA: readonly Ipv4[], groupB: readonly Ipv4[]): void {
    this.block(groupA, groupB);
    this.block(groupB, groupA);
  }

  /** Cut only the links from `senders` to `receivers` (an asymmetric partition: one side still hears the other). */
  block(senders: readonly Ipv4[], receivers: readonly Ipv4[]): void {
    for (const from of senders) for (const to of receivers) if (from !== to) this.setBlocked(this.link(from, to), true);
  }

  /** Restore every link. */
  heal(): void {
    for (const link of this.allLinks()) if (link.blocked) this.setBlocked(link, false);
  }

  get partitioned(): boolean {
    return this.allLinks().some((l) => l.blocked);
  }

  /** A host, its link or its process changed state: its links start a new clean period. */
  touchEndpoint(address: Ipv4): void {
    const nowMs = this.clock.nowMs;
    for (const link of this.allLinks()) if (link.from.address === address || link.to.address === address) link.cleanSinceMs = nowMs;
  }

  /** Put one datagram on the wire: to every other endpoint for the multicast group, else to the owner of the address. */
  send(from: Endpoint, destination: Ipv4, packet: Uint8Array): void {
    const nowMs = this.clock.nowMs;
    const receivers = isMulticast(destination) ? this.endpoints.filter((e) => e !== from) : this.endpoints.filter((e) => e.address === destination && e !== from);
    for (const to of receivers) {
      const link = this.link(from.address, to.address);
      this.counters.sent++;
      const record = this.record(nowMs, from, to, destination, packet, false);
      if (!from.canSend()) {
        this.drop(link, record, 'sender_down', false);
        continue;
      }
      this.transmit(link, packet, record, nowMs);
      if (this.prng.chance(link.conditions.duplicateRate)) {
        this.counters.duplicated++;
        this.transmit(link, packet, this.record(nowMs, from, to, destination, packet, true), nowMs);
      }
    }
  }

  /** Earliest delivery time of anything on the wire; Infinity when the wire is empty. */
  nextDeliveryMs(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const map of this.links.values()) {
      for (const link of map.values()) {
        const head = link.queue[0];
        if (head !== undefined && head.deliverAtMs < earliest) earliest = head.deliverAtMs;
      }
    }
    return earliest;
  }

  /** Hand over the earliest packet due by now; false when none is due. */
  deliverNext(): boolean {
    const nowMs = this.clock.nowMs;
    let best: Link | undefined;
    for (const map of this.links.values()) {
      for (const link of map.values()) {
        const head = link.queue[0];
        if (head === undefined || head.deliverAtMs > nowMs) continue;
        const current = best?.queue[0];
        if (current === undefined || head.deliverAtMs < current.deliverAtMs || (head.deliverAtMs === current.deliverAtMs && head.seq < current.seq)) best = link;
      }
    }
    if (best === undefined) return false;
    const item = best.queue.shift() as InFlight;
    if (best.blocked) {
      this.drop(best, item.record, 'partitioned', false);
    } else if (!best.to.canReceive()) {
      this.drop(best, item.record, 'receiver_down', false);
    } else {
      if (item.record !== undefined) {
        item.record.fate = item.corrupted ? 'corrupted' : 'delivered';
        item.record.deliveredAtMs = nowMs;
      }
      this.counters.delivered++;
      best.to.receive(nowMs, item.packet);
    }
    return true;
  }

  private transmit(link: Link, packet: Uint8Array, record: PacketRecord | undefined, nowMs: number): void {
    const c = link.conditions;
    if (link.blocked) {
      this.drop(link, record, 'partitioned', false);
      return;
    }
    if (this.prng.chance(c.lossRate)) {
      this.counters.lost++;
      this.drop(link, record, 'lost', true);
      return;
    }
    let bytes = packet;
    let corrupted = false;
    if (this.prng.chance(c.corruptRate)) {
      bytes = corrupt(packet, this.prng);
      corrupted = true;
      this.counters.corrupted++;
      // The receiver will drop it on the checksum: for the checkers that is a lost packet.
      link.cleanSinceMs = nowMs;
      this.lastDisturbanceMs = nowMs;
    }
    const reordered = this.prng.chance(c.reorderRate);
    let delayMs = c.delayMs + (c.jitterMs > 0 ? this.prng.int(0, c.jitterMs) : 0);
    if (reordered) {
      this.counters.reordered++;
      delayMs += c.reorderExtraMs > 0 ? this.prng.int(0, c.reorderExtraMs) : 0;
    }
    link.enqueue({ deliverAtMs: nowMs + delayMs, seq: this.seq++, packet: bytes, corrupted, record }, !reordered);
  }

  private drop(link: Link, record: PacketRecord | undefined, fate: PacketFate, networkFault: boolean): void {
    const nowMs = this.clock.nowMs;
    if (record !== undefined) record.fate = fate;
    if (fate === 'partitioned') this.counters.partitioned++;
    if (fate === 'sender_down') this.counters.senderDown++;
    if (fate === 'receiver_down') this.counters.receiverDown++;
    link.cleanSinceMs = nowMs;
    if (networkFault) this.lastDisturbanceMs = nowMs;
  }

  private setBlocked(link: Link, blocked: boolean): void {
    link.blocked = blocked;
    link.cleanSinceMs = this.clock.nowMs;
    this.lastDisturbanceMs = this.clock.nowMs;
  }

  private record(nowMs: number, from: Endpoint, to: Endpoint, destination: Ipv4, packet: Uint8Array, duplicate: boolean): PacketRecord | undefined {
    if (this.log === undefined) return undefined;
    const record: PacketRecord = { id: this.log.length, sentAtMs: nowMs, from: from.name, to: to.name, destination, packet, duplicate, fate: 'in_flight' };
    this.log.push(record);
    return record;
  }

  private linkMap(address: Ipv4): Map<Ipv4, Link> {
    let map = this.links.get(address);
    if (map === undefined) {
      map = new Map();
      this.links.set(address, map);
    }
    return map;
  }
}

/** A copy of the datagram with one bit flipped after the IP header. */
function corrupt(packet: Uint8Array, prng: Prng): Uint8Array {
  const copy = packet.slice();
  const headerLength = ((copy[0] ?? 0x45) & 0x0f) * 4;
  if (copy.length <= headerLength) return copy;
  const index = prng.int(headerLength, copy.length - 1);
  copy[index] = (copy[index] as number) ^ (1 << prng.int(0, 7));
  return copy;
}
