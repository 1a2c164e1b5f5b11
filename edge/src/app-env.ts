import type { Role } from '@keel/contract/auth';
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
}

export type AppEnv = {
  Variables: {
    requestId: string;
    services: Services;
    principal: Principal;
    /** Set by the runner-credential middleware on runner routes. */
    runnerId: string;
    /** What the security-headers middleware puts on every response, as name/value pairs. */
    securityHeaders: ReadonlyArray<readonly [string, string]>;
  };
};
