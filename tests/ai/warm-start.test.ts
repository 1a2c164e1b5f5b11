import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { callListKey, runnerKeys } from '@keel/contract/keys';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { Redis } from 'ioredis';
import {
  AI_META_ENTRY_ID,
  type AiStreamRecord,
  readStreamRecord,
  recordKey,
  streamKeyOf,
} from '../../edge/src/ai/stream-record.ts';
import { type Approval, warmStart } from '../../edge/src/ai/warm-start.ts';
import { newId } from '../../edge/src/ids.ts';
import { sessionCacheKey, workspaceRowKey } from '../../edge/src/redis-keys.ts';
import { CacheSeal } from '../../edge/src/services/cache-seal.ts';
import { JobProducer } from '../../edge/src/services/queue.ts';
import { rateWindowKey } from '../../edge/src/services/rate-limit.ts';
import type { Services } from '../../edge/src/services.ts';
import { type OutputReader, outputReader } from '../../edge/src/workspaces/output-reader.ts';
import { testInfra } from '../harness/infra.ts';

/**
 * The one-round-trip start of a repeat AI call (edge/src/ai/warm-start.ts), against real Redis:
 * it opens the stream and sends the call only while everything the full path approved still
 * reads the same, and otherwise writes nothing at all, so the full path decides.
 */
