/**
 * The vrrpd configuration model: what a YAML file may say, checked by zod, and the resolved shape the
 * daemon consumes.
 *
 * Field names are keepalived's keywords (`virtual_router_id`, `unicast_peer`, `advert_int`, ...) so a
 * keepalived user recognises every one of them; the YAML nesting follows keepalived's blocks
 * (`global_defs`, `vrrp_script NAME`, `vrrp_instance NAME`). Defaults are keepalived's, except
 * `vrrp_check_unicast_src`, which is on: accepting unicast adverts from sources that are not peers
 * only lets a stray sender win the election (docs/protocol.md#receive-checks).
 *
 * Two stages live here:
 * - `ConfigSchema`: structure, types and single-field ranges. Every object is strict, so a misspelt
 *   key is an error, not a silently ignored setting.
 * - The resolved `VrrpdConfig` interfaces: defaults filled in (instance GARP settings from
 *   global_defs, script timeout from interval, VIP dev from the instance interface). Cross-field
 *   rules (duplicate VRIDs, unknown tracked scripts, ...) are applied by load.ts between the two.
 */
import { z } from 'zod';
import { isIpv6Multicast, parseIpv4, parseIpv6, type AddressFamily, type IpAddress, type Ipv4 } from '../core/ip.js';
import { MAX_VIRTUAL_ADDRESSES } from '../core/types.js';

/** Everything has a limit; these are the configuration's. */
export const CONFIG_LIMITS = {
  /** keepalived's practical limit too: one VRID space per interface. */
  maxInstances: 255,
  /** Addresses per advert (core/types.ts MAX_VIRTUAL_ADDRESSES). */
  maxVirtualAddresses: MAX_VIRTUAL_ADDRESSES,
  maxUnicastPeers: 64,
  maxScripts: 255,
  maxTrackersPerInstance: 64,
  /** Bigger files are refused before parsing. */
  maxFileBytes: 1024 * 1024,
  /** Linux IFNAMSIZ - 1. */
  maxInterfaceNameLength: 15,
  maxNameLength: 64,
  maxCommandLength: 4096,
  /**
   * Collections inside collections (YAML) and blocks inside blocks (keepalived.conf): a vrrpd YAML
   * file needs 4, a keepalived.conf 3. Deeper input is refused before anything recursive sees it.
   */
  maxNestingDepth: 16,
} as const;

/** keepalived's defaults (vrrp_data.c / global_data.c), used where the file is silent. */
export const CONFIG_DEFAULTS = {
  state: 'BACKUP',
  priority: 100,
  /** keepalived's default vrrp_version (global_data.c). */
  version: 2,
  advertIntervalSec: 1,
  garpMasterDelaySec: 5,
  garpMasterRepeat: 5,
  garpMasterRefreshSec: 0,
  scriptIntervalSec: 1,
  scriptRise: 1,
  scriptFall: 1,
} as const;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// ---------------------------------------------------------------------------------------------
// Resolved model: what loadConfigFile/parseConfigText hand to the daemon.
// ---------------------------------------------------------------------------------------------

/** Optional `vrrpd:` section: daemon settings that keepalived keeps on its command line. */
export interface DaemonSection {
  /** Control socket path; the daemon's default when absent. */
  socket?: string;
  log_level?: LogLevel;
  /** `HOST:PORT` of the Prometheus endpoint; absent = no endpoint. */
  metrics_listen?: string;
  /**
   * What vrrpd's capabilities do for the scripts it runs: `none` (default) starts check and notify
   * scripts with no capability; `inherit` lets them inherit its ambient ones (CAP_NET_ADMIN and
   * CAP_NET_RAW under the shipped unit), as before vrrpd cleared them.
   */
  script_capabilities?: ScriptCapabilities;
  /**
   * The authenticated UDP copy of every unicast advert, for networks that drop IP protocol 112
   * (docs/protocol.md#udp-mirror); absent = off.
   */
  udp_mirror?: UdpMirrorSection;
}

export interface UdpMirrorSection {
  /** The UDP port every node listens on and sends to (the same on all nodes). */
  port: number;
  /** 32+ random bytes, the same file on every node, mode 0600 (checked by check-config and run). */
  key_file: string;
}

export const SCRIPT_CAPABILITIES = ['none', 'inherit'] as const;
export type ScriptCapabilities = (typeof SCRIPT_CAPABILITIES)[number];

/** VRRPv2 (RFC 3768) or VRRPv3 (RFC 5798, over IPv4 or IPv6). */
export type VrrpVersionSetting = 2 | 3;

export interface GlobalDefs {
  router_id?: string;
  /** keepalived's `vrrp_version`: the version of every instance without its own `version`. Default 2. */
  vrrp_version: VrrpVersionSetting;
  /** `user [group]` that scripts run as when a script gives no `user`. */
  script_user?: string;
  enable_script_security: boolean;
  /** Seconds; default for every instance's garp_master_delay. 0 = no delayed second burst. */
  vrrp_garp_master_delay: number;
  vrrp_garp_master_repeat: number;
  /** Seconds; 0 = off. */
  vrrp_garp_master_refresh: number;
  vrrp_skip_check_adv_addr: boolean;
  /** Seconds (fractions allowed) to wait after start before any instance runs. */
  vrrp_startup_delay: number;
  vrrp_check_unicast_src: boolean;
  /**
   * keepalived's notify FIFOs: `PATH [USER [GROUP]]`. Each transition is written to them as a line
   * (`INSTANCE "VI_1" MASTER 100`); notify_fifo also gets keepalived's checker lines, which vrrpd
   * has none of, so both carry the same lines here (docs/protocol.md#notify-fifo).
   */
  notify_fifo?: string;
  vrrp_notify_fifo?: string;
  /** A reader keepalived starts once, with the FIFO's path as its last argument. */
  notify_fifo_script?: string;
  vrrp_notify_fifo_script?: string;
}

