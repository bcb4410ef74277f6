/**
 * Rules that need more than one field, and defaults that come from elsewhere in the file. Runs on
 * the zod output, so every field already has its type and range; issues are returned with their
 * data path and load.ts gives them a line and column.
 *
 * keepalived's own corrections are kept as warnings (nopreempt cleared with state MASTER or at
 * priority 255, auth_pass cut at 8 bytes); what keepalived would run with but cannot work (a
 * tracked script that does not exist, weights on an address owner, two instances with one VRID on
 * one interface) is an error.
 */
import { passwordToAuthData } from '../core/codec.js';
import { familyOf, formatIp, formatIpv4, parseIpv4, type AddressFamily, type IpAddress, type Ipv4 } from '../core/ip.js';
import { closestMatch, type ConfigIssueCode } from './issues.js';
import type { LocateTarget } from './locate.js';
import {
  CHECK_KIND_KEYS,
  CONFIG_LIMITS,
  type CheckKind,
  type CheckSpec,
  type ParsedConfig,
  type ParsedInstance,
  type ParsedScript,
  type ParsedSyncGroup,
  type TrackRef,
  type VirtualAddress,
  type VrrpInstance,
  type VrrpScript,
  type VrrpSyncGroup,
  type VrrpTrackFile,
  type VrrpdConfig,
} from './model.js';

export interface PendingIssue {
  code: ConfigIssueCode;
  path: PropertyKey[];
  message: string;
  target?: LocateTarget;
}

export interface ResolveResult {
  config: VrrpdConfig;
  errors: PendingIssue[];
  warnings: PendingIssue[];
}

