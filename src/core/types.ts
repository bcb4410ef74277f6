/**
 * The vocabulary shared by the codec, the receive checks and the state machine. Everything here is
 * plain data: the io layer, the daemon and the simulator all speak it.
 */
import type { AddressFamily, IpAddress, Ipv4 } from './ip.js';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

/**
 * 0 = no authentication, 1 = simple text password. RFC 3768 5.3.6 keeps the field only for RFC 2338
 * compatibility; keepalived still uses type 1 (docs/protocol.md#wire-format). AH (2) is not supported.
 */
export type AuthType = 0 | 1;

/** Length of the authentication data at the end of a VRRPv2 advert (RFC 3768 5.3.10). VRRPv3 has none. */
export const AUTH_DATA_LENGTH = 8;
/** The protocol versions vrrpd speaks: VRRPv2 (RFC 3768) and VRRPv3 over IPv4 and IPv6 (RFC 5798 / RFC 9568). */
export type VrrpVersion = 2 | 3;
/** VRRPv3's Max Adver Int is 12 bits of centiseconds (RFC 5798 5.2.7): 0.01 .. 40.95 s. */
export const MAX_V3_ADVERT_INTERVAL_CS = 0x0fff;
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

/**
 * A VRRPv2 advertisement, the 8-byte header plus addresses and auth data (RFC 3768 5.3). Any
 * version nibble but 3 is laid out this way (keepalived sizes a packet by its own nibble too).
 */
