/**
 * The optional Prometheus endpoint (`vrrpd: { metrics_listen: 127.0.0.1:9650 }`, off by default).
 * Every value is read from the daemon's status at scrape time, so metrics cost nothing per packet.
 * Each metric is documented in README.md ("Metrics").
 */
import { createServer, type Server } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import type { DaemonStatus } from './status.js';

const STATES = ['INIT', 'BACKUP', 'MASTER', 'FAULT'] as const;
const TRACKER_VALUE: Record<string, number> = { ok: 1, failed: 0, unknown: -1 };

export interface MetricsSource {
  status(): DaemonStatus;
  /** Transitions counted by instance, from, to and reason. */
  transitionCounts(): Array<{ instance: string; from: string; to: string; reason: string; count: number }>;
  /** Seconds since each instance last heard a valid advert (undefined: never). */
  secondsSinceLastAdvert(instance: string): number | undefined;
  stallCount(): number;
}

const SYNC_GROUP_STATES = ['INIT', 'BACKUP', 'MASTER', 'FAULT'] as const;

/** Build a registry whose gauges and counters are filled from `source` on every scrape. */
export function createMetricsRegistry(source: MetricsSource): Registry {
  const registry = new Registry();
  const instanceLabels = ['instance', 'vrid', 'interface'] as const;
  // status() is a walk over in-memory counters; taking it per metric keeps scrapes simple.
  const current = (): DaemonStatus => source.status();
  const gauge = (name: string, help: string, labelNames: readonly string[], fill: (g: Gauge) => void) =>
    new Gauge({ name, help, labelNames, registers: [registry], collect() { this.reset(); fill(this); } });

  gauge('vrrpd_instance_state', 'Current VRRP state of each instance (1 for the state it is in, 0 for the others).', [...instanceLabels, 'state'], (g) => {
    for (const i of current().instances) {
      for (const state of STATES) g.set({ instance: i.name, vrid: String(i.virtual_router_id), interface: i.interface, state }, i.state === state ? 1 : 0);
    }
  });
  // The protocol of each instance as labels of a constant 1 (an info metric), so that the other
  // series keep their labels: join on instance to split any of them by version or family.
  gauge('vrrpd_instance_info', 'VRRP version (2, 3) and address family (ipv4, ipv6) of each instance; always 1.', [...instanceLabels, 'version', 'family'], (g) => {
    for (const i of current().instances) g.set({ instance: i.name, vrid: String(i.virtual_router_id), interface: i.interface, version: String(i.version), family: i.family ?? 'ipv4' }, 1);
  });
  gauge('vrrpd_sync_group_state', 'Current state of each vrrp_sync_group (1 for the state it is in, 0 for the others).', ['group', 'state'], (g) => {
    for (const group of current().sync_groups ?? []) {
      for (const state of SYNC_GROUP_STATES) g.set({ group: group.name, state }, group.state === state ? 1 : 0);
    }
  });
  const perInstance = (name: string, help: string, value: (i: DaemonStatus['instances'][number]) => number | undefined) =>
    gauge(name, help, instanceLabels, (g) => {
      for (const i of current().instances) {
        const v = value(i);
        if (v !== undefined) g.set({ instance: i.name, vrid: String(i.virtual_router_id), interface: i.interface }, v);
      }
    });
  perInstance('vrrpd_effective_priority', 'Configured priority plus tracker weights, clamped to 1..254 (255 for an address owner).', (i) => i.effective_priority);
  perInstance('vrrpd_priority', 'Configured priority.', (i) => i.priority);
  perInstance('vrrpd_adverts_sent_total', 'VRRP adverts sent (counter).', (i) => i.adverts_sent);
  perInstance('vrrpd_adverts_received_total', 'Valid VRRP adverts received (counter).', (i) => i.adverts_received);
  perInstance('vrrpd_priority_zero_sent_total', 'Priority-0 (goodbye) adverts sent (counter).', (i) => i.priority_zero_sent);
  perInstance('vrrpd_garp_bursts_total', 'Gratuitous ARP bursts sent (counter; each burst is garp_master_repeat ARPs per VIP).', (i) => i.garp_bursts);
  perInstance('vrrpd_dual_master_total', 'Adverts a MASTER heard from another MASTER: a dual master happened (counter).', (i) => i.dual_master_seen);
  perInstance('vrrpd_seconds_since_last_advert', 'Seconds since the last valid advert was heard (absent if none yet).', (i) => source.secondsSinceLastAdvert(i.name));
  gauge('vrrpd_dropped_total', 'Received packets dropped, by reason (counter).', [...instanceLabels, 'reason'], (g) => {
    for (const i of current().instances) {
      for (const [reason, count] of Object.entries(i.dropped)) g.set({ instance: i.name, vrid: String(i.virtual_router_id), interface: i.interface, reason }, count ?? 0);
    }
  });
  gauge('vrrpd_interface_dropped_total', 'Received packets no instance could take (too_short, unknown_vrid), by interface (counter).', ['interface', 'reason'], (g) => {
    for (const [ifname, dropped] of Object.entries(current().interface_dropped)) {
      for (const [reason, count] of Object.entries(dropped)) g.set({ interface: ifname, reason }, count ?? 0);
    }
  });
  gauge('vrrpd_transitions_total', 'State transitions, by from, to and reason (counter).', ['instance', 'from', 'to', 'reason'], (g) => {
    for (const t of source.transitionCounts()) g.set({ instance: t.instance, from: t.from, to: t.to, reason: t.reason }, t.count);
  });
  gauge('vrrpd_tracker_status', 'Tracker status per instance: 1 ok, 0 failed, -1 no result yet.', ['instance', 'tracker', 'weight'], (g) => {
    for (const i of current().instances) {
      for (const t of i.trackers) g.set({ instance: i.name, tracker: t.name, weight: String(t.weight) }, TRACKER_VALUE[t.status] ?? -1);
    }
  });
  perInstance('vrrpd_udp_only_warnings_total', "Times a peer's adverts started to arrive only over the UDP mirror: protocol 112 is being dropped (counter).", (i) => i.udp_only_warnings);
  perInstance('vrrpd_udp_only_peers', 'Peers whose adverts arrive only over the UDP mirror now.', (i) => i.warnings.filter((w) => w.includes('only over the UDP mirror')).length);
  gauge('vrrpd_udp_mirror_datagrams_total', 'UDP mirror datagrams: sent, received, accepted, duplicates (of adverts that also came over protocol 112) (counter).', ['kind'], (g) => {
    const mirror = current().udp_mirror;
    if (!mirror) return;
    for (const kind of ['sent', 'received', 'accepted', 'duplicates'] as const) g.set({ kind }, mirror[kind]);
  });
  gauge('vrrpd_udp_mirror_dropped_total', 'UDP mirror datagrams dropped, by reason: too_short, too_long, bad_magic, bad_version, bad_tag, not_peer, replay (counter).', ['reason'], (g) => {
    for (const [reason, count] of Object.entries(current().udp_mirror?.dropped ?? {})) g.set({ reason }, count ?? 0);
  });
  // Labelled by the file so that, as the other mirror series, it is absent without the mirror.
  gauge('vrrpd_udp_mirror_floor_save_failures_total', "Times the UDP mirror's replay floors could not be saved in the state directory (counter).", ['file'], (g) => {
    const mirror = current().udp_mirror;
    if (mirror) g.set({ file: 'mirror-floors' }, mirror.floor_save_failures ?? 0);
  });
  gauge('vrrpd_event_loop_lag_seconds', 'Worst event-loop delay seen recently.', [], (g) => g.set(current().event_loop_lag_ms / 1000));
  gauge('vrrpd_event_loop_stalls_total', 'Timers that fired more than 100 ms late (counter).', [], (g) => g.set(source.stallCount()));
  gauge('vrrpd_dual_master_seen_total', 'Sum over instances of adverts a MASTER heard from another MASTER (counter).', [], (g) => {
    g.set(current().instances.reduce((sum, i) => sum + i.dual_master_seen, 0));
  });
  return registry;
}

