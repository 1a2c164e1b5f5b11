import {
  PREVIEW_LINK_MAX_SECONDS,
  PreviewLinkBody,
  PreviewPortParams,
  PreviewPortsResult,
  type PreviewPortsView,
  PreviewShareBody,
  previewRoutes,
} from '@keel/contract/preview';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { WorkspaceIdParam } from '@keel/contract/workspaces';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { setCookie } from 'hono/cookie';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { answerHeaders } from '../http/answer-headers.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes } from '../http/described-routes.ts';
import { isHttps } from '../http/https.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { readJson, readParams, readQuery } from '../http/validate.ts';
import { admit, notFound, previewRow, readShare, readShares, writeShare } from '../preview/access.ts';
import {
  forwardedRequestHeaders,
  PATH_MODE_POLICY,
  PREVIEW_COOKIE,
  type PreviewMode,
  returnedResponseHeaders,
} from '../preview/headers.ts';
import {
  bodyStream,
  DownReader,
  failureError,
  openConnection,
  pumpBody,
  readHead,
  wholeBody,
} from '../preview/relay.ts';
import { previewSigner } from '../preview/signing.ts';
import { previewSocketRelay } from '../preview/socket-relay.ts';
import type { Services } from '../services.ts';
import type { SocketUpgrade } from '../terminal/socket-upgrade.ts';
import { liveStatuses, loadWorkspace, type WorkspaceRow } from '../workspaces/access.ts';
import { callRunner } from '../workspaces/runner-call.ts';

/** Paths under a preview that Keel answers itself (the exchange and links); the app never sees them. */
const RESERVED = '/__keel/';
const EXCHANGE_SECONDS = 60;
/** A preview cookie made by the exchange lives this long; the Keel session behind it is checked on every request. */
const COOKIE_SECONDS = 12 * 3600;
const WORKSPACE_BODY = /^[a-z2-7]{20}$/;

// ---- URLs -------------------------------------------------------------------------------------

function keelOrigin(c: Context<AppEnv>, mode: PreviewMode = 'path'): string {
  const { publicUrl, previewHost } = c.get('services').config;
  if (publicUrl) return new URL(publicUrl).origin;
  // Without a public URL, Keel is taken to be served at the preview host's own name (as in development).
  if (mode === 'host' && previewHost) return `${schemeOf(c)}://${previewHost.host}`;
  return new URL(c.req.url).origin;
}

/** Who may frame a preview on the wildcard host: Keel's pages (its public URL, or at the preview host's own name). */
function framers(c: Context<AppEnv>): string[] {
  const { publicUrl, previewHost } = c.get('services').config;
  const out = ["'self'"];
  if (publicUrl) out.push(new URL(publicUrl).origin);
  if (previewHost) out.push(`${schemeOf(c)}://${previewHost.host}`);
  return out;
}

function schemeOf(c: Context<AppEnv>): 'http' | 'https' {
  const { config } = c.get('services');
  if (config.previewHost?.scheme) return config.previewHost.scheme;
  if (config.publicUrl) return config.publicUrl.startsWith('https:') ? 'https' : 'http';
  return isHttps(c.req.url, c.req.header('x-forwarded-proto'), config.trustProxy) ? 'https' : 'http';
}

function hostOf(c: Context<AppEnv>): string {
  return (c.req.header('host') ?? new URL(c.req.url).host).toLowerCase();
}

export function previewHostUrl(c: Context<AppEnv>, workspaceId: string, port: number): string | null {
  const host = c.get('services').config.previewHost;
  if (!host) return null;
  return `${schemeOf(c)}://${port}--${workspaceId.slice(3)}.${host.host}`;
}

export function previewPathUrl(workspaceId: string, port: number): string {
  return `/w/${workspaceId}/p/${port}/`;
}

// ---- The API ----------------------------------------------------------------------------------

