import { ReturnToPath, type SsoErrorCode } from '@keel/contract/identity';

/** One sentence per reason the edge gives for a single sign-on that did not complete. */
export const SSO_ERROR_MESSAGES: Record<SsoErrorCode, string> = {
  state_mismatch: 'The sign-in took too long or was started in another tab; start it again from this page.',
  provider_error: 'The sign-in provider did not sign you in (it was declined or failed there); try again.',
  token_rejected: 'Keel could not verify the answer from the sign-in provider; try again or ask an admin.',
  domain_not_allowed: 'This organization accepts only accounts of its own domains; use your work account.',
  tenant_not_allowed: 'This organization accepts only accounts of its own Microsoft directory.',
  organization_required:
    'Your GitHub account is not a member of an organization this Keel requires; ask an admin to add you.',
  email_unverified:
    'Your e-mail address is not verified by the provider, so it cannot be linked to an account here.',
  no_role: 'Your account is not in a group that may use Keel; ask an admin for access.',
  account_disabled: 'Your Keel account is disabled; ask an admin to enable it.',
  account_exists:
    'An account with this e-mail already exists outside this organization; sign in with it, or ask an admin for an invitation.',
  provider_unavailable:
    'The sign-in provider could not be reached or is not set up correctly; try again later.',
};

const UNKNOWN_SSO_ERROR = 'Single sign-on did not complete; try again or ask an admin.';

/** The message for `?sso_error=<code>`, or nothing when the page was not opened with one. */
export function ssoErrorMessage(search: string): string | undefined {
  const code = new URLSearchParams(search).get('sso_error');
  if (code === null) return undefined;
  return Object.hasOwn(SSO_ERROR_MESSAGES, code)
    ? SSO_ERROR_MESSAGES[code as SsoErrorCode]
    : UNKNOWN_SSO_ERROR;
}

/** Pages that only sign people in: coming back to them means the home page. */
const AUTH_PAGES = new Set(['/sign-in', '/sign-up']);

/**
 * The page the person wanted, for after the provider sends them back: the sign-in form shows at any
 * deep link, so it is the current path (without the sign-in page's own query words). A path the
 * edge would refuse (another origin, spaces) is left out, and the edge then lands on the home page.
 */
export function returnToFor(pathname: string, search: string): string | undefined {
  if (AUTH_PAGES.has(pathname)) return undefined;
  const query = new URLSearchParams(search);
  query.delete('sso_error');
  const rest = query.toString();
  const path = rest ? `${pathname}?${rest}` : pathname;
  return ReturnToPath.safeParse(path).success && path !== '/' ? path : undefined;
}

/** The "Sign in with …" link: the provider's start URL, with where to come back to. */
export function ssoStartHref(startUrl: string, returnTo: string | undefined): string {
  if (returnTo === undefined) return startUrl;
  return `${startUrl}${startUrl.includes('?') ? '&' : '?'}returnTo=${encodeURIComponent(returnTo)}`;
}
