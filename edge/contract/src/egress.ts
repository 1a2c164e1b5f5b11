import { z } from 'zod';

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const CIDR_RE = new RegExp(`^${OCTET}(\\.${OCTET}){3}/(3[0-2]|[12]?\\d)(:[1-9]\\d{0,4})?$`);

/**
 * One destination a workspace with network may reach although it lies in a range closed by
 * default (private, link-local…): an IPv4 CIDR, optionally with one port ("10.1.2.0/24",
 * "10.1.2.3/32:5432"). The network part must have no host bits set, so what an admin wrote
 * is exactly what is opened.
 */
export const EgressDestination = z
  .string()
  .regex(CIDR_RE, 'an IPv4 CIDR such as 10.1.2.0/24, optionally with a port: 10.1.2.3/32:5432')
  .refine((s) => {
    const { port } = parseEgressDestination(s);
    return port === undefined || port <= 65535;
  }, 'port must be 1-65535')
  .refine((s) => {
    const { address, prefix } = parseEgressDestination(s);
    return (ipv4ToNumber(address) & ~prefixMask(prefix)) >>> 0 === 0;
  }, 'the address has bits set beyond the prefix length');

/** At most this many destinations in `egressAllow`. */
export const EGRESS_ALLOW_MAX = 64;

/** Destinations opened to a workspace's network beyond the public internet. */
export const EgressAllow = z.array(EgressDestination).max(EGRESS_ALLOW_MAX);

export interface ParsedEgressDestination {
  address: string;
  prefix: number;
  port?: number;
}

/** Splits a destination already checked by `EgressDestination`. */
export function parseEgressDestination(s: string): ParsedEgressDestination {
  const [cidr = '', port] = s.split(':');
  const [address = '', prefix = '32'] = cidr.split('/');
  return port === undefined
    ? { address, prefix: Number(prefix) }
    : { address, prefix: Number(prefix), port: Number(port) };
}

/** The network mask of a prefix length, as an unsigned 32-bit number. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
}