export function previewApiRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/workspaces');

  on(previewRoutes.previewPorts, async (c) => {
    const services = c.get('services');
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    await assertRunning(services, row);
    const [listed, shares] = await Promise.all([
      callRunner(
        services,
        row,
        { v: CONTRACT_VERSION, type: 'preview.ports', workspaceId: row.id },
        PreviewPortsResult,
        jobTraceOf(c),
      ),
      readShares(services, row.id),
    ]);
    const view: z.infer<typeof PreviewPortsView> = {
      ports: listed.ports.map((p) => ({
        port: p.port,
        address: p.address,
        share: shares.get(p.port) ?? 'owner',
        pathUrl: previewPathUrl(row.id, p.port),
        hostUrl: services.config.previewHost ? `/api/workspaces/${row.id}/ports/${p.port}/open` : null,
      })),
    };
    return c.json(view);
  });

  on(previewRoutes.previewShare, async (c) => {
    const services = c.get('services');
    const { id, port } = readParams(c, PreviewPortParams);
    const row = await ownWorkspace(c, id);
    const { share } = await readJson(c, PreviewShareBody);
    await writeShare(services, row.id, port, share);
    await appendAudit(services, {
      action: 'preview.share',
      outcome: 'success',
      actorId: c.get('principal').userId,
      organizationId: row.organizationId,
      workspaceId: row.id,
      targetId: `${port}:${share}`,
    });
    return c.json({ share });
  });

  on(previewRoutes.previewLink, async (c) => {
    const services = c.get('services');
    const { id, port } = readParams(c, PreviewPortParams);
    const row = await ownWorkspace(c, id);
    const { expiresInSeconds } = await readJson(c, PreviewLinkBody);
    const e = Math.floor(Date.now() / 1000) + Math.min(expiresInSeconds, PREVIEW_LINK_MAX_SECONDS);
    const n = crypto.randomUUID();
    const token = await previewSigner(services.config.secretKeys).sign('link', { w: row.id, p: port, e, n });
    const hostUrl = previewHostUrl(c, row.id, port);
    const url = hostUrl
      ? `${hostUrl}${RESERVED}link?t=${token}`
      : `${keelOrigin(c)}${previewPathUrl(row.id, port)}${RESERVED.slice(1)}link?t=${token}`;
    await appendAudit(services, {
      action: 'preview.link',
      outcome: 'success',
      actorId: c.get('principal').userId,
      organizationId: row.organizationId,
      workspaceId: row.id,
      targetId: `${port}:${n}`,
    });
    return c.json({ url, expiresAt: new Date(e * 1000).toISOString() }, 201);
  });

  on(previewRoutes.previewOpen, async (c) => {
    const services = c.get('services');
    const { id, port } = readParams(c, PreviewPortParams);
    const { path = '/' } = readQuery(c, z.object({ path: z.string().startsWith('/').max(2048).optional() }));
    const p = c.get('principal');
    const row = await previewRow(services, id);
    if (row.organizationId !== p.organizationId) throw notFound();
    if (row.ownerId !== p.userId && (await readShare(services, row.id, port)) !== 'organization')
      throw notFound();
    const next = safeNext(path);
    const hostUrl = previewHostUrl(c, row.id, port);
    if (!hostUrl) return c.redirect(`${previewPathUrl(row.id, port)}${next.slice(1)}`, 302);
    const token = await previewSigner(services.config.secretKeys).sign('exchange', {
      w: row.id,
      p: port,
      e: Math.floor(Date.now() / 1000) + EXCHANGE_SECONDS,
      u: p.userId,
      o: p.organizationId,
      s: p.sessionId,
      n: crypto.randomUUID(),
    });
    return c.redirect(`${hostUrl}${RESERVED}exchange?t=${token}&next=${encodeURIComponent(next)}`, 302);
  });

  return app;
}

/** Sharing and links are the owner's to give. */
async function ownWorkspace(c: Context<AppEnv>, id: string): Promise<WorkspaceRow> {
  const row = await loadWorkspace(c, id);
  if (row.ownerId !== c.get('principal').userId) throw notFound();
  return row;
}

async function assertRunning(services: Services, row: WorkspaceRow): Promise<void> {
  const live = (await liveStatuses(services, [row])).get(row.id);
  if (live?.status === 'unavailable')
    throw new ApiError('runner_unavailable', `The workspace is unavailable: ${live.reason}`);
  if ((live?.status ?? row.status) !== 'running')
    throw new ApiError('workspace_not_running', 'The workspace is not running; start it first');
}

