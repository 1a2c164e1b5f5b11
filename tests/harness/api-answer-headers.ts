import assert from 'node:assert/strict';
import { API_CONTENT_SECURITY_POLICY } from '../../edge/src/middleware/security-headers.ts';

/**
 * The headers every API answer over plain HTTP carries, exactly: the security policy (and none
 * of the page-only ones), the request id, and the RateLimit headers of `policy` (ip, person or
 * plan) with its quota when given.
 */
export function assertApiAnswerHeaders(
  headers: Headers,
  expect: { requestId?: string; policy?: RegExp; quota?: number },
): void {
  assert.equal(headers.get('content-security-policy'), API_CONTENT_SECURITY_POLICY);
  assert.equal(headers.get('x-content-type-options'), 'nosniff');
  assert.equal(headers.get('x-frame-options'), 'DENY');
  assert.equal(headers.get('referrer-policy'), 'same-origin');
  assert.equal(headers.get('cross-origin-resource-policy'), 'same-origin');
  assert.equal(headers.get('cache-control'), 'no-store');
  assert.equal(headers.get('strict-transport-security'), null, 'HSTS only over HTTPS');
  assert.equal(headers.get('cross-origin-opener-policy'), null, 'a page-only policy');
  assert.equal(headers.get('permissions-policy'), null, 'a page-only policy');
  if (expect.requestId) assert.equal(headers.get('x-request-id'), expect.requestId);
  else assert.match(headers.get('x-request-id') ?? '', /^req_[a-z2-7]{20}$/);
  const policy = expect.policy ?? /ip|person|plan/;
  const quota = expect.quota === undefined ? '\\d+' : String(expect.quota);
  assert.match(headers.get('ratelimit-policy') ?? '', new RegExp(`^"(${policy.source})";q=${quota};w=60$`));
  assert.match(headers.get('ratelimit') ?? '', new RegExp(`^"(${policy.source})";r=\\d+;t=\\d+$`));
}
