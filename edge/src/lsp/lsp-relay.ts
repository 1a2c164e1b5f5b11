import {
  checkLspClientMessage,
  LSP_ATTACH_RENEW_MS,
  LSP_ATTACH_TTL_SECONDS,
  LSP_BYTE_BURST,
  LSP_BYTES_PER_SECOND,
  LSP_ENDED_TTL_SECONDS,
  LSP_INPUT_MAX_ENTRIES,
  LSP_MESSAGE_BURST,
  LSP_MESSAGE_MAX_BYTES,
  LSP_MESSAGES_PER_SECOND,
  LSP_OUTPUT_MAX_ENTRIES,
  LSP_STREAM_TTL_SECONDS,
  LspError,
} from '@keel/contract/lsp';
import { lspOutputStream } from '@keel/contract/streams';
import type { WSContext, WSEvents } from 'hono/ws';
import type { Redis } from 'ioredis';
import { type SocketWriter, socketWriter } from '../services/socket-writer.ts';
import { StreamFollower } from '../streams/follower.ts';
import { InputBudget } from '../terminal/input-budget.ts';
import type { OutputEntry, ReaderPool } from '../workspaces/output-reader.ts';

export interface LspRelayOptions {
  redisUrl: string;
  /** The process's connection for sockets' writes (Node); without it the socket opens its own. */
  writer?: Redis | undefined;
  readers: ReaderPool;
  keys: {
    input: string;
    output: string;
    attached: string;
    /** The workspace's live connections (sorted set), renewed while this socket lives. */
    connections: string;
    connectionId: string;
    runnerHeartbeat: string;
    authSession: string;
    revokedMarker: string;
  };
}

type Ws = WSContext<unknown>;

/** Past this much unsent data on a socket, reading more waits for the client to catch up. */
const SOCKET_BACKLOG_BYTES = 8 * 1024 * 1024;

/**
 * One socket's side of a language-server connection: client messages are checked (size, JSON,
 * JSON-RPC, URIs under /workspace) and appended to the connection's input stream through the
 * socket's writer (socket-writer.ts, as the terminal's relay does); the output stream is followed
 * and each entry sent as one text frame.
 *
 * A message refused for what it says (a URI outside /workspace) is answered and the socket goes on;
 * one that breaks the framing (too large, not JSON) ends the socket, since what follows on it cannot
 * be trusted to be in step.
 */
