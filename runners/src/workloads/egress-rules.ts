import { networkInterfaces } from 'node:os';
import { parseEgressDestination } from '@keel/contract/egress';

/** slirp4netns' fixed addresses inside a workspace's namespace. */
export const SLIRP_GATEWAY = '10.0.2.2';
export const SLIRP_DNS = '10.0.2.3';

/**
 * Ranges a workspace never reaches unless an admin lists a destination inside them: this
 * host and its neighbours, private networks, link-local (cloud metadata), multicast and
 * reserved space. The rest, the public internet, stays open.
 */
export const CLOSED_RANGES = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
];

export const EGRESS_TABLE = 'keel_egress';

export interface EgressRuleInput {
  /** The runner host's own IPv4 addresses: closed even when an admin's range covers them. */
  hostAddresses: string[];
  /** Checked destinations (`EgressDestination`), opened despite the closed ranges. */
  allow: string[];
}

/**
 * The nft script for a workspace's own network namespace. It replaces the table whole, so
 * running it again (each start, with the host's current addresses) is how rules are refreshed.
 * The host's addresses and slirp's gateway come before the admin's list: a listed range never
 * opens the runner host itself, where the control plane lives.
 */
export function egressRules(input: EgressRuleInput): string {
  const rules = ['oifname "lo" accept', 'meta nfproto ipv6 drop'];
  for (const address of [SLIRP_GATEWAY, ...new Set(input.hostAddresses)])
    rules.push(`ip daddr ${address} drop`);
  rules.push(`ip daddr ${SLIRP_DNS} meta l4proto { tcp, udp } th dport 53 accept`);
  for (const entry of input.allow) {
    const { address, prefix, port } = parseEgressDestination(entry);
    const match = `ip daddr ${address}/${prefix}`;
    rules.push(
      port === undefined ? `${match} accept` : `${match} meta l4proto { tcp, udp } th dport ${port} accept`,
    );
  }
  for (const range of CLOSED_RANGES) rules.push(`ip daddr ${range} drop`);
  return [
    `table inet ${EGRESS_TABLE}`,
    `delete table inet ${EGRESS_TABLE}`,
    `table inet ${EGRESS_TABLE} {`,
    '  chain output {',
    '    type filter hook output priority 0; policy accept;',
    ...rules.map((r) => `    ${r}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The IPv4 addresses this host has right now, loopback aside (127/8 is closed whole). */
export function hostIPv4Addresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out.sort();
}
