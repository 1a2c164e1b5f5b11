import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TerminalServerMessage } from '@keel/contract/terminal';
import { createRoot } from 'solid-js';
import { createFakeTimers } from '../../testing/fake-timers.ts';
import { workspaceId } from '../../testing/fixtures.ts';
import {
  CANNOT_CONNECT,
  createTerminalConnection,
  type SessionMemory,
  type SocketLike,
  tabSessionMemory,
} from './terminal-connection.ts';

const SESSION = 'trm_abcdefghijklmnopqrst';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  closed = false;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
  }
  /** The server side: accept, speak, drop. */
  accept() {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }
  /** A frame as the edge sends it: a message of the contract's schema, checked by it, as JSON. */
  receive(message: TerminalServerMessage) {
    this.receiveRaw(JSON.stringify(TerminalServerMessage.parse(message)));
  }
  /** Anything else, for frames the server never sends. */
  receiveRaw(data: string) {
    this.onmessage?.({ data } as MessageEvent);
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: '' } as CloseEvent);
  }
}

function memoryStore(initial?: string): SessionMemory & { value: string | undefined } {
  const store = {
    value: initial,
    load: () => store.value,
    save: (session: string | undefined) => {
      store.value = session;
    },
  };
  return store;
}

function setup(origin = { protocol: 'http:', host: 'keel.test:8787' }, memory?: SessionMemory) {
  const sockets: FakeSocket[] = [];
  const output: string[] = [];
  const clock = createFakeTimers();
  const connection = createRoot(() =>
    createTerminalConnection({
      workspaceId,
      origin,
      createSocket: (url) => {
        const socket = new FakeSocket(url);
        sockets.push(socket);
        return socket;
      },
      onOutput: (data) => output.push(data),
      timers: clock.timers,
      ...(memory ? { memory } : {}),
    }),
  );
  const last = () => sockets[sockets.length - 1]!;
  return { connection, sockets, output, clock, last };
}

