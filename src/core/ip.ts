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
