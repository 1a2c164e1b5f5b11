/**
 * Whether a request came over HTTPS: the URL's scheme, or behind a trusted proxy the first
 * `X-Forwarded-Proto`. Decides the HSTS header and the cookies' `Secure` flag.
 */
export function isHttps(url: string, forwardedProto: string | undefined, trustProxy: boolean): boolean {
  if (trustProxy && forwardedProto) return forwardedProto.split(',')[0]!.trim() === 'https';
  return url.startsWith('https:');
}
