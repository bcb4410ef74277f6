import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { createMetricsRegistry, serveMetrics, type MetricsSource } from '../../src/daemon/metrics.js';
import type { DaemonStatus, InstanceStatus } from '../../src/daemon/status.js';

function instance(overrides: Partial<InstanceStatus> = {}): InstanceStatus {
  return {
    name: 'VI_1', state: 'MASTER', virtual_router_id: 251, interface: 'ens32', priority: 100, effective_priority: 80,
    virtual_addresses: ['10.0.0.50/32'], master_address: '10.0.0.51', master_priority: 80, last_transition: null,
    adverts_sent: 12, adverts_received: 3, priority_zero_sent: 1, priority_zero_received: 0, garp_bursts: 2, dual_master_seen: 1,
    dropped: { auth_failure: 4 }, fault_causes: [], trackers: [{ name: 'script:check', weight: -20, status: 'failed' }],
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
  it('exposes every documented metric with the daemon status values', async () => {
    const text = await createMetricsRegistry(source).metrics();
    const labels = 'instance="VI_1",vrid="251",interface="ens32"';
    expect(text).toContain(`vrrpd_instance_state{${labels},state="MASTER"} 1`);
    expect(text).toContain(`vrrpd_instance_state{${labels},state="BACKUP"} 0`);
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
