/** Shared builders for core tests: an instance config like the seed's master1, and advert packets. */
import { encodeAdvert, encodeIpv4Packet, passwordToAuthData } from '../../src/core/codec.js';
import { parseIpv4, VRRP_MULTICAST_GROUP, type Ipv4 } from '../../src/core/ip.js';
import type { Action, InstanceConfig } from '../../src/core/types.js';

export function ip(text: string): Ipv4 {
  const value = parseIpv4(text);
  if (value === undefined) throw new Error(`bad address ${text}`);
  return value;
}

/** The seed's master1 (preempt variant): VRID 251, priority 100, PASS 123456, unicast to .52/.53. */
export function seedConfig(overrides: Partial<InstanceConfig> = {}): InstanceConfig {
  return {
    name: 'VI_1',
    virtualRouterId: 251,
    priority: 100,
    version: 2,
    advertIntervalCs: 100,
    v3Checksum: 'auto',
    initialState: 'MASTER',
    nopreempt: false,
    preemptDelayMs: 0,
    authType: 1,
    authData: passwordToAuthData('123456').authData,
    virtualAddresses: [ip('10.0.0.50')],
    sourceAddress: ip('10.0.0.51'),
    unicastPeers: [ip('10.0.0.52'), ip('10.0.0.53')],
    checkUnicastSrc: true,
    skipCheckAdvAddr: false,
    garpMasterDelayMs: 5000,
    garpMasterRepeat: 5,
    garpMasterRefreshMs: 0,
    trackers: [],
    ...overrides,
  };
}

export interface AdvertOptions {
  source?: string;
  destination?: string;
  priority?: number;
  config?: InstanceConfig;
  ttl?: number;
  /** VRRPv3: the interval the sender advertises (default the receiver's own). */
  intervalCs?: number;
  /** VRRPv3: the pseudo-header destination the sender used (default the packet's). */
  checksumDestination?: 'destination' | 'group';
}

/**
 * A full IPv4 packet carrying an advert that matches `config` (the receiver's), from `source`: a
 * VRRPv2 advert, or a VRRPv3 one (checksum over the pseudo-header) when the config says version 3.
 */
export function advertFrom(options: AdvertOptions = {}): Uint8Array {
  const config = options.config ?? seedConfig();
  const destination =
    options.destination !== undefined ? ip(options.destination) : config.unicastPeers.length > 0 ? (config.sourceAddress as number) : VRRP_MULTICAST_GROUP;
  const source = ip(options.source ?? '10.0.0.52');
  if (config.version === 3) {
    const payload = encodeAdvert(
      { version: 3, type: 1, virtualRouterId: config.virtualRouterId, priority: options.priority ?? 100, advertIntervalCs: options.intervalCs ?? config.advertIntervalCs, addresses: config.virtualAddresses },
      { source, destination: options.checksumDestination === 'group' ? VRRP_MULTICAST_GROUP : destination },
    );
    return encodeIpv4Packet({ source, destination, ttl: options.ttl ?? 255 }, payload);
  }
  const payload = encodeAdvert({
    version: 2,
    type: 1,
    virtualRouterId: config.virtualRouterId,
    priority: options.priority ?? 100,
    authType: config.authType,
    advertIntervalSec: config.advertIntervalCs / 100,
    addresses: config.virtualAddresses as number[],
    authData: config.authData,
  });
  return encodeIpv4Packet({ source, destination, ttl: options.ttl ?? 255 }, payload);
}

export function types(actions: Action[]): string[] {
  return actions.filter((a) => a.type !== 'log').map((a) => (a.type === 'send_advert' ? `send_advert(${a.priority})` : a.type === 'transition' ? `transition(${a.from}->${a.to})` : a.type));
}
