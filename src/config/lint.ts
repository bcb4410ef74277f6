/**
 * Cross-node lint: `vrrpd check-config master1.yaml master2.yaml master3.yaml` compares the nodes
 * of a cluster, which keepalived never does. Each file is one node and has already been accepted by
 * the loader; this module only compares. Instances are matched across files by virtual_router_id
 * and interface (the pair a receiver uses to find its instance) and reported by name.
 *
 * What is checked, and why it matters (docs/protocol.md#receive-checks, docs/protocol.md#the-nopreempt-trap):
 * - The VRRP version, advert_int, authentication and the VIP list must be equal on every member: a
 *   receiver drops an advert that differs from its own in any of them, so the nodes stop hearing
 *   each other and each becomes MASTER (split brain). The same instance name with different VRIDs
 *   is the same mistake. VRRPv3 is the exception for advert_int (a backup learns the master's, so
 *   a difference is only a warning) and has no authentication at all (a PASS block is ignored).
 * - Unicast peers must be symmetric: a node sends only to its peers and (with check_unicast_src)
 *   accepts only from them.
 * - Priorities should differ: equal ones fall back to comparing source addresses.
 * - A weighted tracker must be able to move the VIP: not with nopreempt backups (they accept every
 *   advert, "the trap"), and not when the master's lowered priority is still at or above a backup's.
 * - Sync groups must hold the same virtual routers on every node (docs/protocol.md#sync-groups):
 *   where one node moves two VIPs together and another moves them one by one, they end up apart.
 *
 * Mismatches are errors (the cluster cannot work); the rest are warnings (it works, but not as the
 * file suggests). Pure: no I/O, the caller prints.
 */
import { passwordToAuthData } from '../core/codec.js';
import { formatIp, formatIpv4, type IpAddress, type Ipv4 } from '../core/ip.js';
import { configuredSourceAddress } from './convert.js';
import { formatPath, type ConfigIssue } from './issues.js';
import type { LocateTarget, SourcePosition } from './locate.js';
import type { VrrpInstance, VrrpdConfig } from './model.js';

/** Stable codes; tests and tools match on these, people read the message. */
export type LintCode =
  | 'vrid_mismatch'
  | 'version_mismatch'
  | 'v3_authentication'
  | 'advert_int_mismatch'
  | 'auth_mismatch'
  | 'vip_mismatch'
  | 'duplicate_source'
  | 'unicast_multicast_mix'
  | 'asymmetric_peers'
  | 'peer_unverifiable'
  | 'unknown_peer'
  | 'unmatched_instance'
  | 'equal_priority'
  | 'nopreempt_trap'
  | 'weight_too_small'
  | 'sync_group_mismatch';

export type LintSeverity = 'error' | 'warning';

/** One node: an accepted file. */
export interface LintNode {
  file: string;
  config: VrrpdConfig;
  /**
   * From the loader's result; without it findings name the file but no line. A position may name
   * another `file` (a keepalived.conf `include`d file); otherwise it is in `file` above.
   */
  locate?: (path: readonly PropertyKey[], target?: LocateTarget) => SourcePosition & { file?: string };
  /** The loader's warnings for this file: they say which unicast_peer entries were dropped (peer_is_self). */
  warnings?: readonly ConfigIssue[];
}

/** A setting involved in a finding. */
export interface LintPlace {
  file: string;
  /** 1-based; 0 when the loader gave no locator. */
  line: number;
  column: number;
  /** Dotted path, as in ConfigIssue. */
  path: string;
  /** What this place says, e.g. `advert_int 2 s`. */
  note: string;
}

export interface LintFinding {
  code: LintCode;
  severity: LintSeverity;
  /** The instance(s) concerned, e.g. `VI_1 (VRID 251 on ens32)`. */
  subject: string;
  /** One line: what is wrong. */
  summary: string;
  /** Every file and setting involved. */
  places: LintPlace[];
  /** Why it matters and what to do. */
  advice: string;
}

/** Priorities after tracking are clamped to 1..254 (RFC 3768 5.3.4: 255 is the address owner's). */
const MIN_PRIORITY = 1;
const MAX_TRACKED_PRIORITY = 254;
const OWNER_PRIORITY = 255;