/** Names go into logs, notify arguments and metrics labels: keep them to one plain word. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;

export function resolveConfig(parsed: ParsedConfig): ResolveResult {
  const errors: PendingIssue[] = [];
  const warnings: PendingIssue[] = [];

  const checkName = (section: 'vrrp_script' | 'vrrp_track_file' | 'vrrp_instance' | 'vrrp_sync_group', name: string): void => {
    if (!NAME_PATTERN.test(name) || name.length > CONFIG_LIMITS.maxNameLength) {
      errors.push({
        code: 'invalid_name', path: [section, name], target: 'key',
        message: `name must be 1..${CONFIG_LIMITS.maxNameLength} letters, digits or _ . : @ - starting with a letter or digit, got '${name}'`,
      });
    }
  };

  const scriptEntries = Object.entries(parsed.vrrp_script);
  if (scriptEntries.length > CONFIG_LIMITS.maxScripts) {
    errors.push({ code: 'too_many', path: ['vrrp_script'], message: `at most ${CONFIG_LIMITS.maxScripts} scripts, got ${scriptEntries.length}` });
  }
  const scripts: Record<string, VrrpScript> = {};
  for (const [name, script] of scriptEntries) {
    checkName('vrrp_script', name);
    const present = CHECK_KIND_KEYS.filter((key) => script[key] !== undefined);
    if (present.length !== 1) {
      const found = present.length === 0 ? 'has none' : `has ${present.join(' and ')}`;
      errors.push({ code: 'missing_check', path: ['vrrp_script', name], target: 'key', message: `needs exactly one of: ${CHECK_KIND_KEYS.join(', ')} (${found})` });
      continue;
    }
    const check = checkSpecOf(script, present[0]!);
    // A built-in runs inside the daemon: there is no process whose user could be changed.
    if (check.kind !== 'script' && script.user !== undefined) {
      errors.push({ code: 'invalid_value', path: ['vrrp_script', name, 'user'], target: 'key', message: `only applies to script checks; the built-in '${check.kind}' check runs inside vrrpd` });
    }
    scripts[name] = {
      name,
      check,
      interval: script.interval,
      timeout: script.timeout ?? script.interval,
      weight: script.weight,
      reverse: script.reverse,
      rise: script.rise,
      fall: script.fall,
      ...(script.user !== undefined ? { user: script.user } : {}),
      init_fail: script.init_fail,
    };
  }

  const trackFiles: Record<string, VrrpTrackFile> = {};
  for (const [name, file] of Object.entries(parsed.vrrp_track_file)) {
    checkName('vrrp_track_file', name);
    trackFiles[name] = { name, file: file.file, weight: file.weight, reverse: file.reverse, ...(file.init_file ? { init_file: { value: file.init_file.value, overwrite: file.init_file.overwrite } } : {}) };
  }

  const instanceEntries = Object.entries(parsed.vrrp_instance);
  if (instanceEntries.length === 0) {
    errors.push({ code: 'missing_key', path: ['vrrp_instance'], message: 'must define at least one instance' });
  }
  if (instanceEntries.length > CONFIG_LIMITS.maxInstances) {
    errors.push({ code: 'too_many', path: ['vrrp_instance'], message: `at most ${CONFIG_LIMITS.maxInstances} instances, got ${instanceEntries.length}` });
  }

  const instances: Record<string, VrrpInstance> = {};
  // "interface/vrid" -> the instance that claimed it first.
  const vridOwners = new Map<string, string>();
  for (const [name, raw] of instanceEntries) {
    checkName('vrrp_instance', name);
    const base: PropertyKey[] = ['vrrp_instance', name];
    const at = (...rest: PropertyKey[]): PropertyKey[] => [...base, ...rest];

    // keepalived: `native_ipv6`, else the first virtual address decides the family.
    const first = raw.virtual_ipaddress[0]?.address.address;
    const family: AddressFamily = raw.native_ipv6 === true ? 6 : first === undefined ? 4 : familyOf(first);
    // IPv4 and IPv6 are separate VRID spaces on a link (RFC 5798 5.2.3).
    const vridKey = `${raw.interface}/${family}/${raw.virtual_router_id}`;
    const owner = vridOwners.get(vridKey);
    if (owner !== undefined) {
      errors.push({
        code: 'duplicate_vrid', path: at('virtual_router_id'),
        message: `virtual_router_id ${raw.virtual_router_id} is already used on ${raw.interface}${family === 6 ? ' over IPv6' : ''} by vrrp_instance ${owner}; each instance on an interface needs its own VRID`,
      });
    } else {
      vridOwners.set(vridKey, name);
    }

    let nopreempt = raw.nopreempt;
    if (nopreempt && raw.state === 'MASTER') {
      warnings.push({ code: 'nopreempt_cleared', path: at('nopreempt'), message: 'nopreempt is ignored with state MASTER (as keepalived does); use state BACKUP on every node for nopreempt' });
      nopreempt = false;
    } else if (nopreempt && raw.priority === 255) {
      warnings.push({ code: 'nopreempt_cleared', path: at('nopreempt'), message: 'nopreempt is ignored at priority 255: the address owner always preempts (as keepalived does)' });
      nopreempt = false;
    }

    if (raw.unicast_src_ip !== undefined && raw.mcast_src_ip !== undefined) {
      errors.push({ code: 'conflicting_source', path: at('mcast_src_ip'), message: 'set either unicast_src_ip or mcast_src_ip, not both (keepalived treats them as one setting)' });
    }

    // keepalived's precedence (vrrp.c vrrp_complete_instance): the instance's `version` wins; an
    // IPv6 instance is VRRPv3 whatever global_defs say. keepalived 2.2.7 takes `version 2` on an
    // IPv6 instance two ways: written after the addresses it is ignored, written before them it is
    // obeyed and keepalived sends a VRRPv2 header over IPv6 with no password, which no RFC defines
    // and no other router reads (docs/protocol.md#vrrpv3-over-ipv6). vrrpd refuses it.
    if (family === 6 && raw.version === 2) {
      errors.push({
        code: 'ipv6_needs_v3', path: at('version'),
        message: 'an IPv6 instance speaks VRRPv3 only (RFC 5798); set version 3 or remove the line (keepalived ignores or misuses it depending on where it is written)',
      });
    }
    const version = family === 6 ? 3 : (raw.version ?? parsed.global_defs.vrrp_version);
    checkFamilies(raw, family, at, errors);
    const advertInt = resolveAdvertInt(raw.advert_int, version, at, warnings);
    if (version === 3 && raw.authentication !== undefined) {
      warnings.push({
        code: 'v3_authentication_ignored', path: at('authentication'), target: 'key',
        message: 'VRRP version 3 does not support authentication. Ignoring. (keepalived says the same; VRRPv3 adverts carry no password, so remove the block)',
      });
    }
    if (raw.old_unicast_checksum !== undefined && raw.old_unicast_checksum !== false) {
      const why = version !== 3 ? 'a VRRPv2 checksum has no pseudo-header' : raw.unicast_peer.length === 0 ? 'a multicast advert\'s pseudo-header holds 224.0.0.18 anyway' : undefined;
      if (why !== undefined) warnings.push({ code: 'no_effect', path: at('old_unicast_checksum'), target: 'key', message: `has no effect here: ${why}` });
    }

    const authentication = resolveAuthentication(raw, at, errors, warnings);
    const unicastPeers = resolvePeers(raw, at, errors, warnings);
    if (raw.unicast_fault_no_peer === true && unicastPeers.length === 0) {
      warnings.push({
        code: 'fault_no_peer', path: at('unicast_fault_no_peer'), target: 'key',
        message: 'this instance has no unicast_peer, so unicast_fault_no_peer keeps it in FAULT (keepalived: "Cannot use unicast without any peers - going to fault state"); list its peers, or remove the keyword to multicast',
      });
    }
    const virtualAddresses = resolveVirtualAddresses(raw, at, errors);
    // Each kept reference remembers its index in the file, so later issues point at the right entry.
    const trackScripts = resolveTrackScripts(raw, at, scripts, parsed.vrrp_script, errors);
    const trackInterfaces = resolveTrackInterfaces(raw, at, errors);
    const trackFileRefs = resolveTrackFiles(raw, at, trackFiles, errors);

    // RFC 3768 5.3.4: 255 is reserved for the address owner, whose priority must not move.
    if (raw.priority === 255) {
      trackScripts.forEach(({ ref, index }) => {
        const weight = ref.weight ?? scripts[ref.name]?.weight ?? 0;
        if (weight !== 0) {
          errors.push({
            code: 'owner_with_weighted_tracker', path: at('track_script', index),
            message: `priority 255 (address owner) cannot have weighted trackers: '${ref.name}' has weight ${weight}; use weight 0 (failure = FAULT) or a priority below 255`,
          });
        }
      });
      trackFileRefs.forEach(({ ref, index }) => {
        const weight = ref.weight ?? trackFiles[ref.name]?.weight ?? 1;
        if (weight !== 0) {
          errors.push({
            code: 'owner_with_weighted_tracker', path: at('track_file', index),
            message: `priority 255 (address owner) cannot have weighted trackers: '${ref.name}' has weight ${weight}; use weight 0 (a non-zero value = FAULT) or a priority below 255`,
          });
        }
      });
      trackInterfaces.forEach(({ ref, index }) => {
        if ((ref.weight ?? 0) !== 0) {
          errors.push({
            code: 'owner_with_weighted_tracker', path: at('track_interface', index),
            message: `priority 255 (address owner) cannot have weighted trackers: '${ref.name}' has weight ${ref.weight}; use weight 0 (failure = FAULT) or a priority below 255`,
          });
        }
      });
    }

    // docs/protocol.md#the-nopreempt-trap: backups with nopreempt accept every advert, so a weight can lower
    // the master's priority as much as it likes and the VIP still never moves.
    if (nopreempt) {
      trackScripts.forEach(({ ref, index }) => {
        const weight = ref.weight ?? scripts[ref.name]?.weight ?? 0;
        if (weight !== 0) {
          warnings.push({
            code: 'nopreempt_with_weight', path: at('track_script', index),
            message: `with nopreempt, '${ref.name}' (weight ${weight}) never moves the VIP: backups accept every advert whatever its priority. Use weight 0 so a failure means FAULT, or drop nopreempt`,
          });
        }
      });
    }

    instances[name] = {
      name,
      state: raw.state,
      interface: raw.interface,
      virtual_router_id: raw.virtual_router_id,
      priority: raw.priority,
      version,
      family,
      advert_int: advertInt,
      nopreempt,
      preempt_delay: raw.preempt_delay,
      ...(authentication ? { authentication } : {}),
      ...(raw.old_unicast_checksum === true || raw.old_unicast_checksum === 'never' ? { old_unicast_checksum: raw.old_unicast_checksum } : {}),
      ...(raw.unicast_src_ip !== undefined ? { unicast_src_ip: raw.unicast_src_ip } : {}),
      unicast_peer: unicastPeers,
      ...(raw.mcast_src_ip !== undefined ? { mcast_src_ip: raw.mcast_src_ip } : {}),
      virtual_ipaddress: virtualAddresses,
      track_script: trackScripts.map(({ ref }) => ref),
      track_interface: trackInterfaces.map(({ ref }) => ref),
      track_file: trackFileRefs.map(({ ref }) => ref),
      dont_track_primary: raw.dont_track_primary,
      garp_master_delay: raw.garp_master_delay ?? parsed.global_defs.vrrp_garp_master_delay,
      garp_master_repeat: raw.garp_master_repeat ?? parsed.global_defs.vrrp_garp_master_repeat,
      garp_master_refresh: raw.garp_master_refresh ?? parsed.global_defs.vrrp_garp_master_refresh,
      check_unicast_src: raw.check_unicast_src ?? parsed.global_defs.vrrp_check_unicast_src,
      skip_check_adv_addr: raw.skip_check_adv_addr ?? parsed.global_defs.vrrp_skip_check_adv_addr,
      ...(raw.unicast_fault_no_peer === true ? { unicast_fault_no_peer: true } : {}),
      ...optionalStrings(raw, ['notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify'] as const),
    };
  }

  const syncGroups: Record<string, VrrpSyncGroup> = {};
  for (const name of Object.keys(parsed.vrrp_sync_group)) checkName('vrrp_sync_group', name);
  Object.assign(syncGroups, resolveSyncGroups(parsed, instances, scripts, trackFiles, errors, warnings));

  const exposure = metricsExposure(parsed.vrrpd.metrics_listen);
  if (exposure) warnings.push({ code: 'exposed_endpoint', path: ['vrrpd', 'metrics_listen'], message: exposure });

  const config: VrrpdConfig = {
    vrrpd: { ...parsed.vrrpd },
    global_defs: { ...parsed.global_defs },
    vrrp_script: scripts,
    vrrp_track_file: trackFiles,
    vrrp_instance: instances,
    vrrp_sync_group: syncGroups,
  };
  return { config, errors, warnings };
}

/**
 * Why a metrics_listen address is reachable from other hosts, or undefined for a loopback one. The
 * endpoint has no authentication and tells anyone who connects every instance's state, priorities
 * and peers; it is meant for a scraper on the node (or behind a proxy that authenticates).
 */
