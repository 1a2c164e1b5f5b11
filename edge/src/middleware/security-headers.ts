import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { answerHeaders } from '../http/answer-headers.ts';
import { isHttps } from '../http/https.ts';

/**
 * Monaco needs inline styles and blob: workers; nothing needs inline script, eval,
 * third-party origins or framing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

type HeaderList = ReadonlyArray<readonly [string, string]>;

/** What every answer gets, a page or not. */
const EVERY: HeaderList = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  // Not no-referrer: under it browsers send `Origin: null` on same-origin POSTs, which the CSRF check refuses.
  ['Referrer-Policy', 'same-origin'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
];
/** The web app's pages and files: the policy they run under. */
const PAGE: HeaderList = [
  ['Content-Security-Policy', CONTENT_SECURITY_POLICY],
  ...EVERY,
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()'],
];
/**
 * The API's answers are data, never a page: a browser opening one may run, load and frame
 * nothing (a stricter policy than the app's, and a short one on every answer). The
 * page-only policies (opener, permissions) have nothing to act on there.
 */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";
const API: HeaderList = [
  ['Content-Security-Policy', API_CONTENT_SECURITY_POLICY],
  ...EVERY,
  ['Cache-Control', 'no-store'],
];
const HSTS = ['Strict-Transport-Security', 'max-age=63072000; includeSubDomains'] as const;
/** The four sets an answer can get (over HTTPS or not, under /api/ or not), made once. */
const SETS: Array<Array<Readonly<Record<string, string>>>> = [false, true].map((https) =>
  [PAGE, API].map((list) =>
    Object.fromEntries(
      [...list, ...(https ? [HSTS] : [])].map(([name, value]) => [name.toLowerCase(), value]),
    ),
  ),
);

export function securityHeaders(options: { trustProxy: () => boolean }): MiddlewareHandler<AppEnv> {
  return function securityHeadersMiddleware(c, next) {
    // The forwarded scheme is read only when it is trusted (a header read on every request).
    const trust = options.trustProxy();
    const https = isHttps(c.req.url, trust ? c.req.header('x-forwarded-proto') : undefined, trust);
    // Put on the answer by the outermost middleware (http/answer-headers.ts), over what a
    // handler set; a handler that answers on the socket itself (http/sse-response.ts) sends them too.
    Object.assign(answerHeaders(c), SETS[https ? 1 : 0]![c.req.path.startsWith('/api/') ? 1 : 0]);
    return next();
  };
}