export interface MetricsLimits {
  /** Concurrent connections; more are closed as soon as they connect. */
  maxConnections: number;
  /** The request head must have arrived within this (a half-sent request holds a descriptor). */
  headersTimeoutMs: number;
  /** The whole request must have arrived within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** A socket with no traffic at all (a client that stopped reading its response) is destroyed. */
  socketIdleTimeoutMs: number;
  /** How often Node checks headersTimeout and requestTimeout. */
  checkIntervalMs: number;
}

/**
 * A scraper needs one connection every few seconds; 64 leaves room for several and, with the
 * control socket's 64, stays far below the unit's LimitNOFILE (systemd/vrrpd.service).
 */
export const DEFAULT_METRICS_LIMITS: MetricsLimits = {
  maxConnections: 64,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  socketIdleTimeoutMs: 30_000,
  checkIntervalMs: 1_000,
};

/** `host:port` -> an HTTP server answering GET /metrics, with every connection bounded. */
export async function serveMetrics(listen: string, registry: Registry, limits: Partial<MetricsLimits> = {}): Promise<Server> {
  const match = /^(.*):(\d+)$/.exec(listen);
  if (!match) throw new Error(`metrics_listen must be HOST:PORT, got '${listen}'`);
  const host = match[1]!.replace(/^\[(.*)\]$/, '$1');
  const port = Number(match[2]);
  const bounds = { ...DEFAULT_METRICS_LIMITS, ...limits };
  // Node's defaults (60 s for the head, 300 s per request, a check every 30 s, no connection cap)
  // let half-sent requests hold descriptors for minutes, as many as a client cares to open.
  const server = createServer({
    headersTimeout: bounds.headersTimeoutMs,
    requestTimeout: bounds.requestTimeoutMs,
    keepAliveTimeout: bounds.keepAliveTimeoutMs,
    connectionsCheckingInterval: bounds.checkIntervalMs,
  }, (req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(`${(err as Error).message}\n`),
    );
  });
  server.maxConnections = bounds.maxConnections;
  // With no 'timeout' listener, Node destroys a socket idle for this long.
  server.setTimeout(bounds.socketIdleTimeoutMs);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
