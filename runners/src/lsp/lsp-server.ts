import {
  type JsonRpcMessage,
  LSP_MESSAGE_MAX_BYTES,
  LSP_WORKSPACE_URI,
  type LspError,
  type LspLanguage,
  type LspStatus,
} from '@keel/contract/lsp';
import type { ExecHandle } from '../workloads/types.ts';
import { type FrameError, frameMessage, LspFrameReader } from './framing.ts';
import { SERVERS_NODE_MODULES } from './server-packages.ts';

/** One browser connection as the server sees it: where its messages go. */
export interface LspPeer {
  readonly id: string;
  /** One JSON-RPC message (text) for this connection's client. */
  send(text: string): void;
  /** The server is gone: the connection ends with this reason. */
  end(reason: LspError): void;
}

/** How much of the server's stderr is kept, to say why it failed. */
const STDERR_TAIL = 2_000;
/** JSON-RPC error codes the runner answers with. */
const INVALID_PARAMS = -32602;
const SERVER_NOT_INITIALIZED = -32002;

interface Pending {
  peer: LspPeer;
  id: string | number;
}

/**
 * One language server process shared by every connection of a workspace for a language. The server
 * knows one client; this makes many look like one:
 * - requests are renumbered, so an answer goes back to the connection (and id) that asked;
 * - notifications from the server (diagnostics, progress) go to every connection;
 * - `initialize` reaches the server once: later connections get the same answer; `shutdown` and
 *   `exit` are answered here (the runner decides when the server ends);
 * - documents are counted per connection: a second `didOpen` of an open document becomes a
 *   full-text `didChange`, and `didClose` reaches the server when the last connection closes it;
 * - requests from the server (configuration, registrations, progress tokens) are answered here.
 */
export class LspServer {
  readonly peers = new Map<string, LspPeer>();
  state: LspStatus['state'] = 'starting';
  #failure: string | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #initialize: { result?: unknown; waiting: Pending[]; sent: boolean } = { waiting: [], sent: false };
  #initializedSent = false;
  /** Open documents: uri → connections that have it open. */
  readonly #documents = new Map<string, Set<string>>();
  #stderr = '';
  readonly done: Promise<void>;
  #stopping: LspError | undefined;
  #ended: LspError | undefined;

  constructor(
    readonly workspaceId: string,
    readonly language: LspLanguage,
    private readonly handle: ExecHandle,
    private readonly log: (msg: string, extra?: Record<string, unknown>) => void,
  ) {
    const reader = new LspFrameReader(
      LSP_MESSAGE_MAX_BYTES,
      (text) => this.#fromServer(text),
      (err: FrameError) => {
        this.#fail(`The language server broke the protocol: ${err.message}`);
        void handle.kill();
      },
    );
    handle.stdout.on('data', (chunk: Buffer) => reader.push(chunk));
    handle.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    this.done = handle.done.then(
      (r) => this.#exited(`exit code ${r.exitCode ?? r.signal ?? 'unknown'}`),
      (err) => this.#exited(err instanceof Error ? err.message : String(err)),
    );
  }

