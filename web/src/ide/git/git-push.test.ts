import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GitPushResponse } from '@keel/contract/integrations';
import { hostNamedIn, keepTokenText, pushHeadline, pushRequest, tokenHostForResult } from './git-push.ts';

const answer = (over: Partial<GitPushResponse> = {}): GitPushResponse => ({
  remote: 'origin',
  branch: 'main',
  url: 'https://git.corp.example:8443/acme/app.git',
  authenticated: true,
  pushed: true,
  output: 'To https://git.corp.example:8443/acme/app.git\n   1a2b3c4..5d6e7f8  main -> main',
  ...over,
});

describe('Git: Push…', () => {
  test('the request: origin unless named, the branch left out when empty, spaces trimmed', () => {
    assert.deepEqual(pushRequest('', ''), { remote: 'origin' });
    assert.deepEqual(pushRequest('  upstream ', '   '), { remote: 'upstream' });
    assert.deepEqual(pushRequest('origin', ' feature/x '), { remote: 'origin', branch: 'feature/x' });
  });

  test('the headline says whether it was pushed, which branch and where', () => {
    assert.equal(pushHeadline(answer()), 'Pushed main to origin');
    assert.equal(
      pushHeadline(answer({ pushed: false, branch: 'dev', remote: 'upstream' })),
      'Not pushed: upstream did not take dev',
    );
  });

  test('a token is suggested for the remote’s host only when none was sent and the push failed', () => {
    assert.equal(tokenHostForResult(answer()), undefined);
    assert.equal(tokenHostForResult(answer({ pushed: false })), undefined, 'a token was sent');
    assert.equal(tokenHostForResult(answer({ authenticated: false })), undefined, 'it went through');
    assert.equal(
      tokenHostForResult(answer({ authenticated: false, pushed: false })),
      'git.corp.example:8443',
    );
    assert.equal(
      tokenHostForResult(
        answer({ authenticated: false, pushed: false, url: 'http://127.0.0.1:4321/private.git' }),
      ),
      '127.0.0.1:4321',
    );
    // A URL that names no host Keel keeps tokens for: the runner's words name it, or nothing does.
    assert.equal(
      tokenHostForResult(
        answer({
          authenticated: false,
          pushed: false,
          url: 'not a url',
          output:
            'fatal: x (the repository needs a login: keep a token for github.com in Settings › Integrations)',
        }),
      ),
      'github.com',
    );
    assert.equal(
      tokenHostForResult(answer({ authenticated: false, pushed: false, url: 'nope', output: '' })),
      undefined,
    );
  });

  test('the host an error names when it says to keep a token', () => {
    assert.equal(
      hostNamedIn('needs a login: keep a token for gitlab.com in Settings › Integrations)'),
      'gitlab.com',
    );
    assert.equal(hostNamedIn('Only the workspace’s owner pushes from it'), undefined);
    assert.equal(keepTokenText('github.com'), 'Keep a token for github.com in Settings › Integrations');
  });
});
