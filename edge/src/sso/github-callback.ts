import * as client from 'openid-client';
import { z } from 'zod';
import { githubClient } from './client-config.ts';
import { reasonOf } from './oidc-callback.ts';
import type { SsoPerson } from './sso-person.ts';
import type { SsoProvider } from './sso-provider.ts';
import { SsoRefusal } from './sso-refusal.ts';
import type { StoredState } from './sso-state.ts';

type GitHubProvider = Extract<SsoProvider, { family: 'github' }>;

/** The user, e-mail, organization and team reads; `read:org` also lets /user/orgs list private memberships. */
const SCOPES = 'read:user user:email read:org';
const API_TIMEOUT_MS = 10_000;

const GitHubUser = z.object({
  id: z.number().int(),
  login: z.string(),
  name: z.string().nullable().optional(),
});
const GitHubEmails = z.array(z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }));
const GitHubOrgs = z.array(z.object({ login: z.string() }));
const GitHubTeams = z.array(z.object({ slug: z.string(), organization: z.object({ login: z.string() }) }));

export async function githubAuthorizationUrl(
  provider: GitHubProvider,
  clientSecret: string,
  params: { redirectUri: string; state: string; codeVerifier: string },
): Promise<URL> {
  return client.buildAuthorizationUrl(githubClient(provider.config, clientSecret), {
    redirect_uri: params.redirectUri,
    scope: SCOPES,
    state: params.state,
    code_challenge: await client.calculatePKCECodeChallenge(params.codeVerifier),
    code_challenge_method: 'S256',
    allow_signup: 'false',
  });
}

/**
 * GitHub's OAuth web flow: the code exchanged (with PKCE) for a token, then the person from
 * `/user`, their verified primary address from `/user/emails`, organizations and teams.
 */
export async function githubCallback(
  provider: GitHubProvider,
  clientSecret: string,
  currentUrl: URL,
  params: { redirectUri: string; state: string; stored: StoredState },
): Promise<SsoPerson> {
  const { config } = provider;
  let accessToken: string;
  try {
    const tokens = await client.authorizationCodeGrant(
      githubClient(config, clientSecret),
      currentUrl,
      { pkceCodeVerifier: params.stored.codeVerifier, expectedState: params.state, idTokenExpected: false },
      { redirect_uri: params.redirectUri },
    );
    accessToken = tokens.access_token;
  } catch (err) {
    if (err instanceof client.AuthorizationResponseError)
      throw new SsoRefusal('provider_error', `GitHub answered ${err.error}`);
    if (err instanceof TypeError) throw new SsoRefusal('provider_unavailable', reasonOf(err));
    throw new SsoRefusal('token_rejected', `code exchange failed: ${reasonOf(err)}`);
  }
  const api = config.apiUrl.replace(/\/+$/, '');
  const read = async <S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> => {
    let res: Response;
    try {
      res = await fetch(`${api}${path}`, {
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${accessToken}`,
          'x-github-api-version': '2022-11-28',
          'user-agent': 'keel',
        },
        signal: AbortSignal.timeout(API_TIMEOUT_MS),
      });
    } catch (err) {
      throw new SsoRefusal('provider_unavailable', `${path}: ${reasonOf(err)}`);
    }
    if (!res.ok) throw new SsoRefusal('provider_unavailable', `${path} answered ${res.status}`);
    const parsed = schema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) throw new SsoRefusal('provider_unavailable', `${path} answered an unexpected shape`);
    return parsed.data;
  };

  const user = await read('/user', GitHubUser);
  const emails = await read('/user/emails?per_page=100', GitHubEmails);
  const primary = emails.find((e) => e.primary && e.verified);
  if (!primary) throw new SsoRefusal('email_unverified', `${user.login} has no verified primary e-mail`);
  if (config.requiredOrganizations.length > 0) {
    const orgs = await read('/user/orgs?per_page=100', GitHubOrgs);
    const held = new Set(orgs.map((o) => o.login.toLowerCase()));
    if (!config.requiredOrganizations.some((o) => held.has(o.toLowerCase())))
      throw new SsoRefusal('organization_required', `${user.login} is in none of the required organizations`);
  }
  const groups =
    config.groupRoleMap.length > 0
      ? (await read('/user/teams?per_page=100', GitHubTeams)).map((t) => `${t.organization.login}/${t.slug}`)
      : [];
  return {
    subject: String(user.id),
    email: primary.email.trim().toLowerCase(),
    // GitHub says which addresses are verified; only the verified primary one is used.
    emailVerified: true,
    name: user.name || user.login,
    groups,
  };
}