export function metricsExposure(listen: string | undefined): string | undefined {
  if (listen === undefined) return undefined;
  const match = /^(.*):(\d+)$/.exec(listen.trim());
  if (!match) return undefined;
  const host = match[1]!.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = match[2]!;
  const advice = `the metrics endpoint has no authentication. Listen on 127.0.0.1:${port} and scrape it on the node (or through a proxy that authenticates), or restrict access with a firewall`;
  if (host === '' || host === '*' || host === '::' || /^(0+:){7}0+$/.test(host) || parseIpv4(host) === 0) {
    return `listens on every address of this node (${host === '' ? 'no host given' : host}), so every host that can reach it reads the daemon's state: ${advice}`;
  }
  if (isLoopbackHost(host)) return undefined;
  return `${host} is not a loopback address, so every host that can reach it reads the daemon's state: ${advice}`;
}

function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === 'localhost.') return true;
  const v4 = parseIpv4(host.replace(/^::ffff:/, ''));
  if (v4 !== undefined) return v4 >>> 24 === 127;
  return host === '::1' || /^(0+:){7}0*1$/.test(host);
}

function checkSpecOf(script: ParsedScript, kind: CheckKind): CheckSpec {
  switch (kind) {
    case 'script':
      return { kind: 'script', script: script.script! };
    case 'http': {
      const http = script.http!;
      return {
        kind: 'http',
        url: http.url,
        ...optionalStrings(http, ['ca_file', 'cert_file', 'key_file', 'server_name'] as const),
        insecure: http.insecure,
        expected_status: [...http.expected_status],
      };
    }
    case 'tcp':
      return { kind: 'tcp', host: script.tcp!.host, port: script.tcp!.port };
    case 'process':
      return { kind: 'process', name: script.process!.name };
  }
}