/**
 * What a vrrp_script checks: an exec'd command (keepalived's `script`) or one of vrrpd's built-in
 * checks, which run inside the daemon (no fork, so intervals of 100 ms cost next to nothing).
 * Every kind shares interval, timeout, weight, reverse, rise, fall and init_fail; the daemon
 * switches on `kind`.
 */
export type CheckSpec = ScriptCheckSpec | HttpCheckSpec | TcpCheckSpec | ProcessCheckSpec;

export interface ScriptCheckSpec {
  kind: 'script';
  script: string;
}

/** GET a URL; success = one of expected_status within the timeout. */
export interface HttpCheckSpec {
  kind: 'http';
  /** http: or https: URL, e.g. https://127.0.0.1:6443/readyz. */
  url: string;
  /** PEM CA bundle that must have signed the server's certificate (https only). */
  ca_file?: string;
  /** PEM client certificate and key, both or neither (https only). */
  cert_file?: string;
  key_file?: string;
  /**
   * The name the server certificate must carry (and the TLS SNI), when it differs from the URL's
   * host: kube-apiserver's certificate names `kubernetes`, not necessarily 127.0.0.1.
   */
  server_name?: string;
  /** Accept any server certificate (https only; never together with ca_file). */
  insecure: boolean;
  expected_status: number[];
}

/** A TCP connect to host:port succeeds within the timeout. */
export interface TcpCheckSpec {
  kind: 'tcp';
  /** An IP address literal (no name lookups at 100 ms intervals). */
  host: string;
  port: number;
}

/** A process with this name exists (found in /proc; works without root, unlike `killall -0`). */
export interface ProcessCheckSpec {
  kind: 'process';
  name: string;
}

export interface VrrpScript {
  name: string;
  check: CheckSpec;
  /** Seconds between runs. */
  interval: number;
  /** Seconds; defaults to interval (keepalived). */
  timeout: number;
  /** -253..253; 0 = failure puts the tracking instances in FAULT. */
  weight: number;
  /** keepalived `weight W reverse`. */
  reverse: boolean;
  rise: number;
  fall: number;
  /** `user [group]`; global_defs.script_user when absent. */
  user?: string;
  init_fail: boolean;
}

export interface VirtualAddress {
  /** A number (IPv4) or a bigint (IPv6); every VIP of an instance has the instance's family. */
  address: IpAddress;
  /** Handed to the kernel only; adverts carry the address. 32 (IPv4) or 128 (IPv6) when not given. */
  prefix_len: number;
  /** The instance's interface unless `dev X` was given. */
  dev: string;
  label?: string;
  brd?: Ipv4;
}

/** One entry of track_script / track_interface; weight/reverse absent = take the script's (or 0). */
export interface TrackRef {
  name: string;
  weight?: number;
  reverse?: boolean;
}

/**
 * keepalived's `vrrp_track_file NAME` (`track_file NAME` at the top level): a file holding an
 * integer; docs/protocol.md#track-files.
 */
export interface VrrpTrackFile {
  name: string;
  /** Absolute path. */
  file: string;
  /** -254..254; keepalived's default 1. 0: a non-zero value (a zero one with reverse) is FAULT. */
  weight: number;
  reverse: boolean;
  /** `init_file [VALUE] [overwrite]`: create the file holding VALUE (default 0) if missing, or always with overwrite. */
  init_file?: { value: number; overwrite: boolean };
}

export interface Authentication {
  auth_type: 'PASS';
  /** As written; adverts carry the first 8 bytes (load.ts warns when it is longer). */
  auth_pass: string;
}

export interface VrrpInstance {
  name: string;
  state: 'MASTER' | 'BACKUP';
  interface: string;
  virtual_router_id: number;
  priority: number;
  /**
   * The instance's `version`, else global_defs' `vrrp_version`, else 2 (keepalived's precedence);
   * an IPv6 instance is always 3.
   */
  version: VrrpVersionSetting;
  /**
   * 4 or 6: `native_ipv6`, else the family of the first virtual address, as keepalived decides it
   * (resolve.ts refuses addresses of the other family). The loader always sets it; absent = 4.
   */
  family?: AddressFamily;
  /**
   * Seconds, after keepalived's rounding (resolve.ts): whole seconds 1..255 in VRRPv2, a multiple of
   * 0.01 in 0.01..40.95 in VRRPv3.
   */
  advert_int: number;
  nopreempt: boolean;
  /** Seconds (fractions allowed). */
  preempt_delay: number;
  /** Absent = no authentication. VRRPv3 has none: kept as written, ignored (resolve.ts warns). */
  authentication?: Authentication;
  /**
   * keepalived's `old_unicast_checksum` (VRRPv3 unicast): `true` puts 224.0.0.18 in the checksum's
   * pseudo-header instead of the peer, as keepalived <= 1.3.6 did; `never` turns off the automatic
   * switch to that variant. Absent: the real destination, switching when a peer is heard using the
   * old variant (docs/protocol.md#vrrpv3-checksum).
   */
  old_unicast_checksum?: true | 'never';
  unicast_src_ip?: IpAddress;
  /** Empty = multicast to 224.0.0.18 (IPv6: ff02::12). */
  unicast_peer: IpAddress[];
  mcast_src_ip?: IpAddress;
  virtual_ipaddress: VirtualAddress[];
  track_script: TrackRef[];
  track_interface: TrackRef[];
  /** vrrp_track_file names; weight/reverse absent = the file's. */
  track_file: TrackRef[];
  dont_track_primary: boolean;
  /** Seconds; 0 = no delayed second burst. */
  garp_master_delay: number;
  garp_master_repeat: number;
  /** Seconds; 0 = off. */
  garp_master_refresh: number;
  check_unicast_src: boolean;
  skip_check_adv_addr: boolean;
  /** With no unicast_peer, FAULT instead of falling back to multicast (keepalived 2.2.5+). */
  unicast_fault_no_peer?: boolean;
  notify_master?: string;
  notify_backup?: string;
  notify_fault?: string;
  notify_stop?: string;
  notify?: string;
}

