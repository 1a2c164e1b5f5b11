import type { SsoErrorCode } from '@keel/contract/identity';

/**
 * Why a single sign-on stops: `code` goes to the browser (`/sign-in?sso_error=<code>`), `detail`
 * only to the log and the audit trail, since it may name what an attacker tried.
 */
export class SsoRefusal extends Error {
  override name = 'SsoRefusal';
  constructor(
    readonly code: SsoErrorCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}
