/** The validated configuration -> one InstanceSpec per vrrp_instance, in file order. */
import { toInstanceConfig } from '../config/convert.js';
import type { VrrpdConfig } from '../config/model.js';
import type { VipSpec } from '../io/vip.js';
import type { InstanceSpec } from './daemon.js';

/** VIPs as the host installs them (`ip addr add A/P dev D [label L] [brd B]`). */
export function instanceVips(config: VrrpdConfig): VipSpec[] {
  return Object.values(config.vrrp_instance).flatMap((instance) => planVips(instance.virtual_ipaddress));
}

function planVips(addresses: VrrpdConfig['vrrp_instance'][string]['virtual_ipaddress']): VipSpec[] {
  return addresses.map((vip) => {
    const spec: VipSpec = { address: vip.address, prefixLength: vip.prefix_len, ifname: vip.dev };
    if (vip.label !== undefined) spec.label = vip.label;
    if (vip.brd !== undefined) spec.broadcast = vip.brd;
    return spec;
  });
}

export function planInstances(config: VrrpdConfig): InstanceSpec[] {
  return Object.values(config.vrrp_instance).map((instance) => ({
    name: instance.name,
    interfaceName: instance.interface,
    // Source 0 = the daemon takes the interface's primary address at start.
    core: toInstanceConfig(instance, config, 0),
    vips: planVips(instance.virtual_ipaddress),
  }));
}
