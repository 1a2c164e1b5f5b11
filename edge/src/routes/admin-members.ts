import { memberRoutes } from '@keel/contract/api/members';
import { type Role, roleRank } from '@keel/contract/auth';
import { idSchema } from '@keel/contract/ids';
import {
  ChangeRoleRequest,
  ListMembersQuery,
  type Member,
  MemberParams,
  MemberSource,
  RemoveMemberRequest,
} from '@keel/contract/members';
import { memberships, users } from '@keel/drizzle/schema';
import { and, asc, eq, gt, ilike, isNull, ne, or, type SQL } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readParams, readQuery } from '../http/validate.ts';
import { endAccessInTx, forgetEndedAccess, recheckOpenSessions } from '../members/end-access.ts';
import {
  assertMember,
  assertNotLastSuperAdmin,
  type LockedMembership,
  lockMembership,
} from '../members/membership-lock.ts';
import { handOverInTx, sendHandoverJobs } from '../members/workspace-handover.ts';
import { assertPermission } from '../middleware/require-permission.ts';
import type { Services } from '../services.ts';

const SOURCE = MemberSource.catch('password');

const memberColumns = {
  userId: users.id,
  email: users.email,
  name: users.name,
  source: users.source,
  lastSignInAt: users.lastSignInAt,
  role: memberships.role,
  disabledAt: memberships.disabledAt,
  createdAt: memberships.createdAt,
};

function memberView(row: {
  userId: string;
  email: string;
  name: string;
  source: string;
  lastSignInAt: Date | null;
  role: Role;
  disabledAt: Date | null;
  createdAt: Date;
}): Member {
  return {
    userId: row.userId,
    email: row.email,
    name: row.name,
    role: row.role,
    source: SOURCE.parse(row.source),
    lastSignInAt: row.lastSignInAt?.toISOString() ?? null,
    disabledAt: row.disabledAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

async function loadMember(services: Services, orgId: string, userId: string): Promise<Member> {
  const [row] = await services.db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.organizationId, orgId), eq(memberships.userId, userId)))
    .limit(1);
  if (!row) throw new ApiError('not_found', 'No such member');
  return memberView(row);
}

/** The target's id from the path; a malformed one is as unknown as another organization's. */
function targetId(c: Context<AppEnv>): string {
  const { userId } = readParams(c, MemberParams);
  if (!idSchema('user').safeParse(userId).success) throw new ApiError('not_found', 'No such member');
  return userId;
}

/**
 * Admins manage the people at or below them; super_admins (their role, making one, disabling or
 * removing one) are for holders of `signin:manage`. Checked once the target's role is locked.
 */
async function assertMayManage(c: Context<AppEnv>, locked: LockedMembership, newRole?: Role): Promise<void> {
  const p = c.get('principal');
  if (locked.role === 'super_admin' || newRole === 'super_admin') await assertPermission(c, 'signin:manage');
  if (roleRank[locked.role] > roleRank[p.role]) {
    throw new ApiError('forbidden', `An ${p.role} cannot change a ${locked.role}`);
  }
  if (newRole && roleRank[newRole] > roleRank[p.role]) {
    throw new ApiError('forbidden', `An ${p.role} cannot grant the ${newRole} role`);
  }
}

function notSelf(c: Context<AppEnv>, userId: string, what: string): void {
  if (userId === c.get('principal').userId) {
    throw new ApiError('conflict', `You cannot ${what} yourself; ask another admin`);
  }
}

