/**
 * The shape `vrrpd status --json` prints and the control socket returns, and its human table.
 * Field names follow keepalived's keywords where one exists.
 */
import type { DropReason, TransitionReason, VrrpState } from '../core/types.js';

export interface InstanceStatus {
  name: string;
  state: VrrpState;
  virtual_router_id: number;
  /** VRRP version: 2 (RFC 3768) or 3 (RFC 5798, IPv4). */
  version: 2 | 3;
  interface: string;
  /** Configured priority. */
  priority: number;
  effective_priority: number;
  virtual_addresses: string[];
  /** The last master heard, or our own address when MASTER. */
  master_address: string | null;
  master_priority: number | null;
  /** Our advert_int in ms. */
  advert_interval_ms: number;
  /**
   * RFC 5798's Master_Adver_Interval in ms: the interval a VRRPv3 BACKUP learnt from its master's
   * adverts (Master_Down is computed from it); our own otherwise.
   */
  master_advert_interval_ms: number;
  last_transition: { at: string; from: VrrpState; to: VrrpState; reason: TransitionReason } | null;
  adverts_sent: number;
  adverts_received: number;
  priority_zero_sent: number;
  priority_zero_received: number;
  garp_bursts: number;
  dual_master_seen: number;
  /** Only the reasons that occurred. */
  dropped: Partial<Record<DropReason, number>>;
  fault_causes: string[];
  /** `vrrpd drain` holds it in FAULT (cause `drained`) until `vrrpd undrain`. */
  drained: boolean;
  trackers: { name: string; weight: number; status: string }[];
  /**
   * What an operator should know about this instance now, one sentence each (e.g. a peer whose
   * adverts arrive only over the UDP mirror).
   */
  warnings: string[];
  /** Times a peer's adverts started to arrive only over the UDP mirror (counter). */
  udp_only_warnings: number;
}

/** The UDP mirror's counters (docs/protocol.md#udp-mirror). */
export interface UdpMirrorStatus {
  port: number;
  sent: number;
  received: number;
  accepted: number;
  duplicates: number;
  /** Only the reasons that occurred: too_short, too_long, bad_magic, bad_version, bad_tag, not_peer, replay. */
  dropped: Partial<Record<string, number>>;
}

export interface DaemonStatus {
  pid: number;
  config_file: string;
  started_at: string;
  /** Event-loop lag seen by the daemon, in ms (the worst of the last minute). */
  event_loop_lag_ms: number;
  instances: InstanceStatus[];
  /** Packets no instance could take, per interface and reason (too_short, unknown_vrid). */
  interface_dropped: Record<string, Partial<Record<DropReason, number>>>;
  /** The error of the last refused reload, if any. */
  last_reload_error: string | null;
  /** null when `vrrpd.udp_mirror` is not configured. */
  udp_mirror?: UdpMirrorStatus | null;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** A fixed-width table, one line per instance, then drops where there are any. */
export function formatStatusTable(status: DaemonStatus): string {
  const header = ['INSTANCE', 'STATE', 'VRID', 'VER', 'IF', 'PRIO', 'EFF', 'MASTER', 'VIPS', 'SENT', 'RCVD', 'LAST TRANSITION'];
  const rows = status.instances.map((i) => [
    i.name,
    i.state,
    String(i.virtual_router_id),
    `v${i.version}`,
    i.interface,
    String(i.priority),
    String(i.effective_priority),
    i.master_address ?? '-',
    i.virtual_addresses.join(','),
    String(i.adverts_sent),
    String(i.adverts_received),
    i.last_transition ? `${i.last_transition.from}->${i.last_transition.to} (${i.last_transition.reason}) ${i.last_transition.at}` : '-',
  ]);
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => (r[col] ?? '').length)));
  const lines = [header, ...rows].map((r) => r.map((cell, col) => pad(cell, widths[col] ?? 0)).join('  ').trimEnd());
  for (const i of status.instances) {
    const drops = Object.entries(i.dropped).map(([reason, count]) => `${reason}=${count}`);
    if (drops.length > 0) lines.push(`${i.name} dropped: ${drops.join(' ')}`);
    if (i.fault_causes.length > 0) lines.push(`${i.name} fault: ${i.fault_causes.join(', ')}`);
    if (i.drained) lines.push(`${i.name} drained: out of elections until 'vrrpd undrain'`);
    for (const warning of i.warnings ?? []) lines.push(`${i.name} warning: ${warning}`);
  }
  for (const [ifname, dropped] of Object.entries(status.interface_dropped)) {
    const drops = Object.entries(dropped).map(([reason, count]) => `${reason}=${count}`);
    if (drops.length > 0) lines.push(`${ifname} dropped before any instance: ${drops.join(' ')}`);
  }
  const mirror = status.udp_mirror;
  if (mirror) {
    const drops = Object.entries(mirror.dropped).map(([reason, count]) => `${reason}=${count}`);
    lines.push(`udp mirror :${mirror.port}: sent ${mirror.sent}, received ${mirror.received}, accepted ${mirror.accepted}, duplicates ${mirror.duplicates}${drops.length > 0 ? `, dropped ${drops.join(' ')}` : ''}`);
  }
  if (status.last_reload_error) lines.push(`last reload refused: ${status.last_reload_error}`);
  return lines.join('\n') + '\n';
}
