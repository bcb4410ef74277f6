/**
 * The validated config -> what the core state machine needs (InstanceConfig). The config keeps
 * what only the io layer uses (VIP prefix length, dev, label; script commands; notify commands);
 * the core gets addresses as numbers, times in milliseconds, and one TrackerSpec per tracked thing.
 */
import { passwordToAuthData } from '../core/codec.js';
import type { IpAddress } from '../core/ip.js';
import { interfaceTrackerName, scriptTrackerName } from '../core/tracker.js';
import { AUTH_DATA_LENGTH, type InstanceConfig, type TrackerSpec, type V3ChecksumMode } from '../core/types.js';
import type { VrrpInstance, VrrpdConfig } from './model.js';


/**
 * The source address written in the file (unicast_src_ip, else mcast_src_ip), or undefined when
 * the daemon must take the interface's primary address.
 */
export function configuredSourceAddress(instance: VrrpInstance): IpAddress | undefined {
  return instance.unicast_src_ip ?? instance.mcast_src_ip;
}

/**
 * The trackers of an instance with their effective weights: the instance's `weight` override wins
 * over the script's own; track_interface defaults to 0 (failure = FAULT). Unless
 * dont_track_primary, the instance's own interface is tracked with weight 0 as keepalived does,
 * so the daemon can drive every `interface:*` tracker from one link watcher.
 */
export function trackerSpecs(instance: VrrpInstance, config: Pick<VrrpdConfig, 'vrrp_script'>): TrackerSpec[] {
  const specs: TrackerSpec[] = [];
  for (const ref of instance.track_script) {
    const script = config.vrrp_script[ref.name];
    if (!script) throw new Error(`vrrp_instance ${instance.name} tracks unknown vrrp_script ${ref.name}; the loader should have refused it`);
    specs.push({ name: scriptTrackerName(ref.name), weight: ref.weight ?? script.weight, reverse: ref.reverse ?? script.reverse });
  }
  for (const ref of instance.track_interface) {
    specs.push({ name: interfaceTrackerName(ref.name), weight: ref.weight ?? 0, reverse: ref.reverse ?? false });
  }
  const primary = interfaceTrackerName(instance.interface);
  if (!instance.dont_track_primary && !specs.some((spec) => spec.name === primary)) {
    specs.push({ name: primary, weight: 0, reverse: false });
  }
  return specs;
}

/** keepalived's old_unicast_checksum: absent = auto-detect, bare = the 224.0.0.18 variant, `never`. */
function v3ChecksumMode(instance: VrrpInstance): V3ChecksumMode {
  if (instance.old_unicast_checksum === true) return 'group';
  if (instance.old_unicast_checksum === 'never') return 'never';
  return 'auto';
}

/**
 * Build the core's view of one instance. `resolvedSource` is the interface's primary address,
 * used only when the file gives neither unicast_src_ip nor mcast_src_ip (see
 * configuredSourceAddress); a configured address always wins.
 */
export function toInstanceConfig(instance: VrrpInstance, config: Pick<VrrpdConfig, 'vrrp_script'>, resolvedSource: IpAddress): InstanceConfig {
  // VRRPv3 has no authentication: a block written anyway is ignored (the loader warns).
  const auth = instance.version === 2 ? instance.authentication : undefined;
  return {
    name: instance.name,
    virtualRouterId: instance.virtual_router_id,
    priority: instance.priority,
    version: instance.version,
    ...(instance.family === 6 ? { family: 6 as const } : {}),
    // The loader has rounded advert_int to what the version carries (whole s, or 0.01 s).
    advertIntervalCs: Math.round(instance.advert_int * 100),
    v3Checksum: v3ChecksumMode(instance),
    initialState: instance.state,
    nopreempt: instance.nopreempt,
    preemptDelayMs: Math.round(instance.preempt_delay * 1000),
    authType: auth ? 1 : 0,
    authData: auth ? passwordToAuthData(auth.auth_pass).authData : new Uint8Array(AUTH_DATA_LENGTH),
    virtualAddresses: instance.virtual_ipaddress.map((vip) => vip.address),
    // An IPv6 instance's unknown source is 0n (its link-local address, found at start).
    sourceAddress: configuredSourceAddress(instance) ?? (instance.family === 6 && resolvedSource === 0 ? 0n : resolvedSource),
    unicastPeers: [...instance.unicast_peer],
    checkUnicastSrc: instance.check_unicast_src,
    skipCheckAdvAddr: instance.skip_check_adv_addr,
    garpMasterDelayMs: instance.garp_master_delay * 1000,
    garpMasterRepeat: instance.garp_master_repeat,
    garpMasterRefreshMs: instance.garp_master_refresh * 1000,
    trackers: trackerSpecs(instance, config),
  };
}