  /** The status a newly attached connection is told. */
  status(): LspStatus {
    return {
      state: this.state,
      language: this.language,
      ...(this.#failure ? { message: this.#failure } : {}),
    };
  }

  attach(peer: LspPeer): void {
    peer.send(notification('$/keel/status', this.status()));
    // Gone before this connection came: it ends at once, saying why.
    if (this.#ended) {
      peer.end(this.#ended);
      return;
    }
    this.peers.set(peer.id, peer);
  }

  /** A connection went away: its requests are forgotten, its documents closed where it was the last. */
  detach(peerId: string): void {
    if (!this.peers.delete(peerId)) return;
    for (const [serverId, pending] of this.#pending) {
      if (pending.peer.id === peerId) this.#pending.delete(serverId);
    }
    this.#initialize.waiting = this.#initialize.waiting.filter((w) => w.peer.id !== peerId);
    for (const [uri, holders] of this.#documents) {
      if (!holders.delete(peerId) || holders.size > 0) continue;
      this.#documents.delete(uri);
      this.#write({ jsonrpc: '2.0', method: 'textDocument/didClose', params: { textDocument: { uri } } });
    }
  }

  /** One message from a connection, already validated (size, JSON-RPC shape, URIs). */
  fromPeer(peer: LspPeer, message: JsonRpcMessage): void {
    const { method, id } = message;
    if (method === undefined) return; // Answers to server requests are given by the runner itself.
    const isRequest = id !== undefined && id !== null;
    if (this.state === 'failed' || this.state === 'stopped') {
      if (isRequest)
        peer.send(
          errorAnswer(id, SERVER_NOT_INITIALIZED, this.#failure ?? 'The language server is not running.'),
        );
      return;
    }
    if (method === 'initialize' && isRequest) {
      this.#initializeFrom(peer, id, message.params);
      return;
    }
    if (method === 'initialized') {
      if (this.#initializedSent) return;
      this.#initializedSent = true;
      this.#write(message);
      return;
    }
    if (method === 'shutdown' && isRequest) {
      peer.send(answer(id, null));
      return;
    }
    if (method === 'exit') return;
    if (method === '$/cancelRequest') {
      const wanted = (message.params as { id?: unknown } | undefined)?.id;
      for (const [serverId, p] of this.#pending) {
        if (p.peer.id === peer.id && p.id === wanted) {
          this.#write({ jsonrpc: '2.0', method, params: { id: serverId } });
          return;
        }
      }
      return;
    }
    if (method === 'textDocument/didOpen') {
      this.#didOpen(peer, message);
      return;
    }
    if (method === 'textDocument/didClose') {
      this.#didClose(peer, message);
      return;
    }
    if (!isRequest) {
      this.#write(message);
      return;
    }
    const serverId = this.#nextId++;
    this.#pending.set(serverId, { peer, id });
    this.#write({ ...message, id: serverId });
  }

  /** Ends the server: every connection is told why. */
  /** Told to stop (idle, workspace stopped, runner stopping): no new connection may join it. */
  get stopping(): boolean {
    return this.#stopping !== undefined;
  }

  async stop(reason: LspError): Promise<void> {
    this.#stopping ??= reason;
    await this.handle.kill();
    await this.done;
  }

  #initializeFrom(peer: LspPeer, id: string | number, params: unknown): void {
    const init = this.#initialize;
    if (init.result !== undefined) {
      peer.send(answer(id, init.result));
      return;
    }
    init.waiting.push({ peer, id });
    if (init.sent) return;
    init.sent = true;
    const serverId = this.#nextId++;
    this.#pending.set(serverId, { peer: initializePeer(this), id: 'initialize' });
    this.#write({
      jsonrpc: '2.0',
      id: serverId,
      method: 'initialize',
      params: initializeParams(params, this.language),
    });
  }

  #didOpen(peer: LspPeer, message: JsonRpcMessage): void {
    const doc = (message.params as { textDocument?: { uri?: string; version?: number; text?: string } })
      .textDocument;
    const uri = doc?.uri;
    if (typeof uri !== 'string') return;
    const holders = this.#documents.get(uri);
    if (!holders) {
      this.#documents.set(uri, new Set([peer.id]));
      this.#write(message);
      return;
    }
    holders.add(peer.id);
    // Open already, through another tab: its text is what this tab has now.
    this.#write({
      jsonrpc: '2.0',
      method: 'textDocument/didChange',
      params: {
        textDocument: { uri, version: doc?.version ?? 0 },
        contentChanges: [{ text: doc?.text ?? '' }],
      },
    });
  }

  #didClose(peer: LspPeer, message: JsonRpcMessage): void {
    const uri = (message.params as { textDocument?: { uri?: string } }).textDocument?.uri;
    if (typeof uri !== 'string') return;
    const holders = this.#documents.get(uri);
    if (!holders?.delete(peer.id) || holders.size > 0) return;
    this.#documents.delete(uri);
    this.#write(message);
  }

  #fromServer(text: string): void {
    let message: { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
    try {
      message = JSON.parse(text);
    } catch {
      this.log('language server sent a message that is not JSON', { language: this.language });
      return;
    }
    if (typeof message.method === 'string') {
      if (message.id !== undefined && message.id !== null) {
        // A request from the server: answered here, for every client at once.
        this.#write({
          jsonrpc: '2.0',
          id: message.id,
          result: serverRequestAnswer(message.method, message.params),
        });
        return;
      }
      for (const peer of this.peers.values()) peer.send(text);
      return;
    }
    if (typeof message.id !== 'number') return;
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    pending.peer.send(JSON.stringify({ ...message, id: pending.id }));
  }

  /** The answer to `initialize`: every waiting connection gets it, and the server is ready. */
  initialized(result: unknown, error: unknown): void {
    const init = this.#initialize;
    if (error !== undefined) {
      const reason = `The language server did not start: ${(error as { message?: string }).message ?? 'initialize failed'}`;
      for (const w of init.waiting) w.peer.send(errorAnswer(w.id, SERVER_NOT_INITIALIZED, reason));
      init.waiting = [];
      this.#fail(reason);
      void this.handle.kill();
      return;
    }
    init.result = result;
    for (const w of init.waiting) w.peer.send(answer(w.id, result));
    init.waiting = [];
    this.state = 'ready';
    const name = (result as { serverInfo?: { name?: string; version?: string } }).serverInfo;
    this.#broadcastStatus(name?.name ? `${name.name}${name.version ? ` ${name.version}` : ''}` : undefined);
  }

  #broadcastStatus(message?: string): void {
    const status: LspStatus = { ...this.status(), ...(message ? { message } : {}) };
    for (const peer of this.peers.values()) peer.send(notification('$/keel/status', status));
  }

  #fail(reason: string): void {
    if (this.state === 'failed' || this.state === 'stopped') return;
    this.state = 'failed';
    this.#failure = reason.slice(0, 2_000);
    this.#broadcastStatus();
  }

  #exited(how: string): void {
    const stderr = this.#stderr.trim().split('\n').slice(-3).join(' ').slice(-500);
    const reason: LspError = this.#stopping ?? {
      code: 'server_unavailable',
      message: `The ${this.language} language server exited (${how})${stderr ? `: ${stderr}` : ''}`,
    };
    this.#ended = reason;
    if (this.state !== 'failed') {
      this.#failure = reason.message;
      this.state = this.#stopping ? 'stopped' : 'failed';
      this.#broadcastStatus();
    }
    for (const pending of this.#pending.values()) {
      if (pending.peer.id !== INIT_PEER)
        pending.peer.send(errorAnswer(pending.id, SERVER_NOT_INITIALIZED, reason.message));
    }
    for (const w of this.#initialize.waiting)
      w.peer.send(errorAnswer(w.id, SERVER_NOT_INITIALIZED, reason.message));
    this.#pending.clear();
    for (const peer of this.peers.values()) peer.end(reason);
    this.peers.clear();
  }

  #write(message: object): void {
    const stdin = this.handle.stdin;
    if (!stdin || stdin.destroyed) return;
    stdin.write(frameMessage(JSON.stringify(message)));
  }
}

