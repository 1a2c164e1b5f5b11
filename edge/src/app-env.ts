import type { Role } from '@keel/contract/auth';
import { type Permission, roleHas } from '@keel/contract/permissions';
import type { TraceSpan } from '@keel/contract/trace';
import type { Context } from 'hono';
import type { Services } from './services.ts';

/** Who is calling, as established by the auth middleware from a verified token and the database. */
export interface Principal {
  userId: string;
  organizationId: string;
  role: Role;
  /** An install administrator (users.install_admin), apart from any organization role. */
  installAdmin: boolean;
  sessionId: string;
  via: 'bearer' | 'cookie';
  /**
   * Set when the caller presented a personal access token: its scopes. What the caller may do
   * is then its role's permissions that are also among these (see principalPermits).
   */
  tokenPermissions?: ReadonlySet<Permission>;
}

/** Whether the principal holds `permission`: by its role, and by its token's scopes if it used one. */
export function principalPermits(p: Principal, permission: Permission): boolean {
  if (!roleHas(p.role, permission)) return false;
  return p.tokenPermissions ? p.tokenPermissions.has(permission) : true;
}

export type AppEnv = {
  Variables: {
    requestId: string;
    /** This request's span of its trace (continuing the caller's `traceparent`, if any). */
    trace: TraceSpan;
    services: Services;
    principal: Principal;
    /** The client's address as the runtime's entry sees it (proxy headers only when trusted). */
    clientIp: (c: Context) => string | undefined;
    /** Set by the runner-credential middleware on runner routes. */
    runnerId: string;
    /**
     * What the app-wide middlewares put on every answer (request id, security policy, request
     * limits), lower-case names: see http/answer-headers.ts.
     */
    answerHeaders: Record<string, string>;
  };
};