/**
 * keepalived's `vrrp_sync_group NAME`: instances that change state together
 * (docs/protocol.md#sync-groups). Its trackers are already copied into each member by resolve.ts;
 * they are kept here as written for status and import.
 */
export interface VrrpSyncGroup {
  name: string;
  /** Member vrrp_instance names, in file order. */
  group: string[];
  track_script: TrackRef[];
  track_interface: TrackRef[];
  track_file: TrackRef[];
  /** keepalived's sync_group_tracking_weight (global_tracking): members keep their weighted trackers. */
  sync_group_tracking_weight: boolean;
  notify_master?: string;
  notify_backup?: string;
  notify_fault?: string;
  notify_stop?: string;
  /** Run with `GROUP NAME STATE 0` appended, as keepalived does. */
  notify?: string;
}

export interface VrrpdConfig {
  vrrpd: DaemonSection;
  global_defs: GlobalDefs;
  /** In file order. */
  vrrp_script: Record<string, VrrpScript>;
  /** In file order. */
  vrrp_track_file: Record<string, VrrpTrackFile>;
  /** In file order. */
  vrrp_instance: Record<string, VrrpInstance>;
  /** In file order; absent or empty = no sync groups. */
  vrrp_sync_group?: Record<string, VrrpSyncGroup>;
}

// ---------------------------------------------------------------------------------------------
// Schema. Messages are written for a person fixing the file: say the rule and what was found.
// ---------------------------------------------------------------------------------------------

/** Render an offending value inside a message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

type ErrorFn = (issue: { input?: unknown }) => string;

/** An error function for a field: "is required" when absent, else `what` with the value found. */
function expect(what: string): ErrorFn {
  return (issue) => (issue.input === undefined ? 'is required' : `must be ${what}, got ${describeValue(issue.input)}`);
}

