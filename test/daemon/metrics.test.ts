import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createMetricsRegistry, serveMetrics, type MetricsSource } from '../../src/daemon/metrics.js';
import { formatStatusTable, type DaemonStatus, type InstanceStatus } from '../../src/daemon/status.js';

function instance(overrides: Partial<InstanceStatus> = {}): InstanceStatus {
  return {
    name: 'VI_1', state: 'MASTER', virtual_router_id: 251, version: 2, family: 'ipv4', interface: 'ens32', priority: 100, effective_priority: 80,
    virtual_addresses: ['10.0.0.50/32'], master_address: '10.0.0.51', master_priority: 80, advert_interval_ms: 1000, master_advert_interval_ms: 1000, last_transition: null,
    adverts_sent: 12, adverts_received: 3, priority_zero_sent: 1, priority_zero_received: 0, garp_bursts: 2, dual_master_seen: 1,
    dropped: { auth_failure: 4 }, fault_causes: [], drained: false, trackers: [{ name: 'script:check', weight: -20, status: 'failed' }], peers: [], peers_not_shown: 0,
    warnings: [], udp_only_warnings: 0,
    ...overrides,
  };
}

const source: MetricsSource = {
  status: (): DaemonStatus => ({ pid: 1, config_file: 'f', started_at: '', event_loop_lag_ms: 7, last_reload_error: null, instances: [instance()], interface_dropped: { ens32: { unknown_vrid: 9 } } }),
  transitionCounts: () => [{ instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', count: 2 }],
  secondsSinceLastAdvert: () => 1.5,
  stallCount: () => 3,
};

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

describe('Prometheus metrics', () => {
  it('says the version and family of an IPv6 instance, and shows its VIPs as text', async () => {
    const v6: MetricsSource = {
      ...source,
      status: () => ({ ...source.status(), instances: [instance({ name: 'VI_6', virtual_router_id: 60, version: 3, family: 'ipv6', virtual_addresses: ['fd00::50/64'], master_address: 'fe80::1' })] }),
    };
    const text = await createMetricsRegistry(v6).metrics();
    expect(text).toContain('vrrpd_instance_info{instance="VI_6",vrid="60",interface="ens32",version="3",family="ipv6"} 1');
    expect(formatStatusTable(v6.status())).toMatch(/VI_6\s+MASTER\s+60\s+v3\/ipv6\s+ens32 .*fe80::1\s+fd00::50\/64/);
  });

  it('exposes the UDP mirror counters and the UDP-only warnings', async () => {
    const warned = instance({ warnings: ['adverts from 10.0.0.51 arrive only over the UDP mirror: protocol 112 is being dropped'], udp_only_warnings: 2 });
    const mirror: MetricsSource = {
      ...source,
      status: () => ({ ...source.status(), instances: [warned], udp_mirror: { port: 9651, sent: 10, received: 20, accepted: 15, duplicates: 4, dropped: { bad_tag: 3, replay: 2 }, floor_save_failures: 1 } }),
    };
    const text = await createMetricsRegistry(mirror).metrics();
    const labels = 'instance="VI_1",vrid="251",interface="ens32"';
    expect(text).toContain(`vrrpd_udp_only_warnings_total{${labels}} 2`);
    expect(text).toContain(`vrrpd_udp_only_peers{${labels}} 1`);
    for (const [kind, n] of [['sent', 10], ['received', 20], ['accepted', 15], ['duplicates', 4]] as const) expect(text).toContain(`vrrpd_udp_mirror_datagrams_total{kind="${kind}"} ${n}`);
    expect(text).toContain('vrrpd_udp_mirror_dropped_total{reason="bad_tag"} 3');
    expect(text).toContain('vrrpd_udp_mirror_dropped_total{reason="replay"} 2');
    expect(text).toContain('vrrpd_udp_mirror_floor_save_failures_total{file="mirror-floors"} 1');
    // Without the mirror the mirror's series are absent.
    const plain = await createMetricsRegistry(source).metrics();
    expect(plain).not.toMatch(/vrrpd_udp_mirror_datagrams_total\{/);
    expect(plain).not.toMatch(/vrrpd_udp_mirror_floor_save_failures_total\{/);
  });

  it('exposes every documented metric with the daemon status values', async () => {
    const text = await createMetricsRegistry(source).metrics();
    const labels = 'instance="VI_1",vrid="251",interface="ens32"';
    expect(text).toContain(`vrrpd_instance_state{${labels},state="MASTER"} 1`);
    expect(text).toContain(`vrrpd_instance_state{${labels},state="BACKUP"} 0`);
    expect(text).toContain(`vrrpd_instance_info{${labels},version="2",family="ipv4"} 1`);
    expect(text).toContain(`vrrpd_effective_priority{${labels}} 80`);
    expect(text).toContain(`vrrpd_adverts_sent_total{${labels}} 12`);
    expect(text).toContain(`vrrpd_adverts_received_total{${labels}} 3`);
    expect(text).toContain(`vrrpd_dropped_total{${labels},reason="auth_failure"} 4`);
    expect(text).toContain('vrrpd_transitions_total{instance="VI_1",from="BACKUP",to="MASTER",reason="master_down_timer"} 2');
    expect(text).toContain(`vrrpd_garp_bursts_total{${labels}} 2`);
    expect(text).toContain(`vrrpd_seconds_since_last_advert{${labels}} 1.5`);
    expect(text).toContain('vrrpd_tracker_status{instance="VI_1",tracker="script:check",weight="-20"} 0');
    expect(text).toContain('vrrpd_event_loop_lag_seconds 0.007');
    expect(text).toContain('vrrpd_event_loop_stalls_total 3');
    expect(text).toContain('vrrpd_dual_master_seen_total 1');
    expect(text).toContain('vrrpd_interface_dropped_total{interface="ens32",reason="unknown_vrid"} 9');
  });
  it('vrrpd_sync_group_state: 1 for the state each sync group is in', async () => {
    const grouped: MetricsSource = { ...source, status: () => ({ ...source.status(), sync_groups: [{ name: 'VG_1', state: 'FAULT', members: ['VI_1', 'VI_2'] }] }) };
    const text = await createMetricsRegistry(grouped).metrics();
    expect(text).toContain('vrrpd_sync_group_state{group="VG_1",state="FAULT"} 1');
    expect(text).toContain('vrrpd_sync_group_state{group="VG_1",state="MASTER"} 0');
    expect(await createMetricsRegistry(source).metrics()).not.toContain('vrrpd_sync_group_state{');
  });
  it('serves GET /metrics over HTTP and 404 elsewhere', async () => {
    server = await serveMetrics('127.0.0.1:0', createMetricsRegistry(source));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const ok = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('vrrpd_instance_state');
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
  });
  it('refuses a listen address without a port', async () => {
    await expect(serveMetrics('127.0.0.1', createMetricsRegistry(source))).rejects.toThrow(/HOST:PORT/);
  });
});

/** A raw TCP client of the metrics port: what it received and when the server closed it. */
function rawClient(port: number): Promise<{ socket: Socket; received: () => string; closedAfterMs: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    const closedAfterMs = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
    socket.once('connect', () => resolve({ socket, received: () => received, closedAfterMs }));
    socket.once('error', reject);
  });
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);
}

function portOf(s: Server): number {
  const address = s.address();
  return typeof address === 'object' && address ? address.port : 0;
}

describe('metrics listener bounds', () => {
  it('closes connections past maxConnections at once and keeps serving', async () => {
    server = await serveMetrics('127.0.0.1:0', createMetricsRegistry(source), { maxConnections: 2 });
    const port = portOf(server);
    const held = [await rawClient(port), await rawClient(port)];
    const third = await rawClient(port);
    expect(await within(third.closedAfterMs, 1_000, 'the third connection closed')).toBeLessThan(1_000);
    held[0]!.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    for (const c of held) c.socket.destroy();
  });
  it('closes a half-sent request after headersTimeout', async () => {
    server = await serveMetrics('127.0.0.1:0', createMetricsRegistry(source), { headersTimeoutMs: 400, requestTimeoutMs: 800, checkIntervalMs: 100 });
    const c = await rawClient(portOf(server));
    c.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'); // and never the blank line
    const after = await within(c.closedAfterMs, 2_000, 'the half-sent request closed');
    expect(after).toBeGreaterThanOrEqual(300);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
  });
  it('closes a connection that never sends a byte', async () => {
    server = await serveMetrics('127.0.0.1:0', createMetricsRegistry(source), { headersTimeoutMs: 400, requestTimeoutMs: 800, checkIntervalMs: 100 });
    const c = await rawClient(portOf(server));
    expect(await within(c.closedAfterMs, 2_000, 'the silent connection closed')).toBeGreaterThanOrEqual(300);
  });
  it('closes an idle keep-alive connection after keepAliveTimeout', async () => {
    server = await serveMetrics('127.0.0.1:0', createMetricsRegistry(source), { keepAliveTimeoutMs: 300 });
    const c = await rawClient(portOf(server));
    c.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    const after = await within(c.closedAfterMs, 2_000, 'the idle keep-alive connection closed');
    expect(c.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(after).toBeGreaterThanOrEqual(250);
  });
  it('destroys a socket with no traffic for socketIdleTimeout (a client that stopped reading)', async () => {
    // Head and request deadlines far away: only the idle socket timeout can close this one.
    server = await serveMetrics('127.0.0.1:0', createMetricsRegistry(source), { headersTimeoutMs: 60_000, requestTimeoutMs: 120_000, socketIdleTimeoutMs: 400 });
    const c = await rawClient(portOf(server));
    c.socket.write('GET /metrics HTTP/1.1\r\n');
    const after = await within(c.closedAfterMs, 2_000, 'the idle socket destroyed');
    expect(after).toBeGreaterThanOrEqual(300);
  });
  it('uses bounds well below Node defaults when none are given', async () => {
    server = await serveMetrics('127.0.0.1:0', createMetricsRegistry(source));
    expect(server.maxConnections).toBe(64);
    expect(server.headersTimeout).toBe(5_000);
    expect(server.requestTimeout).toBe(10_000);
    expect(server.keepAliveTimeout).toBe(5_000);
    expect(server.timeout).toBe(30_000);
  });
});
