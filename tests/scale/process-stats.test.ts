import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { pidListeningOn, watchProcesses } from '../../bench/scale/process-stats.ts';
import { freePort } from '../harness/ports.ts';

test('the scale test finds a server by its port and measures its CPU and memory from /proc', async () => {
  const port = await freePort();
  // A server that listens, then keeps one core busy in a child of its own (a "tree" to count).
  const server = spawn(
    process.execPath,
    [
      '-e',
      `require('node:net').createServer().listen(${port}, '127.0.0.1', () => console.log('up'));
       require('node:child_process').spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });`,
    ],
    // Its own process group, so that the busy child goes with it.
    { stdio: ['ignore', 'pipe', 'inherit'], detached: true },
  );
  try {
    await once(server.stdout!, 'data');
    assert.equal(pidListeningOn(port), server.pid);
    assert.equal(pidListeningOn(await freePort()), undefined, 'nothing listens there');
    const watch = watchProcesses([
      { role: 'alone', pid: server.pid!, tree: false },
      { role: 'with its child', pid: server.pid!, tree: true },
    ]);
    await new Promise((r) => setTimeout(r, 2_000));
    const [alone, tree] = watch.stop();
    assert.ok(alone!.maxRssMiB > 10, JSON.stringify(alone));
    assert.ok(tree!.maxRssMiB > alone!.maxRssMiB, JSON.stringify({ alone, tree }));
    // The busy child's core, less what a shared machine takes from it.
    assert.ok(tree!.cpuPercent > 20, JSON.stringify(tree));
    assert.ok(alone!.cpuPercent < tree!.cpuPercent, JSON.stringify({ alone, tree }));
  } finally {
    process.kill(-server.pid!, 'SIGKILL');
  }
});