type At = (...rest: PropertyKey[]) => PropertyKey[];

const US_PER_S = 1_000_000;
const US_PER_CS = 10_000;
/** VRRPv3's 12-bit interval: at most 4095 cs. */
const V3_MAX_US = 4095 * US_PER_CS;

/**
 * advert_int as keepalived 2.2.7 rounds it once the version is known (vrrp.c
 * vrrp_complete_instance), with its warnings: VRRPv2 wants whole seconds (a fraction is rounded half
 * up, 0 becomes 1); VRRPv3 wants centiseconds up to 40.95 s (above is set to 40.95, a finer value is
 * rounded half up). keepalived reads the value into integer microseconds first, and so does this.
 */
function resolveAdvertInt(seconds: number, version: 2 | 3, at: At, warnings: PendingIssue[]): number {
  const us = Math.round(seconds * US_PER_S);
  const shown = (value: number): string => (value / US_PER_S).toFixed(6);
  if (version === 2) {
    if (us % US_PER_S === 0) return us / US_PER_S;
    const rounded = Math.max(1, Math.floor((us + US_PER_S / 2) / US_PER_S));
    warnings.push({
      code: 'advert_int_rounded', path: at('advert_int'),
      message: `VRRPv2 advertisement interval ${shown(us)}s must be an integer. rounding (as keepalived does): ${rounded} s is used. Sub-second intervals need VRRPv3 (version 3 on every node)`,
    });
    return rounded;
  }
  if (us > V3_MAX_US) {
    warnings.push({
      code: 'advert_int_rounded', path: at('advert_int'),
      message: `VRRPv3 advertisement interval ${(us / US_PER_S).toFixed(2)}s is out of range. Must be less than 40.96s. Setting to 40.95s (as keepalived does)`,
    });
    return V3_MAX_US / US_PER_S;
  }
  if (us % US_PER_CS === 0) return us / US_PER_S;
  const roundedCs = Math.max(1, Math.floor((us + US_PER_CS / 2) / US_PER_CS));
  warnings.push({
    code: 'advert_int_rounded', path: at('advert_int'),
    message: `VRRPv3 advertisement interval ${shown(us)}s must be in units of 10ms - rounding (as keepalived does): ${(roundedCs / 100).toFixed(2)} s is used`,
  });
  return roundedCs / 100;
}

