/**
 * The protocol's floor for a failover, from the configs. A module of its own because it loads
 * configs (and with them the yaml and zod packages): `vrrpd lab` imports it only once it runs, so
 * that its prerequisite check works from a bare copy of dist/ too.
 */
import { parseConfigText } from '../config/load.js';
import { masterDownIntervalFor, skewTimeFor } from '../core/timers.js';

export interface ProtocolFloor {
  ms: number;
  name: 'Master_Down' | 'Skew_Time';
  /** How it is made up, e.g. "3 x 0.1 s + Skew_Time(99) 61.328 ms". */
  formula: string;
}

/**
 * The least time a backup can take over after the master's last advert, from the two configs
 * (either format): after a priority-0 goodbye its Skew_Time, else Master_Down_Interval. In VRRPv3 both
 * scale with the interval the backup learns from the master's adverts (RFC 5798 6.1), i.e. the old
 * master's advert_int; in VRRPv2 the backup's own.
 */
export function protocolFloor(newMasterConfig: string, oldMasterConfig: string, goodbye: boolean): ProtocolFloor {
  const instance = (text: string, which: string) => {
    const loaded = parseConfigText(text, `${which}.conf`);
    if (!loaded.ok) throw new Error(`${which}'s config does not load: ${loaded.errors.map((e) => e.message).join('; ')}`);
    const first = Object.values(loaded.config.vrrp_instance)[0];
    if (first === undefined) throw new Error(`${which}'s config has no vrrp_instance`);
    return first;
  };
  const backup = instance(newMasterConfig, 'the new master');
  const master = instance(oldMasterConfig, 'the old master');
  const intervalS = backup.version === 3 ? master.advert_int : backup.advert_int;
  const intervalCs = Math.round(intervalS * 100);
  const skew = skewTimeFor(backup.version, backup.priority, intervalCs);
  if (goodbye) return { ms: skew, name: 'Skew_Time', formula: `Skew_Time(${backup.priority}) at ${intervalS} s, VRRPv${backup.version}` };
  return { ms: masterDownIntervalFor(backup.version, intervalCs, backup.priority), name: 'Master_Down', formula: `3 x ${intervalS} s + Skew_Time(${backup.priority}) ${skew} ms, VRRPv${backup.version}` };
}