export function lspRelay(o: LspRelayOptions): WSEvents<unknown> {
  let writer: Redis | undefined;
  let writes: SocketWriter | undefined;
  let follower: StreamFollower | undefined;
  let open = true;
  const budget = new InputBudget({
    framesPerSecond: LSP_MESSAGES_PER_SECOND,
    frameBurst: LSP_MESSAGE_BURST,
    charsPerSecond: LSP_BYTES_PER_SECOND,
    charBurst: LSP_BYTE_BURST,
  });

  const stop = () => {
    if (!open) return;
    open = false;
    follower?.stop();
    // The runner learns at once that this connection is gone, and lets its documents go.
    writes?.release(
      writer
        ?.multi()
        .xadd(o.keys.input, 'MAXLEN', '~', LSP_INPUT_MAX_ENTRIES, '*', 't', 'close')
        .del(o.keys.attached)
        .zrem(o.keys.connections, o.keys.connectionId)
        .exec(),
    );
  };

  const end = (ws: Ws, error: LspError, code: number) => {
    send(ws, notice(error));
    stop();
    ws.close(code, error.code);
  };

  const failed = (ws: Ws) => (err: unknown) => {
    if (!open) return;
    console.error(JSON.stringify({ level: 'error', msg: 'lsp relay failed', error: String(err) }));
    end(ws, { code: 'internal_error', message: 'The language server connection failed.' }, 1011);
  };

  const renew = async (): Promise<boolean> => {
    const replies = await writer!
      .multi()
      .set(o.keys.attached, '1', 'EX', LSP_ATTACH_TTL_SECONDS)
      .expire(o.keys.input, LSP_STREAM_TTL_SECONDS)
      .zadd(o.keys.connections, Date.now(), o.keys.connectionId)
      .get(o.keys.authSession)
      .exec();
    return replies?.[3]?.[1] !== o.keys.revokedMarker;
  };

  const follow = (ws: Ws): StreamFollower => {
    const text = new TextDecoder();
    let renewedAt = Date.now();
    const renewIfDue = async () => {
      if (Date.now() - renewedAt < LSP_ATTACH_RENEW_MS) return;
      renewedAt = Date.now();
      if (!(await renew())) end(ws, { code: 'invalid_token', message: 'You were signed out.' }, 1008);
    };
    const deliver = async (entries: OutputEntry[], ended: boolean) => {
      for (const { t, d } of entries) {
        if (t === 'msg' && d !== undefined && ws.readyState === 1) ws.send(text.decode(d));
      }
      if (ended) {
        const last = entries[entries.length - 1]!;
        const reason = parseEnd(last.d ? text.decode(last.d) : '');
        end(ws, reason, 1000);
        return;
      }
      await drained(ws);
      await renewIfDue();
    };
    return new StreamFollower({
      readers: o.readers,
      kind: lspOutputStream,
      key: o.keys.output,
      cursor: '0-0',
      count: 256,
      blockMs: LSP_ATTACH_RENEW_MS,
      onBatch: deliver,
      onQuiet: renewIfDue,
      offline: {
        redis: writer!,
        heartbeatKey: o.keys.runnerHeartbeat,
        close: async () => {
          const reason: LspError = {
            code: 'runner_unavailable',
            message: 'The workspace runner went offline.',
          };
          await writer!
            .multi()
            .xadd(
              o.keys.output,
              'MAXLEN',
              '~',
              LSP_OUTPUT_MAX_ENTRIES,
              '*',
              't',
              'end',
              'd',
              JSON.stringify(reason),
            )
            .expire(o.keys.output, LSP_ENDED_TTL_SECONDS)
            .exec();
          return true;
        },
      },
    });
  };

  return {
    onOpen(_event, ws) {
      writes = socketWriter(o.writer, o.redisUrl);
      writer = writes.redis;
      const output = follow(ws);
      follower = output;
      void renew()
        .then(() => output.run())
        .catch(failed(ws));
    },
    onMessage(event, ws) {
      if (!open || !writer) return;
      const raw = event.data;
      if (typeof raw !== 'string') {
        end(ws, { code: 'invalid_message', message: 'Frames are JSON-RPC messages as text.' }, 1003);
        return;
      }
      if (raw.length > LSP_MESSAGE_MAX_BYTES) {
        end(
          ws,
          { code: 'message_too_large', message: `Messages are at most ${LSP_MESSAGE_MAX_BYTES} bytes.` },
          1009,
        );
        return;
      }
      const checked = checkLspClientMessage(raw);
      if ('error' in checked) {
        if (checked.error.code === 'uri_outside_workspace') {
          if (checked.id !== undefined) {
            send(ws, {
              jsonrpc: '2.0',
              id: checked.id,
              error: { code: -32602, message: checked.error.message },
            });
          }
          send(ws, notice(checked.error));
          return;
        }
        end(ws, checked.error, checked.error.code === 'message_too_large' ? 1009 : 1007);
        return;
      }
      if (!budget.take(raw.length)) {
        end(
          ws,
          {
            code: 'rate_limited',
            message: 'Messages arrived faster than the language server takes them; reconnect to go on.',
          },
          1008,
        );
        return;
      }
      // One connection carries every message of this socket, so they reach the runner in order.
      writer
        .xadd(o.keys.input, 'MAXLEN', '~', LSP_INPUT_MAX_ENTRIES, '*', 't', 'msg', 'd', raw)
        .catch(failed(ws));
    },
    onClose: stop,
    onError: stop,
  };
}

function notice(error: LspError): object {
  return { jsonrpc: '2.0', method: '$/keel/error', params: error };
}

function send(ws: Ws, message: object): void {
  if (ws.readyState === 1) ws.send(JSON.stringify(message));
}

function parseEnd(d: string): LspError {
  try {
    const parsed = LspError.safeParse(JSON.parse(d));
    if (parsed.success) return parsed.data;
  } catch {}
  return { code: 'server_unavailable', message: 'The language server ended.' };
}

async function drained(ws: Ws): Promise<void> {
  const raw = ws.raw as { bufferedAmount?: number } | undefined;
  while (ws.readyState === 1 && (raw?.bufferedAmount ?? 0) > SOCKET_BACKLOG_BYTES) {
    await new Promise((r) => setTimeout(r, 20));
  }
}
