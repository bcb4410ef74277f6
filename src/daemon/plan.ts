/**
 * The validated configuration -> the engine's plan: one InstanceSpec per vrrp_instance (file order)
 * and one CheckPlan per vrrp_script that some instance tracks (keepalived runs no other).
 */
import { toInstanceConfig } from '../config/convert.js';
import type { VrrpdConfig, VrrpInstance, VrrpScript } from '../config/model.js';
import { scriptTrackerName } from '../core/tracker.js';
import type { VipSpec } from '../io/vip.js';
import { NOTIFY_KINDS, type NotifyCommands } from '../io/notify.js';
import type { ProbePlan } from './checks.js';
import type { CheckPlan, DaemonPlan, InstanceSpec, SyncGroupSpec, TrackFilePlan } from './engine.js';

/** VIPs as the host installs them (`ip addr add A/P dev D [label L] [brd B]`). */
export function instanceVips(config: VrrpdConfig): VipSpec[] {
  return Object.values(config.vrrp_instance).flatMap((instance) => planVips(instance.virtual_ipaddress));
}

function planVips(addresses: VrrpInstance['virtual_ipaddress']): VipSpec[] {
  return addresses.map((vip) => {
    const spec: VipSpec = { address: vip.address, prefixLength: vip.prefix_len, ifname: vip.dev };
    if (vip.label !== undefined) spec.label = vip.label;
    if (vip.brd !== undefined) spec.broadcast = vip.brd;
    return spec;
  });
}


function notifyCommands(instance: VrrpInstance): NotifyCommands {
  const commands: NotifyCommands = {};
  for (const kind of NOTIFY_KINDS) {
    const command = instance[kind];
    if (command !== undefined) commands[kind] = command;
  }
  return commands;
}

export function planInstances(config: VrrpdConfig): InstanceSpec[] {
  return Object.values(config.vrrp_instance).map((instance) => ({
    name: instance.name,
    interfaceName: instance.interface,
    // Source 0 = the engine takes the interface's primary address at start.
    core: toInstanceConfig(instance, config, 0),
    vips: planVips(instance.virtual_ipaddress),
    notify: notifyCommands(instance),
    // keepalived: an entry without its own weight takes the file's weight and reverse.
    trackFiles: instance.track_file.map((ref) => {
      const file = config.vrrp_track_file[ref.name]!;
      return { name: ref.name, weight: ref.weight ?? file.weight, reverse: ref.reverse ?? file.reverse };
    }),
    ...(instance.unicast_fault_no_peer === true ? { unicastFaultNoPeer: true } : {}),
  }));
}

/** Every vrrp_track_file some instance tracks (keepalived watches only those). */
export function planTrackFiles(config: VrrpdConfig): TrackFilePlan[] {
  const tracked = new Set(Object.values(config.vrrp_instance).flatMap((instance) => instance.track_file.map((ref) => ref.name)));
  return Object.values(config.vrrp_track_file)
    .filter((file) => tracked.has(file.name))
    .map((file) => ({ name: file.name, path: file.file, ...(file.init_file ? { init: { value: file.init_file.value, overwrite: file.init_file.overwrite } } : {}) }));
}

export function planChecks(config: VrrpdConfig): CheckPlan[] {
  const tracked = new Set(Object.values(config.vrrp_instance).flatMap((instance) => instance.track_script.map((ref) => ref.name)));
  const globalDefs = { script_user: config.global_defs.script_user, enable_script_security: config.global_defs.enable_script_security };
  return Object.values(config.vrrp_script)
    .filter((script) => tracked.has(script.name))
    .map((script) => {
      const probe: ProbePlan = { script, global_defs: globalDefs };
      return {
        name: scriptTrackerName(script.name),
        intervalMs: Math.round(script.interval * 1000),
        timeoutMs: Math.round(script.timeout * 1000),
        rise: script.rise,
        fall: script.fall,
        initFail: script.init_fail,
        probe,
      };
    });
}

/** vrrp_sync_group blocks (their trackers are already in each member: resolve.ts). */
export function planSyncGroups(config: VrrpdConfig): SyncGroupSpec[] {
  return Object.values(config.vrrp_sync_group ?? {}).map((group) => {
    const notify: NotifyCommands = {};
    for (const kind of NOTIFY_KINDS) {
      const command = group[kind];
      if (command !== undefined) notify[kind] = command;
    }
    return { name: group.name, members: [...group.group], notify };
  });
}

export function planDaemon(config: VrrpdConfig): DaemonPlan {
  const syncGroups = planSyncGroups(config);
  const mirror = config.vrrpd.udp_mirror;
  return {
    instances: planInstances(config),
    checks: planChecks(config),
    trackFiles: planTrackFiles(config),
    ...(syncGroups.length > 0 ? { syncGroups } : {}),
    ...(mirror !== undefined ? { mirror: { port: mirror.port } } : {}),
  };
}
