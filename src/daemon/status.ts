/**
 * The shape `vrrpd status --json` prints and the control socket returns, and its human table.
 * Field names follow keepalived's keywords where one exists.
 */
import type { DropReason, TransitionReason, VrrpState } from '../core/types.js';

/**
 * One peer as an instance sees it: a configured unicast peer (heard or not) or another sender it
 * accepted adverts from. The advert fields are null for a peer never heard.
 */
export interface PeerStatus {
  address: string;
  /** A configured unicast_peer (false: a multicast sender, or a unicast one with check_unicast_src off). */
  configured: boolean;
  /** Never heard, or no advert for three of its intervals (only a MASTER advertises: a BACKUP peer is silent). */
  silent: boolean;
  /** The last advert's priority (0: it said goodbye). */
  priority: number | null;
  /** Milliseconds since its last advert. */
  age_ms: number | null;
  /** The interval its last advert carried, in ms. */
  advert_interval_ms: number | null;
  /** How its last advert came: IP protocol 112 (`vrrp`) or the UDP mirror (`udp`). */
  path: 'vrrp' | 'udp' | null;
}

export interface InstanceStatus {
  name: string;
  state: VrrpState;
  virtual_router_id: number;
  /** VRRP version: 2 (RFC 3768) or 3 (RFC 5798). */
  version: 2 | 3;
  /** The instance's address family: IPv6 instances are VRRPv3 to ff02::12 or IPv6 peers. */
  family: 'ipv4' | 'ipv6';
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
  /** The vrrp_sync_group this instance is in and that group's state; null when in none. */
  sync_group?: { name: string; state: string } | null;
  /** Configured peers first, then other senders heard (at most 16 of those, the most recent). */
  peers: PeerStatus[];
  /** Other senders heard but not listed because the list was full (a flood of sources). */
  peers_not_shown: number;
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
  /** Times the receive floors could not be saved in the state directory. */
  floor_save_failures?: number;
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
  /** vrrp_sync_group states (docs/protocol.md#sync-groups); empty without sync groups. */
  sync_groups?: { name: string; state: string; members: string[] }[];
  /** null when `vrrpd.udp_mirror` is not configured. */
  udp_mirror?: UdpMirrorStatus | null;
}

/** One short line for the human table: `10.0.0.51 prio 100 0.4s ago, 10.0.0.53 silent 12.0s (prio 90)`. */
function formatPeers(peers: readonly PeerStatus[]): string {
  return peers
    .map((p) => {
      if (p.age_ms === null) return `${p.address} never heard`;
      const via = p.path === 'udp' ? ' via udp' : '';
      const age = `${(p.age_ms / 1000).toFixed(1)}s`;
      return p.silent ? `${p.address} silent ${age} (last prio ${p.priority}${via})` : `${p.address} prio ${p.priority} ${age} ago${via}`;
    })
    .join(', ');
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
    // IPv4 instances keep the column as it was; IPv6 ones say so.
    i.family === 'ipv6' ? `v${i.version}/ipv6` : `v${i.version}`,
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
    if (i.peers.length > 0) lines.push(`${i.name} peers: ${formatPeers(i.peers)}${i.peers_not_shown > 0 ? ` (+${i.peers_not_shown} senders not shown)` : ''}`);
    for (const warning of i.warnings ?? []) lines.push(`${i.name} warning: ${warning}`);
  }
  for (const [ifname, dropped] of Object.entries(status.interface_dropped)) {
    const drops = Object.entries(dropped).map(([reason, count]) => `${reason}=${count}`);
    if (drops.length > 0) lines.push(`${ifname} dropped before any instance: ${drops.join(' ')}`);
  }
  for (const group of status.sync_groups ?? []) lines.push(`sync group ${group.name}: ${group.state} (${group.members.join(', ')})`);
  const mirror = status.udp_mirror;
  if (mirror) {
    const drops = Object.entries(mirror.dropped).map(([reason, count]) => `${reason}=${count}`);
    lines.push(`udp mirror :${mirror.port}: sent ${mirror.sent}, received ${mirror.received}, accepted ${mirror.accepted}, duplicates ${mirror.duplicates}${drops.length > 0 ? `, dropped ${drops.join(' ')}` : ''}${(mirror.floor_save_failures ?? 0) > 0 ? `, floor save failures ${mirror.floor_save_failures}` : ''}`);
  }
  if (status.last_reload_error) lines.push(`last reload refused: ${status.last_reload_error}`);
  return lines.join('\n') + '\n';
}
