import { type TerminalClientMessage, TerminalServerMessage } from '@keel/contract/terminal';
import WebSocket from 'ws';
import type { BrowserClient } from '../harness/browser-client.ts';

export interface ConnectOptions {
  /** Bearer token (default), the client's cookies as a browser sends them, or nothing at all. */
  auth?: 'bearer' | 'cookie' | 'none';
  origin?: string;
  query?: Record<string, string | number>;
}

/**
 * A terminal socket as a program uses it: every frame received is checked against the contract and
 * kept, in order. `output()` is what a screen would show.
 */
export class TerminalSocket {
  readonly frames: TerminalServerMessage[] = [];
  readonly closed: Promise<number>;
  private waiters: Array<() => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(TerminalServerMessage.parse(JSON.parse(String(data))));
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
    void this.closed.then(() => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  get session(): string | undefined {
    const ready = this.frames.find((f) => f.type === 'ready');
    return ready?.type === 'ready' ? ready.session : undefined;
  }

  output(): string {
    return this.frames.map((f) => (f.type === 'output' ? f.data : '')).join('');
  }

  lastSeq(): string | undefined {
    return this.frames.findLast((f) => f.type === 'output')?.seq;
  }

  send(message: TerminalClientMessage | string): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  type(text: string): void {
    this.send({ type: 'input', data: text });
  }

  /** Resolves once a received frame (or the output so far) satisfies the test. */
  async waitFor<T>(what: string, test: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = test();
      if (got) return got;
      if (Date.now() > deadline || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`timed out waiting for ${what}; output so far: ${JSON.stringify(this.output())}`);
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, Math.max(1, Math.min(250, deadline - Date.now())));
      });
    }
  }

  waitForOutput(pattern: RegExp | string, timeoutMs?: number): Promise<true> {
    const matches = () =>
      typeof pattern === 'string' ? this.output().includes(pattern) : pattern.test(this.output());
    return this.waitFor(`output ${pattern}`, () => matches() || undefined, timeoutMs);
  }

  async close(): Promise<void> {
    this.ws.close();
    await this.closed;
  }
}

function terminalUrl(base: string, workspaceId: string, query: Record<string, string | number> = {}): string {
  const url = new URL(`/api/workspaces/${workspaceId}/terminal`, base.replace(/^http/, 'ws'));
  for (const [k, v] of Object.entries({ cols: 80, rows: 24, ...query })) url.searchParams.set(k, String(v));
  return url.toString();
}

function headersFor(client: BrowserClient | undefined, options: ConnectOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const auth = options.auth ?? 'bearer';
  if (client && auth === 'bearer') headers.authorization = `Bearer ${client.accessToken}`;
  if (client && auth === 'cookie') {
    headers.cookie = [...client.cookies.entries()].map(([k, c]) => `${k}=${c.value}`).join('; ');
  }
  if (options.origin) headers.origin = options.origin;
  return headers;
}

/** Opens a terminal socket; a refused handshake rejects with an error carrying the HTTP status. */
export function connectTerminal(
  base: string,
  client: BrowserClient | undefined,
  workspaceId: string,
  options: ConnectOptions = {},
): Promise<TerminalSocket> {
  const ws = new WebSocket(terminalUrl(base, workspaceId, options.query), {
    headers: headersFor(client, options),
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(new TerminalSocket(ws)));
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`handshake refused: ${res.statusCode}`), { status: res.statusCode }));
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** The HTTP status a refused handshake got. */
export async function refusedStatus(
  base: string,
  client: BrowserClient | undefined,
  workspaceId: string,
  options: ConnectOptions = {},
): Promise<number> {
  try {
    const socket = await connectTerminal(base, client, workspaceId, options);
    await socket.close();
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status) return status;
    throw err;
  }
  throw new Error('the handshake was accepted');
}

/** The same request without the upgrade, whose error body the API shape promises. */
export async function plainGet(
  base: string,
  client: BrowserClient | undefined,
  workspaceId: string,
  options: ConnectOptions = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(terminalUrl(base, workspaceId, options.query).replace(/^ws/, 'http'), {
    headers: headersFor(client, options),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