describe('terminal connection (fake socket)', () => {
  test('connects to the contract URL with the size, and opens on ready', () => {
    const { connection, last } = setup();

    connection.connect(120, 40);
    assert.equal(last().url, `ws://keel.test:8787/api/workspaces/${workspaceId}/terminal?cols=120&rows=40`);
    assert.deepEqual(connection.status(), { state: 'connecting' });
    last().accept();
    last().receive({ type: 'ready', session: SESSION });

    assert.deepEqual(connection.status(), { state: 'open' });
  });

  test('https pages use wss', () => {
    const { connection, last } = setup({ protocol: 'https:', host: 'keel.example.com' });

    connection.connect(80, 24);

    assert.ok(last().url.startsWith('wss://keel.example.com/'));
  });

  test('input, resize and pings go out as contract messages; large pastes in pieces', () => {
    const { connection, last, clock } = setup();
    connection.connect(80, 24);
    last().accept();
    last().receive({ type: 'ready', session: SESSION });

    connection.input('ls\r');
    connection.resize(100, 30);
    connection.resize(100, 30);
    clock.fireAll();
    connection.input('x'.repeat(40_000));

    const sent = last().sent as Array<{ type: string; data?: string }>;
    assert.deepEqual(sent.slice(0, 3), [
      { type: 'input', data: 'ls\r' },
      { type: 'resize', cols: 100, rows: 30 },
      { type: 'ping' },
    ]);
    assert.deepEqual(
      sent.slice(3).map((m) => m.data?.length),
      [16_384, 16_384, 7_232],
    );
  });

  test('a socket that closes before ready fails with a clear message and does not retry', () => {
    const { connection, sockets, last, clock } = setup();

    connection.connect(80, 24);
    last().drop();

    assert.deepEqual(connection.status(), { state: 'failed', message: CANNOT_CONNECT });
    assert.deepEqual(clock.delays(), []);
    assert.equal(sockets.length, 1);
  });

  test('a dropped session reconnects with session and lastSeq, and skips replayed output', () => {
    const { connection, sockets, output, clock, last } = setup();
    connection.connect(80, 24);
    last().accept();
    last().receive({ type: 'ready', session: SESSION });
    last().receive({ type: 'output', data: 'a', seq: '1-0' });
    last().receive({ type: 'output', data: 'b', seq: '2-0' });

    last().drop();
    assert.deepEqual(connection.status(), { state: 'reconnecting', attempt: 1 });
    clock.fireAll();
    const again = last();
    again.accept();
    again.receive({ type: 'ready', session: SESSION });
    again.receive({ type: 'output', data: 'b', seq: '2-0' });
    again.receive({ type: 'output', data: 'c', seq: '3-0' });

    assert.equal(sockets.length, 2);
    const query = new URL(again.url).searchParams;
    assert.equal(query.get('session'), SESSION);
    assert.equal(query.get('lastSeq'), '2-0');
    assert.deepEqual(output, ['a', 'b', 'c']);
    assert.deepEqual(connection.status(), { state: 'open' });
  });

  test('a socket closed by a stopping server (1012) reconnects at once and resumes', () => {
    const { connection, output, clock, last } = setup();
    connection.connect(80, 24);
    last().accept();
    last().receive({ type: 'ready', session: SESSION });
    last().receive({ type: 'output', data: 'a', seq: '1-0' });

    last().readyState = 3;
    last().onclose?.({ code: 1012, reason: 'server restarting' } as CloseEvent);
    assert.deepEqual(clock.delays(), [0], 'no back-off: the balancer has another edge ready');
    clock.fireAll();
    const again = last();
    assert.equal(new URL(again.url).searchParams.get('lastSeq'), '1-0');
    again.accept();
    again.receive({ type: 'ready', session: SESSION });
    again.receive({ type: 'output', data: 'b', seq: '2-0' });
    assert.deepEqual(output, ['a', 'b']);
  });

  test('exit and server errors end the session without reconnecting', () => {
    const { connection, last, clock } = setup();
    connection.connect(80, 24);
    last().accept();
    last().receive({ type: 'ready', session: SESSION });

    last().receive({ type: 'exit', exitCode: 0 });

    assert.deepEqual(connection.status(), { state: 'exited', exitCode: 0 });
    assert.deepEqual(clock.delays(), []);

    connection.connect(80, 24);
    last().receive({ type: 'error', code: 'workspace_not_running', message: 'The workspace is stopped' });
    assert.deepEqual(connection.status(), { state: 'failed', message: 'The workspace is stopped' });
  });

  test('malformed frames are ignored', () => {
    const { connection, last, output } = setup();
    connection.connect(80, 24);
    last().receiveRaw('not json');
    last().receiveRaw(JSON.stringify({ type: 'output', data: 42 }));

    assert.deepEqual(output, []);
    assert.deepEqual(connection.status(), { state: 'connecting' });
  });

  test('close stops everything quietly', () => {
    const { connection, last, clock } = setup();
    connection.connect(80, 24);
    last().accept();
    last().receive({ type: 'ready', session: SESSION });

    connection.close();

    assert.equal(last().closed, true);
    assert.deepEqual(clock.delays(), []);
  });

  test('a reloaded page reattaches to the remembered session and replays all of it', () => {
    const memory = memoryStore(SESSION);
    const { connection, last, output } = setup(undefined, memory);

    connection.connect(80, 24);
    const query = new URL(last().url).searchParams;
    assert.equal(query.get('session'), SESSION);
    assert.equal(query.get('lastSeq'), null);
    last().accept();
    last().receive({ type: 'ready', session: SESSION });
    last().receive({ type: 'output', data: 'before the reload', seq: '1-0' });

    assert.deepEqual(output, ['before the reload']);
    assert.deepEqual(connection.status(), { state: 'open' });
  });

  test('a remembered session that is gone gives way to a fresh one, once', () => {
    const memory = memoryStore(SESSION);
    const { connection, sockets, last } = setup(undefined, memory);

    connection.connect(80, 24);
    last().drop();

    assert.equal(sockets.length, 2);
    assert.equal(new URL(last().url).searchParams.get('session'), null);
    assert.equal(memory.value, undefined);
    last().accept();
    last().receive({ type: 'ready', session: 'trm_bbbbbbbbbbbbbbbbbbbb' });
    assert.equal(memory.value, 'trm_bbbbbbbbbbbbbbbbbbbb');

    connection.connect(80, 24);
    last().drop();
    // Not a remembered session any more: the usual failure, no loop.
    assert.equal(sockets.length, 4);
  });

  test('a session that ended is forgotten, so the next load opens a new one', () => {
    const memory = memoryStore();
    const { connection, last } = setup(undefined, memory);
    connection.connect(80, 24);
    last().accept();
    last().receive({ type: 'ready', session: SESSION });
    assert.equal(memory.value, SESSION);

    last().receive({ type: 'exit', exitCode: 0 });
    assert.equal(memory.value, undefined);

    connection.connect(80, 24);
    last().accept();
    last().receive({ type: 'ready', session: SESSION });
    last().receive({ type: 'error', code: 'idle', message: 'closed after 15 min' });
    assert.equal(memory.value, undefined);
  });

  test('the tab memory keeps one session per workspace', () => {
    const items = new Map<string, string>();
    const storage = {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => items.set(k, v),
      removeItem: (k: string) => items.delete(k),
    } as unknown as Storage;
    const a = tabSessionMemory(() => storage, 'ws_a');
    const b = tabSessionMemory(() => storage, 'ws_b');
    a.save(SESSION);

    assert.equal(a.load(), SESSION);
    assert.equal(b.load(), undefined);
    a.save(undefined);
    assert.equal(a.load(), undefined);
  });
});
