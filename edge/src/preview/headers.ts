import { AUTH_COOKIES, CSRF_HEADER } from '@keel/contract/auth';
import { PREVIEW_MAX_HEADER_BYTES, PREVIEW_MAX_HEADERS, type PreviewHeaders } from '@keel/contract/preview';

/**
 * What crosses between the browser and a workspace's server, in both directions. Keel's own
 * credentials never go in; nothing that could act on Keel's origin comes out.
 */

export type PreviewMode = 'path' | 'host';

/** The preview host's own cookie (host-only there; path-scoped under /w/… in path mode). */
export const PREVIEW_COOKIE = 'keel_preview';

/** RFC 9110 7.6.1 hop-by-hop headers, and what only this connection means. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);
/** Never forwarded in: Keel's credentials and what the client claims about forwarding. */
const REQUEST_DROPPED = new Set([
  'authorization',
  CSRF_HEADER,
  'host',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
]);
/** WebSocket handshake headers the runner's client makes itself (kept: the subprotocol). */
const WS_HANDSHAKE = new Set(['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions']);
const KEEL_COOKIES: ReadonlySet<string> = new Set([...Object.values(AUTH_COOKIES), PREVIEW_COOKIE]);

function connectionTokens(value: string | null | undefined): Set<string> {
  return new Set(
    (value ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * The request's headers as the workspace's server gets them. The Cookie header loses Keel's
 * cookies (path mode: every cookie, since Keel's origin holds none of the preview's); Host becomes
 * `localhost:<port>`, which every dev server accepts, and the browser's host goes in X-Forwarded-Host.
 */
export function forwardedRequestHeaders(
  incoming: Headers,
  o: { mode: PreviewMode; port: number; host: string; proto: string; websocket: boolean },
): PreviewHeaders {
  const named = connectionTokens(incoming.get('connection'));
  const out: Array<[string, string]> = [];
  incoming.forEach((value, rawName) => {
    const name = rawName.toLowerCase();
    if (HOP_BY_HOP.has(name) || named.has(name) || REQUEST_DROPPED.has(name)) return;
    if (o.websocket && WS_HANDSHAKE.has(name)) return;
    if (name === 'cookie') {
      if (o.mode === 'path') return;
      const kept = value
        .split(';')
        .map((p) => p.trim())
        .filter((p) => p && !KEEL_COOKIES.has(p.slice(0, Math.max(0, p.indexOf('='))).trim()));
      if (kept.length) out.push(['cookie', kept.join('; ')]);
      return;
    }
    if (value.length <= PREVIEW_MAX_HEADER_BYTES) out.push([name, value]);
  });
  out.push(['host', `localhost:${o.port}`], ['x-forwarded-host', o.host], ['x-forwarded-proto', o.proto]);
  return out.slice(0, PREVIEW_MAX_HEADERS);
}

/** Response headers that would act on Keel's origin when served from it (path mode). */
const PATH_MODE_DROPPED = new Set([
  'set-cookie',
  'clear-site-data',
  'strict-transport-security',
  'service-worker-allowed',
  'content-security-policy',
  'content-security-policy-report-only',
  'x-frame-options',
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'refresh',
]);

/**
 * The workspace server's answer headers as the browser gets them. Path mode drops every
 * Set-Cookie (a cookie set there would land on Keel's origin) and whatever else could act on
 * Keel's origin; host mode keeps the preview's cookies but strips their Domain attribute (host-only
 * on the preview host, never on a parent domain Keel shares) and drops any named like Keel's.
 */
export function returnedResponseHeaders(raw: PreviewHeaders, mode: PreviewMode): Headers {
  const out = new Headers();
  const named = connectionTokens(raw.find(([n]) => n.toLowerCase() === 'connection')?.[1]);
  for (const [rawName, value] of raw) {
    const name = rawName.toLowerCase();
    if (HOP_BY_HOP.has(name) || named.has(name)) continue;
    if (mode === 'path' && PATH_MODE_DROPPED.has(name)) continue;
    if (name === 'set-cookie') {
      const cookie = hostOnlyCookie(value);
      if (cookie) out.append('set-cookie', cookie);
      continue;
    }
    try {
      out.append(name, value);
    } catch {
      // A value Headers refuses (control characters) is dropped, not passed through raw.
    }
  }
  return out;
}

/** A Set-Cookie value without Domain, or undefined for one that names a Keel cookie. */
export function hostOnlyCookie(value: string): string | undefined {
  const [pair = '', ...attributes] = value.split(';');
  const name = pair.slice(0, Math.max(0, pair.indexOf('='))).trim();
  if (!name || KEEL_COOKIES.has(name) || /^__Host-keel|^__Secure-keel/i.test(name)) return undefined;
  const kept = attributes.filter((a) => !/^\s*domain\s*=/i.test(a));
  return [pair, ...kept].join(';');
}

/**
 * The policy a path-mode preview runs under: sandboxed, so its origin is opaque (no access to
 * Keel's cookies, storage or same-origin API calls), framable by Keel's own pages only.
 */
export const PATH_MODE_POLICY =
  "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads; frame-ancestors 'self'";
