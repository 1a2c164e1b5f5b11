import { AuditOutcome } from '@keel/contract/audit';

/** The Audit page's filter form as typed: every field a string, empty when unused. */
export interface AuditFilterForm {
  /** An action (`invitation.create`), or a prefix ending in `.` or `*` (`invitation.`, `runner*`). */
  action: string;
  actorId: string;
  workspaceId: string;
  /** '' for any outcome. */
  outcome: string;
  /** `YYYY-MM-DDTHH:mm` from a datetime-local input, in the browser's time zone. */
  from: string;
  to: string;
}

export const EMPTY_AUDIT_FILTERS: AuditFilterForm = {
  action: '',
  actorId: '',
  workspaceId: '',
  outcome: '',
  from: '',
  to: '',
};

/** What the API takes, the same names as its query (absent when unused). */
export interface AuditQuery {
  action?: string;
  actionPrefix?: string;
  actorId?: string;
  workspaceId?: string;
  outcome?: AuditOutcome;
  from?: string;
  to?: string;
}

export type BuiltAuditQuery =
  | { ok: true; query: AuditQuery }
  | { ok: false; field: keyof AuditFilterForm; message: string };

const ACTION = /^[a-z0-9_.]{1,100}$/;
const ID = /^[a-z]+_[a-z2-7]+$/;

/**
 * The form as the API's query, checked as the API checks it so a mistake is said next to its
 * field rather than as a 422. A trailing `.` or `*` asks for every action that starts with it.
 */
export function buildAuditQuery(form: AuditFilterForm, parseLocal = parseLocalTime): BuiltAuditQuery {
  const query: AuditQuery = {};
  const action = form.action.trim().toLowerCase();
  if (action) {
    const prefix = action.endsWith('*') ? action.slice(0, -1) : action.endsWith('.') ? action : undefined;
    const name = prefix ?? action;
    if (!ACTION.test(name)) {
      return {
        ok: false,
        field: 'action',
        message: 'Letters, digits, _ and . only, such as invitation.create',
      };
    }
    if (prefix !== undefined) query.actionPrefix = prefix;
    else query.action = action;
  }
  for (const field of ['actorId', 'workspaceId'] as const) {
    const value = form[field].trim();
    if (!value) continue;
    if (value.length > 64 || !ID.test(value)) {
      return {
        ok: false,
        field,
        message: field === 'actorId' ? 'A person’s id, such as usr_…' : 'A workspace id, such as ws_…',
      };
    }
    query[field] = value;
  }
  if (form.outcome) {
    const outcome = AuditOutcome.safeParse(form.outcome);
    if (!outcome.success) return { ok: false, field: 'outcome', message: 'Pick an outcome' };
    query.outcome = outcome.data;
  }
  for (const field of ['from', 'to'] as const) {
    if (!form[field]) continue;
    const at = parseLocal(form[field]);
    if (at === undefined) return { ok: false, field, message: 'A date and time' };
    query[field] = at.toISOString();
  }
  if (query.from && query.to && Date.parse(query.from) >= Date.parse(query.to)) {
    return { ok: false, field: 'to', message: 'Must be after “From”' };
  }
  return { ok: true, query };
}

/** A datetime-local value in the browser's zone; undefined when it is not one. */
export function parseLocalTime(value: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** The query string for the query (stable order, URL-encoded), with extra parameters such as `format`. */
export function auditQueryString(query: AuditQuery, extra: Record<string, string> = {}): string {
  const pairs = Object.entries({ ...query, ...extra })
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return pairs.length ? `?${pairs.join('&')}` : '';
}

/** Whether any filter is set: the empty state then says "nothing matches", not "nothing yet". */
export function isFiltered(query: AuditQuery): boolean {
  return Object.values(query).some((v) => v !== undefined && v !== '');
}

/** The verdict of a chain check, in a sentence. */
export function describeVerdict(v: {
  ok: boolean;
  checked: number;
  firstBadSeq?: number | undefined;
}): string {
  const rows = `${v.checked} ${v.checked === 1 ? 'entry' : 'entries'}`;
  if (v.ok) return `The chain is intact: ${rows} checked against the sealed head.`;
  return `The chain breaks at entry #${v.firstBadSeq ?? v.checked + 1}: ${rows} before it are sound; that entry or a later one was changed, removed or added.`;
}