const INIT_PEER = '$initialize';

/** The pseudo-connection that receives the server's answer to `initialize`. */
function initializePeer(server: LspServer): LspPeer {
  return {
    id: INIT_PEER,
    send(text) {
      const message = JSON.parse(text) as { result?: unknown; error?: unknown };
      server.initialized(message.result, message.error);
    },
    end() {},
  };
}

/**
 * The first client's `initialize`, with what only the runner knows: the workspace is /workspace,
 * the server's process is not the client's to watch, and typescript-language-server falls back on
 * the `typescript` shipped beside it (it prefers the workspace's own node_modules/typescript) and
 * downloads no typings.
 */
function initializeParams(params: unknown, language: LspLanguage): Record<string, unknown> {
  const p = { ...((params ?? {}) as Record<string, unknown>) };
  p.processId = null;
  p.rootUri = LSP_WORKSPACE_URI;
  p.rootPath = '/workspace';
  p.workspaceFolders = [{ uri: LSP_WORKSPACE_URI, name: 'workspace' }];
  if (language === 'typescript') {
    const options = { ...((p.initializationOptions ?? {}) as Record<string, unknown>) };
    options.tsserver = { fallbackPath: `${SERVERS_NODE_MODULES}/typescript/lib` };
    options.disableAutomaticTypingAcquisition = true;
    p.initializationOptions = options;
  }
  return p;
}

function serverRequestAnswer(method: string, params: unknown): unknown {
  if (method === 'workspace/configuration') {
    const items = (params as { items?: unknown[] } | undefined)?.items;
    return Array.isArray(items) ? items.map(() => null) : [];
  }
  if (method === 'workspace/applyEdit')
    return { applied: false, failureReason: 'Edits are applied by the editor.' };
  if (method === 'workspace/workspaceFolders') return [{ uri: LSP_WORKSPACE_URI, name: 'workspace' }];
  return null;
}

export function answer(id: string | number, result: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result });
}

export function errorAnswer(id: string | number, code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
}

export function notification(method: string, params: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', method, params });
}

export { INVALID_PARAMS };
