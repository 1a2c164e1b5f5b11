import { z } from 'zod';

/**
 * The audit trail as admins read it: ids, hashes, sizes and outcomes, never text. Each
 * organization's events form one hash chain; `seq` is the position in it.
 */
export const AuditOutcome = z.enum(['success', 'failure', 'denied']);
export type AuditOutcome = z.infer<typeof AuditOutcome>;

export const AuditMetadata = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));

export const AuditEvent = z.object({
  seq: z.number().int().positive(),
  at: z.string(),
  action: z.string(),
  outcome: AuditOutcome,
  actorId: z.string().nullable(),
  workspaceId: z.string().nullable(),
  targetId: z.string().nullable(),
  metadata: AuditMetadata,
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEvent = z.infer<typeof AuditEvent>;

const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z]+_[a-z2-7]+$/, 'an id such as usr_… or ws_…');
const Time = z.iso.datetime({ offset: true });

/**
 * `GET /api/admin/audit`: newest first. `from` is inclusive and `to` exclusive; `cursor` is
 * the `nextCursor` of the previous page. `format=csv|json` answers a download.
 */
export const AuditListQuery = z
  .strictObject({
    action: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[a-z0-9_.]+$/, 'an action such as file.write')
      .optional(),
    actorId: Id.optional(),
    workspaceId: Id.optional(),
    outcome: AuditOutcome.optional(),
    from: Time.optional(),
    to: Time.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z
      .string()
      .regex(/^[1-9][0-9]{0,14}$/, 'a cursor from a previous page')
      .optional(),
    format: z.enum(['json', 'csv']).optional(),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), {
    message: '`from` must be before `to`',
    path: ['from'],
  });
export type AuditListQuery = z.infer<typeof AuditListQuery>;

export const AuditListResponse = z.object({
  events: z.array(AuditEvent),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type AuditListResponse = z.infer<typeof AuditListResponse>;

/** `GET /api/admin/audit/verify`: the organization's chain recomputed and checked against its sealed head. */
export const AuditVerifyResponse = z.object({
  ok: z.boolean(),
  checked: z.number().int().nonnegative(),
  firstBadSeq: z.number().int().positive().optional(),
});
export type AuditVerifyResponse = z.infer<typeof AuditVerifyResponse>;
