import assert from 'node:assert/strict';
import type { RunnerJob } from '@keel/contract/jobs';
import { bullPrefixOf } from '@keel/contract/keys';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { Queue } from 'bullmq';
import { connectRedis } from '../../edge/src/services/redis.ts';
import { waitFor } from '../harness/ports.ts';
import { type Rig, readSse } from '../harness/runner-rig.ts';

/** The longest a request may take while a store is away: it is refused, never held. */
export const OUTAGE_ANSWER_MS = 5_000;

export interface Answer {
  status: number;
  ms: number;
  body: unknown;
}

/** One request as a person's client makes it, timed; a hang is cut at 15 s and shows as status 0. */
export async function timedRequest(rig: Rig, method: string, path: string, body?: unknown): Promise<Answer> {
  const began = Date.now();
  try {
    const res = await rig.http(path, {
      method,
      headers: {
        authorization: `Bearer ${rig.admin.accessToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, ms: Date.now() - began, body: parsed };
  } catch (err) {
    return { status: 0, ms: Date.now() - began, body: String(err) };
  }
}

/** Sends `request` again and again until `over` settles; every answer, in order. */
export async function askThroughout(
  request: () => Promise<Answer>,
  over: Promise<unknown>,
): Promise<Answer[]> {
  let done = false;
  const ended = over.finally(() => {
    done = true;
  });
  const answers: Answer[] = [];
  while (!done) {
    answers.push(await request());
    await new Promise((r) => setTimeout(r, 150));
  }
  await ended;
  return answers;
}

/**
 * Served answers may take longer, up to this, when their request began as the store came back
 * (the edge waits for its first connection to the restarted server); never longer: no hang.
 */
export const SERVED_AFTER_MS = 3 * OUTAGE_ANSWER_MS;

/**
 * What a client must see while a store is away: each request either refused with 503 and the
 * error body within OUTAGE_ANSWER_MS, or served (within SERVED_AFTER_MS), and at least one refused.
 */
export function assertRefusedFast(answers: readonly Answer[], what: string): void {
  const shown = JSON.stringify(answers.map((a) => [a.status, a.ms]));
  for (const a of answers) {
    if (a.status === 200 || a.status === 201 || a.status === 202) {
      assert.ok(a.ms <= SERVED_AFTER_MS, `${what}: a served request took ${a.ms} ms: ${shown}`);
      continue;
    }
    assert.equal(a.status, 503, `${what}: ${JSON.stringify(a.body)}: ${shown}`);
    assert.ok(a.ms <= OUTAGE_ANSWER_MS, `${what}: a refusal took ${a.ms} ms: ${shown}`);
    const error = (a.body as { error?: Record<string, unknown> }).error;
    assert.equal(error?.code, 'store_unavailable', JSON.stringify(a.body));
    assert.equal(typeof error?.message, 'string');
    assert.equal(typeof error?.requestId, 'string');
  }
  assert.ok(
    answers.some((a) => a.status === 503),
    `${what}: no request was refused while it was away: ${shown}`,
  );
}

/** How many requests met the outage, how many were refused, and the slowest answer. */
export function outageSummary(answers: readonly Answer[]): string {
  const refused = answers.filter((a) => a.status === 503).length;
  return `${answers.length} requests, ${refused} refused, slowest ${Math.max(...answers.map((a) => a.ms))} ms`;
}

/**
 * After Redis came back (restarted, or another primary): the runner is heard again, the same
 * edge and runner serve, the job queued before runs, and the output written before reads whole.
 */
export async function assertRecoveredFromRedis(
  rig: Rig,
  o: { ws: string; tag: string; queued: string; before: string; beforeEvents: unknown },
): Promise<void> {
  await waitFor('the runner to be online again', async () => {
    const s = await timedRequest(rig, 'GET', `/api/workspaces/${o.ws}/status`);
    return (s.body as { status?: string }).status === 'running' ? true : undefined;
  });
  await assertServesAgain(rig, o.ws, o.tag);
  await waitFor(`the job queued before the ${o.tag} to run`, async () =>
    (await rig.driver.status(o.queued)) === 'running' ? true : undefined,
  );
  await rig.driver.remove(o.queued, { keepData: false });
  assert.deepEqual(
    await outputOf(rig, o.ws, o.before),
    o.beforeEvents,
    'the output written before reads whole',
  );
}

/** A new workspace of the admin's, running. */
export async function runningWorkspace(rig: Rig, name: string): Promise<string> {
  const ws = await rig.admin.request('POST', '/api/workspaces', { name }, { bearer: true });
  assert.equal(ws.status, 201, JSON.stringify(ws.body));
  await rig.waitForStatus(rig.admin, ws.body.id, 'running');
  return ws.body.id as string;
}

/** Runs `command` in the workspace; its execution's id once the edge took it. */
export async function execute(rig: Rig, ws: string, command: string): Promise<string> {
  const res = await rig.admin.request('POST', `/api/workspaces/${ws}/execute`, { command }, { bearer: true });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.executionId as string;
}

/** Every event of an execution's output, from its first, to its exit. */
export async function outputOf(rig: Rig, ws: string, executionId: string) {
  const res = await rig.http(`/api/workspaces/${ws}/executions/${executionId}/events`, {
    headers: { authorization: `Bearer ${rig.admin.accessToken}` },
    signal: AbortSignal.timeout(30_000),
  });
  assert.equal(res.status, 200);
  return readSse(res);
}

/**
 * The same edge and runner serve again: a command runs and prints, a file is written and read
 * back; retried while the edge's connections come back (each try bounded).
 */
export async function assertServesAgain(rig: Rig, ws: string, tag: string): Promise<void> {
  const path = `after-${tag}.txt`;
  const files = `/api/workspaces/${ws}/files?path=${encodeURIComponent(path)}`;
  const write = await timedRequest(rig, 'PUT', files, { content: `written after ${tag}\n` });
  assert.equal(write.status, 200, JSON.stringify(write.body));
  const read = await timedRequest(rig, 'GET', files);
  assert.equal(read.status, 200, JSON.stringify(read.body));
  assert.match(JSON.stringify(read.body), new RegExp(`written after ${tag}`));
  const id = await execute(rig, ws, `cat ${path}; echo ran after ${tag}`);
  const events = await outputOf(rig, ws, id);
  const out = events
    .filter((e) => e.event === 'stdout')
    .map((e) => e.data)
    .join('');
  assert.equal(out, `written after ${tag}\nran after ${tag}\n`);
  assert.equal(JSON.parse(events.at(-1)!.data).exitCode, 0, JSON.stringify(events.at(-1)));
}

/**
 * A workspace.create job put in the runner's queue now, due in `delayMs`: it waits in Redis
 * through what the test does meanwhile, and the runner takes it only after. The workspace's id.
 */
export async function queueDelayedCreate(rig: Rig, redisUrl: string, delayMs: number): Promise<string> {
  const workspaceId = `ws_queued_${Date.now().toString(36)}`;
  const connection = connectRedis(redisUrl);
  const queue = new Queue(rig.credential.queueName, {
    connection,
    prefix: bullPrefixOf(rig.app.services.config.redisPrefix),
  });
  try {
    const job: RunnerJob = {
      v: CONTRACT_VERSION,
      type: 'workspace.create',
      workspaceId,
      spec: { cpus: 1, memoryMb: 256, network: false },
      source: { type: 'empty' },
    };
    await queue.add(job.type, job, { delay: delayMs, attempts: 3 });
  } finally {
    await queue.close();
    // A connection given to BullMQ stays the giver's to close.
    connection.disconnect();
  }
  return workspaceId;
}
