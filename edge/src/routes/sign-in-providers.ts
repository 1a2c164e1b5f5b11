import { identityRoutes as routes } from '@keel/contract/api/identity';
import {
  ProviderIdParam,
  SaveProviderRequest,
  SaveSignInSettingsRequest,
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
import { splitSecret } from '../sso/provider-secret.ts';
import { publicBase } from '../sso/public-base.ts';
import { hasEnabledProvider, readSignInSettings, writeSignInSettings } from '../sso/sign-in-settings.ts';

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
    const base = publicBase(c);
    return reply(c, routes.listProviders, 200, { providers: rows.map((r) => providerView(r, base)) });
  });

  on(routes.saveProvider, async (c) => {
    const services = c.get('services');
    const org = c.get('principal').organizationId;
    const input = await readJson(c, SaveProviderRequest);
    const existing = input.id ? await providerOf(services, org, input.id) : undefined;
    if (existing && existing.kind !== input.kind)
      throw new ApiError(
        'bad_request',
        `This provider is ${existing.kind}; its kind cannot change (add a new provider instead)`,
      );
    const { config, secret, field } = splitSecret(input);
    if (!secret && !existing?.secretSealed)
      throw new ApiError('validation_failed', `A new ${input.kind} provider needs its ${field}`, [
        { path: `config.${field}`, message: 'required when adding a provider' },
      ]);
    const secretSealed = secret
      ? await services.box.seal(secret, IDENTITY_PROVIDER_PURPOSE)
      : (existing?.secretSealed ?? null);
    const values = {
      kind: input.kind,
      name: input.name,
      slug: input.slug,
      enabled: input.enabled,
      config,
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
      secretChanged: secret ? 'yes' : 'no',
    });
    const view = providerView(row, publicBase(c));
    if (existing) return reply(c, routes.saveProvider, 200, view);
    return reply(c, routes.saveProvider, 201, view);
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
    if (row.kind !== 'ldap')
      throw new ApiError('bad_request', 'Only a directory (LDAP) can be tested with a username');
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

  on(routes.signInSettings, async (c) => {
    const settings = await readSignInSettings(c.get('services'), c.get('principal').organizationId);
    return reply(c, routes.signInSettings, 200, settings);
  });

  on(routes.saveSignInSettings, async (c) => {
    const services = c.get('services');
    const org = c.get('principal').organizationId;
    const input = await readJson(c, SaveSignInSettingsRequest);
    // Without a provider, switching passwords off would leave only the super_admins a way in.
    if ((input.requireSso || !input.passwordEnabled) && !(await hasEnabledProvider(services, org)))
      throw new ApiError(
        'conflict',
        input.requireSso
          ? 'Requiring single sign-on needs an enabled sign-in provider (SSO or directory) first'
          : 'Switching password sign-in off needs an enabled sign-in provider (SSO or directory) first',
      );
    await writeSignInSettings(services, org, input);
    const p = c.get('principal');
    await appendAudit(services, {
      action: 'signin.settings_update',
      outcome: 'success',
      actorId: p.userId,
      organizationId: org,
      metadata: {
        permission: 'signin:manage',
        passwordEnabled: input.passwordEnabled,
        requireSso: input.requireSso,
        defaultRole: input.defaultRole,
      },
    });
    return reply(c, routes.saveSignInSettings, 200, await readSignInSettings(services, org));
  });

  return app;
}