interface Member {
  node: LintNode;
  /** The file as messages name it: the shortest tail of its path that no other file shares. */
  name: string;
  instance: VrrpInstance;
  /** unicast_src_ip or mcast_src_ip; undefined when the interface's primary address will be used. */
  source: IpAddress | undefined;
}

interface Tracker {
  /** e.g. `track_script 'check'`. */
  label: string;
  weight: number;
  reverse: boolean;
  /** Where the weight that applies is written (the override, the vrrp_script, or the entry). */
  weightPath: PropertyKey[];
  entryPath: PropertyKey[];
}

/**
 * Compare the nodes' configurations. With fewer than two nodes there is nothing to compare and the
 * result is empty. Errors come first, then warnings, each in the order of the first file.
 */
export function lintCluster(nodes: readonly LintNode[]): LintFinding[] {
  if (nodes.length < 2) return [];
  const findings: LintFinding[] = [];

  const names = shortNames(nodes.map((node) => node.file));
  // Every node's own addresses, whatever the instance: a peer that is one of them is a known node.
  const addresses = new Set(nodes.flatMap((node) => Object.values(node.config.vrrp_instance).flatMap((i) => configuredSourceAddress(i) ?? [])));

  // "interface/vrid" -> members, in file order. A file cannot hold the same pair twice (the loader refuses it).
  const groups = new Map<string, Member[]>();
  nodes.forEach((node, index) => {
    for (const instance of Object.values(node.config.vrrp_instance)) {
      // IPv4 and IPv6 instances with one VRID are different virtual routers.
      const key = `${instance.interface}/${instance.family === 6 ? 'ipv6/' : ''}${instance.virtual_router_id}`;
      const members = groups.get(key) ?? [];
      members.push({ node, name: names[index]!, instance, source: configuredSourceAddress(instance) });
      groups.set(key, members);
    }
  });

  const coveredByVridMismatch = checkVridMismatch([...groups.values()].flat(), findings);
  const syncGroupSeen = new Set<string>();
  for (const members of groups.values()) {
    if (members.length < 2) {
      if (!coveredByVridMismatch.has(members[0]!)) findings.push(unmatched(members[0]!, nodes, names));
      continue;
    }
    const sameVersion = checkVersion(members, findings);
    if (sameVersion) checkAdvertInt(members, findings);
    checkAuthentication(members.filter((m) => m.instance.version === 2), findings);
    checkV3Authentication(members, findings);
    checkVirtualAddresses(members, findings);
    checkPeers(members, addresses, findings);
    checkPriorities(members, findings);
    checkTrackers(members, findings);
    checkSyncGroups(members, syncGroupSeen, findings);
  }

  // Stable sort: errors first, otherwise the order found.
  return findings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}