/** A kept track_* entry and its index in the file's list. */
interface IndexedRef {
  ref: TrackRef;
  index: number;
}

function resolveAuthentication(raw: ParsedInstance, at: At, errors: PendingIssue[], warnings: PendingIssue[]): VrrpInstance['authentication'] {
  const auth = raw.authentication;
  if (!auth) return undefined;
  if (auth.auth_pass === undefined) {
    errors.push({ code: 'missing_auth_pass', path: at('authentication', 'auth_pass'), message: 'is required with auth_type PASS' });
    return undefined;
  }
  if (auth.auth_pass.length === 0) {
    errors.push({ code: 'invalid_value', path: at('authentication', 'auth_pass'), message: 'must not be empty' });
    return undefined;
  }
  if (passwordToAuthData(auth.auth_pass).truncated) {
    warnings.push({
      code: 'auth_pass_truncated', path: at('authentication', 'auth_pass'),
      message: 'is longer than 8 bytes; only the first 8 are sent and compared (as keepalived does)',
    });
  }
  return { auth_type: 'PASS', auth_pass: auth.auth_pass };
}

/**
 * Every address of an instance is of its family. keepalived 2.2.7 drops a virtual address of the
 * other family with "address family must match VRRP instance - ignoring" and a peer with "MUST be of
 * the same family !!! Skipping...", and runs on; vrrpd refuses, because an address left out
 * silently is a VIP nobody holds. Dual stack is two instances, kept together by a sync group.
 */
function checkFamilies(raw: ParsedInstance, family: AddressFamily, at: At, errors: PendingIssue[]): void {
  const name = (f: AddressFamily): string => (f === 6 ? 'IPv6' : 'IPv4');
  const decided = raw.native_ipv6 === true ? 'native_ipv6 makes it IPv6' : `the first virtual address decides, as in keepalived`;
  raw.virtual_ipaddress.forEach((vip, index) => {
    const f = familyOf(vip.address.address);
    if (f !== family) {
      errors.push({
        code: 'address_family_mismatch', path: at('virtual_ipaddress', index),
        message: `${formatIp(vip.address.address)} is an ${name(f)} address in an ${name(family)} instance (${decided}); keepalived would silently leave it out. Put the ${name(f)} addresses into an instance of their own (another VRID is not needed) and keep both together with a vrrp_sync_group`,
      });
      return;
    }
    if (f === 6 && vip.brd !== undefined) {
      errors.push({ code: 'invalid_value', path: at('virtual_ipaddress', index), message: 'brd applies to IPv4 addresses only; remove it from this IPv6 address' });
    }
    if (f === 6 && vip.label !== undefined) {
      errors.push({ code: 'bad_label', path: at('virtual_ipaddress', index), message: 'the kernel keeps labels for IPv4 addresses only; remove it from this IPv6 address' });
    }
  });
  for (const key of ['unicast_src_ip', 'mcast_src_ip'] as const) {
    const address = raw[key];
    if (address !== undefined && familyOf(address) !== family) {
      errors.push({ code: 'address_family_mismatch', path: at(key), message: `${formatIp(address)} is an ${name(familyOf(address))} address; this instance is ${name(family)} (${decided})` });
    }
  }
  raw.unicast_peer.forEach((peer, index) => {
    if (familyOf(peer) !== family) {
      errors.push({
        code: 'address_family_mismatch', path: at('unicast_peer', index),
        message: `${formatIp(peer)} is an ${name(familyOf(peer))} address; this instance is ${name(family)} (${decided}), and keepalived skips such a peer`,
      });
    }
  });
}

