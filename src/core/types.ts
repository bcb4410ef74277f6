/**
 * The vocabulary shared by the codec, the receive checks and the state machine. Everything here is
 * plain data: the io layer, the daemon and the simulator all speak it.
 */
import type { Ipv4 } from './ip.js';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

/**
 * 0 = no authentication, 1 = simple text password. RFC 3768 5.3.6 keeps the field only for RFC 2338
 * compatibility; keepalived still uses type 1 (docs/protocol.md#wire-format). AH (2) is not supported.
 */
export type AuthType = 0 | 1;

/** Length of the authentication data at the end of a VRRPv2 advert (RFC 3768 5.3.10). */
export const AUTH_DATA_LENGTH = 8;
/** VRRP header before the address list. */
export const VRRP_HEADER_LENGTH = 8;
/** RFC 3768 5.2.3: adverts are sent with TTL 255; receivers check it (multicast only, as keepalived 2.2.7). */
export const VRRP_TTL = 255;
/** IP TOS used by keepalived for adverts (internetwork control). */
export const VRRP_TOS = 0xc0;
/** IANA protocol number for VRRP. */
export const VRRP_PROTOCOL = 112;
/** RFC 3768 5.3.5: at most 255 addresses in one advert; we keep a smaller practical limit. */
export const MAX_VIRTUAL_ADDRESSES = 20;

/** A VRRPv2 advertisement, the 8-byte header plus addresses and auth data (RFC 3768 5.3). */
export interface Advert {
  /** Version nibble; 2 for every advert we build. Decoding keeps what was on the wire. */
  version: number;
  /** Type nibble; 1 = ADVERTISEMENT. */
  type: number;
  virtualRouterId: number;
  priority: number;
  authType: number;
  advertIntervalSec: number;
  /** Checksum as carried on the wire (decode) or as computed (encode output). */
  checksum: number;
  addresses: Ipv4[];
  /** Always 8 bytes: the password NUL-padded, or zeros. */
  authData: Uint8Array;
}

/** The IPv4 header fields that take part in validation. */
export interface IpHeader {
  headerLength: number;
  tos: number;
  totalLength: number;
  id: number;
  ttl: number;
  protocol: number;
  source: Ipv4;
  destination: Ipv4;
}

/**
 * Why a received packet was dropped, one code per receive check, listed in the order keepalived
 * 2.2.7 applies them (vrrp.c vrrp_check_packet and its callers). The first failing check wins.
 * docs/protocol.md#receive-checks lists them with their rules, in this order (a test keeps it so).
 */
export const DROP_REASONS = [
  /** Fewer bytes than an IP header + the 8-byte VRRP header, or not an IPv4/protocol-112 packet. */
  'too_short',
  /** No instance with this VRID on the receiving interface (keepalived drops these silently). */
  'unknown_vrid',
  /** The instance is in FAULT or INIT and ignores everything. */
  'not_ready',
  /** Received length != IP header + 8 + 4 x the packet's address count + 8 (keepalived 2.2.7). */
  'bad_length',
  /** TTL != 255 on a multicast instance. */
  'bad_ttl',
  /** Version nibble != 2. */
  'bad_version',
  /** Auth type not 0, 1 or 2. */
  'bad_auth_type',
  /** Auth type valid but not ours. */
  'auth_type_mismatch',
  /** Simple password differs (constant-time compare). */
  'auth_failure',
  /** Advert interval differs from ours. */
  'interval_mismatch',
  /** Type nibble != 1. */
  'bad_type',
  /** Address count differs from ours. */
  'address_count_mismatch',
  /** IP total length differs from the received length. */
  'ip_length_mismatch',
  /** VRRP checksum does not verify. */
  'bad_checksum',
  /** Unicast packet to a multicast instance, or multicast to a unicast one. */
  'mode_mismatch',
  /** One of our virtual addresses is missing from the advert. */
  'address_list_mismatch',
  /** Unicast mode: the source is not a configured peer. */
  'unknown_peer',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

/** What the receive checks compare a packet against: one instance's configuration and mode. */
export interface ReceiveExpectations {
  authType: AuthType;
  /** 8 bytes, NUL padded. */
  authData: Uint8Array;
  advertIntervalSec: number;
  virtualAddresses: readonly Ipv4[];
  /** Empty means multicast mode. */
  unicastPeers: readonly Ipv4[];
  /** Drop unicast adverts from sources that are not configured peers. */
  checkUnicastSrc: boolean;
  /** Compare the advert's address list with ours (keepalived: always in MASTER, in BACKUP unless skipped). */
  checkAddressList: boolean;
}

export type CheckResult =
  | { ok: true; advert: Advert; ip: IpHeader }
  | { ok: false; reason: DropReason; detail?: string };

/** A tracked thing (script, interface, built-in check) as the machine sees it. */
export interface TrackerSpec {
  name: string;
  /**
   * 0: failure puts the instance in FAULT. w < 0: contributes w while failing. w > 0: contributes w
   * while succeeding. Range -253..253.
   */
  weight: number;
  /** Flip the sign of the contribution (keepalived `reverse`). */
  reverse: boolean;
}

export type TrackerStatus = 'unknown' | 'ok' | 'failed';

/** One VRRP instance's configuration as the core needs it (the config layer maps to this). */
export interface InstanceConfig {
  name: string;
  virtualRouterId: number;
  /** Configured priority 1..255; 255 = address owner. */
  priority: number;
  advertIntervalSec: number;
  /** keepalived `state`: only decides nopreempt validity and the owner shortcut; every instance starts BACKUP. */
  initialState: 'MASTER' | 'BACKUP';
  nopreempt: boolean;
  preemptDelayMs: number;
  authType: AuthType;
  /** 8 bytes, NUL padded (a longer password is truncated to 8 by the config layer). */
  authData: Uint8Array;
  virtualAddresses: Ipv4[];
  /** Our primary address: unicast_src_ip, mcast_src_ip or the interface's first address. */
  sourceAddress: Ipv4;
  /** Empty = multicast to 224.0.0.18. */
  unicastPeers: Ipv4[];
  checkUnicastSrc: boolean;
  skipCheckAdvAddr: boolean;
  garpMasterDelayMs: number;
  garpMasterRepeat: number;
  /** 0 = off. */
  garpMasterRefreshMs: number;
  trackers: TrackerSpec[];
}

/** Why the machine changed state; one of these appears on every transition. */
export type TransitionReason =
  | 'start'
  | 'address_owner'
  | 'master_down_timer'
  | 'higher_priority_advert'
  | 'equal_priority_higher_address'
  | 'fault'
  | 'fault_cleared'
  | 'shutdown'
  | 'virtual_address_removed';

/** Outputs of the machine. The caller performs them in order. */
export type Action =
  /** Send this VRRP payload (header + addresses + auth, checksum filled) to the group or every peer. */
  | { type: 'send_advert'; priority: number; payload: Uint8Array }
  | { type: 'add_vips' }
  | { type: 'remove_vips' }
  /** Send garpMasterRepeat gratuitous ARPs for every VIP now. */
  | { type: 'garp'; why: 'become_master' | 'delayed' | 'refresh' | 'lower_priority_advert' }
  | {
      type: 'transition';
      from: VrrpState;
      to: VrrpState;
      reason: TransitionReason;
      effectivePriority: number;
      /** The master's address after the transition (ours when MASTER), if known. */
      masterAddress: Ipv4 | undefined;
    }
  /** A packet was dropped; the caller counts nothing (the machine did) and may log it rate-limited. */
  | { type: 'drop'; reason: DropReason; source: Ipv4 | undefined; detail?: string }
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; event: string; detail?: string };
