import { compareStreamIds } from '@keel/contract/stream-ids';
import {
  SERVER_RESTART_CLOSE_CODE,
  type TerminalClientMessage,
  TerminalServerMessage,
} from '@keel/contract/terminal';
import { type Accessor, createSignal } from 'solid-js';
import type { Timers } from '../../api/browser-timers.ts';
import { browserTimers } from '../../api/browser-timers.ts';
import { workspacePath } from '../../api/workspaces-api.ts';

export type TerminalStatus =
  | { state: 'connecting' }
  | { state: 'open' }
  | { state: 'reconnecting'; attempt: number }
  | { state: 'exited'; exitCode: number | null }
  | { state: 'failed'; message: string };

/** The part of the browser's WebSocket this module uses; tests hand in a fake. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
}

/** Where the session id survives a page reload (the tab's sessionStorage in the browser). */
export interface SessionMemory {
  load(): string | undefined;
  save(session: string | undefined): void;
}

export interface TerminalConnectionOptions {
  workspaceId: string;
  /** Where the page was loaded from, to build a same-origin ws:// or wss:// URL. */
  origin: { protocol: string; host: string };
  createSocket(url: string): SocketLike;
  onOutput(data: string): void;
  timers?: Timers;
  pingMs?: number;
  retryDelaysMs?: readonly number[];
  maxReconnects?: number;
  /** Lets a reloaded page reattach to its shell: the whole kept output is replayed onto the new screen. */
  memory?: SessionMemory;
}

export interface TerminalConnection {
  status: Accessor<TerminalStatus>;
  /** Opens a new session, or after a failure tries again from scratch. */
  connect(cols: number, rows: number): void;
  /** Typed input; dropped while not connected (a terminal must not replay keystrokes late). */
  input(data: string): void;
  resize(cols: number, rows: number): void;
  close(): void;
}

const OPEN = 1;
const INPUT_CHUNK = 16_384;
const DEFAULT_DELAYS = [500, 1000, 2000, 4000] as const;
export const CANNOT_CONNECT =
  'The terminal could not connect. This Keel server may not offer terminals yet, or the workspace is not running.';

/**
 * The browser side of the terminal protocol in @keel/contract/terminal. A session outlives its socket:
 * when an open connection drops, it reconnects with the session id and the last output `seq` it showed,
 * and drops anything replayed at or before that seq, so the screen neither misses nor repeats output.
 */
