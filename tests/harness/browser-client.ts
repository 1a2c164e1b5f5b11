import { AUTH_COOKIES, CSRF_HEADER } from '@keel/contract/auth';
import { checkResponse } from './response-check.ts';

export type FetchLike = (path: string, init?: RequestInit) => Promise<Response>;

/**
 * Talks to the API the way the web app does: keeps cookies like a browser (a jar keyed by
 * name, honouring deletion), and sends the CSRF header on writes. `bearer` switches to
 * token auth for API clients. Every JSON answer is checked against its route's description
 * in the contract (see response-check.ts), so each test that goes through here checks the schemas too.
 */
export class BrowserClient {
  readonly cookies = new Map<string, { value: string; path: string }>();
  accessToken: string | undefined;

  constructor(private readonly fetchFn: FetchLike) {}

  async request(
    method: string,
    path: string,
    body?: unknown,
    options: { bearer?: boolean; csrf?: boolean; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = { ...options.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const jar = [...this.cookies.entries()]
      .filter(([, c]) => path.startsWith(c.path))
      .map(([k, c]) => `${k}=${c.value}`);
    if (jar.length && !options.bearer) headers.cookie = jar.join('; ');
    if (options.bearer && this.accessToken) headers.authorization = `Bearer ${this.accessToken}`;
    const csrf = this.cookies.get(AUTH_COOKIES.csrf)?.value;
    if ((options.csrf ?? true) && csrf && method !== 'GET') headers[CSRF_HEADER] = csrf;
    const res = await this.fetchFn(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    this.absorbCookies(res.headers);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: keep the text.
    }
    if (res.headers.get('content-type')?.includes('application/json')) {
      checkResponse(method, path, res.status, parsed);
    }
    if (parsed && typeof parsed === 'object' && 'accessToken' in parsed) {
      this.accessToken = (parsed as { accessToken: string }).accessToken;
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }

  private absorbCookies(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const maxAge = attrs.find((a) => a.toLowerCase().startsWith('max-age='));
      if (value === '' || (maxAge && Number(maxAge.slice(8)) <= 0)) this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
  }
}
