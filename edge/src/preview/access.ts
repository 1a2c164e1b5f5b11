/*
 * Who may open a preview. Its owner always; a member of the workspace's organization when the
 * port is shared with the organization; anyone holding an unexpired signed link to that port.
 * Everyone else, another organization included, gets the same 404 as for a workspace that does
 * not exist: a preview URL says nothing about what exists.
 */
import { AUTH_COOKIES } from '@keel/contract/auth';
import { idSchema } from '@keel/contract/ids';
import type { PreviewShare } from '@keel/contract/preview';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { confirmSession } from '../middleware/authenticate.ts';
import type { Services } from '../services.ts';
import { type WorkspaceRow, workspaceRow } from '../workspaces/access.ts';
import { PREVIEW_COOKIE } from './headers.ts';
import { type PreviewClaims, previewSigner } from './signing.ts';

export const notFound = () => new ApiError('not_found', 'No such preview');

function shareKey(services: Services, workspaceId: string): string {
  return `${services.config.redisPrefix}preview-share:${workspaceId}`;
}

/** The port's share setting; sealed (cache-seal.ts), so a value written into Redis directly counts for nothing. */
export async function readShare(
  services: Services,
  workspaceId: string,
  port: number,
): Promise<PreviewShare> {
  const key = shareKey(services, workspaceId);
  const sealed = await services.redis().hget(key, String(port));
  const value = await services.cacheSeal.open(`${key}:${port}`, sealed);
  return value === 'organization' ? 'organization' : 'owner';
}

export async function readShares(
  services: Services,
  workspaceId: string,
): Promise<Map<number, PreviewShare>> {
  const key = shareKey(services, workspaceId);
  const all = await services.redis().hgetall(key);
  const out = new Map<number, PreviewShare>();
  for (const [port, sealed] of Object.entries(all)) {
    if ((await services.cacheSeal.open(`${key}:${port}`, sealed)) === 'organization')
      out.set(Number(port), 'organization');
  }
  return out;
}

export async function writeShare(
  services: Services,
  workspaceId: string,
  port: number,
  share: PreviewShare,
): Promise<void> {
  const key = shareKey(services, workspaceId);
  if (share === 'owner') await services.redis().hdel(key, String(port));
  else await services.redis().hset(key, String(port), await services.cacheSeal.seal(`${key}:${port}`, share));
}

/** The workspace row for a preview, or 404: only live workspaces have previews. */
export async function previewRow(services: Services, workspaceId: string): Promise<WorkspaceRow> {
  if (!idSchema('workspace').safeParse(workspaceId).success) throw notFound();
  const found = await workspaceRow(services, workspaceId);
  if (!found) throw notFound();
  return found.row;
}

export interface Admitted {
  row: WorkspaceRow;
  /** Who: a person (owner or colleague) or the holder of a link. */
  via: 'owner' | 'organization' | 'link';
  userId?: string;
}

/**
 * A person signed in to Keel (whose session still stands) may open the preview when they own the
 * workspace or the port is shared with their organization. Throws 404 otherwise.
 */
export async function admitPerson(
  c: Context<AppEnv>,
  row: WorkspaceRow,
  port: number,
  person: { userId: string; organizationId: string; sessionId: string },
): Promise<Admitted> {
  try {
    await confirmSession(c, { ...person, via: 'cookie' });
  } catch {
    throw new ApiError('unauthorized', 'Sign in to Keel to open this preview');
  }
  if (row.organizationId !== person.organizationId) throw notFound();
  if (row.ownerId === person.userId) return { row, via: 'owner', userId: person.userId };
  if ((await readShare(c.get('services'), row.id, port)) === 'organization')
    return { row, via: 'organization', userId: person.userId };
  throw notFound();
}

/**
 * The caller of a proxied request. In order: the preview cookie (made by the exchange or a link),
 * then — path mode only, on Keel's own origin — Keel's session cookie or a Bearer token.
 */
export async function admit(
  c: Context<AppEnv>,
  mode: 'path' | 'host',
  workspaceId: string,
  port: number,
): Promise<Admitted> {
  const services = c.get('services');
  const signer = previewSigner(services.config.secretKeys);
  const cookie = getCookie(c, PREVIEW_COOKIE);
  if (cookie) {
    const checked = await signer.verify('cookie', cookie);
    if (checked.ok && checked.claims.w === workspaceId && checked.claims.p === port) {
      const row = await previewRow(services, workspaceId);
      return admitClaims(c, row, port, checked.claims);
    }
    if (!checked.ok && checked.why === 'expired')
      throw new ApiError('link_expired', 'This preview link has expired');
  }
  if (mode === 'path') {
    const header = c.req.header('authorization');
    const token = header
      ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header)?.[1]
      : getCookie(c, AUTH_COOKIES.access);
    if (token) {
      let claims: Awaited<ReturnType<typeof services.keys.verify>>;
      try {
        claims = await services.keys.verify(token);
      } catch {
        throw new ApiError('invalid_token', 'Access token is invalid or expired');
      }
      const row = await previewRow(services, workspaceId);
      return admitPerson(c, row, port, {
        userId: claims.sub,
        organizationId: claims.org,
        sessionId: claims.sid,
      });
    }
  }
  throw new ApiError('unauthorized', 'Open this preview from Keel (sign in first)');
}

async function admitClaims(
  c: Context<AppEnv>,
  row: WorkspaceRow,
  port: number,
  claims: PreviewClaims,
): Promise<Admitted> {
  if (claims.l === 1) return { row, via: 'link' };
  if (!claims.u || !claims.o || !claims.s) throw notFound();
  return admitPerson(c, row, port, { userId: claims.u, organizationId: claims.o, sessionId: claims.s });
}
