/**
 * IPv4 addresses in the core are plain unsigned 32-bit numbers in host order, so that the
 * equal-priority tie-break (RFC 3768 6.4.3: "the primary IP address of the sender is greater than
 * the local primary IP address") is a numeric compare and packets never need string work.
 */
export type Ipv4 = number;

export const VRRP_MULTICAST_GROUP: Ipv4 = 0xe0000012; // 224.0.0.18, RFC 3768 5.2.2

/** Parse dotted-quad text; returns undefined for anything that is not exactly a.b.c.d with 0..255 parts. */
export function parseIpv4(text: string): Ipv4 | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value >>> 0;
}

/** Format a host-order address as dotted quad. */
export function formatIpv4(address: Ipv4): string {
  return `${(address >>> 24) & 255}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
}

/** True for 224.0.0.0/4. */
export function isMulticast(address: Ipv4): boolean {
  return (address >>> 28) === 0xe;
}

/**
 * IPv6 addresses in the core are unsigned 128-bit bigints, so that the equal-priority tie-break
 * compares them exactly as keepalived does (the 16 bytes as one big-endian number) and Set/includes
 * compare them by value. A VRRP instance is one family or the other: an `IpAddress` is a number for
 * an IPv4 instance and a bigint for an IPv6 one, never mixed inside one instance.
 */
export type Ipv6 = bigint;
export type IpAddress = Ipv4 | Ipv6;
export type AddressFamily = 4 | 6;

/** ff02::12, RFC 5798 5.1.2.2: the link-local scope group VRRPv3 over IPv6 sends to. */
export const VRRP_IPV6_MULTICAST_GROUP: Ipv6 = 0xff020000000000000000000000000012n;

const IPV6_MAX = (1n << 128n) - 1n;

/** The family of an address as the core holds it. */
export function familyOf(address: IpAddress): AddressFamily {
  return typeof address === 'bigint' ? 6 : 4;
}

/**
 * Parse IPv6 text (RFC 4291 2.2: hex groups, one `::`, an optional dotted-quad tail). No zone
 * (`%ens32`) and no brackets: configuration says the interface elsewhere. Undefined for anything else.
 */
export function parseIpv6(text: string): Ipv6 | undefined {
  if (text.length === 0 || text.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  let body = text;
  if (body.includes('.')) {
    // A dotted-quad tail (`::ffff:10.0.0.1`) is the last two groups written another way.
    const lastColon = body.lastIndexOf(':');
    const v4 = parseIpv4(body.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    body = `${body.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return undefined;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const rest = halves.length === 2 ? groups(halves[1] as string) : [];
  if (head === undefined || rest === undefined) return undefined;
  const given = head.length + rest.length;
  let all: number[];
  if (halves.length === 2) {
    if (given > 7) return undefined;
    all = [...head, ...new Array<number>(8 - given).fill(0), ...rest];
  } else {
    if (given !== 8) return undefined;
    all = head;
  }
  let value = 0n;
  for (const group of all) value = (value << 16n) | BigInt(group);
  return value;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (>= 2) of zero groups as `::`. */
export function formatIpv6(address: Ipv6): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((address >> BigInt(i * 16)) & 0xffffn));
  let bestAt = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestAt = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLength).join(':')}`;
}

/** An address of either family as text. */
export function formatIp(address: IpAddress): string {
  return typeof address === 'bigint' ? formatIpv6(address) : formatIpv4(address);
}

/** Dotted quad or IPv6 text; undefined for anything else. */
export function parseIp(text: string): IpAddress | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

/** True for ff00::/8. */
export function isIpv6Multicast(address: Ipv6): boolean {
  return address >> 120n === 0xffn;
}

/** True for fe80::/10. */
export function isIpv6LinkLocal(address: Ipv6): boolean {
  return address >> 118n === 0x3fan;
}

/** True for a group address of either family. */
export function isMulticastIp(address: IpAddress): boolean {
  return typeof address === 'bigint' ? isIpv6Multicast(address) : isMulticast(address);
}

/** The 16 bytes of an IPv6 address, network order. */
export function ipv6Bytes(address: Ipv6): Uint8Array {
  if (address < 0n || address > IPV6_MAX) throw new RangeError('an IPv6 address is 128 bits');
  const out = new Uint8Array(16);
  let rest = address;
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** The IPv6 address in bytes[at, at + 16). */
export function readIpv6(bytes: Uint8Array, at: number): Ipv6 {
  let value = 0n;
  for (let i = 0; i < 16; i++) value = (value << 8n) | BigInt(bytes[at + i] as number);
  return value;
}
