import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { EchoTerminal, MARKER } from '../../bench/scale/echo-terminal.ts';
import { createPeople } from '../../bench/scale/people.ts';
import { rampTable } from '../../bench/scale/report.ts';
import { runRamp, SCALE_WORKSPACE } from '../../bench/scale/scaletest.ts';
import { type OwnSystem, startOwnSystem } from '../../bench/scale/system.ts';
import { deleteWorkspaces, startWorkspaces } from '../../bench/scale/workspaces.ts';
import { testInfra } from '../harness/infra.ts';

/**
 * The scale test, small: 4 people, 4 workspaces, 4 terminals at 40 KB/s each and 4 IDE clients
 * for 20 s against the Node edge and a process-driver runner. Every byte must come back in order
 * and no terminal may drop; the latency limits are the full ramp's business (bench/run scale).
 */
describe('scale test, small (process driver, real Redis and PostgreSQL)', () => {
  let sys: OwnSystem;

  before(async () => {
    const infra = await testInfra();
    sys = await startOwnSystem('process', {
      redisUrl: infra.redisUrl,
      databaseUrl: await infra.createPostgresDatabase(),
    });
  });
  after(async () => {
    await sys?.stop();
  });

  test('4 terminals echo every byte in order, without a disconnect, while IDE clients work', async () => {
    const ramp = await runRamp(sys.target, [4], {
      concurrency: 4,
      seconds: 20,
      rate: 40 * 1024,
      ideIntervalMs: 500,
    });
    const step = ramp.steps[0];
    assert.ok(step, `the step ran: ${JSON.stringify(ramp.brokeAt)}`);
    const t = step.terminals;
    assert.equal(t.opened, 4, JSON.stringify(t.errors));
    assert.equal(t.lost, 0, 'no byte lost');
    assert.equal(t.outOfOrder, 0, 'no byte out of order');
    assert.equal(t.disconnects, 0, JSON.stringify(t.errors));
    assert.equal(t.echoed, t.sent);
    // 20 s at 4 × 40 KB/s, less the ticks a loaded machine skips.
    assert.ok(t.sent > 4 * 40 * 1024 * 15, `sent ${t.sent}`);
    assert.equal(step.ide.errorCount, 0, JSON.stringify(step.ide.errors));
    for (const op of ['list', 'write', 'read', 'run'] as const) assert.ok(step.ide.ms[op].n > 0, op);
    assert.equal(step.workspaceStartMs.n, 4);
    const roles = new Map(step.processes.map((p) => [p.role, p]));
    for (const role of ['edge', 'runner', 'redis', 'postgres']) {
      assert.ok((roles.get(role)?.maxRssMiB ?? 0) > 0, `${role} measured: ${JSON.stringify(step.processes)}`);
    }
    assert.ok(roles.get('edge')!.cpuPercent > 0);
    assert.match(rampTable(ramp), /\| 4 \| .* \| 0 \/ 0 \| 0 \/ 0 \|/);
  });

  test('a terminal whose socket drops reconnects to its session and gets what it missed, once', async () => {
    const [person] = await createPeople(sys.target.admin, 1);
    const [ws] = await startWorkspaces([person!], 1, SCALE_WORKSPACE);
    const url = new URL(`/api/workspaces/${ws!.id}/terminal`, sys.target.base.replace(/^http/, 'ws'));
    const term = new EchoTerminal(url.toString(), person!.api.token);
    await term.open();
    term.drive(40 * 1024);
    await new Promise((r) => setTimeout(r, 2_000));
    term.dropSocket();
    await new Promise((r) => setTimeout(r, 3_000));
    const f = await term.stop();
    await deleteWorkspaces([ws!]);
    assert.equal(f.disconnects, 1, JSON.stringify(f.errors));
    assert.equal(f.reconnects, 1, JSON.stringify(f.errors));
    assert.equal(f.lost, 0);
    assert.equal(f.outOfOrder, 0, 'nothing replayed twice, nothing skipped');
    assert.equal(f.echoed, f.sent);
  });
});

/**
 * A stand-in for the terminal endpoint that speaks its protocol and echoes input back, spoiled on
 * purpose: the checker must see two frames swapped and a frame dropped.
 */
describe('the echo check catches what a broken terminal does (a stand-in terminal endpoint)', () => {
  let server: WebSocketServer;
  let url: string;
  let fault: 'swap' | 'drop' = 'swap';

  before(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    server.on('connection', (ws) => {
      let seq = 0;
      let inputs = 0;
      let held = '';
      const out = (data: string) =>
        ws.send(JSON.stringify({ type: 'output', data, seq: `${Date.now()}-${seq++}` }));
      ws.send(JSON.stringify({ type: 'ready', session: `trm_${'a'.repeat(20)}` }));
      ws.on('message', (raw) => {
        const frame = JSON.parse(String(raw)) as { type: string; data: string };
        if (inputs++ === 0) return out(`$ ${frame.data}\r\n${MARKER}`);
        if (inputs === 4 && fault === 'drop') return;
        if (inputs === 4 && fault === 'swap') {
          held = frame.data;
          return;
        }
        out(frame.data);
        if (inputs === 5 && fault === 'swap') out(held);
      });
    });
  });
  after(() => server.close());

  const drive = async () => {
    const term = new EchoTerminal(url, 'token');
    await term.open(5_000);
    term.drive(10_000);
    await new Promise((r) => setTimeout(r, 800));
    return term.stop(1_000);
  };

  test('two frames swapped are out of order, and nothing is lost', async () => {
    fault = 'swap';
    const f = await drive();
    assert.ok(f.outOfOrder > 0, JSON.stringify(f));
    assert.equal(f.lost, 0);
    assert.equal(f.echoed + f.outOfOrder, f.sent);
  });

  test('a frame never echoed is lost (and what follows it is out of place)', async () => {
    fault = 'drop';
    const f = await drive();
    assert.ok(f.outOfOrder > 0, JSON.stringify(f));
    assert.ok(f.lost > 0, JSON.stringify(f));
  });
});
