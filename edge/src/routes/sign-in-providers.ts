import { identityRoutes as routes } from '@keel/contract/api/identity';
import {
  LdapConfig,
  ProviderIdParam,
  SaveProviderRequest,
  TestProviderRequest,
  type TestProviderResponse,
} from '@keel/contract/identity';
import { identityProviders } from '@keel/drizzle/schema';
import { and, asc, eq } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readParams } from '../http/validate.ts';
import { newId } from '../ids.ts';
import { roleForGroups } from '../ldap/ldap-roles.ts';
import { type DirectoryLoader, loadDirectory } from '../ldap/ldap-runtime.ts';
import {
  IDENTITY_PROVIDER_PURPOSE,
  openBindPassword,
  parseLdap,
  providerOf,
  providerView,
} from '../ldap/provider-store.ts';
import { isUniqueViolation } from '../servers/store.ts';

async function audit(
  c: Context<AppEnv>,
  action: string,
  providerId: string,
  metadata: Record<string, string>,
) {
  const p = c.get('principal');
  await appendAudit(c.get('services'), {
    action,
    outcome: 'success',
    actorId: p.userId,
    organizationId: p.organizationId,
    targetId: providerId,
    metadata: { permission: 'signin:manage', ...metadata },
  });
}

/** The super admin's sign-in providers: list, add or change, remove, test. */
export function signInProviderRoutes(options: { directory?: DirectoryLoader }) {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/admin/sign-in');

  on(routes.listProviders, async (c) => {
    const rows = await c
      .get('services')
      .db.select()
      .from(identityProviders)
      .where(eq(identityProviders.organizationId, c.get('principal').organizationId))
      .orderBy(asc(identityProviders.name))
      .limit(200);
    return reply(c, routes.listProviders, 200, { providers: rows.map(providerView) });
  });

  on(routes.saveProvider, async (c) => {
    const services = c.get('services');
    const org = c.get('principal').organizationId;
    const input = await readJson(c, SaveProviderRequest);
    if (input.kind !== 'ldap')
      throw new ApiError('validation_failed', 'Single sign-on providers are not available yet', [
        { path: 'kind', message: 'only ldap for now' },
      ]);
    const { bindPassword, ...rest } = input.config;
    const config = LdapConfig.parse(rest);
    const existing = input.id ? await providerOf(services, org, input.id) : undefined;
    if (!bindPassword && !existing?.secretSealed)
      throw new ApiError('validation_failed', 'The directory needs a bind password', [
        { path: 'config.bindPassword', message: 'required when adding a directory' },
      ]);
    const secretSealed = bindPassword
      ? await services.box.seal(bindPassword, IDENTITY_PROVIDER_PURPOSE)
      : (existing?.secretSealed ?? null);
    const values = {
      kind: input.kind,
      name: input.name,
      slug: input.slug,
      enabled: input.enabled,
      config: config as Record<string, unknown>,
      secretSealed,
    };
    let row: typeof identityProviders.$inferSelect | undefined;
    try {
      if (existing) {
        [row] = await services.db
          .update(identityProviders)
          .set({ ...values, updatedAt: services.clock.now() })
          .where(and(eq(identityProviders.id, existing.id), eq(identityProviders.organizationId, org)))
          .returning();
      } else {
        [row] = await services.db
          .insert(identityProviders)
          .values({ id: newId('identityProvider'), organizationId: org, ...values })
          .returning();
      }
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError('conflict', `The slug "${input.slug}" is taken`);
      throw err;
    }
    if (!row) throw new ApiError('not_found', 'No such sign-in provider');
    await audit(c, existing ? 'signin.provider_update' : 'signin.provider_create', row.id, {
      kind: row.kind,
      bindPasswordChanged: bindPassword ? 'yes' : 'no',
    });
    if (existing) return reply(c, routes.saveProvider, 200, providerView(row));
    return reply(c, routes.saveProvider, 201, providerView(row));
  });

  on(routes.deleteProvider, async (c) => {
    const services = c.get('services');
    const { id } = readParams(c, ProviderIdParam);
    const row = await providerOf(services, c.get('principal').organizationId, id);
    await services.db.delete(identityProviders).where(eq(identityProviders.id, row.id));
    await audit(c, 'signin.provider_delete', row.id, { kind: row.kind });
    return c.body(null, 204);
  });

  on(routes.testProvider, async (c) => {
    const services = c.get('services');
    const { id } = readParams(c, ProviderIdParam);
    const row = await providerOf(services, c.get('principal').organizationId, id);
    const { username } = await readJson(c, TestProviderRequest);
    const directory = await loadDirectory(options.directory);
    const provider = parseLdap(row);
    let body: TestProviderResponse;
    try {
      const person = await directory.findPerson(
        provider.config,
        await openBindPassword(services, row),
        username,
      );
      body = person
        ? {
            ok: true,
            user: {
              ...person,
              role: roleForGroups(person.groups, provider.config.groupRoleMap, provider.config.defaultRole),
            },
          }
        : { ok: false, error: { code: 'not_found', message: 'No single entry matches this username' } };
    } catch (err) {
      if (!(err instanceof directory.DirectoryError)) throw err;
      body = { ok: false, error: { code: err.code, message: err.message } };
    }
    await audit(c, 'signin.provider_test', row.id, { result: body.ok ? 'found' : body.error.code });
    return reply(c, routes.testProvider, 200, body);
  });

  return app;
}
