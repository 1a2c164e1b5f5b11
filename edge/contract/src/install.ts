import { z } from 'zod';
import { Email } from './auth.ts';
import { idSchema } from './ids.ts';

/**
 * Whether a new workspace gets network: never (`off`), when its creator asks (`on_request`),
 * or every one (`always`). A git source does not need it: the clone runs on the runner host.
 */
export const WorkspaceNetworkPolicy = z.enum(['off', 'on_request', 'always']);
export type WorkspaceNetworkPolicy = z.infer<typeof WorkspaceNetworkPolicy>;

/** At most this many destinations in `egressAllow`, as the workload spec carries them. */
export const EGRESS_ALLOW_MAX = 64;

const octets = (ip: string) => ip.split('.').map(Number);
const toInt = (o: number[]) => ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;

/**
 * Ranges no admin may open to a workspace: "this network", loopback, link-local (cloud
 * metadata lives there) and multicast/reserved. The runner host's own loopback and
 * metadata addresses stay closed whatever the list says.
 */
const NEVER_ALLOWED: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['224.0.0.0', 3],
];

function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

function overlaps(a: number, aBits: number, b: number, bBits: number): boolean {
  const bits = Math.min(aBits, bBits);
  return ((a ^ b) & maskOf(bits)) >>> 0 === 0;
}

/**
 * One private destination a workspace may reach: an IPv4 address or CIDR block, with an
 * optional port (`10.0.0.0/8`, `192.168.1.20/32:5432`). Stored with its prefix length
 * (`10.1.2.3` becomes `10.1.2.3/32`) so the runner reads one form only.
 */
export const EgressDestination = z
  .string()
  .trim()
  .max(32)
  .transform((raw, ctx) => {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?(?::(\d{1,5}))?$/.exec(raw);
    const ip = m?.[1];
    const parts = ip ? octets(ip) : [];
    const bits = m?.[2] === undefined ? 32 : Number(m[2]);
    const port = m?.[3] === undefined ? undefined : Number(m[3]);
    if (
      !ip ||
      parts.some((o) => o > 255) ||
      bits > 32 ||
      (port !== undefined && (port < 1 || port > 65535))
    ) {
      ctx.addIssue({ code: 'custom', message: 'must be an IPv4 address or CIDR, with an optional :port' });
      return z.NEVER;
    }
    const addr = toInt(parts);
    if ((addr & ~maskOf(bits)) >>> 0 !== 0) {
      ctx.addIssue({ code: 'custom', message: 'has bits set past its prefix length' });
      return z.NEVER;
    }
    if (NEVER_ALLOWED.some(([net, netBits]) => overlaps(addr, bits, toInt(octets(net)), netBits))) {
      ctx.addIssue({ code: 'custom', message: 'loopback, link-local and reserved ranges cannot be allowed' });
      return z.NEVER;
    }
    return `${ip}/${bits}${port === undefined ? '' : `:${port}`}`;
  });

/** The install's settings document (one row of `install_settings`); absent fields take defaults. */
export const InstallSettings = z.strictObject({
  workspaceNetwork: WorkspaceNetworkPolicy.default('off'),
  egressAllow: z.array(EgressDestination).max(EGRESS_ALLOW_MAX).default([]),
  maxCpus: z.number().positive().max(64).default(8),
  maxMemoryMb: z.number().int().min(128).max(262_144).default(16_384),
  maxDiskMb: z.number().int().min(64).max(1_048_576).default(51_200),
});
export type InstallSettings = z.infer<typeof InstallSettings>;

/** `PUT /api/install/settings`: the fields given replace the current ones; the rest stay. */
export const UpdateInstallSettingsRequest = z.strictObject({
  workspaceNetwork: WorkspaceNetworkPolicy.optional(),
  egressAllow: z.array(EgressDestination).max(EGRESS_ALLOW_MAX).optional(),
  maxCpus: z.number().positive().max(64).optional(),
  maxMemoryMb: z.number().int().min(128).max(262_144).optional(),
  maxDiskMb: z.number().int().min(64).max(1_048_576).optional(),
});
export type UpdateInstallSettingsRequest = z.infer<typeof UpdateInstallSettingsRequest>;

export const InstallSettingsResponse = z.object({
  settings: InstallSettings,
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
});
export type InstallSettingsResponse = z.infer<typeof InstallSettingsResponse>;

/**
 * What any signed-in member may know of the install's policy, so a form offers only what
 * the install allows (no destinations: those are for install administrators).
 */
export const WorkspacePolicyResponse = z.object({
  workspaceNetwork: WorkspaceNetworkPolicy,
  maxCpus: z.number(),
  maxMemoryMb: z.number(),
  maxDiskMb: z.number(),
});
export type WorkspacePolicyResponse = z.infer<typeof WorkspacePolicyResponse>;

export const InstallAdmin = z.object({
  id: idSchema('user'),
  email: z.string(),
  name: z.string(),
});
export type InstallAdmin = z.infer<typeof InstallAdmin>;
export const ListInstallAdminsResponse = z.object({ admins: z.array(InstallAdmin) });
export type ListInstallAdminsResponse = z.infer<typeof ListInstallAdminsResponse>;

/** Grants install administration to an existing account, named by its e-mail address. */
export const GrantInstallAdminRequest = z.strictObject({ email: Email });
export type GrantInstallAdminRequest = z.infer<typeof GrantInstallAdminRequest>;
