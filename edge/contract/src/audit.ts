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

const Action = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9_.]+$/, 'an action such as file.write');

/** What narrows the trail, for a page and for an export alike. */
const auditFilters = {
  /** One action exactly. */
  action: Action.optional(),
  /** Actions that start with it (`invitation.` for every invitation action); matched literally. */
  actionPrefix: Action.optional(),
  actorId: Id.optional(),
  workspaceId: Id.optional(),
  outcome: AuditOutcome.optional(),
  from: Time.optional(),
  to: Time.optional(),
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, 'a cursor from a previous page')
    .optional(),
};

const fromBeforeTo: [
  (q: { from?: string | undefined; to?: string | undefined }) => boolean,
  { message: string; path: string[] },
] = [
  (q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to),
  { message: '`from` must be before `to`', path: ['from'] },
];

/** The filters as both queries share them, for code that builds or reads them (the console, the edge). */
export type AuditFilters = {
  [K in keyof typeof auditFilters]?: z.output<(typeof auditFilters)[K]>;
};

/**
 * `GET /api/admin/audit`: newest first. `from` is inclusive and `to` exclusive; `cursor` is
 * the `nextCursor` of the previous page. `format=csv|json` answers a download of the page.
 */
export const AuditListQuery = z
  .strictObject({
    ...auditFilters,
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    format: z.enum(['json', 'csv']).optional(),
  })
  .refine(...fromBeforeTo);
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

/** The most rows one export carries; past it the answer says where to go on (`X-Next-Cursor`). */
export const AUDIT_EXPORT_MAX_ROWS = 100_000;

/**
 * `GET /api/admin/audit/export`: the filtered trail as a streamed download, newest first, one
 * event per line (`jsonl`) or per CSV row (`csv`, formula-safe cells). At most `limit` rows;
 * when more match, the `X-Next-Cursor` header is the `cursor` that continues after the last.
 */
export const AuditExportQuery = z
  .strictObject({
    ...auditFilters,
    format: z.enum(['jsonl', 'csv']),
    limit: z.coerce.number().int().min(1).max(AUDIT_EXPORT_MAX_ROWS).default(AUDIT_EXPORT_MAX_ROWS),
  })
  .refine(...fromBeforeTo);
export type AuditExportQuery = z.infer<typeof AuditExportQuery>;
