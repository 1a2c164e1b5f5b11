import { z } from 'zod';
import { type ApiRoute, body, errorResponses, json, needs, userAuth } from './api/describe.ts';
import { defineStreamKind } from './streams.ts';
import { CONTRACT_VERSION } from './version.ts';

/**
 * Preview URLs: a server listening on a TCP port inside a workspace, reached through the edge at
 * `/w/<workspace>/p/<port>/…` (path mode, Keel's own origin, sandboxed) or at
 * `<port>--<workspace>.<KEEL_PREVIEW_HOST>` (wildcard mode, an origin of its own).
 *
 * Nothing dials in to a runner, so one proxied connection (an HTTP exchange or a WebSocket) is:
 *   edge ── one-way call `preview.open` (request head) ──▶ runner
 *   edge ── up stream (request body / client messages) ──▶ runner ──▶ forwarder in the workspace
 *   edge ◀── down stream (response head, body / server messages) ── runner ◀── 127.0.0.1:<port>
 * Each stream holds at most PREVIEW_WINDOW_ENTRIES unread entries and PREVIEW_WINDOW_BYTES of data
 * (entries of at most PREVIEW_CHUNK_BYTES): the writer writes only what fits and waits while the
 * reader is that far behind (the reader deletes what it consumed; see PreviewWindow), so a
 * connection holds at most 8 MiB per direction in Redis whatever the body's size.
 */

/** The most bytes of data one entry holds: a body's pieces are joined up to it, longer ones cut. */
export const PREVIEW_CHUNK_BYTES = 1024 * 1024;
/** The most entries a stream holds unread. */
export const PREVIEW_WINDOW_ENTRIES = 64;
/**
 * The most bytes of data a stream holds unread, whatever its entries' sizes. 8 MiB rather than 4:
 * with 4 the runner stopped at the window while the edge sent the last batch to the client, and a
 * download read 0.50 to 0.56× the direct one in four runs; with 8 the two overlap more, 0.56 to
 * 0.69× in four (bench/run preview, docs/PERFORMANCE.md). The cost is what a stalled reader parks
 * in Redis, and the edge's read buffer of a download.
 */
export const PREVIEW_WINDOW_BYTES = 8 * 1024 * 1024;
/**
 * A writer's account of its stream's window: the sizes of the entries it wrote that the reader
 * may not have consumed yet. The reader deletes what it consumed, oldest first, so the stream's
 * length (XLEN, sent with every write) says how many of the last written are still there.
 */
export class PreviewWindow {
  private sizes: number[] = [];
  private first = 0;
  /** Bytes of data unread, as last seen. */
  bytes = 0;

  /** Entries unread, as last seen. */
  get entries(): number {
    return this.sizes.length - this.first;
  }

  /** Whether `entries` more entries holding `bytes` fit now. */
  fits(entries: number, bytes: number): boolean {
    return this.entries + entries <= PREVIEW_WINDOW_ENTRIES && this.bytes + bytes <= PREVIEW_WINDOW_BYTES;
  }

  /** Whether nothing more fits at all. */
  get full(): boolean {
    return this.entries >= PREVIEW_WINDOW_ENTRIES || this.bytes >= PREVIEW_WINDOW_BYTES;
  }

  wrote(bytes: number): void {
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** The stream's length as Redis gave it: the entries beyond it were consumed. */
  seen(length: number): void {
    while (this.entries > Math.max(0, length)) this.bytes -= this.sizes[this.first++]!;
    if (this.first > 1024) {
      this.sizes = this.sizes.slice(this.first);
      this.first = 0;
    }
  }
}

/** A connection's streams expire this long after their last write (a peer that vanished). */
export const PREVIEW_STREAM_TTL_SECONDS = 120;
/** The response head must come within this; the edge answers 504 otherwise. */
export const PREVIEW_HEAD_TIMEOUT_MS = 30_000;
/** A request or response head: at most this many headers, each value at most 8 KiB. */
export const PREVIEW_MAX_HEADERS = 128;
export const PREVIEW_MAX_HEADER_BYTES = 8 * 1024;
/** The largest path + query forwarded. */
export const PREVIEW_MAX_TARGET_BYTES = 8 * 1024;
/** Ports the runner lists, at most. */
export const PREVIEW_MAX_PORTS = 256;

export const PreviewPort = z.coerce.number().int().min(1).max(65_535);
export const PreviewConnectionId = z.string().regex(/^pvc_[a-z2-7]{20}$/);

const HeaderName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/);
const HeaderValue = z.string().max(PREVIEW_MAX_HEADER_BYTES);
export const PreviewHeaders = z.array(z.tuple([HeaderName, HeaderValue])).max(PREVIEW_MAX_HEADERS);
export type PreviewHeaders = z.infer<typeof PreviewHeaders>;

