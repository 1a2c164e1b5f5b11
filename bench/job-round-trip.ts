import { CONTRACT_VERSION } from '@keel/contract/version';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startRig } from '../tests/harness/runner-rig.ts';
import type { Figure } from './figure.ts';
import { round, summarize, timeEach } from './stats.ts';

const N = 1000;

/** A no-op job through edge → runner → edge, against bare BullMQ add → completed on the same Redis. */
export async function benchJobRoundTrip(redisUrl: string): Promise<Figure[]> {
  const conn = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('bench-bare', { connection: conn });
  // BullMQ leaves connections it is given open: each is closed here (a left one retries, and
  // logs, once the benches' Redis has stopped).
  const eventsConn = conn.duplicate();
  const workerConn = conn.duplicate();
  const events = new QueueEvents('bench-bare', { connection: eventsConn });
  const worker = new Worker('bench-bare', async () => ({}), {
    connection: workerConn,
    concurrency: 32,
  });
  await Promise.all([events.waitUntilReady(), worker.waitUntilReady()]);
  const bare = summarize(
    await timeEach(N, async () => {
      const job = await queue.add('noop', {}, { removeOnComplete: { age: 60, count: 1000 } });
      await job.waitUntilFinished(events, 10_000);
    }),
  );
  await worker.close();
  await events.close();
  await queue.close();
  for (const c of [conn, eventsConn, workerConn]) c.disconnect();

  const rig = await startRig('process');
  try {
    const q = rig.credential.queueName;
    const keel = summarize(
      await timeEach(N, async () => {
        const outcome = await rig.app.services.queue.call(q, { v: CONTRACT_VERSION, type: 'noop' }, 10_000);
        if (!outcome.ok) throw new Error('noop failed');
      }),
    );
    const ratio = keel.p50 / bare.p50;
    return [
      {
        name: `no-op job round trip, p50 (n=${N})`,
        keel: `${round(keel.p50)} ms (p99 ${round(keel.p99)})`,
        baseline: `${round(bare.p50)} ms (p99 ${round(bare.p99)})`,
        ratio: `${round(ratio)}×`,
        target: '≤ 2 ms and ≤ 1.3×',
        pass: keel.p50 <= 2 && ratio <= 1.3,
      },
    ];
  } finally {
    await rig.close();
  }
}
