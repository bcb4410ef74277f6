/**
 * The receive checks of RFC 3768 section 7.1 (and RFC 5798 7.1 for VRRPv3), in the order keepalived
 * 2.2.7 applies them (vrrp.c, vrrp_check_packet; docs/protocol.md#receive-checks). VRRPv3 runs the
 * same order without the four VRRPv2 checks of auth type, auth type match, password and interval
 * (keepalived nests them in `if (version == 2)`), and verifies its checksum over the IPv4
 * pseudo-header. Order matters beyond taste: the
 * first failing check names the drop, and operators compare our counters with keepalived's when a
 * mixed cluster splits.
 *
 * Rules of this file:
 * - One check per drop reason, each a separate step below, so a counter always means one thing.
 * - Nothing throws: every input is a value from the network.
 * - The password compare touches all 8 bytes whatever they hold (no early exit), so response time
 *   does not leak how much of a guess was right.
 * - Two decisions belong to the caller and are only listed here: the VRID lookup ('unknown_vrid',
 *   the per-interface dispatcher, via peekVirtualRouterId) and 'not_ready' (the machine, in FAULT/INIT).
 */
import type { CheckResult, DropReason, ReceiveExpectations } from './types.js';
import type { IpAddress } from './ip.js';
import { AUTH_DATA_LENGTH, DROP_REASONS, VRRP_TTL } from './types.js';
import { formatIp, isMulticastIp, VRRP_IPV6_MULTICAST_GROUP, VRRP_MULTICAST_GROUP } from './ip.js';
import { advertLengthV3, decodeAdvert, messageLength, parseIpHeader, v3Checksum, vrrpChecksum } from './codec.js';

/** Every drop reason in the order the receive path applies them; the earlier one wins. */
export const RECEIVE_CHECK_ORDER: readonly DropReason[] = DROP_REASONS;

/** The reasons decided by callers before checkAdvert runs (dispatcher, then machine state). */
export const CALLER_DECIDED_REASONS: readonly DropReason[] = ['unknown_vrid', 'not_ready'];

/** The reasons checkAdvert itself can return, in its order. */
export const CHECK_ADVERT_REASONS: readonly DropReason[] = DROP_REASONS.filter((r) => !CALLER_DECIDED_REASONS.includes(r));

/** Position of a reason in the receive order; use it to sort or compare counters. */
export function receiveCheckIndex(reason: DropReason): number {
  return RECEIVE_CHECK_ORDER.indexOf(reason);
}

const AUTH_NONE = 0;
const AUTH_PASS = 1;
/** IPsec AH: a known auth type (so not 'bad_auth_type') that we never configure, hence always a mismatch. */
const AUTH_AH = 2;
const VRRP_TYPE_ADVERTISEMENT = 1;

function drop(reason: DropReason, detail: string): CheckResult {
  return { ok: false, reason, detail };
}

/**
 * Run every receive check on a whole received packet (IPv4 header onwards) against one instance's
 * expectations. Call it after the dispatcher found the instance by VRID and the machine is neither
 * in FAULT nor INIT. Returns the decoded advert and IP header, or the first failing check's reason.
 */