/** Render one finding as a block of lines (no trailing newline). */
export function formatFinding(finding: LintFinding): string {
  const lines = [`${finding.severity} [${finding.code}] ${finding.subject}: ${finding.summary}`];
  for (const place of finding.places) {
    const where = place.line > 0 ? `${place.file}:${place.line}:${place.column}` : place.file;
    lines.push(`  at ${where} ${place.path}: ${place.note}`);
  }
  lines.push(`  ${finding.advice}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Places and names
// ---------------------------------------------------------------------------------------------

function instancePath(member: Member, ...rest: PropertyKey[]): PropertyKey[] {
  return ['vrrp_instance', member.instance.name, ...rest];
}

/** Places point at the key that sets the value (a list item at the item): that is the line to edit. */
function placeAt(member: Member, path: readonly PropertyKey[], note: string): LintPlace {
  const position = member.node.locate?.(path, 'key');
  if (!position) return { file: member.node.file, line: 0, column: 0, path: formatPath(path), note };
  return { file: position.file ?? member.node.file, line: position.line, column: position.column, path: formatPath(path), note };
}

function place(member: Member, rest: readonly PropertyKey[], note: string): LintPlace {
  return placeAt(member, instancePath(member, ...rest), note);
}

/** `VI_1 (VRID 251 on ens32)`; every distinct name when the nodes call the instance differently. */
function subjectOf(members: readonly Member[]): string {
  const names = [...new Set(members.map((m) => m.instance.name))].join('/');
  const first = members[0]!.instance;
  return `${names} (VRID ${first.virtual_router_id} on ${first.interface})`;
}

function fileList(members: readonly Member[]): string {
  return members.map((m) => m.name).join(', ');
}

/**
 * `master1.yaml` rather than `/etc/vrrpd/cluster/master1.yaml` in messages, but `a/keepalived.conf`
 * and `b/keepalived.conf` when the base names are the same. Places always give the path as given.
 */
export function shortNames(files: readonly string[]): string[] {
  const parts = files.map((file) => file.split('/').filter((part) => part !== ''));
  return files.map((file, index) => {
    const own = parts[index]!;
    for (let length = 1; length <= own.length; length++) {
      const tail = own.slice(-length).join('/');
      const clash = parts.some((other, j) => j !== index && files[j] !== file && other.slice(-length).join('/') === tail);
      if (!clash) return tail;
    }
    return file;
  });
}

/** `both` for two, `all` for more. */
function allOf(members: readonly unknown[]): string {
  return members.length === 2 ? 'both' : 'all';
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Members grouped by a comparable value, in order of first appearance. */
function partition<T>(members: readonly Member[], valueOf: (member: Member) => T, keyOf: (value: T) => string): { value: T; members: Member[] }[] {
  const byKey = new Map<string, { value: T; members: Member[] }>();
  for (const member of members) {
    const value = valueOf(member);
    const key = keyOf(value);
    const entry = byKey.get(key) ?? { value, members: [] };
    entry.members.push(member);
    byKey.set(key, entry);
  }
  return [...byKey.values()];
}

const SPLIT_BRAIN = 'so these nodes do not hear each other and each of them becomes MASTER with the same VIPs: split brain';

// ---------------------------------------------------------------------------------------------
// Equal on every node
// ---------------------------------------------------------------------------------------------

/**
 * The same instance name on the same interface with different VRIDs: the grouping by VRID puts the
 * nodes in different virtual routers, which is almost certainly a typo. Returns the members it covered.
 */
function checkVridMismatch(all: readonly Member[], findings: LintFinding[]): Set<Member> {
  const covered = new Set<Member>();
  const byName = partition(all, (m) => `${m.instance.interface}/${m.instance.name}`, (key) => key);
  for (const { members } of byName) {
    const vrids = partition(members, (m) => m.instance.virtual_router_id, String);
    if (vrids.length < 2) continue;
    for (const member of members) covered.add(member);
    const first = members[0]!.instance;
    findings.push({
      code: 'vrid_mismatch',
      severity: 'error',
      subject: `${first.name} on ${first.interface}`,
      summary: `virtual_router_id differs between nodes: ${vrids.map((v) => `${v.value} in ${fileList(v.members)}`).join('; ')}`,
      places: members.map((m) => place(m, ['virtual_router_id'], `virtual_router_id ${m.instance.virtual_router_id}`)),
      advice: `A node ignores adverts for a VRID it does not have, ${SPLIT_BRAIN}. Use one virtual_router_id on every node.`,
    });
  }
  return covered;
}

function unmatched(member: Member, nodes: readonly LintNode[], names: readonly string[]): LintFinding {
  const { instance } = member;
  const elsewhere = nodes
    .flatMap((node, index) => (node === member.node ? [] : Object.values(node.config.vrrp_instance).filter((other) => other.virtual_router_id === instance.virtual_router_id).map((other) => `${names[index]!} has it on ${other.interface}`)));
  const hint = elsewhere.length > 0 ? ` (${elsewhere.join('; ')}; instances are matched by VRID and interface)` : '';
  return {
    code: 'unmatched_instance',
    severity: 'warning',
    subject: subjectOf([member]),
    summary: `no other file has VRID ${instance.virtual_router_id} on ${instance.interface}${hint}`,
    places: [place(member, ['virtual_router_id'], `virtual_router_id ${instance.virtual_router_id}`)],
    advice: 'This instance was not compared with any other node. If the other nodes\' files were not all given, give them; otherwise it has no backup.',
  };
}

/**
 * One VRRP version per VRID: a VRRPv2 node drops VRRPv3 adverts and the other way round
 * (bad_version; keepalived logs "wrong version" for each one). Returns whether all members agree.
 */
function checkVersion(members: readonly Member[], findings: LintFinding[]): boolean {
  const values = partition(members, (m) => m.instance.version, String);
  if (values.length < 2) return true;
  findings.push({
    code: 'version_mismatch',
    severity: 'error',
    subject: subjectOf(members),
    summary: `the VRRP version differs between nodes: ${values.map((v) => `VRRPv${v.value} in ${fileList(v.members)}`).join('; ')}`,
    places: members.map((m) => place(m, ['version'], `VRRPv${m.instance.version} (version, else global_defs vrrp_version)`)),
    advice: `A node drops every advert of the other version (keepalived logs "wrong version. Received 3 and expect 2" for each one), ${SPLIT_BRAIN}. Set the same vrrp_version (global_defs) or version (vrrp_instance) on every node, keepalived nodes too.`,
  });
  return false;
}

function checkAdvertInt(members: readonly Member[], findings: LintFinding[]): void {
  const values = partition(members, (m) => m.instance.advert_int, String);
  if (values.length < 2) return;
  const v3 = members[0]!.instance.version === 3;
  findings.push({
    code: 'advert_int_mismatch',
    severity: v3 ? 'warning' : 'error',
    subject: subjectOf(members),
    summary: `advert_int differs between nodes: ${values.map((v) => `${v.value} s in ${fileList(v.members)}`).join('; ')}`,
    places: members.map((m) => place(m, ['advert_int'], `advert_int ${m.instance.advert_int} s`)),
    advice: v3
      ? 'VRRPv3 accepts a different interval: a backup takes the master\'s from its adverts and times out after 3 of them plus its skew, so failover time follows the master\'s advert_int. But a backup that starts with a shorter interval than the running master\'s can become MASTER once before it hears the master (keepalived too). Use one advert_int on every node unless you mean it.'
      : `A node drops every advert whose interval differs from its own (keepalived does too), ${SPLIT_BRAIN}. Use one advert_int on every node.`,
  });
}

/** A PASS block in a VRRPv3 instance: loaded and ignored (keepalived: "does not support authentication"). */
function checkV3Authentication(members: readonly Member[], findings: LintFinding[]): void {
  const withAuth = members.filter((m) => m.instance.version === 3 && m.instance.authentication !== undefined);
  if (withAuth.length === 0) return;
  findings.push({
    code: 'v3_authentication',
    severity: 'warning',
    subject: subjectOf(members),
    summary: `VRRPv3 has no authentication: the PASS block of ${fileList(withAuth)} is ignored`,
    places: withAuth.map((m) => place(m, ['authentication'], 'authentication { auth_type PASS ... } in a VRRPv3 instance')),
    advice: 'VRRPv3 adverts carry no password (RFC 5798 removed it), so these nodes accept adverts from anyone on the segment with the VRID (and, in unicast mode, from their peers only when check_unicast_src is on). keepalived ignores the block too. Remove it; if the segment is not trusted, filter protocol 112 with a firewall.',
  });
}

/** What goes on the wire: the type and the first 8 bytes of the password. Never printed. */
function authKey(instance: VrrpInstance): string {
  const auth = instance.authentication;
  if (!auth) return 'none';
  return `${auth.auth_type}:${Array.from(passwordToAuthData(auth.auth_pass).authData).join(',')}`;
}

function checkAuthentication(members: readonly Member[], findings: LintFinding[]): void {
  const values = partition(members, (m) => authKey(m.instance), (key) => key);
  if (values.length < 2) return;
  // Passwords stay out of the output: the groups are numbered instead.
  let password = 0;
  const labels = new Map<string, string>();
  for (const { value } of values) labels.set(value, value === 'none' ? 'no authentication' : `PASS with password #${++password}`);
  const label = (m: Member): string => labels.get(authKey(m.instance))!;
  findings.push({
    code: 'auth_mismatch',
    severity: 'error',
    subject: subjectOf(members),
    summary: `authentication differs between nodes: ${values.map((v) => `${labels.get(v.value)!} in ${fileList(v.members)}`).join('; ')}`,
    places: members.map((m) =>
      m.instance.authentication ? place(m, ['authentication', 'auth_pass'], label(m)) : place(m, [], label(m)),
    ),
    advice: `A node drops every advert whose auth type or password (the first 8 bytes) differs from its own, ${SPLIT_BRAIN}. Use the same authentication block on every node.`,
  });
}

function checkVirtualAddresses(members: readonly Member[], findings: LintFinding[]): void {
  const addressesOf = (m: Member): IpAddress[] => m.instance.virtual_ipaddress.map((vip) => vip.address).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const values = partition(members, addressesOf, (list) => list.join(','));
  if (values.length < 2) return;
  const describe = (list: IpAddress[]): string => list.map(formatIp).join(', ');
  findings.push({
    code: 'vip_mismatch',
    severity: 'error',
    subject: subjectOf(members),
    summary: `the virtual_ipaddress lists differ between nodes: ${values.map((v) => `[${describe(v.value)}] in ${fileList(v.members)}`).join('; ')}`,
    places: members.map((m) => place(m, ['virtual_ipaddress'], describe(addressesOf(m)))),
    advice: `Adverts carry the VIP list, and a node drops adverts whose list differs from its own (the count always; the addresses too, except in BACKUP with skip_check_adv_addr), ${SPLIT_BRAIN}. List the same addresses on every node.`,
  });
}

// ---------------------------------------------------------------------------------------------
// Unicast peers
// ---------------------------------------------------------------------------------------------

/**
 * Index in the file's unicast_peer list of the loader's peer `index`: the loader leaves out entries
 * equal to the node's own address and says so in a peer_is_self warning, which is how we know.
 */
function filePeerIndex(member: Member, index: number): number {
  const prefix = `${formatPath(instancePath(member, 'unicast_peer'))}[`;
  const dropped = new Set(
    (member.node.warnings ?? []).filter((w) => w.code === 'peer_is_self' && w.path.startsWith(prefix)).map((w) => Number(w.path.slice(prefix.length, -1))),
  );
  let seen = -1;
  for (let fileIndex = 0; ; fileIndex++) {
    if (dropped.has(fileIndex)) continue;
    if (++seen === index) return fileIndex;
  }
}

function peerPlace(member: Member, peer: IpAddress, note: string): LintPlace {
  const index = member.instance.unicast_peer.indexOf(peer);
  return index < 0 ? place(member, ['unicast_peer'], note) : place(member, ['unicast_peer', filePeerIndex(member, index)], note);
}

function sourcePlace(member: Member): LintPlace {
  const key = member.instance.unicast_src_ip !== undefined ? 'unicast_src_ip' : 'mcast_src_ip';
  return place(member, [key], `this node is ${formatIp(member.source!)}`);
}

function checkPeers(members: readonly Member[], addresses: ReadonlySet<IpAddress>, findings: LintFinding[]): void {
  const subject = subjectOf(members);
  const unicast = members.filter((m) => m.instance.unicast_peer.length > 0);
  if (unicast.length === 0) return; // all multicast: nothing to pair up
  const multicast = members.filter((m) => m.instance.unicast_peer.length === 0);
  if (multicast.length > 0) {
    findings.push({
      code: 'unicast_multicast_mix',
      severity: 'error',
      subject,
      summary: `${fileList(unicast)} ${unicast.length === 1 ? 'sends' : 'send'} unicast adverts to peers, ${fileList(multicast)} ${multicast.length === 1 ? 'multicasts' : 'multicast'} to 224.0.0.18`,
      places: [
        ...unicast.map((m) => place(m, ['unicast_peer'], 'unicast')),
        ...multicast.map((m) => place(m, [], 'no unicast_peer: multicast')),
      ],
      advice: `A node drops adverts sent in the other mode, and a multicasting node is in nobody's peer list, ${SPLIT_BRAIN}. Give every node a unicast_peer list, or none.`,
    });
  }

  // Two nodes claiming one address cannot be told apart: peer lists and the tie-break both need distinct addresses.
  const sources = partition(members.filter((m) => m.source !== undefined), (m) => m.source!, String);
  let ambiguous = false;
  for (const { value, members: sharing } of sources) {
    if (sharing.length < 2) continue;
    ambiguous = true;
    findings.push({
      code: 'duplicate_source',
      severity: 'error',
      subject,
      summary: `${fileList(sharing)} ${allOf(sharing)} use ${formatIp(value)} as their own address`,
      places: sharing.map(sourcePlace),
      advice: 'Each node needs its own unicast_src_ip (a file copied from another node and not edited?). Peer lists were not compared for this instance.',
    });
  }
  if (ambiguous) return;

  for (const member of unicast.filter((m) => m.source === undefined)) {
    findings.push({
      code: 'peer_unverifiable',
      severity: 'warning',
      subject,
      summary: `${member.name} has no unicast_src_ip, so whether the other nodes list it as a peer cannot be checked`,
      places: [place(member, ['unicast_peer'], `peers ${member.instance.unicast_peer.map(formatIp).join(', ')}; own address not written`)],
      advice: `Its adverts come from the primary address of ${member.instance.interface}, which no config file says. Set unicast_src_ip to that address so the peers can be checked (and so the source does not change when addresses do).`,
    });
  }

  const someUnknown = members.some((m) => m.source === undefined);
  for (const member of unicast) {
    member.instance.unicast_peer.forEach((peer) => {
      // A node without unicast_src_ip may be this peer (reported above); a node known by another
      // instance's address but without this one is reported as unmatched or as a VRID mismatch.
      if (addresses.has(peer) || someUnknown) return;
      findings.push({
        code: 'unknown_peer',
        severity: 'warning',
        subject,
        summary: `${member.name} lists ${formatIp(peer)} as a peer, which is no given node's unicast_src_ip`,
        places: [peerPlace(member, peer, `peer ${formatIp(peer)}`)],
        advice: 'Either a node whose file was not given (give every node\'s file to check them all), or a typo: adverts sent there reach nobody.',
      });
    });
  }

  // Every pair of unicast nodes with known addresses: each must list the other.
  for (let i = 0; i < unicast.length; i++) {
    for (let j = i + 1; j < unicast.length; j++) {
      const a = unicast[i]!;
      const b = unicast[j]!;
      if (a.source === undefined || b.source === undefined) continue;
      const aListsB = a.instance.unicast_peer.includes(b.source);
      const bListsA = b.instance.unicast_peer.includes(a.source);
      if (aListsB && bListsA) continue;
      const missing = [...(aListsB ? [] : [[a, b] as const]), ...(bListsA ? [] : [[b, a] as const])];
      const places: LintPlace[] = [];
      for (const [from, to] of [[a, b], [b, a]] as const) {
        places.push(sourcePlace(from));
        places.push(
          from.instance.unicast_peer.includes(to.source!)
            ? peerPlace(from, to.source!, `lists ${to.name}`)
            : place(from, ['unicast_peer'], `does not list ${formatIp(to.source!)} (${to.name})`),
        );
      }
      const summary =
        missing.length === 2
          ? `${a.name} and ${b.name} do not list each other as unicast peers`
          : `${missing[0]![1].name} lists ${missing[0]![0].name} as a peer, but ${missing[0]![0].name} does not list ${missing[0]![1].name} (${formatIp(missing[0]![1].source!)})`;
      const consequences = missing.flatMap(([from, to]) => [
        `${from.name} never sends its adverts to ${to.name}, so when ${from.name} is MASTER, ${to.name} hears nothing and becomes MASTER too`,
        ...(from.instance.check_unicast_src ? [`${from.name} drops adverts from ${to.name} (check_unicast_src: only listed peers are heard), so when ${to.name} is MASTER, ${from.name} becomes MASTER too`] : []),
      ]);
      findings.push({
        code: 'asymmetric_peers',
        severity: 'error',
        subject,
        summary,
        places,
        advice: `${consequences.join('; ')}: split brain. Each node must list every other node's unicast_src_ip.`,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Priorities and trackers
// ---------------------------------------------------------------------------------------------

function checkPriorities(members: readonly Member[], findings: LintFinding[]): void {
  for (const { value, members: equal } of partition(members, (m) => m.instance.priority, String)) {
    if (equal.length < 2) continue;
    findings.push({
      code: 'equal_priority',
      severity: 'warning',
      subject: subjectOf(members),
      summary: `${fileList(equal)} ${allOf(equal)} have priority ${value}`,
      places: equal.map((m) => place(m, ['priority'], `priority ${value}`)),
      advice: 'Equal priorities fall back to the tie-break on the source address (the higher IP wins), so which node is MASTER follows the addressing, not the config. Give each node its own priority.',
    });
  }
}

function trackersOf(member: Member): Tracker[] {
  const { instance, node } = member;
  const trackers: Tracker[] = [];
  instance.track_script.forEach((ref, index) => {
    const script = node.config.vrrp_script[ref.name];
    const entryPath = instancePath(member, 'track_script', index);
    trackers.push({
      label: `track_script '${ref.name}'`,
      weight: ref.weight ?? script?.weight ?? 0,
      reverse: ref.reverse ?? script?.reverse ?? false,
      weightPath: ref.weight !== undefined ? [...entryPath, 'weight'] : ['vrrp_script', ref.name, 'weight'],
      entryPath,
    });
  });
  instance.track_interface.forEach((ref, index) => {
    const entryPath = instancePath(member, 'track_interface', index);
    trackers.push({
      label: `track_interface '${ref.name}'`,
      weight: ref.weight ?? 0,
      reverse: ref.reverse ?? false,
      weightPath: ref.weight !== undefined ? [...entryPath, 'weight'] : entryPath,
      entryPath,
    });
  });
  return trackers;
}

/**
 * What a tracker adds in its good state, as the core computes it (machine.ts): a negative weight
 * contributes while failing, a positive one while succeeding, reverse flips the sign. Either way
 * its two states are |weight| apart; the higher one is the healthy node's.
 */
function healthyContribution(tracker: Tracker): number {
  return Math.max(0, tracker.reverse ? -tracker.weight : tracker.weight);
}

function clampTracked(priority: number): number {
  return Math.min(MAX_TRACKED_PRIORITY, Math.max(MIN_PRIORITY, priority));
}

/** Effective priority with every tracker in its good state. */
function healthyPriority(member: Member, trackers: readonly Tracker[]): number {
  if (member.instance.priority === OWNER_PRIORITY) return OWNER_PRIORITY; // owners have no weighted trackers
  return clampTracked(member.instance.priority + trackers.reduce((sum, t) => sum + healthyContribution(t), 0));
}

/** Effective priority with `failed` in its bad state and every other tracker good. */
function failedPriority(member: Member, trackers: readonly Tracker[], failed: Tracker): number {
  return clampTracked(healthyPriority(member, trackers) - Math.abs(failed.weight));
}

function weightNote(member: Member, tracker: Tracker): string {
  const entry = member.node.locate?.(tracker.entryPath, 'key');
  const trackedAt = tracker.weightPath === tracker.entryPath || !entry ? '' : ` (tracked at line ${entry.line})`;
  return `${tracker.label} weight ${tracker.weight}${tracker.reverse ? ' reverse' : ''}${trackedAt}`;
}

/**
 * Per node M and weighted tracker t: when t fails while M is MASTER, some backup must take over.
 * A backup with nopreempt never does (it accepts every advert); a preempting one does only when its
 * priority is above M's lowered one (an equal advert still resets its timer).
 */
function checkTrackers(members: readonly Member[], findings: LintFinding[]): void {
  const subject = subjectOf(members);
  const trackers = new Map(members.map((m) => [m, trackersOf(m)] as const));
  const healthy = new Map(members.map((m) => [m, healthyPriority(m, trackers.get(m)!)] as const));

  const trapped: { member: Member; tracker: Tracker }[] = [];
  for (const master of members) {
    const own = trackers.get(master)!;
    for (const tracker of own.filter((t) => t.weight !== 0)) {
      const others = members.filter((m) => m !== master);
      if (others.some((m) => m.instance.nopreempt)) trapped.push({ member: master, tracker });

      const failed = failedPriority(master, own, tracker);
      // Backups that are below the master while all is well, so the master can be MASTER over them.
      const stuck = others.filter((b) => !b.instance.nopreempt && healthy.get(b)! < healthy.get(master)! && failed >= healthy.get(b)!);
      if (stuck.length === 0) continue;
      const takers = others.filter((b) => !b.instance.nopreempt && healthy.get(b)! < healthy.get(master)! && failed < healthy.get(b)!);
      const outcome = takers.length === 0 ? 'no backup takes over, a failed check changes nothing' : `only ${fileList(takers)} can take over`;
      findings.push({
        code: 'weight_too_small',
        severity: 'warning',
        subject,
        summary: `when ${tracker.label} fails on ${master.name}, its priority ${healthy.get(master)!} drops to ${failed}, still at or above ${stuck.map((b) => `${b.name} (${healthy.get(b)!})`).join(', ')}: ${outcome}`,
        places: [
          place(master, ['priority'], `priority ${master.instance.priority}`),
          placeAt(master, tracker.weightPath, weightNote(master, tracker)),
          ...stuck.map((b) => place(b, ['priority'], `priority ${b.instance.priority}`)),
        ],
        advice: `A backup takes over only when its priority is above the master's lowered one: ${healthy.get(master)!} - ${Math.abs(tracker.weight)} = ${failed} is not below ${Math.max(...stuck.map((b) => healthy.get(b)!))}. Make |weight| larger than the priority gaps (at least ${healthy.get(master)! - Math.min(...stuck.map((b) => healthy.get(b)!)) + 1} here), or use weight 0 so a failure means FAULT.`,
      });
    }
  }

  if (trapped.length > 0) {
    const nopreempt = members.filter((m) => m.instance.nopreempt);
    const placesByFile: LintPlace[] = [];
    for (const member of members) {
      if (member.instance.nopreempt) placesByFile.push(place(member, ['nopreempt'], 'nopreempt'));
      for (const { tracker } of trapped.filter((t) => t.member === member)) placesByFile.push(placeAt(member, tracker.weightPath, weightNote(member, tracker)));
    }
    const what = [...new Set(trapped.map((t) => t.tracker.label))].join(', ');
    findings.push({
      code: 'nopreempt_trap',
      severity: 'warning',
      subject,
      summary: `with nopreempt on ${fileList(nopreempt)}, a failing ${what} never moves the VIP`,
      places: placesByFile,
      advice: 'A backup with nopreempt accepts every advert whatever its priority, so a weight only lowers the master\'s priority and nobody takes over (keepalived behaves the same). Use weight 0, so that a failure puts the master in FAULT and a backup takes over within Skew_Time, or drop nopreempt (preempt) and make |weight| larger than the priority gaps.',
    });
  }
}

/** `3 errors, 1 warning` for a summary line. */
export function countFindings(findings: readonly LintFinding[]): { errors: number; warnings: number; text: string } {
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  return { errors, warnings, text: `${plural(errors, 'error')}, ${plural(warnings, 'warning')}` };
}

// ---------------------------------------------------------------------------------------------
// Sync groups
// ---------------------------------------------------------------------------------------------

/** The sync group an instance is in on its node, with its members as virtual routers (interface/VRID). */
function syncGroupOf(member: Member): { name: string; index: number; routers: string[] } | undefined {
  const config = member.node.config;
  for (const group of Object.values(config.vrrp_sync_group ?? {})) {
    const index = group.group.indexOf(member.instance.name);
    if (index < 0) continue;
    const routers = group.group.flatMap((name) => {
      const instance = config.vrrp_instance[name];
      return instance === undefined ? [] : [`VRID ${instance.virtual_router_id} on ${instance.interface}`];
    });
    return { name: group.name, index, routers: routers.sort() };
  }
  return undefined;
}

/**
 * Every node must group this virtual router with the same others (matched by VRID and interface, as
 * instances are): one node that moves it alone while another moves it with its group splits the VIPs
 * across nodes. Reported once per distinct disagreement, not once per member.
 */
function checkSyncGroups(members: readonly Member[], seen: Set<string>, findings: LintFinding[]): void {
  const values = partition(members, (m) => syncGroupOf(m)?.routers.join(', ') ?? '', (key) => key);
  if (values.length < 2) return;
  const describe = (v: { value: string; members: Member[] }): string => `${v.value === '' ? 'in no sync group' : `grouped with ${v.value}`} in ${fileList(v.members)}`;
  const summary = `sync group membership differs between nodes: ${values.map(describe).join('; ')}`;
  const key = values.map((v) => `${v.value}@${fileList(v.members)}`).sort().join('|');
  if (seen.has(key)) return;
  seen.add(key);
  findings.push({
    code: 'sync_group_mismatch',
    severity: 'error',
    subject: subjectOf(members),
    summary,
    places: members.map((m) => {
      const group = syncGroupOf(m);
      return group === undefined
        ? place(m, ['virtual_router_id'], 'in no vrrp_sync_group')
        : placeAt(m, ['vrrp_sync_group', group.name, 'group', group.index], `in vrrp_sync_group ${group.name} with ${group.routers.join(', ')}`);
    }),
    advice: 'A sync group keeps its VIPs on one node only if every node groups the same virtual routers: where one node moves them together and another one by one, the VIPs end up on different nodes. List the same instances in the vrrp_sync_group of every node, keepalived nodes too.',
  });
}
