import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * Enqueues jobs for runners. Queues are cheap wrappers over the Redis connection, so one
 * is made per queue name and closed with the services that own it.
 */
export class JobProducer {
  private queues = new Map<string, Queue>();

  constructor(private readonly connection: () => Redis) {}

  async enqueue<T extends object>(
    queueName: string,
    jobName: string,
    data: T,
    options: { jobId?: string; attempts?: number } = {},
  ): Promise<string> {
    let queue = this.queues.get(queueName);
    if (!queue) {
      queue = new Queue(queueName, { connection: this.connection() });
      this.queues.set(queueName, queue);
    }
    const job = await queue.add(jobName, data, {
      ...(options.jobId ? { jobId: options.jobId } : {}),
      attempts: options.attempts ?? 3,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: { age: 24 * 3600 },
    });
    return job.id ?? '';
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
