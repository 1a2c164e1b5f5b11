import {
  checkLspClientMessage,
  type JsonRpcMessage,
  LSP_MESSAGE_MAX_BYTES,
  type LspError,
  LspInputEntry,
  lspKeys,
} from '@keel/contract/lsp';
import { lspOutputStream } from '@keel/contract/streams';
import type { Redis } from 'ioredis';
import { StreamAppender } from '../streams/appender.ts';
import { errorAnswer, INVALID_PARAMS, type LspPeer, notification } from './lsp-server.ts';

/** How often, at most, the connection asks whether a socket is still attached. */
const ATTACH_CHECK_MS = 5_000;
/** A connection whose socket mark lapsed this long ago is gone (the edge died without a `close`). */
const DETACHED_AFTER_MS = 35_000;

export interface LspConnectionOptions {
  redis: Redis;
  base: string;
  connectionId: string;
  /** A message from the client, checked. */
  onMessage(peer: LspPeer, message: JsonRpcMessage): void;
  /** The connection ended (socket closed, lapsed, or the server ended it). */
  onEnd(peer: LspPeer): void;
  onActivity(): void;
}

/**
 * One browser connection on the runner: its input stream read with a blocking connection of its
 * own, every entry checked again (size, JSON, JSON-RPC, URIs inside /workspace) whatever the edge
 * did, and its output written one message per entry.
 */
export class LspConnection implements LspPeer {
  readonly id: string;
  readonly done: Promise<void>;
  readonly #out: StreamAppender;
  readonly #reader: Redis;
  readonly #keys: ReturnType<typeof lspKeys>;
  #running = true;
  #ended = false;

  constructor(private readonly o: LspConnectionOptions) {
    this.id = o.connectionId;
    this.#keys = lspKeys({ base: o.base }, o.connectionId);
    this.#out = new StreamAppender(o.redis, this.#keys.output, lspOutputStream, {
      coalesce: false,
      renewTtl: true,
      entryPerAppend: true,
    });
    this.#reader = o.redis.duplicate();
    this.#reader.on('error', () => {});
    this.done = this.#pump();
  }

  send(text: string): void {
    if (this.#ended) return;
    if (Buffer.byteLength(text) > LSP_MESSAGE_MAX_BYTES) {
      // An answer too large to relay: the client learns which request it was, not a cut message.
      const id = (JSON.parse(text) as { id?: string | number }).id;
      const why = `The answer is larger than ${LSP_MESSAGE_MAX_BYTES} bytes.`;
      this.#out.appendText(
        'msg',
        id !== undefined
          ? errorAnswer(id, -32603, why)
          : notification('$/keel/error', { code: 'message_too_large', message: why }),
      );
      return;
    }
    this.#out.appendText('msg', text);
  }

  end(reason: LspError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#running = false;
    this.#reader.disconnect();
    void this.#out
      .end([['end', JSON.stringify(reason)]])
      .then(() => this.o.redis.del(this.#keys.input, this.#keys.attached))
      .catch(() => {});
  }

  async #pump(): Promise<void> {
    let cursor = '0-0';
    let lastCheck = Date.now();
    let lastAttached = Date.now();
    while (this.#running) {
      let res: Array<[string, Array<[string, string[]]>]> | null;
      try {
        res = (await this.#reader.xread(
          'COUNT',
          64,
          'BLOCK',
          ATTACH_CHECK_MS,
          'STREAMS',
          this.#keys.input,
          cursor,
        )) as typeof res;
      } catch {
        if (!this.#running) return;
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const [, entries] of res ?? []) {
        for (const [id, fields] of entries) {
          cursor = id;
          if (!this.#apply(fields)) {
            this.o.onEnd(this);
            return;
          }
        }
      }
      if (res) this.o.onActivity();
      if (Date.now() - lastCheck >= ATTACH_CHECK_MS) {
        lastCheck = Date.now();
        if (await this.o.redis.exists(this.#keys.attached).catch(() => 1)) lastAttached = Date.now();
        else if (Date.now() - lastAttached > DETACHED_AFTER_MS) {
          this.o.onEnd(this);
          return;
        }
      }
    }
  }

  /** false once the socket said it closed. */
  #apply(flat: string[]): boolean {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    const entry = LspInputEntry.safeParse(fields);
    if (!entry.success) {
      this.#refuse(
        undefined,
        'invalid_message',
        'The message is too large or not a language server message.',
      );
      return true;
    }
    if (entry.data.t === 'close') return false;
    const checked = checkLspClientMessage(entry.data.d);
    if ('error' in checked) this.#refuse(checked.id, checked.error.code, checked.error.message);
    else this.o.onMessage(this, checked.message);
    return true;
  }

  #refuse(id: string | number | undefined, code: LspError['code'], message: string): void {
    if (id !== undefined) this.send(errorAnswer(id, INVALID_PARAMS, message));
    this.send(notification('$/keel/error', { code, message }));
  }
}