/** Escapes LIKE's wildcards, so a search for `50%` finds that text. */
function likeText(text: string): string {
  return `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

function decodeCursor(cursor: string): string {
  try {
    const email = new TextDecoder('utf-8', { fatal: true }).decode(
      Uint8Array.from(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0)),
    );
    // PostgreSQL text cannot hold NUL: such a cursor was never given out.
    if (email.includes('\u0000')) throw new Error('NUL');
    return email;
  } catch {
    throw new ApiError('validation_failed', 'Query string is invalid', [
      { path: 'cursor', message: 'not a cursor this list gave out' },
    ]);
  }
}

function encodeCursor(email: string): string {
  const bytes = new TextEncoder().encode(email);
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/** Admin console: the organization's members. Every route needs `members:manage`. */
export function adminMemberRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/admin/members');

  on(memberRoutes.listMembers, async (c) => {
    const { db } = c.get('services');
    const p = c.get('principal');
    const query = readQuery(c, ListMembersQuery);
    const where: SQL[] = [eq(memberships.organizationId, p.organizationId)];
    if (query.role) where.push(eq(memberships.role, query.role));
    if (query.q) where.push(or(ilike(users.name, likeText(query.q)), ilike(users.email, likeText(query.q)))!);
    // E-mail addresses are unique and stored lower-cased: a stable order and a simple cursor.
    if (query.cursor) where.push(gt(users.email, decodeCursor(query.cursor)));
    const rows = await db
      .select(memberColumns)
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(...where))
      .orderBy(asc(users.email))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    return reply(c, memberRoutes.listMembers, 200, {
      members: page.map(memberView),
      next: rows.length > query.limit ? encodeCursor(page.at(-1)!.email) : null,
    });
  });

  on(memberRoutes.changeMemberRole, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const userId = targetId(c);
    const { role } = await readJson(c, ChangeRoleRequest);
    const from = await services.db.transaction(async (tx) => {
      const locked = await lockMembership(tx, p.organizationId, userId);
      await assertMayManage(c, locked, role);
      if (locked.role === role) return locked.role;
      if (role !== 'super_admin') assertNotLastSuperAdmin(locked, 'demoted');
      await tx
        .update(memberships)
        .set({ role })
        .where(and(eq(memberships.organizationId, p.organizationId), eq(memberships.userId, userId)));
      return locked.role;
    });
    if (from !== role) {
      await recheckOpenSessions(services, userId, p.organizationId);
      await appendAudit(services, {
        action: 'member.role_change',
        outcome: 'success',
        actorId: p.userId,
        organizationId: p.organizationId,
        targetId: userId,
        metadata: { from, to: role },
      });
    }
    return reply(c, memberRoutes.changeMemberRole, 200, {
      member: await loadMember(services, p.organizationId, userId),
    });
  });

  on(memberRoutes.disableMember, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const userId = targetId(c);
    notSelf(c, userId, 'disable');
    const now = services.clock.now();
    const ended = await services.db.transaction(async (tx) => {
      const locked = await lockMembership(tx, p.organizationId, userId);
      await assertMayManage(c, locked);
      if (locked.disabledAt) return undefined;
      assertNotLastSuperAdmin(locked, 'disabled');
      await tx
        .update(memberships)
        .set({ disabledAt: now })
        .where(and(eq(memberships.organizationId, p.organizationId), eq(memberships.userId, userId)));
      return endAccessInTx(tx, now, userId, p.organizationId, 'member disabled');
    });
    if (ended) {
      await forgetEndedAccess(services, ended);
      await appendAudit(services, {
        action: 'member.disable',
        outcome: 'success',
        actorId: p.userId,
        organizationId: p.organizationId,
        targetId: userId,
        metadata: { sessionsEnded: ended.sessionIds.length, tokensRevoked: ended.tokens.length },
      });
    }
    return reply(c, memberRoutes.disableMember, 200, {
      member: await loadMember(services, p.organizationId, userId),
    });
  });

  on(memberRoutes.enableMember, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const userId = targetId(c);
    const changed = await services.db.transaction(async (tx) => {
      const locked = await lockMembership(tx, p.organizationId, userId);
      await assertMayManage(c, locked);
      if (!locked.disabledAt) return false;
      await tx
        .update(memberships)
        .set({ disabledAt: null })
        .where(and(eq(memberships.organizationId, p.organizationId), eq(memberships.userId, userId)));
      return true;
    });
    if (changed) {
      await appendAudit(services, {
        action: 'member.enable',
        outcome: 'success',
        actorId: p.userId,
        organizationId: p.organizationId,
        targetId: userId,
      });
    }
    return reply(c, memberRoutes.enableMember, 200, {
      member: await loadMember(services, p.organizationId, userId),
    });
  });

  on(memberRoutes.removeMember, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const userId = targetId(c);
    await assertMember(services.db, p.organizationId, userId);
    const input = await readJson(c, RemoveMemberRequest);
    notSelf(c, userId, 'remove');
    const transferTo = input.workspaces === 'transfer' ? input.transferTo! : null;
    if (transferTo === userId) {
      throw new ApiError('validation_failed', 'Request body is invalid', [
        { path: 'transferTo', message: 'the workspaces go to someone who stays' },
      ]);
    }
    const now = services.clock.now();
    const done = await services.db.transaction(async (tx) => {
      const locked = await lockMembership(tx, p.organizationId, userId);
      await assertMayManage(c, locked);
      assertNotLastSuperAdmin(locked, 'removed');
      if (transferTo) {
        // The receiver must stay an enabled admin while the workspaces change hands.
        const [receiver] = await tx
          .select({ role: memberships.role })
          .from(memberships)
          .where(
            and(
              eq(memberships.organizationId, p.organizationId),
              eq(memberships.userId, transferTo),
              isNull(memberships.disabledAt),
              ne(memberships.role, 'viewer'),
              ne(memberships.role, 'developer'),
            ),
          )
          .for('share');
        if (!receiver)
          throw new ApiError(
            'not_found',
            'No such enabled admin in the organization to receive the workspaces',
          );
      }
      const ended = await endAccessInTx(tx, now, userId, p.organizationId, 'member removed');
      const rows = await handOverInTx(tx, now, userId, p.organizationId, transferTo);
      await tx
        .delete(memberships)
        .where(and(eq(memberships.organizationId, p.organizationId), eq(memberships.userId, userId)));
      return { ended, rows, role: locked.role };
    });
    await forgetEndedAccess(services, done.ended);
    await sendHandoverJobs(services, done.rows, input.workspaces, p.userId);
    await appendAudit(services, {
      action: 'member.remove',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      targetId: userId,
      metadata: {
        role: done.role,
        workspaces: input.workspaces,
        workspaceCount: done.rows.length,
        transferTo,
        sessionsEnded: done.ended.sessionIds.length,
        tokensRevoked: done.ended.tokens.length,
      },
    });
    return reply(c, memberRoutes.removeMember, 200, {
      userId,
      workspaces: {
        transferred: transferTo ? done.rows.length : 0,
        deleted: transferTo ? 0 : done.rows.length,
        transferTo,
      },
    });
  });

  return app;
}
