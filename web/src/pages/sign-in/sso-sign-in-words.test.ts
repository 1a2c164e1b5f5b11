import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SsoErrorCode } from '@keel/contract/identity';
import { returnToFor, SSO_ERROR_MESSAGES, ssoErrorMessage, ssoStartHref } from './sso-sign-in-words.ts';

describe('single sign-on on the sign-in page', () => {
  test('every error code the edge may send has its own sentence', () => {
    for (const code of SsoErrorCode.options) {
      const message = ssoErrorMessage(`?sso_error=${code}`);
      assert.equal(message, SSO_ERROR_MESSAGES[code]);
      assert.match(message ?? '', /^[A-Z].*\.$/);
    }
    assert.equal(new Set(Object.values(SSO_ERROR_MESSAGES)).size, SsoErrorCode.options.length);
  });

  test('no code: no message; an unknown code: a general one (never the code’s own text)', () => {
    assert.equal(ssoErrorMessage(''), undefined);
    assert.equal(ssoErrorMessage('?invite=abc'), undefined);
    const unknown = ssoErrorMessage('?sso_error=%3Cscript%3E');
    assert.ok(unknown && !unknown.includes('script'));
    assert.equal(ssoErrorMessage('?sso_error=toString'), unknown);
  });

  test('returnTo is the page the person wanted, on this site only', () => {
    assert.equal(
      returnToFor('/workspaces/ws_1', '?file=a.ts&sso_error=no_role'),
      '/workspaces/ws_1?file=a.ts',
    );
    assert.equal(returnToFor('/admin/members', ''), '/admin/members');
    assert.equal(returnToFor('/sign-in', '?sso_error=no_role'), undefined);
    assert.equal(returnToFor('/', ''), undefined);
    assert.equal(returnToFor('//evil.example/x', ''), undefined);
  });

  test('the button links to the start URL with returnTo encoded', () => {
    assert.equal(ssoStartHref('/api/auth/sso/google/start', undefined), '/api/auth/sso/google/start');
    assert.equal(
      ssoStartHref('/api/auth/sso/google/start', '/workspaces/ws_1?file=a b'),
      '/api/auth/sso/google/start?returnTo=%2Fworkspaces%2Fws_1%3Ffile%3Da%20b',
    );
  });
});
