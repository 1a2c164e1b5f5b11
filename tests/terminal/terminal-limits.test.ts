import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runnerKeys } from '@keel/contract/keys';
import {
  TERMINAL_INPUT_FRAME_BURST,
  TERMINAL_INPUT_MAX_ENTRIES,
  TERMINAL_OUTPUT_ENTRY_CHARS,
  TERMINAL_OUTPUT_MAX_ENTRIES,
} from '@keel/contract/terminal';
import { Redis } from 'ioredis';
import { type Rig, startRig } from '../harness/runner-rig.ts';
import { connectTerminal, type TerminalSocket } from './terminal-client.ts';

/** `~` trimming removes whole stream nodes only: a stream may run this many entries past its MAXLEN. */
const TRIM_SLACK = 100;

describe('terminal streams stay bounded (process driver, real Redis)', () => {
  let rig: Rig;
  let ws: string;
  let redis: Redis;
  const open: TerminalSocket[] = [];
  const keys = () => runnerKeys(rig.credential.keyPrefix, rig.credential.runnerId);
  const connect = async () => {
    const socket = await connectTerminal(rig.base, rig.admin, ws);
    open.push(socket);
    await socket.waitFor('ready', () => socket.session);
    return socket;
  };

  before(async () => {
    rig = await startRig('process');
    redis = new Redis(rig.config.REDIS_URL);
    const created = await rig.admin.request(
      'POST',
      '/api/workspaces',
      { name: 'tty-limits' },
      { bearer: true },
    );
    ws = created.body.id;
    await rig.waitForStatus(rig.admin, ws, 'running');
  });
  after(async () => {
    for (const socket of open) socket.ws.terminate();
    redis.disconnect();
    await rig.close();
  });

  test('50,000 resizes leave a small input stream, and the last size reaches the TTY', async () => {
    const term = await connect();
    for (let i = 0; i < 50_000; i++) {
      term.send({ type: 'resize', cols: 40 + (i % 100), rows: 10 + (i % 50) });
    }
    term.send({ type: 'resize', cols: 123, rows: 45 });
    term.type('stty size\r');
    await term.waitForOutput('45 123', 60_000);
    const length = await redis.xlen(keys().terminalInput(term.session!));
    assert.ok(length <= TERMINAL_INPUT_MAX_ENTRIES + TRIM_SLACK, `input stream of ${length} entries`);
    await term.close();
  });

  test('input frames past the budget close the socket with rate_limited; the stream stays capped', async () => {
    const term = await connect();
    for (let i = 0; i < TERMINAL_INPUT_FRAME_BURST * 3; i++) term.type('#');
    const closed = await Promise.race([
      term.closed,
      new Promise((r) => setTimeout(() => r('still open'), 10_000)),
    ]);
    assert.equal(closed, 1008);
    const error = term.frames.find((f) => f.type === 'error');
    assert.deepEqual(error?.type === 'error' && error.code, 'rate_limited');
    const length = await redis.xlen(keys().terminalInput(term.session!));
    assert.ok(length <= TERMINAL_INPUT_MAX_ENTRIES + TRIM_SLACK, `input stream of ${length} entries`);
  });

  test('a flood of output keeps a rolling buffer within its entry cap and byte bound', async () => {
    const term = await connect();
    term.type('yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 12000000; echo flood-$((6*7))\r');
    await term.waitForOutput('flood-42', 120_000);
    const key = keys().terminalOutput(term.session!);
    const length = await redis.xlen(key);
    assert.ok(length <= TERMINAL_OUTPUT_MAX_ENTRIES + TRIM_SLACK, `output stream of ${length} entries`);
    const rows = (await redis.xrangeBuffer(key, '-', '+')) as Array<[Buffer, Buffer[]]>;
    const bytes = rows.reduce((n, [, f]) => n + f[3]!.length, 0);
    const bound = (TERMINAL_OUTPUT_MAX_ENTRIES + TRIM_SLACK) * TERMINAL_OUTPUT_ENTRY_CHARS * 3;
    assert.ok(bytes <= bound, `${bytes} bytes kept`);
    await term.close();
  });
});
