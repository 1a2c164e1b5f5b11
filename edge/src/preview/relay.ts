/*
 * The edge's side of one preview connection (see @keel/contract/preview): the request head goes
 * to the workspace's runner as a one-way call, the body into the up stream, and the answer is read
 * from the down stream into the response as it comes (a ReadableStream pulled by the client, so a
 * slow client slows the runner through the stream's window, never fills memory).
 */
import { runnerKeys } from '@keel/contract/keys';
import {
  PREVIEW_CHUNK_BYTES,
  PREVIEW_HEAD_TIMEOUT_MS,
  PREVIEW_STREAM_TTL_SECONDS,
  PreviewFailure,
  type PreviewHeaders,
  type PreviewOpenJob,
  PreviewResponseHead,
  PreviewWindow,
  previewDownStream,
  previewUpStream,
} from '@keel/contract/preview';
import { CONTRACT_VERSION } from '@keel/contract/version';
import type { Redis } from 'ioredis';
import { ApiError } from '../http/api-error.ts';
import type { Services } from '../services.ts';
import { queueOf, type WorkspaceRow } from '../workspaces/access.ts';
import type { OutputEntry, OutputReader } from '../workspaces/output-reader.ts';

/** A connection's id: `pvc_` and 20 base32 characters (100 random bits). */
export function newConnectionId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let out = 'pvc_';
  for (const b of bytes) out += alphabet[b & 31];
  return out;
}

export interface OpenRequest {
  row: WorkspaceRow;
  port: number;
  kind: 'http' | 'ws';
  method: string;
  target: string;
  headers: PreviewHeaders;
  body: boolean;
}

export interface Opened {
  connectionId: string;
  down: string;
  up: string;
}

/** The one-way call's push (as the queue's `oneWay` writes it), for a reader to send with its first read. */
const PUSH_CALL = `
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2], 'NX')
redis.call('PEXPIRE', KEYS[1], ARGV[2], 'GT')
return 1`;

/** The first read of the down stream waits this long at most (DownReader goes on from there). */
const FIRST_READ_BLOCK_MS = 5_000;

/**
 * Sends the runner its call; the streams' keys come back. Given the reader of the down stream,
 * the call and the stream's first read leave in one write on the reader's connection (one wake-up
 * of Redis, no round trip before the read), where the reader can; `firstRead` is that read.
 */
export async function openConnection(
  services: Services,
  o: OpenRequest,
  reader?: OutputReader,
): Promise<Opened & { firstRead?: Promise<OutputEntry[] | null> }> {
  if (!o.row.runnerId) throw new ApiError('runner_unavailable', 'This workspace has no runner');
  const connectionId = newConnectionId();
  const keys = runnerKeys(services.config.redisPrefix, o.row.runnerId);
  const down = previewDownStream.key(keys, connectionId);
  const up = previewUpStream.key(keys, connectionId);
  const job: PreviewOpenJob = {
    v: CONTRACT_VERSION,
    type: 'preview.open',
    workspaceId: o.row.id,
    connectionId,
    port: o.port,
    kind: o.kind,
    method: o.method,
    target: o.target,
    headers: o.headers,
    body: o.body,
  };
  if (reader) {
    const call = services.queue.oneWayCall(queueOf(o.row), job, PREVIEW_HEAD_TIMEOUT_MS);
    const pipelined = reader.evalThenRead(PUSH_CALL, [call.list], [call.payload, call.ttlMs], {
      key: down,
      from: '0-0',
      count: READ_COUNT,
      blockMs: FIRST_READ_BLOCK_MS,
    });
    if (pipelined) {
      // Settled here too: when the push fails, the reader is closed under its read.
      pipelined.entries.catch(() => {});
      await pipelined.result;
      return { connectionId, down, up, firstRead: pipelined.entries };
    }
  }
  const multi = services.redis().multi();
  services.queue.oneWay(multi, queueOf(o.row), job, PREVIEW_HEAD_TIMEOUT_MS);
  await multi.exec();
  return { connectionId, down, up };
}

/** Entries a read of the down stream takes at most. */
const READ_COUNT = 128;

/**
 * Appends to a stream, writing only what fits in its window and waiting while its reader is that
 * far behind (see the contract); `window` is the stream's account, one per stream and writer.
 */
export async function appendWindowed(
  redis: Redis,
  key: string,
  t: string,
  d: Uint8Array | string | undefined,
  window: PreviewWindow,
): Promise<void> {
  const pieces: Array<Uint8Array | string | undefined> = [];
  const bytes = typeof d === 'string' && d.length > PREVIEW_CHUNK_BYTES / 4 ? new TextEncoder().encode(d) : d;
  if (bytes instanceof Uint8Array && bytes.length > PREVIEW_CHUNK_BYTES) {
    for (let at = 0; at < bytes.length; at += PREVIEW_CHUNK_BYTES)
      pieces.push(bytes.subarray(at, at + PREVIEW_CHUNK_BYTES));
  } else pieces.push(bytes);
  // A WebSocket message keeps its bounds: its pieces but the last are `wc` (continued).
  const message = t === 'wt' || t === 'wb';
  for (const [i, piece] of pieces.entries()) {
    const type = message && i < pieces.length - 1 ? 'wc' : t;
    const size =
      piece === undefined ? 0 : typeof piece === 'string' ? Buffer.byteLength(piece) : piece.length;
    let wait = 1;
    const since = Date.now();
    while (!window.fits(1, size)) {
      if (Date.now() - since > 60_000) throw new Error('the runner stopped reading');
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 20);
      window.seen(await redis.xlen(key));
    }
    const multi = redis.multi();
    if (piece === undefined) multi.xadd(key, '*', 't', type);
    else multi.xadd(key, '*', 't', type, 'd', typeof piece === 'string' ? piece : Buffer.from(piece));
    window.wrote(size);
    const replies = await multi.expire(key, PREVIEW_STREAM_TTL_SECONDS).xlen(key).exec();
    window.seen(Number(replies?.at(-1)?.[1] ?? 0));
  }
}