/** A one-way call: the answer travels in the connection's down stream. */
export const PreviewOpenJob = z.object({
  v: z.literal(CONTRACT_VERSION),
  type: z.literal('preview.open'),
  workspaceId: z.string().min(1).max(64),
  connectionId: PreviewConnectionId,
  port: PreviewPort,
  /** `ws`: a WebSocket to the port (the head is its handshake); `http`: one HTTP exchange. */
  kind: z.enum(['http', 'ws']),
  method: z.string().regex(/^[A-Z]{1,16}$/),
  /** Path and query, as sent to the workspace server (starts with '/'). */
  target: z.string().startsWith('/').max(PREVIEW_MAX_TARGET_BYTES),
  /** Already filtered by the edge (no Keel cookies, no Authorization, no hop-by-hop headers). */
  headers: PreviewHeaders,
  /** false: no request body, the up stream carries nothing but a possible `close`. */
  body: z.boolean(),
});
export type PreviewOpenJob = z.infer<typeof PreviewOpenJob>;

/** Request/response: the TCP ports the workspace listens on (from /proc/net/tcp{,6} inside it). */
export const PreviewPortsJob = z.object({
  v: z.literal(CONTRACT_VERSION),
  type: z.literal('preview.ports'),
  workspaceId: z.string().min(1).max(64),
});
export type PreviewPortsJob = z.infer<typeof PreviewPortsJob>;

export const ListeningPort = z.object({
  port: PreviewPort,
  /** Where it listens: loopback only, or every address. */
  address: z.enum(['loopback', 'any', 'other']),
});
export const PreviewPortsResult = z.object({ ports: z.array(ListeningPort).max(PREVIEW_MAX_PORTS) });
export type PreviewPortsResult = z.infer<typeof PreviewPortsResult>;

/** The `d` of a `head` entry of the down stream. */
export const PreviewResponseHead = z.object({
  status: z.number().int().min(101).max(599),
  headers: PreviewHeaders,
});
export type PreviewResponseHead = z.infer<typeof PreviewResponseHead>;

/** The `d` of an `error` entry: why the connection could not be made or broke. */
export const PreviewFailure = z.object({
  code: z.enum(['port_closed', 'workspace_not_running', 'bad_gateway', 'too_large']),
  message: z.string().max(1000),
});
export type PreviewFailure = z.infer<typeof PreviewFailure>;

/**
 * Down stream (runner → edge): `head` (JSON PreviewResponseHead; for `ws`, status 101 once the
 * server accepted), then `data` chunks (HTTP body) or `wt`/`wb` (a WebSocket text/binary message),
 * then `end` (body complete / socket closed), or `error` (JSON PreviewFailure) at any point.
 * A message longer than a chunk travels as `wc` pieces followed by its `wt`/`wb` last piece.
 */
export const previewDownStream = defineStreamKind({
  name: 'preview down',
  key: (keys, id) => `${keys.base}pv:${id}:down`,
  entry: z.discriminatedUnion('t', [
    z.object({ t: z.literal('head'), d: z.string() }),
    z.object({ t: z.literal('data'), d: z.string() }),
    z.object({ t: z.literal('wt'), d: z.string() }),
    z.object({ t: z.literal('wb'), d: z.string() }),
    z.object({ t: z.literal('wc'), d: z.string() }),
    z.object({ t: z.literal('end') }),
    z.object({ t: z.literal('error'), d: z.string() }),
  ]),
  final: ['end', 'error'],
  ttlSeconds: PREVIEW_STREAM_TTL_SECONDS,
  maxEntries: PREVIEW_WINDOW_ENTRIES,
  // Tighter than maxEntries × entryBytes: the writer keeps both caps (PreviewWindow).
  maxBytes: PREVIEW_WINDOW_BYTES,
  bound: 'rolling',
  entryBytes: PREVIEW_CHUNK_BYTES,
  openedBy: 'runner',
});

