import { type ServerType, serve } from '@hono/node-server';
import { BrowserClient } from './browser-client.ts';
import { freePort } from './ports.ts';
import { createTestApp } from './test-app.ts';

const PASSWORD = 'correct horse battery staple';

/**
 * The real app served on a loopback port, for runner processes that reach the edge over HTTP,
 * with its first account (the organization's super_admin and install administrator) signed up.
 */
export async function edgeOnPort(options: { env?: Record<string, string>; email?: string } = {}) {
  const app = await createTestApp({ env: options.env ?? {} });
  const port = await freePort();
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const base = `http://127.0.0.1:${port}`;
  const http = (path: string, init?: RequestInit) => fetch(new URL(path, base), init);
  const admin = new BrowserClient(http);
  await admin.request('POST', '/api/auth/signup', {
    email: options.email ?? 'ops@example.com',
    password: PASSWORD,
    name: 'Ops',
  });
  return {
    app,
    base,
    http,
    admin,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await app.close();
    },
  };
}

export type EdgeOnPort = Awaited<ReturnType<typeof edgeOnPort>>;
