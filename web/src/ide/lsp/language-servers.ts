import type { LspLanguage, LspStatus } from '@keel/contract/lsp';
import type { Monaco } from '../monaco/monaco-environment.ts';

/** Monaco's language ids served by each workspace language server. */
const SERVED: Record<string, LspLanguage> = {
  typescript: 'typescript',
  javascript: 'typescript',
  python: 'python',
  json: 'json',
  css: 'css',
  scss: 'css',
  less: 'css',
  html: 'html',
  go: 'go',
};

export function lspLanguageFor(monacoLanguage: string): LspLanguage | undefined {
  return SERVED[monacoLanguage];
}

/** The URI a workspace file has in Monaco: the path the language server sees inside the workspace. */
export function workspaceUri(path: string): string {
  return `file:///workspace/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** The workspace path of a file:///workspace/ URI; undefined for any other. */
export function pathOfWorkspaceUri(uri: string): string | undefined {
  const prefix = 'file:///workspace/';
  if (!uri.startsWith(prefix)) return undefined;
  try {
    return uri.slice(prefix.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    return undefined;
  }
}

export type LspView = Pick<LspStatus, 'state' | 'message'>;

interface Message {
  id?: number | string;
  method?: string;
  params?: { textDocument?: { uri?: string } } & Record<string, unknown>;
}

/**
 * The socket Monaco's `WebSocketTransport` talks to, wrapping the browser's: the transport expects
 * Node's `send(data, callback)`, and Monaco's client sends every model to every server, so this
 * keeps to the server's own documents (others' requests get an empty answer here, their sync is
 * dropped) and takes Keel's own `$/keel/status` and `$/keel/error` notifications out of the stream.
 */
class FilteredSocket {
  onmessage: ((event: { data: string }) => void) | undefined;
  onclose: ((event: unknown) => void) | undefined;

  constructor(
    private readonly ws: WebSocket,
    /** The URI of this server's model for a URI Monaco's client sent; undefined for another's. */
    private readonly served: (uri: string) => string | undefined,
    onStatus: (view: LspView) => void,
    /** Makes models for workspace files an answer names (Monaco's client needs one per location). */
    ensureModels: (uris: string[]) => Promise<void>,
  ) {
    ws.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return;
      let message: { method?: string; params?: { state?: LspView['state']; message?: string } };
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.method === '$/keel/status' && message.params?.state) {
        onStatus({
          state: message.params.state,
          ...(message.params.message ? { message: message.params.message } : {}),
        });
        return;
      }
      if (message.method === '$/keel/error') {
        const reason = message.params?.message;
        if (ws.readyState !== WebSocket.OPEN)
          onStatus({ state: 'failed', ...(reason ? { message: reason } : {}) });
        return;
      }
      const uris = 'result' in message ? workspaceUrisIn((message as { result?: unknown }).result) : [];
      if (uris.length === 0) {
        this.onmessage?.({ data: event.data });
        return;
      }
      const data = event.data;
      void ensureModels(uris)
        .catch(() => {})
        .then(() => this.onmessage?.({ data }));
    });
    ws.addEventListener('close', (event) => {
      onStatus({ state: 'stopped', ...(event.reason ? { message: event.reason } : {}) });
      this.onclose?.(event);
    });
  }

  get url(): string {
    return this.ws.url;
  }

  send(data: string, done?: (err?: Error) => void): void {
    let message: Message | undefined;
    try {
      message = JSON.parse(data) as Message;
    } catch {}
    const textDocument = message?.params?.textDocument;
    const uri = textDocument?.uri;
    const own = typeof uri === 'string' ? this.served(uri) : undefined;
    if (message?.method?.startsWith('textDocument/') && typeof uri === 'string' && own === undefined) {
      if (message.id !== undefined) {
        const answer = JSON.stringify({ jsonrpc: '2.0', id: message.id, result: null });
        queueMicrotask(() => this.onmessage?.({ data: answer }));
      }
      done?.();
      return;
    }
    // The client names a document in lower case when it opens, changes or closes it (and as the
    // model has it in requests): the server, on a case-sensitive file system, gets the model's own.
    if (textDocument && own !== undefined && own !== uri) {
      textDocument.uri = own;
      data = JSON.stringify(message);
    }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
    done?.();
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * Every file:///workspace/ URI an answer names (definitions are arrays of Location or LocationLink,
 * references too; a rename's WorkspaceEdit keys `changes` by URI and names them in `documentChanges`).
 */
export function workspaceUrisIn(value: unknown, found = new Set<string>(), depth = 0): string[] {
  if (depth > 8 || value === null || typeof value !== 'object') return [...found];
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string') {
      if ((key === 'uri' || key === 'targetUri') && pathOfWorkspaceUri(item) !== undefined) found.add(item);
      continue;
    }
    if (key === 'changes' && item && typeof item === 'object')
      for (const uri of Object.keys(item)) if (pathOfWorkspaceUri(uri) !== undefined) found.add(uri);
    workspaceUrisIn(item, found, depth + 1);
  }
  return [...found];
}

export interface LanguageServerOptions {
  monaco: Monaco;
  workspaceId: string;
  language: LspLanguage;
  onStatus(view: LspView): void;
  /** A workspace file's text, for a model of a file no tab has open. */
  readFile(path: string): Promise<string | undefined>;
}

/**
 * One tab's connection to the workspace's language server for a language (shared on the runner with
 * the person's other tabs), driving Monaco's native LSP client: diagnostics, hover, completion,
 * signature help, definition and references, rename, formatting.
 */
export async function connectLanguageServer(o: LanguageServerOptions): Promise<{ close(): void }> {
  const url = new URL(`/api/workspaces/${encodeURIComponent(o.workspaceId)}/lsp`, window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('language', o.language);
  o.onStatus({ state: 'starting' });
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error('The language server connection was refused.')), {
      once: true,
    });
  });
  const served = (uri: string): string | undefined => {
    const model =
      o.monaco.editor.getModel(o.monaco.Uri.parse(uri)) ??
      o.monaco.editor.getModels().find((m) => m.uri.toString(true).toLowerCase() === uri);
    if (!model || lspLanguageFor(model.getLanguageId()) !== o.language) return undefined;
    // Only workspace files: the diff editors' and previews' models (inmemory://…) are no file the
    // server has, and the edge refuses any other URI.
    const own = model.uri.toString(true);
    return pathOfWorkspaceUri(own) === undefined ? undefined : own;
  };
  const ensureModels = async (uris: string[]) => {
    await Promise.all(
      uris.map(async (uri) => {
        const resource = o.monaco.Uri.parse(uri);
        if (o.monaco.editor.getModel(resource)) return;
        const path = pathOfWorkspaceUri(uri);
        const text = path === undefined ? undefined : await o.readFile(path);
        if (text === undefined || o.monaco.editor.getModel(resource)) return;
        o.monaco.editor.createModel(text, undefined, resource);
      }),
    );
  };
  const socket = new FilteredSocket(ws, served, o.onStatus, ensureModels);
  const transport = o.monaco.lsp.WebSocketTransport.fromWebSocket(socket);
  new o.monaco.lsp.MonacoLspClient(transport);
  return { close: () => ws.close() };
}
