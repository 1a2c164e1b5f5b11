import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError, type ApiErrorInit } from '../api/api-error.ts';
import { describeError } from './describe-error.ts';

const fields = ['email', 'password', 'name'] as const;

function apiError(init: Partial<ApiErrorInit> & Pick<ApiErrorInit, 'code'>): ApiError {
  return new ApiError({ status: 400, message: 'Server says no', requestId: 'req_1', ...init });
}

describe('describeError', () => {
  test('the special cases people meet on the auth forms', () => {
    assert.equal(
      describeError(apiError({ code: 'invalid_credentials' }), fields).message,
      'Email or password is incorrect.',
    );
    assert.equal(
      describeError(apiError({ code: 'invitation_required' }), fields).message,
      'This Keel already has an organization: ask an admin for an invitation link.',
    );
    assert.match(
      describeError(apiError({ code: 'network_error', status: 0 }), fields).message,
      /Could not reach Keel/,
    );
    assert.match(describeError(apiError({ code: 'timeout', status: 0 }), fields).message, /too long/);
    assert.match(
      describeError(apiError({ code: 'workspace_not_running', status: 409 }), fields).message,
      /Start it/,
    );
  });

  test('email_taken points at the email field', () => {
    const described = describeError(apiError({ code: 'email_taken', status: 409 }), fields);

    assert.match(described.message, /already exists/);
    assert.equal(described.fields.email, 'This email is already registered.');
  });

  test('rate limiting says how long to wait when the server said so', () => {
    assert.match(describeError(apiError({ code: 'rate_limited' }), fields).message, /Wait a minute/);
    assert.match(
      describeError(apiError({ code: 'rate_limited', retryAfterSeconds: 20 }), fields).message,
      /20 seconds/,
    );
    assert.match(
      describeError(apiError({ code: 'rate_limited', retryAfterSeconds: 300 }), fields).message,
      /5 minutes/,
    );
    const plan = 'The organization’s plan allows 2 workspaces running at once; stop one first';
    assert.equal(
      describeError(apiError({ code: 'rate_limited', status: 429, message: plan }), fields).message,
      `${plan}.`,
    );
  });

  test('validation issues go under their field; the rest stay in the summary', () => {
    const described = describeError(
      apiError({
        code: 'validation_failed',
        status: 422,
        issues: [
          { path: 'password', message: 'must be at least 10 characters' },
          { path: 'inviteToken', message: 'too long' },
        ],
      }),
      fields,
    );

    assert.deepEqual(described.fields, { password: 'Must be at least 10 characters.' });
    assert.equal(described.message, 'Check the highlighted fields. inviteToken: too long');
  });

  test('a validation error without issues shows the server message', () => {
    assert.equal(describeError(apiError({ code: 'validation_failed' }), fields).message, 'Server says no.');
  });

  test('server-side failures carry the request id as a reference', () => {
    const described = describeError(apiError({ code: 'internal_error', status: 500 }), fields);

    assert.equal(described.reference, 'req_1');
    assert.match(described.message, /Keel’s side/);
  });

  test('other codes show the server message', () => {
    assert.equal(
      describeError(apiError({ code: 'forbidden', message: 'not for you' }), fields).message,
      'Not for you.',
    );
  });

  test('anything that is not an ApiError gets a generic message', () => {
    assert.match(describeError(new TypeError('x is undefined'), fields).message, /unexpected/);
  });
});