/** A whole number in [min, max]; one message for every way of missing it. */
function wholeNumber(min: number, max: number, unit = '') {
  const error = expect(`a whole number ${min}..${max}${unit}`);
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A number (fractions allowed) in [min, max]. */
function decimal(min: number, max: number, unit: string) {
  const error = expect(`a number ${min}..${max}${unit}`);
  return z.number({ error }).min(min, { error }).max(max, { error });
}

const flag = () => z.boolean({ error: expect('true or false') });

function text(maxLength: number, what = 'a non-empty string') {
  const error = expect(what);
  return z.string({ error }).trim().min(1, { error }).max(maxLength, { error: expect(`at most ${maxLength} characters`) });
}

const interfaceName = () =>
  z
    .string({ error: expect('an interface name') })
    .regex(/^[^\s/:]{1,15}$/, { error: expect(`an interface name (1..${CONFIG_LIMITS.maxInterfaceNameLength} characters, no spaces, '/' or ':')`) });

/** Dotted-quad text to a host-order number; `unicastOnly` refuses addresses no host can own. */
function ipv4(what: string, unicastOnly: boolean) {
  return z.string({ error: expect(`${what} such as 10.0.0.51`) }).transform((textValue, ctx) => {
    const address = parseIpv4(textValue.trim());
    if (address === undefined) {
      ctx.addIssue({ code: 'custom', params: { code: 'invalid_address' }, message: `must be ${what} such as 10.0.0.51, got ${describeValue(textValue)}`, input: textValue });
      return z.NEVER;
    }
    if (unicastOnly && (address === 0 || address >>> 28 >= 0xe)) {
      ctx.addIssue({ code: 'custom', params: { code: 'invalid_address' }, message: `must be a unicast address, got ${describeValue(textValue)}`, input: textValue });
      return z.NEVER;
    }
    return address;
  });
}

/**
 * keepalived's `ADDR[/LEN] [dev X] [label X] [brd B]` as a string becomes the object form, so both
 * forms are checked by one object schema.
 */
const VIP_OPTIONS = ['dev', 'label', 'brd'] as const;

function vipStringToObject(value: unknown, ctx: { addIssue: (issue: any) => void }): unknown {
  if (typeof value !== 'string') return value;
  const words = value.trim().split(/\s+/).filter((w) => w.length > 0);
  const [address, ...rest] = words;
  const result: Record<string, string> = { address: address ?? '' };
  for (let i = 0; i < rest.length; i += 2) {
    const option = rest[i]!;
    const optionValue = rest[i + 1];
    if (!(VIP_OPTIONS as readonly string[]).includes(option)) {
      ctx.addIssue({ code: 'custom', params: { code: 'invalid_value' }, input: value,
        message: `unknown option '${option}' in virtual address '${value}' (vrrpd supports: ${VIP_OPTIONS.join(', ')})` });
      return z.NEVER;
    }
    if (optionValue === undefined) {
      ctx.addIssue({ code: 'custom', params: { code: 'invalid_value' }, input: value, message: `option '${option}' in virtual address '${value}' needs a value` });
      return z.NEVER;
    }
    if (option in result) {
      ctx.addIssue({ code: 'custom', params: { code: 'invalid_value' }, input: value, message: `option '${option}' given twice in virtual address '${value}'` });
      return z.NEVER;
    }
    result[option] = optionValue;
  }
  return result;
}

/**
 * An IPv4 (number) or IPv6 (bigint) address of a node: unicast_src_ip, unicast_peer, mcast_src_ip.
 * Never a group, never the unspecified address.
 */
function ipAddress(what: string) {
  return z.string({ error: expect(`${what} such as 10.0.0.51 or fd00::51`) }).transform((textValue, ctx): IpAddress => {
    const trimmed = textValue.trim();
    const address = trimmed.includes(':') ? parseIpv6(trimmed) : parseIpv4(trimmed);
    if (address === undefined) {
      ctx.addIssue({ code: 'custom', params: { code: 'invalid_address' }, message: `must be ${what} such as 10.0.0.51 or fd00::51, got ${describeValue(textValue)}`, input: textValue });
      return z.NEVER;
    }
    const unusable = typeof address === 'bigint' ? address === 0n || isIpv6Multicast(address) : address === 0 || address >>> 28 >= 0xe;
    if (unusable) {
      ctx.addIssue({ code: 'custom', params: { code: 'invalid_address' }, message: `must be a unicast address, got ${describeValue(textValue)}`, input: textValue });
      return z.NEVER;
    }
    return address;
  });
}

/** `ADDR[/LEN]` of a virtual address: IPv4 (prefix 0..32, default 32) or IPv6 (0..128, default 128). */
function parseVirtualAddressText(textValue: string): { address: IpAddress; prefix_len: number } | 'bad' | 'not_unicast' {
  const match = /^\s*([0-9A-Fa-f:.]+)(?:\/([0-9]{1,3}))?\s*$/.exec(textValue);
  if (!match) return 'bad';
  const text = match[1]!;
  if (text.includes(':')) {
    const address6 = parseIpv6(text);
    const prefix6 = match[2] === undefined ? 128 : Number(match[2]);
    if (address6 === undefined || prefix6 > 128) return 'bad';
    if (address6 === 0n || isIpv6Multicast(address6)) return 'not_unicast';
    return { address: address6, prefix_len: prefix6 };
  }
  const address = parseIpv4(text);
  const prefixLength = match[2] === undefined ? 32 : Number(match[2]);
  if (address === undefined || prefixLength > 32) return 'bad';
  if (address === 0 || address >>> 28 >= 0xe) return 'not_unicast';
  return { address, prefix_len: prefixLength };
}

const VirtualAddressSchema = z.preprocess(
  vipStringToObject,
  z.strictObject(
    {
      address: z.string({ error: expect("an address such as '10.0.0.50', '10.0.0.50/24' or 'fd00::50/64'") }).transform((textValue, ctx) => {
        const parsed = parseVirtualAddressText(textValue);
        if (parsed === 'bad') {
          ctx.addIssue({ code: 'custom', params: { code: 'invalid_address' }, input: textValue,
            message: `must be an address such as '10.0.0.50', '10.0.0.50/24' or 'fd00::50/64', got ${describeValue(textValue)}` });
          return z.NEVER;
        }
        if (parsed === 'not_unicast') {
          ctx.addIssue({ code: 'custom', params: { code: 'invalid_address' }, input: textValue, message: `must be a unicast address, got ${describeValue(textValue)}` });
          return z.NEVER;
        }
        return parsed;
      }),
      dev: interfaceName().optional(),
      label: z.string({ error: expect('an address label such as ens32:1') }).regex(/^[^\s/]{1,15}$/, { error: expect('an address label of 1..15 characters such as ens32:1') }).optional(),
      brd: ipv4('a broadcast address', false).optional(),
    },
    { error: expect("an address string such as '10.0.0.50 dev ens32' or a mapping {address, dev, label, brd}") },
  ),
);

/** `NAME` or `{name, weight, reverse}`, the YAML form of `track_script { NAME weight W }`. */
function trackRef(what: string, maxWeight = 253) {
  return z.preprocess(
    (value) => (typeof value === 'string' ? { name: value } : value),
    z.strictObject(
      {
        name: text(CONFIG_LIMITS.maxNameLength, `a ${what} name`),
        weight: wholeNumber(-maxWeight, maxWeight).optional(),
        reverse: flag().optional(),
      },
      { error: expect(`a ${what} name or a mapping {name, weight, reverse}`) },
    ),
  );
}

const DaemonSectionSchema = z.strictObject(
  {
    socket: text(108, 'a socket path').optional(),
    log_level: z.enum(LOG_LEVELS, { error: expect(`one of ${LOG_LEVELS.join(', ')}`) }).optional(),
    /** Prometheus endpoint, off unless set. */
    metrics_listen: text(64, 'HOST:PORT')
      .refine((value) => /^(\[[0-9a-fA-F:]+\]|[^\s:]+):([1-9][0-9]{0,4})$/.test(value) && Number(value.split(':').at(-1)) <= 65535, {
        error: 'must be HOST:PORT, e.g. 127.0.0.1:9650',
      })
      .optional(),
    script_capabilities: z.enum(SCRIPT_CAPABILITIES, { error: expect(`one of ${SCRIPT_CAPABILITIES.join(', ')}`) }).optional(),
    udp_mirror: z
      .strictObject(
        {
          port: wholeNumber(1, 65535),
          key_file: text(4096, 'an absolute path to the key file').refine((value) => value.startsWith('/'), { error: 'must be an absolute path, e.g. /etc/vrrpd/mirror.key' }),
        },
        { error: expect('a mapping with port and key_file') },
      )
      .optional(),
  },
  { error: expect('a mapping') },
);

/** keepalived's `notify_fifo PATH [USER [GROUP]]`: an absolute path first. */
function fifoSpec() {
  return text(CONFIG_LIMITS.maxCommandLength, "an absolute FIFO path, optionally followed by a user and group ('/run/vrrpd.fifo' or '/run/vrrpd.fifo root root')")
    .refine((value) => value.startsWith('/') && value.trim().split(/\s+/).length <= 3, {
      error: "must be an absolute FIFO path, optionally followed by a user and group ('/run/vrrpd.fifo' or '/run/vrrpd.fifo root root')",
    })
    .optional();
}

/** 2 or 3, as keepalived's `vrrp_version` and `version` take it. */
function vrrpVersion() {
  const error = expect('2 (VRRPv2, RFC 3768) or 3 (VRRPv3 over IPv4, RFC 5798)');
  return z.number({ error }).refine((value): value is VrrpVersionSetting => value === 2 || value === 3, { error });
}

const GlobalDefsSchema = z.strictObject(
  {
    router_id: text(CONFIG_LIMITS.maxNameLength).optional(),
    vrrp_version: vrrpVersion().default(CONFIG_DEFAULTS.version as VrrpVersionSetting),
    script_user: text(CONFIG_LIMITS.maxNameLength, "a user name, optionally followed by a group ('root' or 'nobody nogroup')").optional(),
    enable_script_security: flag().default(false),
    vrrp_garp_master_delay: wholeNumber(0, 3600, ' seconds').default(CONFIG_DEFAULTS.garpMasterDelaySec),
    vrrp_garp_master_repeat: wholeNumber(1, 100).default(CONFIG_DEFAULTS.garpMasterRepeat),
    vrrp_garp_master_refresh: wholeNumber(0, 86400, ' seconds').default(CONFIG_DEFAULTS.garpMasterRefreshSec),
    vrrp_skip_check_adv_addr: flag().default(false),
    vrrp_startup_delay: decimal(0, 3600, ' seconds').default(0),
    vrrp_check_unicast_src: flag().default(true),
    notify_fifo: fifoSpec(),
    vrrp_notify_fifo: fifoSpec(),
    notify_fifo_script: text(CONFIG_LIMITS.maxCommandLength, 'a command').optional(),
    vrrp_notify_fifo_script: text(CONFIG_LIMITS.maxCommandLength, 'a command').optional(),
  },
  { error: expect('a mapping') },
);

/**
 * The keys that name what a vrrp_script checks; exactly one must be present. A built-in check is
 * added here and as a CheckSpec member.
 */
export const CHECK_KIND_KEYS = ['script', 'http', 'tcp', 'process'] as const;
export type CheckKind = (typeof CHECK_KIND_KEYS)[number];

/** An absolute file path (the daemon runs from /, so a relative path would mean nothing useful). */
function absolutePath(what: string) {
  const error = expect(`an absolute path to ${what}`);
  return z.string({ error }).trim().min(1, { error }).max(4096, { error }).regex(/^\//, { error });
}

/** An IPv4 or IPv6 address literal. */
function isIpLiteral(value: string): boolean {
  if (parseIpv4(value) !== undefined) return true;
  if (!value.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(value)) return false;
  try {
    new URL(`http://[${value}]/`);
    return true;
  } catch {
    return false;
  }
}

const HTTP_EXAMPLE = "a URL such as 'https://127.0.0.1:6443/readyz'";

const HttpCheckSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { url: value } : value),
  z
    .strictObject(
      {
        url: z.string({ error: expect(HTTP_EXAMPLE) }).trim().superRefine((textValue, ctx) => {
          let url: URL | undefined;
          try {
            url = new URL(textValue);
          } catch {
            url = undefined;
          }
          if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
            ctx.addIssue({ code: 'custom', params: { code: 'invalid_value' }, input: textValue, message: `must be ${HTTP_EXAMPLE}, got ${describeValue(textValue)}` });
          } else if (url.username !== '' || url.password !== '') {
            ctx.addIssue({ code: 'custom', params: { code: 'invalid_value' }, input: textValue, message: 'must not carry a user or password (use cert_file and key_file)' });
          }
        }),
        ca_file: absolutePath('a PEM CA file such as /etc/kubernetes/pki/ca.crt').optional(),
        cert_file: absolutePath('a PEM client certificate').optional(),
        key_file: absolutePath('a PEM private key').optional(),
        server_name: text(253, "a host name such as 'kubernetes'").optional(),
        insecure: flag().default(false),
        expected_status: z
          .array(wholeNumber(100, 599), { error: expect('a list of HTTP status codes such as [200]') })
          .max(16, { error: 'must list at most 16 status codes' })
          // A custom issue, not .min(1): an empty list is a wrong value, not "too many".
          .refine((codes) => codes.length > 0, { error: 'must list at least one status code', params: { code: 'invalid_value' } })
          .default([200]),
      },
      { error: expect(`${HTTP_EXAMPLE} or a mapping {url, ca_file, cert_file, key_file, server_name, insecure, expected_status}`) },
    )
    .superRefine((check, ctx) => {
      const https = /^https:/i.test(check.url);
      const tlsOnly = (['ca_file', 'cert_file', 'key_file', 'server_name', 'insecure'] as const).filter((key) => key === 'insecure' ? check.insecure : check[key] !== undefined);
      if (!https) {
        for (const key of tlsOnly) {
          ctx.addIssue({ code: 'custom', params: { code: 'invalid_value' }, path: [key], input: check[key], message: `only applies to an https:// URL; '${check.url}' is plain http` });
        }
        return;
      }
      if (check.insecure && check.ca_file !== undefined) {
        ctx.addIssue({ code: 'custom', params: { code: 'invalid_value' }, path: ['insecure'], input: true,
          message: 'cannot be combined with ca_file: either verify the server against the CA (better) or do not verify it at all' });
      }
      if (check.insecure && check.server_name !== undefined) {
        ctx.addIssue({ code: 'custom', params: { code: 'invalid_value' }, path: ['server_name'], input: check.server_name,
          message: 'is only used to verify the certificate, which insecure: true turns off' });
      }
      if ((check.cert_file === undefined) !== (check.key_file === undefined)) {
        const [given, missing] = check.cert_file !== undefined ? ['cert_file', 'key_file'] : ['key_file', 'cert_file'];
        ctx.addIssue({ code: 'custom', params: { code: 'missing_key' }, path: [given], input: check[given as 'cert_file'], message: `needs ${missing} too (a client certificate is a pair)` });
      }
    }),
);