function resolvePeers(raw: ParsedInstance, at: At, errors: PendingIssue[], warnings: PendingIssue[]): IpAddress[] {
  const peers: IpAddress[] = [];
  const self = raw.unicast_src_ip ?? raw.mcast_src_ip;
  raw.unicast_peer.forEach((peer, index) => {
    if (peer === self) {
      // Handy for one shared peer list on every node; sending to ourselves would only make noise.
      warnings.push({ code: 'peer_is_self', path: at('unicast_peer', index), message: `${formatIp(peer)} is this node's own unicast_src_ip; it is left out of the peer list` });
      return;
    }
    if (peers.includes(peer)) {
      errors.push({ code: 'duplicate_address', path: at('unicast_peer', index), message: `${formatIp(peer)} is listed twice` });
      return;
    }
    peers.push(peer);
  });
  return peers;
}

function resolveVirtualAddresses(raw: ParsedInstance, at: At, errors: PendingIssue[]): VirtualAddress[] {
  const result: VirtualAddress[] = [];
  raw.virtual_ipaddress.forEach((vip, index) => {
    const address = vip.address.address;
    if (result.some((seen) => seen.address === address)) {
      errors.push({ code: 'duplicate_address', path: at('virtual_ipaddress', index), message: `${formatIp(address)} is listed twice` });
      return;
    }
    const dev = vip.dev ?? raw.interface;
    // iproute2 and the kernel refuse a label that does not start with the device name.
    if (vip.label !== undefined && vip.label !== dev && !vip.label.startsWith(`${dev}:`)) {
      errors.push({ code: 'bad_label', path: at('virtual_ipaddress', index), message: `label '${vip.label}' must be '${dev}' or start with '${dev}:' (the kernel requires the device name)` });
    }
    result.push({
      address,
      prefix_len: vip.address.prefix_len,
      dev,
      ...(vip.label !== undefined ? { label: vip.label } : {}),
      ...(vip.brd !== undefined ? { brd: vip.brd } : {}),
    });
  });
  return result;
}

function resolveTrackScripts(
  raw: Pick<ParsedInstance, 'track_script'>,
  at: At,
  scripts: Record<string, VrrpScript>,
  declared: Record<string, unknown>,
  errors: PendingIssue[],
): IndexedRef[] {
  const refs: IndexedRef[] = [];
  raw.track_script.forEach((ref, index) => {
    if (!Object.hasOwn(declared, ref.name)) {
      const suggestion = closestMatch(ref.name, Object.keys(declared));
      const known = Object.keys(declared);
      const hint = suggestion ? ` (did you mean '${suggestion}'?)` : known.length > 0 ? ` (defined: ${known.join(', ')})` : ' (no vrrp_script is defined)';
      errors.push({ code: 'unknown_track_script', path: at('track_script', index), message: `unknown vrrp_script '${ref.name}'${hint}` });
      return;
    }
    if (!Object.hasOwn(scripts, ref.name)) return; // declared but broken: already reported
    if (refs.some((seen) => seen.ref.name === ref.name)) {
      errors.push({ code: 'duplicate_tracker', path: at('track_script', index), message: `vrrp_script '${ref.name}' is tracked twice` });
      return;
    }
    refs.push({ ref: trackRefOf(ref), index });
  });
  return refs;
}

function resolveTrackFiles(raw: Pick<ParsedInstance, 'track_file'>, at: At, files: Record<string, VrrpTrackFile>, errors: PendingIssue[]): IndexedRef[] {
  const refs: IndexedRef[] = [];
  raw.track_file.forEach((ref, index) => {
    if (!Object.hasOwn(files, ref.name)) {
      const known = Object.keys(files);
      const suggestion = closestMatch(ref.name, known);
      const hint = suggestion ? ` (did you mean '${suggestion}'?)` : known.length > 0 ? ` (defined: ${known.join(', ')})` : ' (no vrrp_track_file is defined)';
      errors.push({ code: 'unknown_track_file', path: at('track_file', index), message: `unknown vrrp_track_file '${ref.name}'${hint}` });
      return;
    }
    if (refs.some((seen) => seen.ref.name === ref.name)) {
      errors.push({ code: 'duplicate_tracker', path: at('track_file', index), message: `vrrp_track_file '${ref.name}' is tracked twice` });
      return;
    }
    refs.push({ ref: trackRefOf(ref), index });
  });
  return refs;
}

