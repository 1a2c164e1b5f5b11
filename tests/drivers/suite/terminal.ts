/*
 * The interactive terminal over the edge's WebSocket, on a workspace of the target's driver: a
 * real TTY (size, resize), reattach with replay, bounded input, exit and stop.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TERMINAL_INPUT_MAX_CHARS } from '@keel/contract/terminal';
import type { Rig } from '../../harness/runner-rig.ts';
import { connectTerminal, type TerminalSocket } from '../../terminal/terminal-client.ts';
import { runningWorkspace } from './api.ts';
import type { Stand } from './stand.ts';

/** Output that only the command's run prints, not its echo: `$((6*7))` is typed, `42` comes back. */
const MARK = (name: string) => [`echo ${name}-$((6*7))\r`, `${name}-42`] as const;

export function terminalSuite(stand: Stand): void {
  describe('interactive terminal (API, edge and runner)', () => {
    let rig: Rig;
    let ws: string;
    const open: TerminalSocket[] = [];
    const connect = async (query: Record<string, string | number> = {}) => {
      const socket = await connectTerminal(rig.base, rig.admin, ws, { query });
      open.push(socket);
      return socket;
    };

    before(async () => {
      rig = await stand.rig();
      ws = await runningWorkspace(rig, 'tty');
    });
    after(() => {
      for (const socket of open) socket.ws.terminate();
    });

    test('opens a shell: ready first, then what is typed runs and echoes', async () => {
      const term = await connect({ cols: 100, rows: 30 });
      await term.waitFor('ready', () => term.session);
      assert.equal(term.frames[0]?.type, 'ready');
      assert.match(term.session!, /^trm_[a-z2-7]{20}$/);
      const [command, expected] = MARK('hi');
      term.type(command);
      await term.waitForOutput(expected);
      term.type('stty size\r');
      await term.waitForOutput('30 100');
      await term.close();
    });

    test('resize reaches the TTY: stty size shows the new size', async () => {
      const term = await connect({ cols: 80, rows: 24 });
      await term.waitFor('ready', () => term.session);
      term.send({ type: 'resize', cols: 132, rows: 43 });
      term.type('stty size\r');
      await term.waitForOutput('43 132');
      term.send({ type: 'ping' });
      await term.waitFor('pong', () => term.frames.some((f) => f.type === 'pong'));
      await term.close();
    });

    test('a reattached socket gets what it missed exactly once, and its window size', async () => {
      const first = await connect({ cols: 80, rows: 24 });
      const session = await first.waitFor('ready', () => first.session);
      first.type('echo before-$((1+1))\r');
      await first.waitForOutput('before-2');
      // Printed while no socket is attached.
      first.type('sleep 1; for i in 1 2 3; do echo missed-$((i*11)); done\r');
      await first.waitForOutput('sleep 1;');
      const seen = first.lastSeq()!;
      const shown = first.output();
      await first.close();
      await new Promise((r) => setTimeout(r, 2_000));

      const second = await connect({ session, lastSeq: seen, cols: 90, rows: 33 });
      await second.waitForOutput('missed-33');
      assert.deepEqual(second.frames[0], { type: 'ready', session });
      for (const n of [11, 22, 33]) {
        assert.equal(second.output().split(`missed-${n}`).length - 1, 1, `missed-${n} exactly once`);
      }
      second.type('stty size\r');
      await second.waitForOutput('33 90');
      const total = shown + second.output();
      await second.close();

      // A socket without lastSeq replays everything kept: the two halves are its start, no gap, no overlap.
      const replay = await connect({ session });
      await replay.waitFor('the replay', () => replay.output().length >= total.length || undefined);
      assert.equal(replay.output().slice(0, total.length), total);
      await replay.close();
    });

    test('input of the largest size arrives whole; a larger frame is refused', async () => {
      const term = await connect();
      await term.waitFor('ready', () => term.session);
      term.type('stty -icanon -echo; head -c 65536 | wc -c; stty sane\r');
      await new Promise((r) => setTimeout(r, 500));
      term.type('a'.repeat(TERMINAL_INPUT_MAX_CHARS));
      await term.waitForOutput(/\b65536\b/);

      term.type('b'.repeat(TERMINAL_INPUT_MAX_CHARS + 1));
      const error = await term.waitFor('an error frame', () => term.frames.find((f) => f.type === 'error'));
      assert.equal(error.type === 'error' && error.code, 'invalid_message');
      assert.equal(await term.closed, 1008);
    });

    test('the shell exiting sends the exit frame and ends the session', async () => {
      const term = await connect();
      const session = await term.waitFor('ready', () => term.session);
      term.type('exit 7\r');
      const exit = await term.waitFor('exit', () => term.frames.find((f) => f.type === 'exit'));
      assert.deepEqual(exit, { type: 'exit', exitCode: 7 });
      await term.closed;

      // Reattaching to an ended session only tells how it ended.
      const again = await connect({ session });
      const replayedExit = await again.waitFor('exit', () => again.frames.find((f) => f.type === 'exit'));
      assert.deepEqual(replayedExit, { type: 'exit', exitCode: 7 });
    });

    test('stopping the workspace ends its terminals with a reason', async () => {
      const term = await connect();
      await term.waitFor('ready', () => term.session);
      const [command, expected] = MARK('alive');
      term.type(command);
      await term.waitForOutput(expected);
      const stop = await rig.admin.request('POST', `/api/workspaces/${ws}/stop`, undefined, { bearer: true });
      assert.equal(stop.status, 202, JSON.stringify(stop.body));
      const error = await term.waitFor('an error frame', () => term.frames.find((f) => f.type === 'error'));
      assert.equal(error.type === 'error' && error.code, 'workspace_stopped');
      await rig.waitForStatus(rig.admin, ws, 'stopped');
      const start = await rig.admin.request('POST', `/api/workspaces/${ws}/start`, undefined, {
        bearer: true,
      });
      assert.equal(start.status, 202);
      await rig.waitForStatus(rig.admin, ws, 'running');
    });
  });
}