/** `tcp: 127.0.0.1:6443` (string form) or `{host, port}`. */
function tcpStringToObject(value: unknown): unknown {
  if (typeof value === 'number') return { port: value };
  if (typeof value !== 'string') return value;
  const match = /^\s*(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})\s*$/.exec(value);
  if (!match) return { host: value, port: undefined };
  return { host: match[1] ?? match[2], port: Number(match[3]) };
}

const TcpCheckSchema = z.preprocess(
  tcpStringToObject,
  z.strictObject(
    {
      host: z
        .string({ error: expect('an IP address such as 127.0.0.1') })
        .trim()
        .refine(isIpLiteral, { error: (issue) => `must be an IP address such as 127.0.0.1 (no name lookups at short intervals), got ${describeValue(issue.input)}` })
        .default('127.0.0.1'),
      port: wholeNumber(1, 65535),
    },
    { error: expect("'HOST:PORT' such as '127.0.0.1:6443' or a mapping {host, port}") },
  ),
);

const ProcessCheckSchema = z.preprocess(
  // YAML reads `process: 1234` as a number; a process name is text whatever it looks like.
  (value) => (typeof value === 'string' || typeof value === 'number' ? { name: String(value) } : value),
  z.strictObject(
    {
      name: z
        .string({ error: expect('a process name such as kube-apiserver') })
        .min(1, { error: expect('a process name such as kube-apiserver') })
        .max(255, { error: expect('a process name of at most 255 characters') })
        .regex(/^[^\n\0]+$/, { error: expect('a process name on one line') }),
    },
    { error: expect('a process name such as kube-apiserver or a mapping {name}') },
  ),
);

