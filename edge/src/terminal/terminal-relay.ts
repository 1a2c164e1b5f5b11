import { terminalOutputStream } from '@keel/contract/streams';
import {
  TERMINAL_ATTACH_RENEW_MS,
  TERMINAL_ATTACH_TTL_SECONDS,
  TERMINAL_ENDED_TTL_SECONDS,
  TERMINAL_FRAME_MAX_BYTES,
  TERMINAL_INPUT_CHAR_BURST,
  TERMINAL_INPUT_CHARS_PER_SECOND,
  TERMINAL_INPUT_FRAME_BURST,
  TERMINAL_INPUT_FRAMES_PER_SECOND,
  TERMINAL_INPUT_MAX_ENTRIES,
  TERMINAL_OUTPUT_MAX_ENTRIES,
  TERMINAL_STREAM_TTL_SECONDS,
  TerminalClientMessage,
  TerminalExit,
  type TerminalServerMessage,
} from '@keel/contract/terminal';
import type { WSContext, WSEvents } from 'hono/ws';
import type { Redis } from 'ioredis';
import { type SocketWriter, socketWriter } from '../services/socket-writer.ts';
import { StreamFollower } from '../streams/follower.ts';
import type { OutputEntry, ReaderPool } from '../workspaces/output-reader.ts';
import { InputBudget } from './input-budget.ts';

export interface RelayOptions {
  redisUrl: string;
  /** Where the output's blocking reads take their connection. */
  readers: ReaderPool;
  /** The process's connection for sockets' writes (Node); without it the socket opens its own. */
  writer?: Redis | undefined;
  sessionId: string;
  keys: {
    output: string;
    input: string;
    attached: string;
    /** The edge's record of the session, kept alive while a socket uses it. */
    record: string;
    runnerHeartbeat: string;
    /** The caller's sign-in session in the auth cache: a revocation marker there ends the socket. */
    authSession: string;
    revokedMarker: string;
  };
  /** The last stream entry the client has; '0-0' replays everything kept. */
  cursor: string;
  /** Reattaching from a window of another size. */
  resize?: { cols: number; rows: number };
}

/** Largest output frame: replays go out in a few large frames, a keystroke's echo in one small one. */
const FRAME_CHARS = 64 * 1024;
/** Past this much unsent data on a socket, reading more output waits for the client to catch up. */
const SOCKET_BACKLOG_BYTES = 4 * 1024 * 1024;

type Ws = WSContext<unknown>;

/**
 * One socket's side of a session. Output is followed like every other stream (a reader from the
 * pool, given back when the session ends). Input goes through the socket's writer (see
 * socket-writer.ts; in workerd a reader taken during the handshake is a connection of its own too,
 * which the closed pool does not keep).
 */
