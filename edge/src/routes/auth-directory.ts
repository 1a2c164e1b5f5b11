import { identityRoutes as routes } from '@keel/contract/api/identity';
import { LdapLoginRequest, type LdapLoginResponse, ProviderKind } from '@keel/contract/identity';
import { identityProviders } from '@keel/drizzle/schema';
import { asc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { limitSignInAttempts } from '../accounts/sign-in-limits.ts';
import { userView } from '../accounts/views.ts';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { sha256Hex } from '../auth/bytes.ts';
import { openSession } from '../auth/sessions.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson } from '../http/validate.ts';
import { admitDirectoryPerson } from '../ldap/directory-sign-in.ts';
import { type DirectoryLoader, loadDirectory } from '../ldap/ldap-runtime.ts';
import { ldapProviderBySlug, openBindPassword } from '../ldap/provider-store.ts';
import { environmentProvidersReady } from '../sso/environment-providers.ts';
import { readSignInSettings } from '../sso/sign-in-settings.ts';
import { type ClientIp, issueTokens } from './auth.ts';

/** Refusals of unknown names and wrong passwords take at least this long, so timing tells them apart no better than the answer. */
const REFUSAL_FLOOR_MS = 300;

/** The public side of sign-in providers: which ones the sign-in page offers, and directory sign-in. */
export function directoryAuthRoutes(options: { clientIp: ClientIp; directory?: DirectoryLoader }) {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/auth');

  on(routes.publicProviders, async (c) => {
    const services = c.get('services');
    await environmentProvidersReady(services);
    const rows = await services.db
      .select({
        name: identityProviders.name,
        slug: identityProviders.slug,
        kind: identityProviders.kind,
        organizationId: identityProviders.organizationId,
      })
      .from(identityProviders)
      .where(eq(identityProviders.enabled, true))
      .orderBy(asc(identityProviders.name))
      .limit(100);
    const providers = rows.flatMap((r) => {
      const kind = ProviderKind.safeParse(r.kind);
      if (!kind.success) return [];
      const startUrl = kind.data === 'ldap' ? null : `/api/auth/sso/${r.slug}/start`;
      return [{ name: r.name, slug: r.slug, kind: kind.data, startUrl }];
    });
    // The page leads with providers when no organization that has them still takes passwords.
    const organizations = [...new Set(rows.map((r) => r.organizationId))];
    let passwordSignIn = organizations.length === 0;
    for (const org of organizations) {
      const settings = await readSignInSettings(services, org);
      if (settings.passwordEnabled && !settings.requireSso) passwordSignIn = true;
    }
    return reply(c, routes.publicProviders, 200, { providers, passwordSignIn });
  });

  on(routes.ldapLogin, async (c) => {
    const services = c.get('services');
    await environmentProvidersReady(services);
    const input = await readJson(c, LdapLoginRequest);
    await limitSignInAttempts(
      c,
      options.clientIp(c),
      `ldap:${input.provider}:${input.username.toLowerCase()}`,
    );
    const directory = await loadDirectory(options.directory);
    const started = Date.now();
    const refuse = async (reason: string): Promise<never> => {
      services.metrics.signInFailed('directory');
      await appendAudit(services, {
        action: 'auth.ldap_login',
        outcome: 'failure',
        organizationId: provider?.row.organizationId ?? null,
        targetId: provider?.row.id ?? null,
        metadata: { usernameSha256: sha256Hex(input.username), reason },
      });
      const wait = REFUSAL_FLOOR_MS - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      throw new ApiError('invalid_credentials', 'Username or password is incorrect');
    };
    const provider = await ldapProviderBySlug(services, input.provider);
    if (!provider) return refuse('no_provider');
    let checked: Awaited<ReturnType<typeof directory.checkCredentials>>;
    try {
      checked = await directory.checkCredentials(
        provider.config,
        await openBindPassword(services, provider.row),
        input.username,
        input.password,
      );
    } catch (err) {
      if (!(err instanceof directory.DirectoryError)) throw err;
      await appendAudit(services, {
        action: 'auth.ldap_login',
        outcome: 'failure',
        organizationId: provider.row.organizationId,
        targetId: provider.row.id,
        metadata: { reason: err.code },
      });
      throw new ApiError('directory_unavailable', `The directory could not check the password (${err.code})`);
    }
    if (checked.kind === 'invalid') return refuse('invalid_credentials');
    const admitted = await admitDirectoryPerson(services, provider, checked.person);
    const session = await openSession(services, admitted.user.id, admitted.organizationId);
    await appendAudit(services, {
      action: 'auth.ldap_login',
      outcome: 'success',
      actorId: admitted.user.id,
      organizationId: admitted.organizationId,
      targetId: session.sessionId,
      metadata: { provider: provider.row.id, role: admitted.role },
    });
    const tokens = await issueTokens(
      c,
      { userId: admitted.user.id, organizationId: admitted.organizationId, role: admitted.role },
      session,
    );
    const body: LdapLoginResponse = { user: userView(admitted.user), ...tokens };
    return reply(c, routes.ldapLogin, 200, body);
  });

  return app;
}