const VrrpScriptSchema = z.strictObject(
  {
    script: text(CONFIG_LIMITS.maxCommandLength, "a command such as 'killall -0 kube-apiserver'").optional(),
    http: HttpCheckSchema.optional(),
    tcp: TcpCheckSchema.optional(),
    process: ProcessCheckSchema.optional(),
    interval: decimal(0.1, 86400, ' seconds').default(CONFIG_DEFAULTS.scriptIntervalSec),
    timeout: decimal(0.1, 86400, ' seconds').optional(),
    weight: wholeNumber(-253, 253).default(0),
    reverse: flag().default(false),
    rise: wholeNumber(1, 1000).default(CONFIG_DEFAULTS.scriptRise),
    fall: wholeNumber(1, 1000).default(CONFIG_DEFAULTS.scriptFall),
    user: text(CONFIG_LIMITS.maxNameLength, "a user name, optionally followed by a group ('root' or 'nobody nogroup')").optional(),
    init_fail: flag().default(false),
  },
  { error: expect('a mapping with one of script, http, tcp or process') },
);

const AuthenticationSchema = z.strictObject(
  {
    // RFC 3768 5.3.6: type 2 (AH) is deprecated and keepalived's support for it does not interoperate.
    auth_type: z.enum(['PASS'], {
      error: (issue) =>
        typeof issue.input === 'string' && issue.input.trim().toUpperCase() === 'AH'
          ? `must be PASS: AH is not supported by vrrpd (RFC 3768 deprecates it). Switch every node, keepalived ones too, to auth_type PASS with one auth_pass, or remove the authentication block on every node; got ${describeValue(issue.input)}`
          : expect('PASS (AH is not supported by vrrpd)')(issue),
    }),
    // Any YAML scalar: `auth_pass: 123456` is a number to YAML; load.ts restores the text as written.
    auth_pass: z.string({ error: expect('a password string') }).optional(),
  },
  { error: expect('a mapping {auth_type, auth_pass}') },
);

const notifyCommand = () => text(CONFIG_LIMITS.maxCommandLength, 'a command').optional();

const VrrpInstanceSchema = z.strictObject(
  {
    state: z.enum(['MASTER', 'BACKUP'], { error: expect('MASTER or BACKUP (upper case, as in keepalived)') }).default(CONFIG_DEFAULTS.state),
    interface: interfaceName(),
    virtual_router_id: wholeNumber(1, 255),
    priority: wholeNumber(1, 255).default(CONFIG_DEFAULTS.priority),
    version: vrrpVersion().optional(),
    // keepalived reads 0.01..255 s for both versions, then rounds per version (resolve.ts).
    advert_int: decimal(0.01, 255, ' seconds').default(CONFIG_DEFAULTS.advertIntervalSec),
    old_unicast_checksum: z
      .union([z.boolean(), z.literal('never')], { error: expect("true (keepalived's bare `old_unicast_checksum`) or 'never'") })
      .optional(),
    nopreempt: flag().default(false),
    preempt_delay: decimal(0, 1000, ' seconds').default(0),
    authentication: AuthenticationSchema.optional(),
    unicast_src_ip: ipAddress('an address').optional(),
    unicast_peer: z
      .array(ipAddress('an address'), { error: expect('a list of addresses') })
      .max(CONFIG_LIMITS.maxUnicastPeers, { error: (i) => `must have at most ${CONFIG_LIMITS.maxUnicastPeers} peers, got ${(i.input as unknown[]).length}` })
      .default([]),
    mcast_src_ip: ipAddress('an address').optional(),
    /** keepalived's `native_ipv6`: the instance is IPv6 (and VRRPv3) whatever its addresses say. */
    native_ipv6: flag().optional(),
    virtual_ipaddress: z
      .array(VirtualAddressSchema, { error: expect('a list of addresses') })
      .min(1, { error: 'must list at least one virtual address' })
      .max(CONFIG_LIMITS.maxVirtualAddresses, {
        error: (i) => `must have at most ${CONFIG_LIMITS.maxVirtualAddresses} addresses per instance, got ${(i.input as unknown[]).length}`,
      }),
    track_script: z
      .array(trackRef('vrrp_script'), { error: expect('a list of vrrp_script names') })
      .max(CONFIG_LIMITS.maxTrackersPerInstance, { error: `must have at most ${CONFIG_LIMITS.maxTrackersPerInstance} entries` })
      .default([]),
    track_interface: z
      .array(trackRef('interface'), { error: expect('a list of interface names') })
      .max(CONFIG_LIMITS.maxTrackersPerInstance, { error: `must have at most ${CONFIG_LIMITS.maxTrackersPerInstance} entries` })
      .default([]),
    track_file: z
      .array(trackRef('vrrp_track_file', 254), { error: expect('a list of vrrp_track_file names') })
      .max(CONFIG_LIMITS.maxTrackersPerInstance, { error: `must have at most ${CONFIG_LIMITS.maxTrackersPerInstance} entries` })
      .default([]),
    dont_track_primary: flag().default(false),
    garp_master_delay: wholeNumber(0, 3600, ' seconds').optional(),
    garp_master_repeat: wholeNumber(1, 100).optional(),
    garp_master_refresh: wholeNumber(0, 86400, ' seconds').optional(),
    check_unicast_src: flag().optional(),
    skip_check_adv_addr: flag().optional(),
    unicast_fault_no_peer: flag().optional(),
    notify_master: notifyCommand(),
    notify_backup: notifyCommand(),
    notify_fault: notifyCommand(),
    notify_stop: notifyCommand(),
    notify: notifyCommand(),
  },
  { error: expect('a mapping of vrrp_instance settings') },
);

