import { z } from 'zod';
import { Email } from './auth.ts';
import {
  EGRESS_ALLOW_MAX,
  EgressDestination,
  ipv4ToNumber,
  parseEgressDestination,
  prefixMask,
} from './egress.ts';
import { idSchema } from './ids.ts';
import { DEFAULT_PLACEMENT_POLICY, PlacementPolicy } from './placement.ts';

/**
 * Whether a new workspace gets network: never (`off`), when its creator asks (`on_request`),
 * or every one (`always`). A git source does not need it: the clone runs on the runner host.
 */
export const WorkspaceNetworkPolicy = z.enum(['off', 'on_request', 'always']);
export type WorkspaceNetworkPolicy = z.infer<typeof WorkspaceNetworkPolicy>;

/**
 * Ranges no admin may open to a workspace: "this network", loopback, link-local (cloud
 * metadata lives there) and multicast/reserved. The runner host's own addresses stay closed
 * whatever the list says.
 */
const NEVER_ALLOWED: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['224.0.0.0', 3],
];

function overlapsNeverAllowed(destination: string): boolean {
  const { address, prefix } = parseEgressDestination(destination);
  const addr = ipv4ToNumber(address);
  return NEVER_ALLOWED.some(([net, bits]) => {
    const mask = prefixMask(Math.min(prefix, bits));
    return ((addr ^ ipv4ToNumber(net)) & mask) >>> 0 === 0;
  });
}

/**
 * One private destination an admin opens to workspaces: the workload spec's form (a CIDR with
 * an optional port), where a bare address stands for that one host (`10.1.2.3` is stored as
 * `10.1.2.3/32`), so the runner reads one form only.
 */
export const AdminEgressDestination = z
  .string()
  .trim()
  .max(32)
  .transform((raw) => raw.replace(/^(\d{1,3}(?:\.\d{1,3}){3})(?=:|$)/, '$1/32'))
  .pipe(EgressDestination)
  .refine((s) => !overlapsNeverAllowed(s), 'loopback, link-local and reserved ranges cannot be allowed');

/** The install's settings document (one row of `install_settings`); absent fields take defaults. */
export const InstallSettings = z.strictObject({
  workspaceNetwork: WorkspaceNetworkPolicy.default('off'),
  egressAllow: z.array(AdminEgressDestination).max(EGRESS_ALLOW_MAX).default([]),
  maxCpus: z.number().positive().max(64).default(8),
  maxMemoryMb: z.number().int().min(128).max(262_144).default(16_384),
  maxDiskMb: z.number().int().min(64).max(1_048_576).default(51_200),
  /** The placement policy of organizations that set none. */
  placementPolicy: PlacementPolicy.default(DEFAULT_PLACEMENT_POLICY),
});
export type InstallSettings = z.infer<typeof InstallSettings>;

/** `PUT /api/install/settings`: the fields given replace the current ones; the rest stay. */
export const UpdateInstallSettingsRequest = z.strictObject({
  workspaceNetwork: WorkspaceNetworkPolicy.optional(),
  egressAllow: z.array(AdminEgressDestination).max(EGRESS_ALLOW_MAX).optional(),
  maxCpus: z.number().positive().max(64).optional(),
  maxMemoryMb: z.number().int().min(128).max(262_144).optional(),
  maxDiskMb: z.number().int().min(64).max(1_048_576).optional(),
  placementPolicy: PlacementPolicy.optional(),
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