function resolveTrackInterfaces(raw: Pick<ParsedInstance, 'track_interface'>, at: At, errors: PendingIssue[]): IndexedRef[] {
  const refs: IndexedRef[] = [];
  raw.track_interface.forEach((ref, index) => {
    if (!/^[^\s/:]{1,15}$/.test(ref.name)) {
      errors.push({ code: 'invalid_name', path: at('track_interface', index), message: `must be an interface name (1..15 characters, no spaces, '/' or ':'), got '${ref.name}'` });
      return;
    }
    if (refs.some((seen) => seen.ref.name === ref.name)) {
      errors.push({ code: 'duplicate_tracker', path: at('track_interface', index), message: `interface '${ref.name}' is tracked twice` });
      return;
    }
    refs.push({ ref: trackRefOf(ref), index });
  });
  return refs;
}

function trackRefOf(ref: { name: string; weight?: number | undefined; reverse?: boolean | undefined }): TrackRef {
  return {
    name: ref.name,
    ...(ref.weight !== undefined ? { weight: ref.weight } : {}),
    ...(ref.reverse !== undefined ? { reverse: ref.reverse } : {}),
  };
}

function optionalStrings<K extends string>(source: Partial<Record<K, string | undefined>>, keys: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = source[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * vrrp_sync_group blocks (docs/protocol.md#sync-groups): members must be instances, each in one group
 * only; then keepalived's rules on tracking are applied to the members, which the engine then runs
 * as plain instances: without sync_group_tracking_weight their weighted trackers lose their weight
 * (or are dropped), and the group's own trackers are added to every member.
 */
function resolveSyncGroups(
  parsed: ParsedConfig,
  instances: Record<string, VrrpInstance>,
  scripts: Record<string, VrrpScript>,
  trackFiles: Record<string, VrrpTrackFile>,
  errors: PendingIssue[],
  warnings: PendingIssue[],
): Record<string, VrrpSyncGroup> {
  const groups: Record<string, VrrpSyncGroup> = {};
  const groupOf = new Map<string, string>();
  const declared = Object.keys(parsed.vrrp_instance);
  for (const [name, raw] of Object.entries(parsed.vrrp_sync_group) as [string, ParsedSyncGroup][]) {
    const at: At = (...rest) => ['vrrp_sync_group', name, ...rest];
    const members: string[] = [];
    raw.group.forEach((member, index) => {
      if (!Object.hasOwn(parsed.vrrp_instance, member)) {
        const suggestion = closestMatch(member, declared);
        const hint = suggestion ? ` (did you mean '${suggestion}'?)` : declared.length > 0 ? ` (instances: ${declared.join(', ')})` : '';
        errors.push({ code: 'unknown_sync_member', path: at('group', index), message: `no vrrp_instance named '${member}'${hint}; keepalived would ignore it and move the group without it` });
        return;
      }
      const other = groupOf.get(member);
      if (other !== undefined) {
        errors.push({
          code: 'duplicate_sync_member', path: at('group', index),
          message: other === name ? `'${member}' is listed twice in this group` : `vrrp_instance ${member} is already in sync group ${other}; an instance can be in one sync group only (keepalived keeps the first)`,
        });
        return;
      }
      groupOf.set(member, name);
      members.push(member);
    });
    if (raw.group.length === 0) {
      errors.push({ code: 'missing_key', path: at('group'), target: 'key', message: 'must list at least one vrrp_instance (keepalived removes a sync group without members)' });
    } else if (raw.group.length === 1 && members.length === 1) {
      warnings.push({ code: 'sync_group_adjusted', path: at('group'), target: 'key', message: `has only 1 virtual router (${members[0]}) - this probably isn't what you want (as keepalived says): a sync group moves two or more instances together` });
    }
    const trackScripts = resolveTrackScripts(raw, at, scripts, parsed.vrrp_script, errors);
    const trackInterfaces = resolveTrackInterfaces(raw, at, errors);
    const trackFileRefs = resolveTrackFiles(raw, at, trackFiles, errors);
    // keepalived: no weights on a group's trackers when a member is the address owner.
    if (members.some((member) => parsed.vrrp_instance[member]?.priority === 255)) {
      const unweight = (refs: IndexedRef[], list: string, effective: (ref: TrackRef) => number): void => {
        for (const entry of refs) {
          const weight = effective(entry.ref);
          if (weight === 0) continue;
          warnings.push({ code: 'sync_group_adjusted', path: at(list, entry.index), message: `weight ${weight} of '${entry.ref.name}' is set to 0: a member has priority 255 (address owner), as keepalived does` });
          entry.ref = { ...entry.ref, weight: 0 };
        }
      };
      unweight(trackScripts, 'track_script', (ref) => ref.weight ?? scripts[ref.name]?.weight ?? 0);
      unweight(trackInterfaces, 'track_interface', (ref) => ref.weight ?? 0);
      unweight(trackFileRefs, 'track_file', (ref) => ref.weight ?? trackFiles[ref.name]?.weight ?? 1);
    }
    groups[name] = {
      name,
      group: members,
      track_script: trackScripts.map(({ ref }) => ref),
      track_interface: trackInterfaces.map(({ ref }) => ref),
      track_file: trackFileRefs.map(({ ref }) => ref),
      sync_group_tracking_weight: raw.sync_group_tracking_weight,
      ...optionalStrings(raw, ['notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify'] as const),
    };
    for (const member of members) {
      const instance = instances[member];
      if (instance === undefined) continue; // reported with the instance
      const rawInstance = parsed.vrrp_instance[member]!;
      const memberAt = (list: 'track_script' | 'track_interface' | 'track_file', ref: TrackRef): PropertyKey[] =>
        ['vrrp_instance', member, list, Math.max(0, rawInstance[list].findIndex((r) => r.name === ref.name))];
      if (!raw.sync_group_tracking_weight) {
        const why = `in sync group ${name} without sync_group_tracking_weight, as keepalived does: a member's priority must not move, only FAULT moves the group`;
        instance.track_script = instance.track_script.filter((ref) => {
          const weight = ref.weight ?? scripts[ref.name]?.weight ?? 0;
          if (weight === 0) return true;
          warnings.push({ code: 'sync_group_adjusted', path: memberAt('track_script', ref), message: `tracked script '${ref.name}' with weight ${weight} is ignored ${why}` });
          return false;
        });
        instance.track_interface = instance.track_interface.map((ref) => {
          if ((ref.weight ?? 0) === 0) return ref;
          warnings.push({ code: 'sync_group_adjusted', path: memberAt('track_interface', ref), message: `tracked interface '${ref.name}' loses its weight ${ref.weight} (its failure is FAULT) ${why}` });
          return { ...ref, weight: 0 };
        });
        instance.track_file = instance.track_file.flatMap((ref) => {
          const weight = ref.weight ?? trackFiles[ref.name]?.weight ?? 1;
          if (weight === 0) return [ref];
          if (weight === 1) {
            warnings.push({ code: 'sync_group_adjusted', path: memberAt('track_file', ref), message: `tracked file '${ref.name}' is read with weight 0 (a non-zero value is FAULT) ${why}; write weight 0 to say so` });
            return [{ ...ref, weight: 0 }];
          }
          warnings.push({ code: 'sync_group_adjusted', path: memberAt('track_file', ref), message: `tracked file '${ref.name}' with weight ${weight} is ignored ${why}` });
          return [];
        });
      }
      const merge = (list: TrackRef[], refs: IndexedRef[], key: 'track_script' | 'track_interface' | 'track_file'): TrackRef[] => {
        const out = [...list];
        for (const { ref, index } of refs) {
          const mine = out.findIndex((r) => r.name === ref.name);
          if (mine >= 0) {
            warnings.push({ code: 'sync_group_adjusted', path: at(key, index), message: `'${ref.name}' is tracked by vrrp_instance ${member} and by the sync group; the group's entry applies (keepalived: remove the instance's)` });
            out[mine] = ref;
          } else {
            out.push(ref);
          }
        }
        return out;
      };
      instance.track_script = merge(instance.track_script, trackScripts, 'track_script');
      instance.track_interface = merge(instance.track_interface, trackInterfaces, 'track_interface');
      instance.track_file = merge(instance.track_file, trackFileRefs, 'track_file');
    }
  }
  return groups;
}