const VrrpTrackFileSchema = z.strictObject(
  {
    file: text(4096, 'an absolute file path').refine((path) => path.startsWith('/'), { error: 'must be an absolute path (keepalived resolves a relative one against its own working directory)' }),
    weight: wholeNumber(-254, 254).default(1),
    reverse: flag().default(false),
    init_file: z
      .strictObject(
        { value: wholeNumber(-2147483648, 2147483647).default(0), overwrite: flag().default(false) },
        { error: expect('a mapping {value, overwrite}') },
      )
      .optional(),
  },
  { error: expect('a mapping with file, weight and init_file') },
);

const VrrpSyncGroupSchema = z.strictObject(
  {
    group: z
      .array(text(CONFIG_LIMITS.maxNameLength, 'a vrrp_instance name'), { error: expect('a list of vrrp_instance names') })
      .max(CONFIG_LIMITS.maxInstances, { error: `must have at most ${CONFIG_LIMITS.maxInstances} members` }),
    track_script: z
      .array(trackRef('vrrp_script'), { error: expect('a list of vrrp_script names') })
      .max(CONFIG_LIMITS.maxTrackersPerInstance, { error: `must have at most ${CONFIG_LIMITS.maxTrackersPerInstance} entries` })
      .default([]),
    track_interface: z
      .array(trackRef('interface'), { error: expect('a list of interface names') })
      .max(CONFIG_LIMITS.maxTrackersPerInstance, { error: `must have at most ${CONFIG_LIMITS.maxTrackersPerInstance} entries` })
      .default([]),
    track_file: z
      .array(trackRef('vrrp_track_file', 254), { error: expect('a list of vrrp_track_file names') })
      .max(CONFIG_LIMITS.maxTrackersPerInstance, { error: `must have at most ${CONFIG_LIMITS.maxTrackersPerInstance} entries` })
      .default([]),
    sync_group_tracking_weight: flag().default(false),
    notify_master: notifyCommand(),
    notify_backup: notifyCommand(),
    notify_fault: notifyCommand(),
    notify_stop: notifyCommand(),
    notify: notifyCommand(),
  },
  { error: expect('a mapping with group (the member instances) and notify settings') },
);

/** The whole file. Only vrrp_instance is required. */
export const ConfigSchema = z.strictObject(
  {
    vrrpd: DaemonSectionSchema.default({}),
    global_defs: GlobalDefsSchema.prefault({}),
    vrrp_script: z
      .record(z.string(), VrrpScriptSchema, { error: expect('a mapping of script names to scripts') })
      .default({}),
    vrrp_track_file: z
      .record(z.string(), VrrpTrackFileSchema, { error: expect('a mapping of track file names to {file, weight, init_file}') })
      .default({}),
    vrrp_instance: z.record(z.string(), VrrpInstanceSchema, { error: expect('a mapping of instance names to instances') }),
    vrrp_sync_group: z
      .record(z.string(), VrrpSyncGroupSchema, { error: expect('a mapping of sync group names to {group, notify...}') })
      .default({}),
  },
  { error: (issue) => (issue.input === undefined || issue.input === null ? 'the file is empty; it needs at least a vrrp_instance mapping' : expect('a mapping with global_defs, vrrp_script and vrrp_instance')(issue)) },
);

/** The schema's output, before cross-field rules and defaults from global_defs. */
export type ParsedConfig = z.output<typeof ConfigSchema>;
export type ParsedInstance = z.output<typeof VrrpInstanceSchema>;
export type ParsedScript = z.output<typeof VrrpScriptSchema>;
export type ParsedSyncGroup = z.output<typeof VrrpSyncGroupSchema>;

/**
 * keepalived keywords vrrpd knows but does not implement: a config using one gets "not supported"
 * rather than "unknown key", so nobody hunts for a typo that is not there, and is told what to do
 * instead (unsupportedKeywordMessage).
 */
export const UNSUPPORTED_KEEPALIVED_KEYWORDS: ReadonlySet<string> = new Set([
  // vrrp_instance
  'use_vmac', 'vmac_xmit_base', 'virtual_ipaddress_excluded', 'virtual_routes', 'virtual_rules',
  'track_bfd', 'track_process', 'track_src_ip', 'promote_secondaries', 'linkbeat_use_polling', 'accept',
  'no_accept', 'strict_mode', 'debug', 'smtp_alert', 'lvs_sync_daemon_interface', 'garp_master_refresh_repeat',
  'garp_lower_prio_delay', 'garp_lower_prio_repeat', 'lower_prio_no_advert', 'higher_prio_send_advert',
  'notify_master_rx_lower_pri', 'kernel_rx_buf_size', 'preempt',
  // global_defs
  'notification_email', 'notification_email_from', 'smtp_server', 'smtp_connect_timeout', 'vrrp_mcast_group4',
  'vrrp_mcast_group6', 'vrrp_strict', 'vrrp_iptables', 'vrrp_ipsets', 'vrrp_priority', 'lvs_id',
  'vrrp_garp_interval', 'vrrp_gna_interval', 'vrrp_lower_prio_no_advert', 'vrrp_higher_prio_send_advert', 'max_auto_priority',
  'script_security', 'enable_traps', 'dynamic_interfaces',
  // top level
  'virtual_server', 'virtual_server_group', 'static_ipaddress', 'static_routes', 'static_rules',
  'vrrp_track_process', 'garp_group', 'bfd_instance', 'linkbeat_interfaces', 'include',
]);

