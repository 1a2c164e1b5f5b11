import { PreviewWindow } from '@keel/contract/preview';
import type { WSContext, WSEvents } from 'hono/ws';
import type { Redis } from 'ioredis';
import { type SocketWriter, socketWriter } from '../services/socket-writer.ts';
import type { ReaderPool } from '../workspaces/output-reader.ts';
import { appendWindowed, DownReader, type Opened } from './relay.ts';

/** Past this much unsent to the browser, reading more waits. */
const SOCKET_BACKLOG_BYTES = 4 * 1024 * 1024;

/**
 * A browser WebSocket relayed to one in the workspace: the browser's messages go into the up
 * stream (through the socket's writer, socket-writer.ts: one connection, so they stay in order),
 * the server's come from the down stream.
 */
export function previewSocketRelay(o: {
  redisUrl: string;
  /** The process's connection for sockets' writes (Node); without it the socket opens its own. */
  writer?: Redis | undefined;
  readers: ReaderPool;
  open: () => Promise<Opened>;
}): WSEvents<unknown> {
  let writer: Redis | undefined;
  let writes: SocketWriter | undefined;
  let opened: Promise<Opened> | undefined;
  let live = true;
  let sending = Promise.resolve();
  const upWindow = new PreviewWindow();

  const stop = () => {
    if (!live) return;
    live = false;
    const w = writer;
    writes?.release(w && opened?.then((c) => w.xadd(c.up, '*', 't', 'close')));
  };

  const follow = async (ws: WSContext<unknown>, c: Opened) => {
    const reader = o.readers.take();
    const down = new DownReader(reader, c.down);
    const pieces: Uint8Array[] = [];
    const whole = (last: Uint8Array | undefined): Uint8Array<ArrayBuffer> => {
      const all = [...pieces.splice(0), last ?? new Uint8Array()];
      const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of all) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    };
    try {
      while (live) {
        const entries = await down.next(Date.now() + 5_000);
        for (const e of entries) {
          if (e.t === 'wc') {
            pieces.push(e.d ?? new Uint8Array());
            // The runner relays messages of at most 16 MiB; a longer one is a broken runner.
            if (pieces.reduce((n, p) => n + p.length, 0) > 16 * 1024 * 1024) {
              live = false;
              ws.close(1009, 'Message too large');
              return;
            }
          } else if (e.t === 'wt') ws.send(new TextDecoder().decode(whole(e.d)));
          else if (e.t === 'wb') ws.send(whole(e.d));
          else if (e.t === 'end') {
            live = false;
            ws.close(1000);
            return;
          } else if (e.t === 'error') {
            live = false;
            ws.close(1011, 'The workspace server refused or broke the socket');
            return;
          }
        }
        const raw = ws.raw as { bufferedAmount?: number } | undefined;
        while (live && (raw?.bufferedAmount ?? 0) > SOCKET_BACKLOG_BYTES)
          await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      o.readers.give(reader);
    }
  };

  return {
    onOpen(_event, ws) {
      writes = socketWriter(o.writer, o.redisUrl);
      writer = writes.redis;
      opened = o.open();
      opened.then(
        (c) => follow(ws, c).catch(() => ws.close(1011)),
        () => ws.close(1011, 'The preview could not be opened'),
      );
    },
    onMessage(event, ws) {
      if (!live || !writer || !opened) return;
      const data = event.data;
      const w = writer;
      const text = typeof data === 'string';
      const bytes =
        typeof data === 'string'
          ? data
          : data instanceof ArrayBuffer
            ? new Uint8Array(data)
            : ArrayBuffer.isView(data)
              ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
              : undefined;
      if (bytes === undefined) {
        ws.close(1003, 'Unsupported message');
        return;
      }
      const p = opened;
      // In order, one after the other: each waits for room in the window.
      sending = sending
        .then(async () => appendWindowed(w, (await p).up, text ? 'wt' : 'wb', bytes, upWindow))
        .catch(() => {
          stop();
          ws.close(1011);
        });
    },
    onClose: stop,
    onError: stop,
  };
}