export interface Advert {
  /** Version nibble; 2 for every advert we build. Decoding keeps what was on the wire (never 3: that is AdvertV3). */
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

/**
 * A VRRPv3 advertisement (RFC 5798 5.1): the 8-byte header (version, type, VRID, priority, count,
 * 4 reserved bits + 12-bit Max Adver Int in centiseconds, checksum) and the addresses, 4 bytes each
 * over IPv4 (numbers), 16 over IPv6 (bigints). No auth type, no auth data. The checksum covers the
 * IP pseudo-header of the family too (codec.ts).
 */
export interface AdvertV3 {
  version: 3;
  type: number;
  virtualRouterId: number;
  priority: number;
  /** The 4 bits before the interval; sent as 0, ignored on receipt (RFC 5798 5.2.6, keepalived). */
  reserved: number;
  /** Max Adver Int, centiseconds 0..4095 as carried (keepalived never sends 0). */
  advertIntervalCs: number;
  checksum: number;
  addresses: IpAddress[];
}

/**
 * The IP header fields that take part in validation. IPv6 (family 6): the transport hands the core
 * a 40-byte header it rebuilt from what recvmsg reported (source, destination, hop limit, traffic
 * class; docs/protocol.md#vrrpv3-over-ipv6), so `ttl` is the hop limit and `tos` the traffic class.
 */
export interface IpHeader {
  family: AddressFamily;
  headerLength: number;
  tos: number;
  totalLength: number;
  id: number;
  ttl: number;
  protocol: number;
  source: IpAddress;
  destination: IpAddress;
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
  /** IPv6 instance: the advert is exactly as long as one carrying IPv4 addresses (4 bytes each) would be. */
  'address_family_mismatch',
  /** Received length != IP header + 8 + 4 x the packet's address count (+ 8 of auth data unless the packet says version 3), as keepalived 2.2.7. */
  'bad_length',
  /** TTL (IPv4) or hop limit (IPv6) != 255 on a multicast instance. */
  'bad_ttl',
  /** Version nibble differs from the instance's version (2 or 3). */
  'bad_version',
  /** VRRPv2 only: auth type not 0, 1 or 2. */
  'bad_auth_type',
  /** VRRPv2 only: auth type valid but not ours. */
  'auth_type_mismatch',
  /** VRRPv2 only: simple password differs (constant-time compare). */
  'auth_failure',
  /** VRRPv2 only: advert interval differs from ours (VRRPv3 accepts any and learns the master's). */
  'interval_mismatch',
  /** Type nibble != 1. */
  'bad_type',
  /** Address count differs from ours. */
  'address_count_mismatch',
  /** IP total length differs from the received length. */
  'ip_length_mismatch',
  /** VRRP checksum does not verify (VRRPv3: with the IPv4 or IPv6 pseudo-header). */
  'bad_checksum',
  /** Unicast packet to a multicast instance, or multicast to a unicast one. */
  'mode_mismatch',
  /** One of our virtual addresses is missing from the advert. */
  'address_list_mismatch',
  /** Unicast mode: the source is not a configured peer. */
  'unknown_peer',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

/**
 * Which destination a VRRPv3 checksum's pseudo-header holds (keepalived 2.2.7's
 * `old_unicast_checksum`, docs/protocol.md#vrrpv3-checksum):
 * - 'auto' (no keyword): the packet's real destination; a unicast instance that receives an advert
 *   that verifies only with 224.0.0.18 accepts it and switches to 'group' for good;
 * - 'group' (`old_unicast_checksum`): always 224.0.0.18, as keepalived up to 1.3.6 did in unicast;
 * - 'never' (`old_unicast_checksum never`): the real destination, no switching.
 * Multicast is the same in all three: the destination is 224.0.0.18.
 */
export type V3ChecksumMode = 'auto' | 'group' | 'never';

/** What the receive checks compare a packet against: one instance's configuration and mode. */
export interface ReceiveExpectations {
  /** 6: IPv6 (VRRPv3 only). Absent means 4. */
  family?: AddressFamily;
  version: VrrpVersion;
  /** VRRPv2: 0 or 1. VRRPv3 ignores it. */
  authType: AuthType;
  /** 8 bytes, NUL padded (VRRPv2). */
  authData: Uint8Array;
  /** Our own interval: VRRPv2 drops an advert that carries another one (whole seconds on the wire). */
  advertIntervalCs: number;
  /** VRRPv3 only. */
  v3Checksum: V3ChecksumMode;
  virtualAddresses: readonly IpAddress[];
  /** Empty means multicast mode. */
  unicastPeers: readonly IpAddress[];
  /** Drop unicast adverts from sources that are not configured peers. */
  checkUnicastSrc: boolean;
  /** Compare the advert's address list with ours (keepalived: always in MASTER, in BACKUP unless skipped). */
  checkAddressList: boolean;
}

export type CheckResult =
  /**
   * `oldChecksum`: a VRRPv3 advert to a unicast instance in 'auto' mode verified only with
   * 224.0.0.18 in the pseudo-header (keepalived then switches the instance to the old checksum).
   */
  | { ok: true; advert: Advert | AdvertV3; ip: IpHeader; oldChecksum?: boolean }
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
  /** 2 (RFC 3768) or 3 (RFC 5798). */
  version: VrrpVersion;
  /**
   * 4 or 6 (absent: 4). Every address below is of this family: numbers for 4, bigints for 6. An
   * IPv6 instance is VRRPv3 (the config layer refuses version 2 with IPv6).
   */
  family?: AddressFamily;
  /**
   * Our Advertisement_Interval in centiseconds, exact: VRRPv2 whole seconds (100..25500),
   * VRRPv3 1..4095 (0.01..40.95 s).
   */
  advertIntervalCs: number;
  /** VRRPv3's checksum variant (keepalived's old_unicast_checksum); ignored in VRRPv2. */
  v3Checksum: V3ChecksumMode;
  /** keepalived `state`: only decides nopreempt validity and the owner shortcut; every instance starts BACKUP. */
  initialState: 'MASTER' | 'BACKUP';
  nopreempt: boolean;
  preemptDelayMs: number;
  /** VRRPv2 only (VRRPv3 has no authentication; the config layer gives it 0 and zeros). */
  authType: AuthType;
  /** 8 bytes, NUL padded (a longer password is truncated to 8 by the config layer). */
  authData: Uint8Array;
  virtualAddresses: IpAddress[];
  /**
   * Our primary address: unicast_src_ip, mcast_src_ip or the interface's first address (IPv6: its
   * link-local address). 0 / 0n = not known yet.
   */
  sourceAddress: IpAddress;
  /** Empty = multicast to 224.0.0.18 (IPv6: ff02::12). */
  unicastPeers: IpAddress[];
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
  | 'virtual_address_removed'
  /** Moved by its sync group: another member changed state (docs/protocol.md#sync-groups). */
  | 'sync_group';

/** Outputs of the machine. The caller performs them in order. */
export type Action =
  /**
   * Send this VRRP payload to the group or every peer. `perDestination` (VRRPv3 unicast): the
   * checksum covers each copy's destination, so the caller fills it in per peer
   * (codec.ts withV3Checksum); otherwise the payload is complete and the same for every destination.
   */
  | { type: 'send_advert'; priority: number; payload: Uint8Array; perDestination: boolean }
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
      masterAddress: IpAddress | undefined;
    }
  /** A packet was dropped; the caller counts nothing (the machine did) and may log it rate-limited. */
  | { type: 'drop'; reason: DropReason; source: IpAddress | undefined; detail?: string }
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; event: string; detail?: string };