export function terminalRelay(o: RelayOptions): WSEvents<unknown> {
  let writer: Redis | undefined;
  let writes: SocketWriter | undefined;
  let follower: StreamFollower | undefined;
  let open = true;
  const budget = new InputBudget({
    framesPerSecond: TERMINAL_INPUT_FRAMES_PER_SECOND,
    frameBurst: TERMINAL_INPUT_FRAME_BURST,
    charsPerSecond: TERMINAL_INPUT_CHARS_PER_SECOND,
    charBurst: TERMINAL_INPUT_CHAR_BURST,
  });
  /** The latest size asked for and not yet written: a storm of resizes becomes a few entries. */
  let nextSize: { cols: number; rows: number } | undefined;
  let resizing = false;

  const stop = () => {
    if (!open) return;
    open = false;
    follower?.stop();
    // Detached now: the runner's idle clock starts at once (another socket on the session renews it).
    writes?.release(writer?.del(o.keys.attached));
  };

  const end = (ws: Ws, message: TerminalServerMessage, code: number) => {
    send(ws, message);
    stop();
    ws.close(code);
  };

  const failed = (ws: Ws) => (err: unknown) => {
    if (!open) return;
    console.error(JSON.stringify({ level: 'error', msg: 'terminal relay failed', error: String(err) }));
    end(ws, { type: 'error', code: 'internal_error', message: 'The terminal connection failed.' }, 1011);
  };

  const resize = (ws: Ws, size: { cols: number; rows: number }) => {
    nextSize = size;
    if (resizing) return;
    resizing = true;
    void (async () => {
      while (nextSize && open && writer) {
        const { cols, rows } = nextSize;
        nextSize = undefined;
        await writer.xadd(
          o.keys.input,
          'MAXLEN',
          '~',
          TERMINAL_INPUT_MAX_ENTRIES,
          '*',
          't',
          'resize',
          'cols',
          cols,
          'rows',
          rows,
        );
      }
    })()
      .catch(failed(ws))
      .finally(() => {
        resizing = false;
      });
  };

  /** Marks the session attached and keeps its keys alive; false when the sign-in was revoked. */
  const renew = async (): Promise<boolean> => {
    const replies = await writer!
      .multi()
      .set(o.keys.attached, '1', 'EX', TERMINAL_ATTACH_TTL_SECONDS)
      .expire(o.keys.record, TERMINAL_STREAM_TTL_SECONDS)
      .expire(o.keys.input, TERMINAL_STREAM_TTL_SECONDS)
      .get(o.keys.authSession)
      .exec();
    return replies?.[3]?.[1] !== o.keys.revokedMarker;
  };

  const follow = (ws: Ws): StreamFollower => {
    const text = new TextDecoder();
    let renewedAt = Date.now();
    const renewIfDue = async () => {
      if (Date.now() - renewedAt < TERMINAL_ATTACH_RENEW_MS) return;
      renewedAt = Date.now();
      if (!(await renew())) {
        end(ws, { type: 'error', code: 'invalid_token', message: 'You were signed out.' }, 1008);
      }
    };
    const deliver = async (entries: OutputEntry[], ended: boolean) => {
      let data = '';
      let seq = '';
      const flush = () => {
        if (data) send(ws, { type: 'output', data, seq });
        data = '';
      };
      for (const { id, t, d } of entries) {
        if (t !== 'output' || d === undefined) continue;
        const piece = text.decode(d);
        if (data.length + piece.length > FRAME_CHARS) flush();
        data += piece;
        seq = id;
      }
      flush();
      if (ended) {
        const last = entries[entries.length - 1]!;
        const exit = parseExit(last.d ? text.decode(last.d) : '');
        if (exit.error)
          end(ws, { type: 'error', code: exit.code ?? 'terminal_ended', message: exit.error }, 1000);
        else end(ws, { type: 'exit', exitCode: exit.exitCode }, 1000);
        return;
      }
      await drained(ws);
      await renewIfDue();
    };
    return new StreamFollower({
      readers: o.readers,
      kind: terminalOutputStream,
      key: o.keys.output,
      cursor: o.cursor,
      count: 256,
      blockMs: TERMINAL_ATTACH_RENEW_MS,
      // Entries are decoded before the first await; reading on waits for the socket to drain.
      onBatch: deliver,
      onQuiet: renewIfDue,
      offline: {
        redis: writer!,
        heartbeatKey: o.keys.runnerHeartbeat,
        // A runner that stays gone never writes the end: write it for it, so every reader sees it.
        close: async () => {
          const exit: TerminalExit = {
            exitCode: null,
            code: 'runner_unavailable',
            error: 'The workspace runner went offline.',
          };
          await writer!
            .multi()
            .xadd(
              o.keys.output,
              'MAXLEN',
              '~',
              TERMINAL_OUTPUT_MAX_ENTRIES,
              '*',
              't',
              'exit',
              'd',
              JSON.stringify(exit),
            )
            .expire(o.keys.output, TERMINAL_ENDED_TTL_SECONDS)
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
      send(ws, { type: 'ready', session: o.sessionId });
      if (o.resize) resize(ws, o.resize);
      void renew()
        .then(() => output.run())
        .catch(failed(ws));
    },
    onMessage(event, ws) {
      if (!open || !writer) return;
      const raw = event.data;
      if (typeof raw !== 'string' || raw.length > TERMINAL_FRAME_MAX_BYTES) {
        end(
          ws,
          { type: 'error', code: 'invalid_message', message: 'Frames are JSON text, within the size limit.' },
          1008,
        );
        return;
      }
      let parsed: ReturnType<typeof TerminalClientMessage.safeParse>;
      try {
        parsed = TerminalClientMessage.safeParse(JSON.parse(raw));
      } catch {
        parsed = TerminalClientMessage.safeParse(undefined);
      }
      if (!parsed.success) {
        end(
          ws,
          { type: 'error', code: 'invalid_message', message: 'The frame is not a terminal message.' },
          1008,
        );
        return;
      }
      const message = parsed.data;
      // One connection carries every frame of this socket, so keystrokes reach the runner in order.
      if (message.type === 'input') {
        if (!budget.take(message.data.length)) {
          end(
            ws,
            {
              type: 'error',
              code: 'rate_limited',
              message: 'Input arrived faster than the terminal takes it; reconnect to go on.',
            },
            1008,
          );
          return;
        }
        writer
          .xadd(o.keys.input, 'MAXLEN', '~', TERMINAL_INPUT_MAX_ENTRIES, '*', 't', 'input', 'd', message.data)
          .catch(failed(ws));
      } else if (message.type === 'resize') {
        resize(ws, { cols: message.cols, rows: message.rows });
      } else {
        send(ws, { type: 'pong' });
      }
    },
    onClose: stop,
    onError: stop,
  };
}

function send(ws: Ws, message: TerminalServerMessage): void {
  if (ws.readyState === 1) ws.send(JSON.stringify(message));
}

function parseExit(d: string): TerminalExit {
  try {
    const parsed = TerminalExit.safeParse(JSON.parse(d));
    if (parsed.success) return parsed.data;
  } catch {}
  return { exitCode: null };
}

/** Waits while the socket has much unsent (Node's ws says how much; workerd does not). */
async function drained(ws: Ws): Promise<void> {
  const raw = ws.raw as { bufferedAmount?: number } | undefined;
  while (ws.readyState === 1 && (raw?.bufferedAmount ?? 0) > SOCKET_BACKLOG_BYTES) {
    await new Promise((r) => setTimeout(r, 20));
  }
}