const LVS_ADVICE =
  "vrrpd does VRRP only, not LVS/IPVS. Keep keepalived on this node for the load balancing (remove its vrrp_instance blocks) and give vrrpd the VRRP part, as vrrpd's README explains in 'Migrating from keepalived'";
const TRACK_ADVICE = 'track it with a vrrp_script instead (a built-in tcp, http or process check, or a script) listed in track_script';
const EMAIL_ADVICE = 'remove it; vrrpd sends no e-mail; use notify scripts to be told about transitions';
const SCHEDULING_ADVICE = 'remove it; give vrrpd its priority with systemd (Nice=, CPUSchedulingPolicy=, MemoryLock)';
const GARP_ADVICE = 'remove it; vrrpd sends each GARP burst back to back (garp_master_repeat per VIP, again after garp_master_delay)';
const STRICT_ADVICE = 'remove it; vrrpd adds no firewall rules and does not enforce strict mode (which forbids unicast and PASS authentication)';
const IPV6_ADVICE = 'remove it; vrrpd always sends IPv6 adverts to ff02::12 (or use unicast_peer)';
const ADVERT_ADVICE = 'remove it; vrrpd follows RFC 3768 (a MASTER ignores adverts of a lower priority)';

/** What to do instead of each keyword in UNSUPPORTED_KEEPALIVED_KEYWORDS; the rest get GENERIC_ADVICE. */
const UNSUPPORTED_ADVICE: Record<string, string> = {
  virtual_server: LVS_ADVICE, virtual_server_group: LVS_ADVICE, lvs_id: LVS_ADVICE, lvs_sync_daemon_interface: LVS_ADVICE,
  use_vmac: "remove it; vrrpd keeps the interface's own MAC address and moves the VIP with gratuitous ARP, as keepalived does without use_vmac",
  vmac_xmit_base: "remove it; vrrpd keeps the interface's own MAC address (no VMAC)",
  vrrp_mcast_group6: IPV6_ADVICE,
  vrrp_mcast_group4: 'remove it; vrrpd always sends multicast adverts to 224.0.0.18 (or use unicast_peer)',
  strict_mode: STRICT_ADVICE, vrrp_strict: STRICT_ADVICE, vrrp_iptables: STRICT_ADVICE, vrrp_ipsets: STRICT_ADVICE,
  virtual_ipaddress_excluded: 'list the addresses in virtual_ipaddress (the same list on every node), or add them outside VRRP',
  virtual_routes: 'add routes from a notify_master script or with the host\'s network configuration: vrrpd manages addresses only',
  virtual_rules: 'add rules from a notify_master script or with the host\'s network configuration: vrrpd manages addresses only',
  static_ipaddress: 'add the addresses with the host\'s network configuration: vrrpd manages virtual addresses only',
  static_routes: 'add the routes with the host\'s network configuration: vrrpd manages virtual addresses only',
  static_rules: 'add the rules with the host\'s network configuration: vrrpd manages virtual addresses only',
  track_bfd: TRACK_ADVICE, bfd_instance: TRACK_ADVICE,
  track_process: 'use a vrrp_script with the built-in `process: NAME` check (it reads /proc) and list it in track_script',
  vrrp_track_process: 'use a vrrp_script with the built-in `process: NAME` check (it reads /proc) and list it in track_script',
  track_src_ip: 'remove it; vrrpd tracks the interface (track_interface), not its source address',
  linkbeat_use_polling: 'remove it; vrrpd watches links through netlink', linkbeat_interfaces: 'remove it; vrrpd watches links through netlink',
  accept: 'remove it; vrrpd never blocks traffic to the VIPs, which is what accept asks',
  no_accept: 'remove it; vrrpd never blocks traffic to the VIPs (keepalived only does with vrrp_strict)',
  debug: 'remove it and run `vrrpd run --log-level debug` (or set vrrpd.log_level)',
  smtp_alert: EMAIL_ADVICE, notification_email: EMAIL_ADVICE, notification_email_from: EMAIL_ADVICE, smtp_server: EMAIL_ADVICE, smtp_connect_timeout: EMAIL_ADVICE,
  enable_traps: 'remove it; vrrpd has no SNMP agent; use `vrrpd status --json` or the Prometheus metrics',
  vrrp_priority: SCHEDULING_ADVICE, max_auto_priority: SCHEDULING_ADVICE,
  garp_master_refresh_repeat: GARP_ADVICE, garp_lower_prio_delay: GARP_ADVICE, garp_lower_prio_repeat: GARP_ADVICE,
  vrrp_garp_interval: GARP_ADVICE, vrrp_gna_interval: GARP_ADVICE, garp_group: 'set garp_master_delay, garp_master_repeat and garp_master_refresh on the instance instead',
  lower_prio_no_advert: ADVERT_ADVICE, higher_prio_send_advert: ADVERT_ADVICE, vrrp_lower_prio_no_advert: ADVERT_ADVICE, vrrp_higher_prio_send_advert: ADVERT_ADVICE,
  notify_master_rx_lower_pri: 'remove it; notify_master and notify still run on every transition',
  promote_secondaries: 'remove it and set net.ipv4.conf.<interface>.promote_secondaries=1 with sysctl if you rely on it',
  kernel_rx_buf_size: 'remove it; vrrpd sizes its socket buffers itself',
  dynamic_interfaces: 'remove it; vrrpd always waits for a missing interface (the instance is FAULT until it appears)',
  script_security: 'write enable_script_security instead',
  preempt: 'remove it; preempting is the default; `nopreempt: true` turns it off',
  include: 'a YAML file has no include; write the settings out here (a keepalived.conf read by vrrpd may include files)',
};

const GENERIC_ADVICE = "remove it; vrrpd's README compares what vrrpd and keepalived implement";

/** The message for a keyword in UNSUPPORTED_KEEPALIVED_KEYWORDS. */
export function unsupportedKeywordMessage(key: string): string {
  const prefix = `'${key}' is a keepalived keyword that vrrpd does not support`;
  return `${prefix}: ${UNSUPPORTED_ADVICE[key] ?? GENERIC_ADVICE}`;
}