/** Where a redirect may go: a path on the same host, never `//elsewhere` or `/\elsewhere`. */
function safeNext(next: string | undefined): string {
  if (!next?.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}

// ---- The proxied traffic: /w/<workspace>/p/<port>/… and the preview host ------------------------

const PathParams = z.object({
  id: z.string().max(64),
  port: z
    .string()
    .regex(/^[0-9]{1,5}$/, 'must be a port number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(65_535)),
});

/** `/w/<workspace>/p/<port>/…`: the path mode, on Keel's own origin. */
export function previewPathRoutes(options: { upgrade: SocketUpgrade | undefined }) {
  const app = new Hono<AppEnv>();
  app.all('/w/:id/p/:port', (c) => {
    const { id, port } = readParams(c, PathParams);
    const q = new URL(c.req.url).search;
    return c.redirect(`${previewPathUrl(id, port)}${q}`, 308);
  });
  app.all('/w/:id/p/:port/*', (c) => {
    const { id, port } = readParams(c, PathParams);
    const url = new URL(c.req.url);
    const prefix = `/w/${id}/p/${c.req.param('port')}`;
    const target = url.pathname.slice(prefix.length) + url.search;
    return servePreview(c, 'path', id, port, target, options.upgrade);
  });
  app.all('/w/*', () => {
    throw new ApiError('not_found', 'Preview URLs look like /w/<workspace>/p/<port>/');
  });
  return app;
}

/**
 * Requests to `<port>--<workspace>.<preview host>` are previews and nothing else: none of them
 * reaches Keel's API or web app on that host, whatever its path.
 */
export function previewHostMiddleware(options: {
  upgrade: SocketUpgrade | undefined;
}): MiddlewareHandler<AppEnv> {
  return function previewHost(c, next) {
    const configured = c.get('services').config.previewHost?.host;
    if (!configured) return next();
    const host = hostOf(c);
    const suffix = `.${configured}`;
    if (!host.endsWith(suffix)) {
      // Keel's own pages may frame previews (the IDE's preview tab): their policy names the host.
      const h = answerHeaders(c);
      const policy = h['content-security-policy'];
      if (policy && !c.req.path.startsWith('/api/'))
        h['content-security-policy'] = `${policy}; frame-src 'self' ${schemeOf(c)}://*.${configured}`;
      return next();
    }
    const label = host.slice(0, -suffix.length);
    const m = /^([0-9]{1,5})--([a-z2-7]+)$/.exec(label);
    if (!m || !WORKSPACE_BODY.test(m[2]!)) throw new ApiError('not_found', 'No such preview');
    const port = Number(m[1]);
    if (port < 1 || port > 65_535) throw new ApiError('validation_failed', 'The port must be 1 to 65535');
    const url = new URL(c.req.url);
    return servePreview(c, 'host', `ws_${m[2]}`, port, url.pathname + url.search, options.upgrade);
  };
}

async function servePreview(
  c: Context<AppEnv>,
  mode: PreviewMode,
  workspaceId: string,
  port: number,
  target: string,
  upgrade: SocketUpgrade | undefined,
): Promise<Response> {
  const services = c.get('services');
  if (!target.startsWith('/')) target = `/${target}`;
  if (target.length > 8 * 1024) throw new ApiError('bad_request', 'The preview path is too long');
  previewAnswerHeaders(c, mode);
  if (target.startsWith(RESERVED)) return reserved(c, mode, workspaceId, port, target);

  const admitted = await admit(c, mode, workspaceId, port);
  const row = admitted.row;
  if (!row.runnerId || row.status === 'deleted') throw notFound();
  const websocket = c.req.header('upgrade')?.toLowerCase() === 'websocket';
  const headers = forwardedRequestHeaders(c.req.raw.headers, {
    mode,
    port,
    host: hostOf(c),
    proto: schemeOf(c),
    websocket,
  });
  const method = c.req.method.toUpperCase();
  if (!/^[A-Z]{1,16}$/.test(method)) throw new ApiError('method_not_allowed', 'Unsupported method');

  if (websocket) {
    if (!upgrade) throw new ApiError('not_ready', 'This server does not relay WebSockets');
    return upgrade(
      c,
      previewSocketRelay({
        redisUrl: services.config.redisUrl,
        readers: services.readers,
        writer: services.socketWrites?.(),
        open: () =>
          openConnection(services, { row, port, kind: 'ws', method: 'GET', target, headers, body: false }),
      }),
    );
  }

  const body = c.req.raw.body;
  const hasBody = body !== null && method !== 'GET' && method !== 'HEAD';
  const reader = services.readers.take();
  let head: Awaited<ReturnType<typeof readHead>>;
  let down: DownReader;
  try {
    const opened = await openConnection(
      services,
      { row, port, kind: 'http', method, target, headers, body: hasBody },
      reader,
    );
    if (hasBody && body) void pumpBody(services.redis(), opened.up, body);
    down = new DownReader(reader, opened.down, opened.firstRead);
    head = await readHead(down);
  } catch (err) {
    services.readers.give(reader);
    throw err;
  }
  if (!head.ok) {
    services.readers.give(reader);
    throw failureError(port, head.failure);
  }
  const out = returnedResponseHeaders(head.head.headers, mode);
  if (mode === 'host') out.append('content-security-policy', `frame-ancestors ${framers(c).join(' ')}`);
  const status = head.head.status;
  const noBody = method === 'HEAD' || status === 204 || status === 304;
  const whole = !noBody && wholeBody(head.rest);
  if (whole) {
    // The whole answer came with its head: one write to the client, head and body together.
    services.readers.give(reader);
    return new Response(whole, { status, headers: out });
  }
  const stream = bodyStream(down, head.rest, () => services.readers.give(reader));
  if (noBody) {
    void stream.cancel();
    return new Response(null, { status, headers: out });
  }
  return new Response(stream, { status, headers: out });
}

/** The security headers a preview answer gets instead of Keel's page policy. */
function previewAnswerHeaders(c: Context<AppEnv>, mode: PreviewMode): void {
  const h = answerHeaders(c);
  for (const name of [
    'content-security-policy',
    'x-frame-options',
    'cross-origin-opener-policy',
    'cross-origin-resource-policy',
    'cache-control',
  ])
    delete h[name];
  if (mode === 'path') {
    // Opaque origin: the page cannot read Keel's cookies or storage, nor call its API as Keel.
    h['content-security-policy'] = PATH_MODE_POLICY;
    h['x-frame-options'] = 'SAMEORIGIN';
  }
}

/** `/__keel/exchange` (preview host) and `/__keel/link` (both modes). */
async function reserved(
  c: Context<AppEnv>,
  mode: PreviewMode,
  workspaceId: string,
  port: number,
  target: string,
): Promise<Response> {
  const services = c.get('services');
  const url = new URL(target, 'http://x');
  const signer = previewSigner(services.config.secretKeys);
  const secure = schemeOf(c) === 'https' || hostOf(c).split(':')[0]!.endsWith('localhost');
  const cookiePath = mode === 'path' ? previewPathUrl(workspaceId, port) : '/';
  const setPreviewCookie = (token: string, maxAge: number) =>
    setCookie(c, PREVIEW_COOKIE, token, {
      path: cookiePath,
      httpOnly: true,
      maxAge,
      // Host mode: the IDE frames the preview from Keel's (another) site, where only a
      // SameSite=None cookie is sent; partitioned, so it is the preview's in that frame only.
      ...(mode === 'host' && secure
        ? { sameSite: 'None' as const, secure: true, partitioned: true as const }
        : { sameSite: 'Lax' as const, secure: schemeOf(c) === 'https' }),
    });
  const root = mode === 'path' ? previewPathUrl(workspaceId, port) : '/';

  if (url.pathname === `${RESERVED}exchange` && mode === 'host' && c.req.method === 'GET') {
    const checked = await signer.verify('exchange', url.searchParams.get('t') ?? undefined);
    if (!checked.ok || checked.claims.w !== workspaceId || checked.claims.p !== port || !checked.claims.n)
      throw new ApiError('not_found', 'This preview link is not valid (open it again from Keel)');
    // Once: a token seen in a log or history cannot be replayed.
    const fresh = await services
      .redis()
      .set(
        `${services.config.redisPrefix}preview-spent:${checked.claims.n}`,
        '1',
        'EX',
        EXCHANGE_SECONDS * 2,
        'NX',
      );
    if (fresh !== 'OK')
      throw new ApiError('not_found', 'This preview link was already used (open it again from Keel)');
    const { u, o, s } = checked.claims;
    const e = Math.floor(Date.now() / 1000) + COOKIE_SECONDS;
    setPreviewCookie(await signer.sign('cookie', { w: workspaceId, p: port, e, u, o, s }), COOKIE_SECONDS);
    return c.redirect(safeNext(url.searchParams.get('next') ?? '/'), 302);
  }
  if (url.pathname === `${RESERVED}link` && c.req.method === 'GET') {
    const checked = await signer.verify('link', url.searchParams.get('t') ?? undefined);
    if (!checked.ok && checked.why === 'expired')
      throw new ApiError('link_expired', 'This preview link has expired');
    if (!checked.ok || checked.claims.w !== workspaceId || checked.claims.p !== port)
      throw new ApiError('not_found', 'No such preview');
    await previewRow(services, workspaceId);
    const { e } = checked.claims;
    setPreviewCookie(
      await signer.sign('cookie', { w: workspaceId, p: port, e, l: 1 }),
      Math.max(1, e - Math.floor(Date.now() / 1000)),
    );
    return c.redirect(root, 302);
  }
  throw new ApiError('not_found', `Nothing at ${RESERVED}${url.pathname.slice(RESERVED.length)}`);
}