/** Copies a request body into the up stream, then `end` (or `close` when the client broke off). */
export async function pumpBody(redis: Redis, up: string, body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  const window = new PreviewWindow();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value?.length) await appendWindowed(redis, up, 'data', value, window);
    }
    await appendWindowed(redis, up, 'end', undefined, window);
  } catch {
    await redis.xadd(up, '*', 't', 'close').catch(() => {});
  }
}

/** Follows the down stream; entries are copied (a reader's data is a view of its buffer). */
export class DownReader {
  private cursor = '0-0';
  private buffered: OutputEntry[] = [];
  /** Ids taken but not yet deleted: they leave with the next read (see `next`). */
  private consumed: string[] = [];
  done = false;

  constructor(
    private readonly reader: OutputReader,
    private readonly key: string,
    /** A read already sent (see openConnection), taken first. */
    private first?: Promise<OutputEntry[] | null>,
  ) {}

  /** The next entries, waiting until `deadline` (epoch ms); [] at the deadline. */
  async next(deadline: number): Promise<OutputEntry[]> {
    if (this.buffered.length) return this.buffered.splice(0);
    while (Date.now() < deadline) {
      const block = Math.max(1, Math.min(deadline - Date.now(), 5_000));
      const pending = this.first;
      this.first = undefined;
      const consumed = this.consumed.splice(0);
      const got = await (pending ?? this.reader.read(this.key, this.cursor, READ_COUNT, block, consumed));
      if (!got?.length) continue;
      const copies = got.map((e) => ({ id: e.id, t: e.t, d: e.d ? e.d.slice() : undefined }));
      this.cursor = copies.at(-1)!.id;
      // Consumed: out of the window once deleted, so the runner may write on. The deletes ride
      // with the next read (the caller asks for it once it passed these on: no command of their
      // own, and the window counts what the client has not yet taken); the last batch, which no
      // read of this stream follows, with the reader's next command (the next connection's, or
      // its close): the runner waits on nothing once it wrote the end.
      const ids = copies.map((e) => e.id);
      if (copies.some((e) => e.t === 'end' || e.t === 'error')) this.reader.discard(this.key, ids);
      else this.consumed = ids;
      return copies;
    }
    return [];
  }

  /** Puts back entries not yet used (after the head). */
  unread(entries: OutputEntry[]): void {
    this.buffered.unshift(...entries);
  }
}

export type HeadOutcome =
  | { ok: true; head: PreviewResponseHead; rest: OutputEntry[] }
  | { ok: false; failure: PreviewFailure | undefined };

/** Waits for the answer's head (or the runner's refusal) until the head deadline. */
export async function readHead(down: DownReader): Promise<HeadOutcome> {
  const deadline = Date.now() + PREVIEW_HEAD_TIMEOUT_MS;
  for (;;) {
    const entries = await down.next(deadline);
    if (!entries.length) return { ok: false, failure: undefined };
    const i = entries.findIndex((e) => e.t === 'head' || e.t === 'error');
    if (i < 0) continue;
    const e = entries[i]!;
    const text = e.d ? new TextDecoder().decode(e.d) : '';
    if (e.t === 'error') return { ok: false, failure: parse(PreviewFailure, text) };
    const head = parse(PreviewResponseHead, text);
    if (!head)
      return { ok: false, failure: { code: 'bad_gateway', message: 'The runner sent an unreadable head' } };
    return { ok: true, head, rest: entries.slice(i + 1) };
  }
}

function parse<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  text: string,
) {
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** The body when the entries after the head hold all of it (`data` entries, then `end`). */
export function wholeBody(rest: OutputEntry[]): Uint8Array<ArrayBuffer> | undefined {
  const end = rest.findIndex((e) => e.t === 'end');
  if (end < 0 || rest.slice(0, end).some((e) => e.t !== 'data')) return undefined;
  const parts = rest.slice(0, end).map((e) => e.d ?? new Uint8Array());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The HTTP body: `data` entries until `end`; an `error` (or silence past the stall limit) aborts it. */
export function bodyStream(
  down: DownReader,
  rest: OutputEntry[],
  release: () => void,
): ReadableStream<Uint8Array> {
  if (rest.length) down.unread(rest);
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    release();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const entries = await down.next(Date.now() + 60_000);
          if (!entries.length) throw new Error('the workspace server fell silent');
          let gave = false;
          for (const e of entries) {
            if (e.t === 'data' && e.d?.length) {
              controller.enqueue(e.d);
              gave = true;
            } else if (e.t === 'end') {
              controller.close();
              finish();
              return;
            } else if (e.t === 'error') {
              throw new Error('the workspace server broke off its answer');
            }
          }
          if (gave) return;
        }
      } catch (err) {
        finish();
        controller.error(err);
      }
    },
    cancel() {
      finish();
    },
  });
}

/** The API error for a connection that never got its head. */
export function failureError(port: number, failure: PreviewFailure | undefined): ApiError {
  if (!failure) return new ApiError('gateway_timeout', `The server on port ${port} did not answer in time`);
  switch (failure.code) {
    case 'port_closed':
      return new ApiError('bad_gateway', `Nothing listens on port ${port} in the workspace`);
    case 'workspace_not_running':
      return new ApiError('workspace_not_running', 'The workspace is not running; start it first');
    default:
      return new ApiError('bad_gateway', failure.message);
  }
}
