import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildSsoRequest,
  emptySsoForm,
  expectedCallbackUrl,
  GITHUB_API,
  GITHUB_WEB,
  type SsoForm,
  type SsoKind,
  type SsoView,
  ssoFormFrom,
} from './sso-form.ts';

const filled = (kind: SsoKind, over: Partial<SsoForm> = {}): SsoForm => ({
  ...emptySsoForm(kind),
  clientId: 'client-1',
  clientSecret: 's3cret',
  ...over,
});

function built(form: SsoForm) {
  const answer = buildSsoRequest(form);
  assert.ok(answer.ok, answer.ok ? '' : JSON.stringify(answer.fields));
  return answer.request;
}

describe('single sign-on form', () => {
  test('Google: the issuer is fixed, Workspace domains are a list, the organization’s default role is left out', () => {
    const request = built(filled('google', { allowedDomains: 'Example.com, corp.example.org\nlab.example' }));
    assert.equal(request.kind, 'google');
    if (request.kind !== 'google') return;
    assert.equal(request.slug, 'google');
    assert.equal(request.config.issuer, 'https://accounts.google.com');
    assert.deepEqual(request.config.allowedDomains, ['Example.com', 'corp.example.org', 'lab.example']);
    assert.equal('defaultRole' in request.config, false);
    assert.equal(request.config.clientSecret, 's3cret');
  });

  test('Entra ID: the tenant makes the issuer; only a tenant GUID is checked against tid', () => {
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const request = built(filled('entra', { tenantId: tenant, defaultRole: 'refuse' }));
    assert.ok(request.kind === 'entra');
    assert.equal(request.config.issuer, `https://login.microsoftonline.com/${tenant}/v2.0`);
    assert.equal(request.config.tenantId, tenant);
    assert.equal(request.config.groupsClaim, 'groups');
    assert.equal(request.config.defaultRole, null);
    const byDomain = built(filled('entra', { tenantId: 'contoso.onmicrosoft.com' }));
    assert.ok(byDomain.kind === 'entra');
    assert.equal(byDomain.config.issuer, 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0');
    assert.equal(byDomain.config.tenantId, undefined);
    const none = buildSsoRequest(filled('entra'));
    assert.ok(!none.ok && none.fields.tenantId);
  });

  test('other OpenID Connect: issuer and scopes as typed; http:// only when marked insecure', () => {
    const form = filled('oidc', {
      name: 'Keycloak',
      slug: 'keycloak',
      issuer: 'https://sso.example.com/realms/main/',
      scopes: 'openid  email profile groups',
      groupsClaim: 'roles',
      groupRoles: [
        { group: 'platform', role: 'admin' },
        { group: ' ', role: 'viewer' },
      ],
    });
    const request = built(form);
    assert.ok(request.kind === 'oidc');
    assert.equal(request.config.issuer, 'https://sso.example.com/realms/main');
    assert.deepEqual(request.config.scopes, ['openid', 'email', 'profile', 'groups']);
    assert.deepEqual(request.config.groupRoleMap, [{ group: 'platform', role: 'admin' }]);
    const plain = buildSsoRequest({ ...form, issuer: 'http://localhost:8080/realms/main' });
    assert.ok(!plain.ok && plain.fields.issuer);
    assert.ok(buildSsoRequest({ ...form, issuer: 'http://localhost:8080/realms/main', insecure: true }).ok);
  });

  test('GitHub: github.com by default, Enterprise URLs with the API derived, organizations and teams', () => {
    const plain = built(
      filled('github', {
        requiredOrganizations: 'acme, acme-labs',
        groupRoles: [{ group: 'acme/platform', role: 'admin' }],
        defaultRole: 'viewer',
      }),
    );
    assert.ok(plain.kind === 'github');
    assert.equal('webUrl' in plain.config, false);
    assert.deepEqual(plain.config.requiredOrganizations, ['acme', 'acme-labs']);
    assert.deepEqual(plain.config.groupRoleMap, [{ group: 'acme/platform', role: 'admin' }]);
    assert.equal(plain.config.defaultRole, 'viewer');
    const ghes = built(filled('github', { webUrl: 'https://github.example.com/' }));
    assert.ok(ghes.kind === 'github');
    assert.equal(ghes.config.webUrl, 'https://github.example.com');
    assert.equal(ghes.config.apiUrl, 'https://github.example.com/api/v3');
    const badOrg = buildSsoRequest(filled('github', { requiredOrganizations: 'acme/team' }));
    assert.ok(!badOrg.ok && badOrg.fields.requiredOrganizations);
  });

  test('the client secret is needed to add a provider, and left out on edit when empty (the sealed one is kept)', () => {
    const missing = buildSsoRequest(filled('google', { clientSecret: '' }));
    assert.ok(!missing.ok && missing.fields.clientSecret);
    const edit = built(
      filled('google', { id: 'idp_aaaaaaaaaaaaaaaaaaaa', clientSecret: '', hasClientSecret: true }),
    );
    assert.equal('clientSecret' in edit.config, false);
    assert.equal(edit.id, 'idp_aaaaaaaaaaaaaaaaaaaa');
  });

  test('a bad sign-in name is named under its field', () => {
    const bad = buildSsoRequest(filled('google', { slug: 'Not Valid' }));
    assert.ok(!bad.ok && bad.fields.slug);
  });

  test('an existing provider comes back into the form without its secret, and saves unchanged', () => {
    const view: SsoView = {
      id: 'idp_aaaaaaaaaaaaaaaaaaaa',
      kind: 'github',
      name: 'GitHub',
      slug: 'github',
      enabled: true,
      callbackUrl: 'https://keel.example.com/api/auth/sso/github/callback',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: null,
      config: {
        clientId: 'Iv1.abc',
        groupRoleMap: [{ group: 'acme/platform', role: 'admin' }],
        trustEmail: false,
        insecure: false,
        webUrl: GITHUB_WEB,
        apiUrl: GITHUB_API,
        requiredOrganizations: ['acme'],
        hasClientSecret: true,
      },
    };
    const form = ssoFormFrom(view);
    assert.equal(form.clientSecret, '');
    assert.equal(form.hasClientSecret, true);
    assert.equal(form.webUrl, '');
    assert.equal(form.defaultRole, 'organization');
    const request = built(form);
    assert.ok(request.kind === 'github');
    assert.deepEqual(request.config.requiredOrganizations, ['acme']);
    assert.equal('clientSecret' in request.config, false);

    const entra = ssoFormFrom({
      ...view,
      kind: 'entra',
      config: {
        clientId: 'app',
        groupRoleMap: [],
        defaultRole: null,
        trustEmail: true,
        insecure: false,
        issuer: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0',
        scopes: ['openid', 'email', 'profile'],
        allowedDomains: [],
        groupsClaim: 'groups',
        hasClientSecret: true,
      },
    });
    assert.equal(entra.tenantId, 'contoso.onmicrosoft.com');
    assert.equal(entra.defaultRole, 'refuse');
  });

  test('the expected callback URL follows the sign-in name', () => {
    assert.equal(
      expectedCallbackUrl('https://keel.example.com', 'google'),
      'https://keel.example.com/api/auth/sso/google/callback',
    );
    assert.equal(
      expectedCallbackUrl('https://keel.example.com', ''),
      'https://keel.example.com/api/auth/sso/<sign-in-name>/callback',
    );
  });
});