describe('AI warm start: one round trip, or nothing (real Redis)', () => {
  let redis: Redis;
  let services: Services;
  const prefix = `test:warm:${process.pid}:${Date.now()}:`;
  const runnerId = newId('runner');
  const workspaceId = newId('workspace');
  const keys = runnerKeys(prefix, runnerId);
  const userId = newId('user');
  const organizationId = newId('organization');
  const sessionId = newId('tokenFamily');
  const caller = { userId, organizationId, sessionId, via: 'bearer' as const };
  const sessionEntry = `${userId} ${organizationId} developer -`;
  const rowEntry = JSON.stringify({ id: workspaceId, organizationId, ownerId: userId, runnerId });
  const heartbeat = (ai: unknown, id = runnerId) =>
    JSON.stringify({ v: 1, runnerId: id, at: new Date().toISOString(), ai });
  const approval: Approval = {
    sessionEntry,
    rowEntry,
    userId,
    organizationId,
    role: 'developer',
    installAdmin: false,
    runnerId,
    model: 'm-1',
  };
  const rateKey = `${prefix}rl:ai:${userId}`;

  let scriptOnly = false;
  const readers: OutputReader[] = [];
  const start = (limit = 10, a: Approval = approval) => {
    const record: AiStreamRecord = {
      streamId: newId('aiStream'),
      kind: 'explain',
      runnerId,
      organizationId,
      userId,
      workspaceId,
      pathSha256: null,
      paths: 1,
      model: a.model,
    };
    const job = {
      v: CONTRACT_VERSION,
      type: 'ai.explain' as const,
      streamId: record.streamId,
      workspaceId,
      path: 'a.ts',
    };
    const reader = scriptOnly ? scriptOnlyReader() : outputReader(redis);
    readers.push(reader);
    return warmStart(
      services,
      { caller, approval: a, record, job, rate: { key: rateKey, limit, windowSeconds: 60 } },
      reader,
    ).then((started) => ({ started, record, reader }));
  };
  /** A reader that cannot pipeline (as ioredis's): the script then runs on the command connection. */
  const scriptOnlyReader = (): OutputReader => ({
    read: () => Promise.resolve(null),
    evalThenRead: () => undefined,
    discard: () => {},
    close: () => {},
    idle: true,
  });
  const nothingWritten = async (record: AiStreamRecord, rateBefore: string | null) => {
    assert.equal(await redis.exists(streamKeyOf(services, record)), 0, 'no stream');
    assert.equal(await redis.exists(recordKey(services, record.streamId)), 0, 'no record');
    assert.equal(await redis.llen(callListKey(keys.base)), 0, 'no call');
    assert.equal(await redis.get(rateWindowKey(rateKey, 60)), rateBefore, 'the rate untouched');
  };

  before(async () => {
    redis = new Redis((await testInfra()).redisUrl);
    services = {
      config: { redisPrefix: prefix },
      redis: () => redis,
      queue: new JobProducer(() => redis, prefix),
      cacheSeal: new CacheSeal(crypto.getRandomValues(new Uint8Array(32))),
    } as unknown as Services;
  });
  beforeEach(async () => {
    const old = await redis.keys(`${prefix}*`);
    if (old.length > 0) await redis.del(...old);
    await redis.set(sessionCacheKey(services, sessionId), sessionEntry);
    await redis.set(workspaceRowKey(services, workspaceId), rowEntry);
    await redis.set(keys.heartbeat, heartbeat({ configured: true, model: 'm-1' }));
    await redis.set(keys.workspaceStatus(workspaceId), JSON.stringify({ status: 'running' }));
  });
  afterEach(() => {
    for (const reader of readers.splice(0)) reader.close();
  });
  after(async () => {
    const old = await redis.keys(`${prefix}*`);
    if (old.length > 0) await redis.del(...old);
    redis.disconnect();
  });

  const opened = async (record: AiStreamRecord) => {
    const entries = (await redis.xrange(streamKeyOf(services, record), '-', '+')) as Array<
      [string, string[]]
    >;
    assert.equal(entries.length, 1);
    const [entryId, fields] = entries[0]!;
    assert.equal(entryId, AI_META_ENTRY_ID);
    assert.deepEqual(fields.slice(0, 2), ['t', 'meta']);
    assert.equal(JSON.parse(fields[3]!).model, 'm-1');
    assert.ok((await redis.ttl(streamKeyOf(services, record))) > 0, 'the stream expires');
    assert.deepEqual(await readStreamRecord(services, record.streamId), record, 'the record, sealed');
    const [call] = await redis.lrange(callListKey(keys.base), 0, -1);
    assert.equal(JSON.parse(call!).job.streamId, record.streamId);
    assert.equal(JSON.parse(call!).reply, false);
    assert.ok((await redis.pttl(callListKey(keys.base))) > 0, 'the call list expires');
    assert.equal(await redis.get(rateWindowKey(rateKey, 60)), '1');
    assert.ok((await redis.ttl(rateWindowKey(rateKey, 60))) > 0, 'the rate window expires');
  };

  test('with everything as approved it opens the stream, records it, sends the call and counts the rate', async () => {
    const { started, record } = await start();
    assert.ok(started);
    await opened(record);
  });

  test('the stream’s first read goes with the script: the first token after meta comes without another command', async () => {
    const { started, record, reader } = await start();
    assert.ok(started?.firstRead, 'a lean reader pipelines the read');
    const token = await redis.xadd(streamKeyOf(services, record), '*', 't', 'token', 'd', 'Adds');
    const entries = (await started.firstRead)!;
    assert.deepEqual(
      entries.map((e) => [e.id, e.t, Buffer.from(e.d!).toString()]),
      [[token, 'token', 'Adds']],
    );
    assert.equal(reader.idle, true, 'the reader serves the next read');
  });

  test('a reader that cannot pipeline: the script runs on its own, with the same writes', async () => {
    scriptOnly = true;
    try {
      const { started, record } = await start();
      assert.deepEqual(started, { firstRead: undefined });
      await opened(record);
      await redis.del(keys.heartbeat, callListKey(keys.base));
      const refused = await start();
      assert.equal(refused.started, null);
      await nothingWritten(refused.record, '1');
    } finally {
      scriptOnly = false;
    }
  });

  const refusals: Array<[string, () => Promise<unknown>]> = [
    ['a revoked session', () => redis.set(sessionCacheKey(services, sessionId), 'revoked')],
    ['a session no longer cached', () => redis.del(sessionCacheKey(services, sessionId))],
    [
      'a session whose role changed',
      () => redis.set(sessionCacheKey(services, sessionId), `${userId} ${organizationId} viewer`),
    ],
    ['a workspace row that changed', () => redis.set(workspaceRowKey(services, workspaceId), `${rowEntry} `)],
    [
      'a workspace row gone (deleted, or changed and forgotten)',
      () => redis.del(workspaceRowKey(services, workspaceId)),
    ],
    ['a runner with no heartbeat (offline)', () => redis.del(keys.heartbeat)],
    [
      'a runner without a model now',
      () => redis.set(keys.heartbeat, heartbeat({ configured: false, model: null })),
    ],
    [
      'a runner with another model',
      () => redis.set(keys.heartbeat, heartbeat({ configured: true, model: 'm-2' })),
    ],
    [
      'a heartbeat of another runner',
      () => redis.set(keys.heartbeat, heartbeat({ configured: true, model: 'm-1' }, newId('runner'))),
    ],
    ['a heartbeat that is not JSON', () => redis.set(keys.heartbeat, '{not json')],
    [
      'a stopped workspace',
      () => redis.set(keys.workspaceStatus(workspaceId), JSON.stringify({ status: 'stopped' })),
    ],
    ['no workspace status', () => redis.del(keys.workspaceStatus(workspaceId))],
  ];
  for (const [what, change] of refusals) {
    test(`${what}: nothing is written`, async () => {
      await change();
      const { started, record, reader } = await start();
      assert.equal(started, null);
      await nothingWritten(record, null);
      // Its read waits on a stream that never came: given back, the pool closes it.
      assert.equal(reader.idle, false);
    });
  }

  test('at the rate limit: nothing is written and the count stays', async () => {
    for (let i = 0; i < 3; i++) assert.notEqual((await start(3)).started, null);
    const { started, record } = await start(3);
    assert.equal(started, null);
    await redis.del(callListKey(keys.base));
    await nothingWritten(record, '3');
  });

  test('an approval that does not match what Redis holds (another session entry) writes nothing', async () => {
    const { started, record } = await start(10, {
      ...approval,
      sessionEntry: `${userId} ${organizationId} admin`,
    });
    assert.equal(started, null);
    await nothingWritten(record, null);
  });

  test('a stream that already exists is not written over: the script fails before any write', async () => {
    const { record } = await start();
    await redis.del(callListKey(keys.base), rateWindowKey(rateKey, 60), recordKey(services, record.streamId));
    const reader = outputReader(redis);
    readers.push(reader);
    await assert.rejects(
      warmStart(
        services,
        {
          caller,
          approval,
          record,
          job: {
            v: CONTRACT_VERSION,
            type: 'ai.explain',
            streamId: record.streamId,
            workspaceId,
            path: 'a.ts',
          },
          rate: { key: rateKey, limit: 10, windowSeconds: 60 },
        },
        reader,
      ),
    );
    assert.equal(await redis.exists(recordKey(services, record.streamId)), 0, 'no record');
    assert.equal(await redis.llen(callListKey(keys.base)), 0, 'no call');
    assert.equal(await redis.get(rateWindowKey(rateKey, 60)), null, 'the rate untouched');
  });
});
