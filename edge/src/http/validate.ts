import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import type { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from './api-error.ts';

function toIssues(error: z.ZodError) {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
}

/** Reads a JSON body: 415 for another media type, 400 for malformed JSON, 422 for a schema miss. */
export async function readJson<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.output<S>> {
  return check(schema, await parseJsonBody(c, false), 'Request body is invalid');
}

/** Like readJson, with a size cap of its own (file uploads carry more than ordinary requests). */
export async function readJsonWithin<S extends z.ZodType>(
  c: Context<AppEnv>,
  schema: S,
  maxBytes: number,
): Promise<z.output<S>> {
  return check(schema, await parseJsonBody(c, false, maxBytes), 'Request body is invalid');
}

/** A JSON body that may be absent altogether (logout, or refresh from a browser). */
export async function readOptionalJson<S extends z.ZodType>(
  c: Context<AppEnv>,
  schema: S,
): Promise<z.output<S>> {
  return check(schema, await parseJsonBody(c, true), 'Request body is invalid');
}

/** Stateless between calls (no `stream` option), so one serves every request. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Past this, an oversize body is no longer read to the end: the connection is dropped instead. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Reads the whole body, but keeps at most `maxBytes`. An oversize body is still read to
 * its end (up to a drain limit) before the 413 goes out: answering while the client is
 * still sending makes many HTTP clients see a reset instead of the answer.
 */
export async function readBodyBytes(c: Context, maxBytes: number): Promise<Uint8Array> {
  try {
    return await readBodyBytesOrFail(c, maxBytes);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // A request body fails to arrive only when its connection does: the client left mid-upload.
    throw new BodyAborted(err);
  }
}

/** The client went away before its body arrived whole: nobody to answer, nothing wrong here. */
export class BodyAborted extends Error {
  constructor(cause: unknown) {
    super(`The request body ended early: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'BodyAborted';
  }
}

async function readBodyBytesOrFail(c: Context, maxBytes: number): Promise<Uint8Array> {
  const length = c.req.header('content-length');
  const declared = Number(length ?? 0);
  // A declared length within the cap bounds the body (HTTP framing ends it there): read it
  // whole. On Node that skips the web stream the adapter would otherwise build around it.
  if (length !== undefined && declared <= maxBytes && c.req.header('transfer-encoding') === undefined) {
    return receivedBody(c, declared) || new Uint8Array(await c.req.raw.arrayBuffer());
  }
  const body = c.req.raw.body;
  if (!body) return new Uint8Array(0);
  let tooBig = declared > maxBytes;
  if (tooBig && declared > DRAIN_LIMIT_BYTES) {
    await body.cancel().catch(() => {});
    throw tooLarge(maxBytes);
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) tooBig = true;
    if (!tooBig) chunks.push(value);
    if (size > DRAIN_LIMIT_BYTES) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  if (tooBig) throw tooLarge(maxBytes);
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/**
 * On Node, a body the server already holds whole (a small request arrives with its headers,
 * and the parser has taken all the bytes its Content-Length declares, which is all the body
 * there is): taken from the request as it lies, where the adapter would wait on stream events
 * for it and copy it once more. Undefined when it is not all there yet.
 */
function receivedBody(c: Context, declared: number): Uint8Array | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (
    !incoming ||
    typeof incoming.read !== 'function' ||
    incoming.readableDidRead ||
    incoming.readableLength !== declared
  ) {
    return undefined;
  }
  const body = declared === 0 ? Buffer.alloc(0) : (incoming.read() as Buffer | null);
  if (!body || body.length !== declared) return undefined;
  // Flowing with nothing left, the request reaches its end as Node's own drain would take it.
  incoming.resume();
  return body;
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError('payload_too_large', `Request body is larger than ${maxBytes} bytes`);
}

async function parseJsonBody(c: Context<AppEnv>, optional: boolean, maxBytes?: number): Promise<unknown> {
  const bytes = await readBodyBytes(c, maxBytes ?? c.get('services').config.maxBodyBytes);
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new ApiError('invalid_json', 'Request body is not valid UTF-8');
  }
  if (optional && text.trim() === '') return {};
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new ApiError('unsupported_media_type', 'Send a JSON body with Content-Type: application/json');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('invalid_json', 'Request body is not valid JSON');
  }
}

export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  assertReadableQuery(c.req.url);
  return check(schema, c.req.query(), 'Query string is invalid');
}

/**
 * Hono keeps a percent-escape that does not decode to UTF-8 as its literal text, so `%FF`
 * would become a file named "%FF": such a query is refused instead, as unreadable input.
 * Hono also drops a parameter without a name (`?=x`), which would slip past a strict schema's
 * "no unknown fields": it is refused too.
 */
function assertReadableQuery(url: string): void {
  const start = url.indexOf('?');
  if (start < 0) return;
  for (const part of url.slice(start + 1).split('&')) {
    if (part.startsWith('=')) {
      throw new ApiError('validation_failed', 'Query string is invalid', [
        { path: '(query)', message: 'a parameter has no name' },
      ]);
    }
    if (!part.includes('%')) continue;
    try {
      decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      const name = part.split('=', 1)[0] ?? '';
      throw new ApiError('validation_failed', 'Query string is invalid', [
        {
          path: /^[A-Za-z0-9_]{1,64}$/.test(name) ? name : '(query)',
          message: 'is not valid UTF-8 after percent-decoding',
        },
      ]);
    }
  }
}

export function readParams<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return check(schema, c.req.param(), 'Path parameters are invalid');
}

function check<S extends z.ZodType>(schema: S, value: unknown, message: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ApiError('validation_failed', message, toIssues(result.error));
  return result.data;
}