export function createTerminalConnection(options: TerminalConnectionOptions): TerminalConnection {
  const timers = options.timers ?? browserTimers;
  const pingMs = options.pingMs ?? 25_000;
  const delays = options.retryDelaysMs ?? DEFAULT_DELAYS;
  const maxReconnects = options.maxReconnects ?? 6;
  const [status, setStatus] = createSignal<TerminalStatus>({ state: 'connecting' });
  let socket: SocketLike | undefined;
  let session: string | undefined;
  let lastSeq: string | undefined;
  let size = { cols: 80, rows: 24 };
  let attempts = 0;
  let pingTimer: unknown;
  let retryTimer: unknown;
  let closedByUs = false;
  /** Reattaching to a remembered session, which may have ended or expired meanwhile. */
  let resuming = false;

  function remember(value: string | undefined): void {
    try {
      options.memory?.save(value);
    } catch {
      // Storage may be full or disabled: the terminal works without surviving a reload.
    }
  }

  function url(): string {
    const scheme = options.origin.protocol === 'https:' ? 'wss:' : 'ws:';
    const query = new URLSearchParams({ cols: String(size.cols), rows: String(size.rows) });
    if (session !== undefined) query.set('session', session);
    if (lastSeq !== undefined) query.set('lastSeq', lastSeq);
    return `${scheme}//${options.origin.host}${workspacePath(options.workspaceId, '/terminal')}?${query}`;
  }

  function send(message: TerminalClientMessage): void {
    if (socket?.readyState === OPEN) socket.send(JSON.stringify(message));
  }

  function stopTimers(): void {
    timers.clear(pingTimer);
    timers.clear(retryTimer);
    pingTimer = undefined;
    retryTimer = undefined;
  }

  function schedulePing(): void {
    pingTimer = timers.set(() => {
      send({ type: 'ping' });
      schedulePing();
    }, pingMs);
  }

  function detach(): void {
    if (socket === undefined) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    socket.close();
    socket = undefined;
  }

  function fail(message: string): void {
    stopTimers();
    detach();
    setStatus({ state: 'failed', message });
  }

  function onMessage(raw: unknown): void {
    let parsed: ReturnType<typeof TerminalServerMessage.safeParse>;
    try {
      parsed = TerminalServerMessage.safeParse(JSON.parse(String(raw)));
    } catch {
      return;
    }
    if (!parsed.success) return;
    const message = parsed.data;
    switch (message.type) {
      case 'ready':
        session = message.session;
        remember(session);
        resuming = false;
        attempts = 0;
        setStatus({ state: 'open' });
        timers.clear(pingTimer);
        schedulePing();
        return;
      case 'output':
        if (lastSeq !== undefined && compareStreamIds(message.seq, lastSeq) <= 0) return;
        lastSeq = message.seq;
        options.onOutput(message.data);
        return;
      case 'exit':
        stopTimers();
        detach();
        session = undefined;
        remember(undefined);
        setStatus({ state: 'exited', exitCode: message.exitCode });
        return;
      case 'error':
        // The session is over (or was never opened): a reload must not try it again.
        remember(undefined);
        fail(message.message);
        return;
      case 'pong':
        return;
    }
  }

  function onClose(code: number | undefined): void {
    socket = undefined;
    stopTimers();
    if (closedByUs) return;
    // A remembered session that is gone (expired, or from before a server restart): start a fresh one.
    if (resuming) {
      resuming = false;
      session = undefined;
      lastSeq = undefined;
      remember(undefined);
      open();
      return;
    }
    // Never reached `ready` with a session: nothing to reattach to, and retrying blindly would only spin.
    if (session === undefined) {
      setStatus({ state: 'failed', message: CANNOT_CONNECT });
      return;
    }
    attempts += 1;
    if (attempts > maxReconnects) {
      setStatus({ state: 'failed', message: 'The terminal connection was lost and could not be restored.' });
      return;
    }
    setStatus({ state: 'reconnecting', attempt: attempts });
    // A stopping edge asks for a reconnect now: the load balancer sends it to another edge.
    const delay =
      code === SERVER_RESTART_CLOSE_CODE ? 0 : (delays[Math.min(attempts - 1, delays.length - 1)] ?? 1000);
    retryTimer = timers.set(open, delay);
  }

  function open(): void {
    retryTimer = undefined;
    let created: SocketLike;
    try {
      created = options.createSocket(url());
    } catch {
      setStatus({ state: 'failed', message: CANNOT_CONNECT });
      return;
    }
    socket = created;
    created.onmessage = (event) => onMessage(event.data);
    created.onclose = (event) => {
      if (socket === created) onClose(event?.code);
    };
    // Errors are always followed by a close event, which decides what happens next.
    created.onerror = () => {};
  }

  function loadRemembered(): string | undefined {
    try {
      return options.memory?.load();
    } catch {
      return undefined;
    }
  }

  return {
    status,
    connect(cols, rows) {
      stopTimers();
      detach();
      closedByUs = false;
      size = { cols: clamp(cols, 2, 1000), rows: clamp(rows, 2, 500) };
      if (status().state !== 'reconnecting') {
        session = loadRemembered();
        lastSeq = undefined;
        resuming = session !== undefined;
      }
      attempts = 0;
      setStatus({ state: 'connecting' });
      open();
    },
    input(data) {
      // The contract caps one input frame; a large paste goes out in pieces, in order.
      for (let at = 0; at < data.length; at += INPUT_CHUNK)
        send({ type: 'input', data: data.slice(at, at + INPUT_CHUNK) });
    },
    resize(cols, rows) {
      const next = { cols: clamp(cols, 2, 1000), rows: clamp(rows, 2, 500) };
      if (next.cols === size.cols && next.rows === size.rows) return;
      size = next;
      send({ type: 'resize', ...next });
    },
    close() {
      closedByUs = true;
      stopTimers();
      detach();
    },
  };
}

/**
 * The tab's sessionStorage: a reload keeps the session, another tab opens its own. Reached through a
 * getter because merely touching `window.sessionStorage` throws where storage is blocked.
 */
export function tabSessionMemory(storage: () => Storage, workspaceId: string): SessionMemory {
  const key = `keel.terminal.${workspaceId}`;
  return {
    load: () => storage().getItem(key) ?? undefined,
    save: (session) => (session === undefined ? storage().removeItem(key) : storage().setItem(key, session)),
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(value)));
}