/** Up stream (edge → runner): `data` (request body) or `wt`/`wb` messages, then `end`; `close` aborts. */
export const previewUpStream = defineStreamKind({
  name: 'preview up',
  key: (keys, id) => `${keys.base}pv:${id}:up`,
  entry: z.discriminatedUnion('t', [
    z.object({ t: z.literal('data'), d: z.string() }),
    z.object({ t: z.literal('wt'), d: z.string() }),
    z.object({ t: z.literal('wb'), d: z.string() }),
    z.object({ t: z.literal('wc'), d: z.string() }),
    z.object({ t: z.literal('end') }),
    z.object({ t: z.literal('close') }),
  ]),
  final: ['end', 'close'],
  ttlSeconds: PREVIEW_STREAM_TTL_SECONDS,
  maxEntries: PREVIEW_WINDOW_ENTRIES,
  // Tighter than maxEntries × entryBytes: the writer keeps both caps (PreviewWindow).
  maxBytes: PREVIEW_WINDOW_BYTES,
  bound: 'rolling',
  entryBytes: PREVIEW_CHUNK_BYTES,
  openedBy: 'edge',
});

// ---- The API around previews ------------------------------------------------------------------

/** Who may open a port's preview besides its owner. */
export const PreviewShare = z.enum(['owner', 'organization']);
export type PreviewShare = z.infer<typeof PreviewShare>;

export const PreviewPortParams = z.object({ id: z.string().min(1).max(64), port: PreviewPort });

export const PreviewShareBody = z.object({ share: PreviewShare }).strict();

/** Signed links live at most a week. */
export const PREVIEW_LINK_MAX_SECONDS = 7 * 24 * 3600;
export const PreviewLinkBody = z
  .object({ expiresInSeconds: z.number().int().min(60).max(PREVIEW_LINK_MAX_SECONDS) })
  .strict();

export const PreviewPortView = z.object({
  port: PreviewPort,
  address: z.enum(['loopback', 'any', 'other']),
  share: PreviewShare,
  /** Path mode URL (always). */
  pathUrl: z.string(),
  /** Wildcard mode entry URL (a signed exchange on Keel's origin), when a preview host is configured. */
  hostUrl: z.string().nullable(),
});
export type PreviewPortView = z.infer<typeof PreviewPortView>;
export const PreviewPortsView = z.object({ ports: z.array(PreviewPortView) });

export const PreviewLinkView = z.object({ url: z.string(), expiresAt: z.string() });

// ---- Described routes (Keel's own API; the proxied /w/… and preview-host traffic is not API) ----

const previewParams = z.object({ id: z.string().min(1).max(64) });

export const previewRoutes = {
  previewPorts: {
    method: 'get',
    path: '/api/workspaces/{id}/ports',
    summary: 'The TCP ports the workspace listens on, with their preview URLs and share setting',
    tags: ['preview'],
    access: needs('workspaces:use'),
    security: userAuth,
    request: { params: previewParams },
    responses: { 200: json(PreviewPortsView, 'The listening ports'), ...errorResponses },
  },
  previewShare: {
    method: 'put',
    path: '/api/workspaces/{id}/ports/{port}/share',
    summary: "Who may open a port's preview: its owner only, or the whole organization",
    tags: ['preview'],
    access: needs('workspaces:use'),
    security: userAuth,
    request: { params: PreviewPortParams, body: body(PreviewShareBody) },
    responses: { 200: json(PreviewShareBody, 'The setting now'), ...errorResponses },
  },
  previewLink: {
    method: 'post',
    path: '/api/workspaces/{id}/ports/{port}/link',
    summary: "A signed link to a port's preview that anyone holding it may open until it expires",
    tags: ['preview'],
    access: needs('workspaces:use'),
    security: userAuth,
    request: { params: PreviewPortParams, body: body(PreviewLinkBody) },
    responses: { 201: json(PreviewLinkView, 'The link'), ...errorResponses },
  },
  previewOpen: {
    method: 'get',
    path: '/api/workspaces/{id}/ports/{port}/open',
    summary: "Opens a port's preview on the preview host: redirects there with a one-time signed token",
    tags: ['preview'],
    access: needs('workspaces:use'),
    security: userAuth,
    request: {
      params: PreviewPortParams,
      query: z.object({ path: z.string().startsWith('/').max(2048).optional() }),
    },
    responses: { 302: { description: 'To the preview host' }, ...errorResponses },
  },
} as const satisfies Record<string, ApiRoute>;
