import { z } from 'zod';

/**
 * The closed set of error codes the API answers with. Adding a code is a contract change:
 * add it here and to `errorStatus`, never invent one at a call site.
 */
export const ErrorCode = z.enum([
  'bad_request',
  'invalid_json',
  'validation_failed',
  'unsupported_media_type',
  'payload_too_large',
  'headers_too_large',
  'request_timeout',
  'unauthorized',
  'invalid_token',
  'invalid_credentials',
  'csrf_failed',
  'forbidden',
  'password_change_required',
  'invitation_required',
  'invitation_invalid',
  'not_found',
  'method_not_allowed',
  'upgrade_required',
  'conflict',
  'email_taken',
  'invalid_path',
  'workspace_not_running',
  'runner_unavailable',
  'protocol_mismatch',
  'invalid_patch',
  'resource_limit',
  'network_not_allowed',
  'last_install_admin',
  'ai_not_configured',
  'model_unavailable',
  'rate_limited',
  'not_ready',
  /** The directory (LDAP) needs the Node edge: workerd has no raw TLS sockets for it. */
  'directory_needs_node',
  /** The directory did not answer in time, or refused the service account. */
  'directory_unavailable',
  /** The organization switched password sign-in off or requires single sign-on. */
  'password_sign_in_disabled',
  /** A signed preview link past its expiry. */
  'link_expired',
  /** The workspace's server could not be reached, or broke the connection. */
  'bad_gateway',
  /** The workspace's server did not answer in time. */
  'gateway_timeout',
  /** Redis or PostgreSQL is out of reach (restarting, failing over): try again shortly. */
  'store_unavailable',
  'internal_error',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const errorStatus = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 422,
  unsupported_media_type: 415,
  payload_too_large: 413,
  headers_too_large: 431,
  request_timeout: 408,
  unauthorized: 401,
  invalid_token: 401,
  invalid_credentials: 401,
  csrf_failed: 403,
  forbidden: 403,
  password_change_required: 403,
  invitation_required: 403,
  invitation_invalid: 403,
  not_found: 404,
  method_not_allowed: 405,
  upgrade_required: 426,
  conflict: 409,
  email_taken: 409,
  invalid_path: 400,
  workspace_not_running: 409,
  runner_unavailable: 503,
  /** A runner speaking another protocol major than the edge (contract/protocol.ts). */
  protocol_mismatch: 409,
  invalid_patch: 422,
  resource_limit: 422,
  network_not_allowed: 403,
  last_install_admin: 409,
  ai_not_configured: 503,
  model_unavailable: 502,
  rate_limited: 429,
  not_ready: 503,
  directory_needs_node: 501,
  directory_unavailable: 503,
  password_sign_in_disabled: 403,
  link_expired: 410,
  bad_gateway: 502,
  gateway_timeout: 504,
  store_unavailable: 503,
  internal_error: 500,
} as const satisfies Record<ErrorCode, number>;

export const ErrorIssue = z.object({ path: z.string(), message: z.string() });
export type ErrorIssue = z.infer<typeof ErrorIssue>;

/** The one error body every route answers with. */
export const ErrorBody = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    requestId: z.string(),
    issues: z.array(ErrorIssue).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
