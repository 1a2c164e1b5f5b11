import { SaveProviderRequest } from '@keel/contract/identity';
import { idSchema } from '@keel/contract/ids';
import { identityProviders, organizations } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { appendAudit } from '../audit/audit-log.ts';
import { newId } from '../ids.ts';
import { IDENTITY_PROVIDER_PURPOSE } from '../ldap/provider-store.ts';
import type { Services } from '../services.ts';
import { splitSecret } from './provider-secret.ts';

/**
 * Sign-in providers declared by the environment (`KEEL_SSO_PROVIDERS`, a JSON array), for
 * installs configured as code: each entry is the console's save request (kind, name, slug,
 * enabled, config with its secret) plus the organization it belongs to (its id; left out, the
 * install's only organization). They are written to the same table as the console's, keyed by
 * slug, with their secret sealed, so sign-in reads one place; the environment wins at each
 * start, so a console change to one of them lasts until the next.
 */
const EnvironmentProvider = z
  .object({ organization: idSchema('organization').optional() })
  .passthrough()
  .transform((entry, ctx) => {
    const { organization, ...request } = entry;
    const parsed = SaveProviderRequest.safeParse(request);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: 'custom' } as never);
      return z.NEVER;
    }
    if (parsed.data.id) {
      ctx.addIssue({ code: 'custom', path: ['id'], message: 'providers are named by slug here, not by id' });
      return z.NEVER;
    }
    return { organization, request: parsed.data };
  });

export const EnvironmentProviders = z
  .array(EnvironmentProvider)
  .max(50)
  .superRefine((list, ctx) => {
    // Entries that failed their own check are not here to compare.
    const slugs = list.map((p) => p?.request?.slug);
    slugs.forEach((slug, i) => {
      if (slug !== undefined && slugs.indexOf(slug) !== i)
        ctx.addIssue({ code: 'custom', path: [i, 'slug'], message: `slug "${slug}" appears twice` });
    });
  });

export class EnvironmentProvidersError extends Error {
  override name = 'EnvironmentProvidersError';
}

/** Parses `KEEL_SSO_PROVIDERS`; a clear error naming the entry and field that is wrong. */
export function parseEnvironmentProviders(json: string): z.infer<typeof EnvironmentProviders> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new EnvironmentProvidersError(`KEEL_SSO_PROVIDERS is not JSON: ${(err as Error).message}`);
  }
  const parsed = EnvironmentProviders.safeParse(raw);
  if (!parsed.success)
    throw new EnvironmentProvidersError(
      `KEEL_SSO_PROVIDERS: ${parsed.error.issues
        .map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`)
        .join('; ')}`,
    );
  return parsed.data;
}

/**
 * Writes the environment's providers. Returns false (nothing written) while the install has no
 * organization yet for an entry that names none: the first sign-up makes one, and the next
 * call writes them. Throws EnvironmentProvidersError for what a person must fix.
 */
export async function applyEnvironmentProviders(services: Services, json: string): Promise<boolean> {
  const entries = parseEnvironmentProviders(json);
  if (entries.length === 0) return true;
  const orgs = await services.db.select({ id: organizations.id }).from(organizations).limit(2);
  for (const { organization, request } of entries) {
    let organizationId = organization;
    if (!organizationId) {
      if (orgs.length === 0) return false;
      if (orgs.length > 1)
        throw new EnvironmentProvidersError(
          `KEEL_SSO_PROVIDERS: "${request.slug}" names no organization, and this install has several`,
        );
      organizationId = orgs[0]!.id;
    } else {
      const [known] = await services.db
        .select({ id: organizations.id })
        .from(organizations)
        .where(eq(organizations.id, organizationId))
        .limit(1);
      if (!known)
        throw new EnvironmentProvidersError(
          `KEEL_SSO_PROVIDERS: "${request.slug}" names organization ${organizationId}, which does not exist`,
        );
    }
    const [existing] = await services.db
      .select()
      .from(identityProviders)
      .where(eq(identityProviders.slug, request.slug))
      .limit(1);
    if (existing && existing.organizationId !== organizationId)
      throw new EnvironmentProvidersError(
        `KEEL_SSO_PROVIDERS: the slug "${request.slug}" belongs to another organization's provider`,
      );
    if (existing && existing.kind !== request.kind)
      throw new EnvironmentProvidersError(
        `KEEL_SSO_PROVIDERS: "${request.slug}" is a ${existing.kind} provider; its kind cannot change`,
      );
    const { config, secret, field } = splitSecret(request);
    if (!secret && !existing?.secretSealed)
      throw new EnvironmentProvidersError(`KEEL_SSO_PROVIDERS: "${request.slug}" needs config.${field}`);
    const values = {
      name: request.name,
      enabled: request.enabled,
      config,
      secretSealed: secret
        ? await services.box.seal(secret, IDENTITY_PROVIDER_PURPOSE)
        : (existing?.secretSealed ?? null),
    };
    let id = existing?.id;
    if (existing) {
      await services.db
        .update(identityProviders)
        .set({ ...values, updatedAt: services.clock.now() })
        .where(eq(identityProviders.id, existing.id));
    } else {
      id = newId('identityProvider');
      await services.db.insert(identityProviders).values({
        id,
        organizationId,
        kind: request.kind,
        slug: request.slug,
        ...values,
      });
    }
    await appendAudit(services, {
      action: existing ? 'signin.provider_update' : 'signin.provider_create',
      outcome: 'success',
      actorId: null,
      organizationId,
      targetId: id!,
      metadata: { kind: request.kind, slug: request.slug, source: 'environment' },
    });
  }
  return true;
}

/** Per isolate or process, per install (database and prefix): written once, on first need. */
const applied = new Map<string, Promise<boolean>>();

/**
 * The providers written before a sign-in page or flow reads them: at start on Node, and on
 * workerd (which has no start) at the first request that needs them. A failure is logged and
 * tried again at the next request; sign-in with the providers already stored goes on.
 */
export async function environmentProvidersReady(
  services: Services,
  options: { throwOnError?: boolean } = {},
): Promise<void> {
  const json = services.config.ssoProvidersJson;
  if (!json) return;
  const key = `${services.config.databaseUrl ?? 'embedded'}\0${services.config.redisPrefix}\0${json}`;
  let done = applied.get(key);
  if (!done) {
    done = applyEnvironmentProviders(services, json);
    applied.set(key, done);
  }
  try {
    if (!(await done)) applied.delete(key);
  } catch (err) {
    applied.delete(key);
    if (options.throwOnError) throw err;
    console.error(
      JSON.stringify({ level: 'error', msg: 'sign-in providers from the environment', error: String(err) }),
    );
  }
}
