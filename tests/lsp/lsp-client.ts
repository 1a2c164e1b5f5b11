import WebSocket from 'ws';
import type { BrowserClient } from '../harness/browser-client.ts';

export interface LspConnectOptions {
  auth?: 'bearer' | 'cookie' | 'none';
  origin?: string;
  language?: string;
}

interface Incoming {
  id?: number | string;
  method?: string;
  params?: any;
  result?: any;
  error?: { code: number; message: string };
}

/**
 * A language-server socket as Monaco's client uses it: JSON-RPC requests with ids of its own,
 * notifications (diagnostics, Keel's status and errors) kept in order.
 */
export class LspSocket {
  readonly notifications: Incoming[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #nextId = 1;
  readonly #answers = new Map<number | string, (m: Incoming) => void>();
  #waiters: Array<() => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Incoming;
      if (m.method === undefined && m.id !== undefined) this.#answers.get(m.id)?.(m);
      else this.notifications.push(m);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    void this.closed.then(() => {
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** Sends a request and resolves with the whole answer (result or error). */
  request(method: string, params: unknown, timeoutMs = 60_000): Promise<Incoming> {
    const id = this.#nextId++;
    return this.requestWithId(id, method, params, timeoutMs);
  }

  requestWithId(id: number | string, method: string, params: unknown, timeoutMs = 60_000): Promise<Incoming> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer to ${method} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#answers.set(id, (m) => {
        clearTimeout(timer);
        this.#answers.delete(id);
        resolve(m);
      });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  notify(method: string, params: unknown): void {
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', method, params }));
  }

  async initialize(): Promise<Incoming> {
    const answer = await this.request('initialize', {
      processId: null,
      rootUri: 'file:///workspace',
      capabilities: {
        textDocument: {
          hover: { contentFormat: ['markdown', 'plaintext'] },
          publishDiagnostics: {},
          completion: { completionItem: { snippetSupport: false } },
          rename: { prepareSupport: false },
        },
        workspace: { workspaceFolders: true, configuration: true },
      },
    });
    this.notify('initialized', {});
    return answer;
  }

  open(uri: string, languageId: string, text: string, version = 1): void {
    this.notify('textDocument/didOpen', { textDocument: { uri, languageId, version, text } });
  }

  async waitFor<T>(what: string, test: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = test();
      if (got) return got;
      if (Date.now() > deadline || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(
          `timed out waiting for ${what}; got ${JSON.stringify(this.notifications).slice(-2000)}`,
        );
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, Math.max(1, Math.min(250, deadline - Date.now())));
      });
    }
  }

  status(): string | undefined {
    return this.notifications.findLast((n) => n.method === '$/keel/status')?.params?.state;
  }

  errors(): Array<{ code: string; message: string }> {
    return this.notifications.filter((n) => n.method === '$/keel/error').map((n) => n.params);
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }
}

export function lspUrl(base: string, workspaceId: string, language = 'typescript'): string {
  const url = new URL(`/api/workspaces/${workspaceId}/lsp`, base.replace(/^http/, 'ws'));
  url.searchParams.set('language', language);
  return url.toString();
}

function headersFor(client: BrowserClient | undefined, options: LspConnectOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const auth = options.auth ?? 'bearer';
  if (client && auth === 'bearer') headers.authorization = `Bearer ${client.accessToken}`;
  if (client && auth === 'cookie') {
    headers.cookie = [...client.cookies.entries()].map(([k, c]) => `${k}=${c.value}`).join('; ');
  }
  if (options.origin) headers.origin = options.origin;
  return headers;
}

/** Opens a language-server socket; a refused handshake rejects with the HTTP status. */
export function connectLsp(
  base: string,
  client: BrowserClient | undefined,
  workspaceId: string,
  options: LspConnectOptions = {},
): Promise<LspSocket> {
  const ws = new WebSocket(lspUrl(base, workspaceId, options.language), {
    headers: headersFor(client, options),
    maxPayload: 64 * 1024 * 1024,
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(new LspSocket(ws)));
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`handshake refused: ${res.statusCode}`), { status: res.statusCode }));
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

export async function refusedLspStatus(
  base: string,
  client: BrowserClient | undefined,
  workspaceId: string,
  options: LspConnectOptions = {},
): Promise<number> {
  try {
    const socket = await connectLsp(base, client, workspaceId, options);
    await socket.close();
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status) return status;
    throw err;
  }
  throw new Error('the handshake was accepted');
}