export function checkAdvert(bytes: Uint8Array, expect: ReceiveExpectations): CheckResult {
  const parsed = parseIpHeader(bytes);
  if (!parsed.ok) return drop('too_short', `${bytes.length} bytes`);
  const ip = parsed.ip;
  const family = expect.family ?? 4;
  // One socket per family feeds an instance, so this only fails on a wiring mistake; still a value.
  if (ip.family !== family) return drop('too_short', `an IPv${ip.family} packet for an IPv${family} instance`);
  const vrrpAt = ip.headerLength;
  const unicastMode = expect.unicastPeers.length > 0;
  const ourCount = expect.virtualAddresses.length;

  // RFC 7.1: the packet must hold the complete advert. keepalived 2.2.7 sizes it with the packet's
  // own address count and version nibble (expected_vrrp_pkt_len), so a different VIP count passes
  // here and is reported by the count check below, as keepalived logs it ("unexpected ip number
  // count"; verified against keepalived in test/interop/mismatch.test.ts), and an advert of the
  // other version is reported as bad_version.
  const packetCount = bytes.length > vrrpAt + 3 ? (bytes[vrrpAt + 3] as number) : 0;
  const packetVersion = (bytes[vrrpAt] as number) >>> 4;
  const expectedLength = ip.headerLength + messageLength(packetVersion, packetCount, family);
  // An IPv6 instance's advert that is exactly as long as one with IPv4 addresses: somebody put IPv4
  // VIPs under our VRID on this link (a v4 config sent over IPv6). keepalived counts it as a length
  // error; it gets its own reason here because the fix is in a configuration, not on the wire.
  if (family === 6 && packetCount > 0 && bytes.length === ip.headerLength + advertLengthV3(packetCount, 4)) {
    return drop('address_family_mismatch', `${packetCount} addresses of 4 bytes (IPv4) in an advert to an IPv6 instance`);
  }
  if (bytes.length !== expectedLength) {
    return drop('bad_length', `received ${bytes.length} bytes, expected ${expectedLength}`);
  }

  // RFC 5.2.3 / 7.1: TTL 255 proves the sender is on-link. keepalived 2.2.7 skips it for unicast,
  // where a routed peer is legitimate.
  if (!unicastMode && ip.ttl !== VRRP_TTL) return drop('bad_ttl', `${family === 6 ? 'hop limit' : 'ttl'} ${ip.ttl}`);

  const versionType = bytes[vrrpAt] as number;
  const version = versionType >>> 4;
  if (version !== expect.version) return drop('bad_version', `version ${version}, ours ${expect.version}`);

  if (version === 2) {
    const failed = checkV2Fields(bytes, vrrpAt, expect);
    if (failed !== undefined) return failed;
  }

  const type = versionType & 0x0f;
  if (type !== VRRP_TYPE_ADVERTISEMENT) return drop('bad_type', `type ${type}`);

  const count = bytes[vrrpAt + 3] as number;
  if (count !== ourCount) return drop('address_count_mismatch', `${count} addresses, ours ${ourCount}`);

  if (ip.totalLength !== bytes.length) {
    return drop('ip_length_mismatch', `ip total length ${ip.totalLength}, received ${bytes.length}`);
  }

  let oldChecksum = false;
  if (version === 2) {
    // VRRPv2: over the VRRP message only, no pseudo-header (RFC 3768 5.3.8).
    if (vrrpChecksum(bytes, vrrpAt, bytes.length - vrrpAt) !== 0) return drop('bad_checksum', 'checksum does not verify');
  } else {
    // VRRPv3: over the IPv4 pseudo-header and the message (RFC 5798 5.2.8), with the destination
    // keepalived's old_unicast_checksum mode names (docs/protocol.md#vrrpv3-checksum).
    // Over IPv6 there is no old variant to fall back to (keepalived never had one): the real
    // destination (ff02::12 or the peer), as the kernel's IPV6_CHECKSUM computes it.
    const length = bytes.length - vrrpAt;
    const group = { source: ip.source, destination: family === 6 ? VRRP_IPV6_MULTICAST_GROUP : VRRP_MULTICAST_GROUP };
    const real = { source: ip.source, destination: ip.destination };
    if (v3Checksum(bytes, expect.v3Checksum === 'group' && family === 4 ? group : real, vrrpAt, length) !== 0) {
      // keepalived's default on a unicast instance: an advert that verifies only with 224.0.0.18 comes
      // from a keepalived <= 1.3.6 or one with old_unicast_checksum; accept it and follow it.
      const retry = family === 4 && expect.v3Checksum === 'auto' && unicastMode && ip.destination !== VRRP_MULTICAST_GROUP;
      if (!retry || v3Checksum(bytes, group, vrrpAt, length) !== 0) return drop('bad_checksum', 'VRRPv3 checksum does not verify');
      oldChecksum = true;
    }
  }

  if (isMulticastIp(ip.destination) === unicastMode) {
    return drop('mode_mismatch', unicastMode ? 'multicast packet to a unicast instance' : 'unicast packet to a multicast instance');
  }

  // The lengths were all checked above, so this cannot fail; the guard keeps the types honest.
  const decoded = decodeAdvert(bytes, vrrpAt, undefined, family);
  if (!decoded.ok) return drop('bad_length', 'advert does not decode');
  const advert = decoded.advert;

  if (expect.checkAddressList) {
    for (const ours of expect.virtualAddresses) {
      if (!(advert.addresses as readonly IpAddress[]).includes(ours)) return drop('address_list_mismatch', `virtual address ${formatIp(ours)} missing`);
    }
  }

  // Independent of checkAddressList on purpose: keepalived 2.2.7 nests it inside the address check,
  // which lets `vrrp_skip_check_adv_addr` also skip the peer filter; we do not want that coupling.
  if (unicastMode && expect.checkUnicastSrc && !expect.unicastPeers.includes(ip.source)) {
    return drop('unknown_peer', `source ${formatIp(ip.source)} is not a unicast peer`);
  }

  return oldChecksum ? { ok: true, advert, ip, oldChecksum } : { ok: true, advert, ip };
}

/** The VRRPv2-only checks (auth type, auth type match, password, interval), in keepalived's order. */
function checkV2Fields(bytes: Uint8Array, vrrpAt: number, expect: ReceiveExpectations): CheckResult | undefined {
  const authType = bytes[vrrpAt + 4] as number;
  if (authType !== AUTH_NONE && authType !== AUTH_PASS && authType !== AUTH_AH) {
    return drop('bad_auth_type', `auth type ${authType}`);
  }
  if (authType !== expect.authType) return drop('auth_type_mismatch', `auth type ${authType}, ours ${expect.authType}`);

  if (expect.authType === AUTH_PASS) {
    // The length check above fixed where the auth data sits: the last 8 bytes. (keepalived uses the
    // IP total length to find it; reading within what we received cannot run off the buffer.)
    const authAt = bytes.length - AUTH_DATA_LENGTH;
    let difference = 0;
    for (let i = 0; i < AUTH_DATA_LENGTH; i++) {
      difference |= (bytes[authAt + i] as number) ^ (expect.authData[i] ?? 0);
    }
    if (difference !== 0) return drop('auth_failure', 'password differs');
  }

  // RFC 3768 7.1: a different interval means a misconfigured peer; accepting it would let two
  // masters with different timers coexist. (VRRPv3 accepts it: RFC 5798 has the backup learn it.)
  const advertIntervalSec = bytes[vrrpAt + 5] as number;
  const oursSec = expect.advertIntervalCs / 100;
  if (advertIntervalSec !== oursSec) {
    return drop('interval_mismatch', `interval ${advertIntervalSec}s, ours ${oursSec}s`);
  }
  return undefined;
}
