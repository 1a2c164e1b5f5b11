import { type JobOutcome, JobOutcome as JobOutcomeSchema, type RunnerJob } from '@keel/contract/jobs';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';

export interface EnqueueOptions {
  jobId?: string;
  attempts?: number;
  /** Drop the job from Redis as soon as it ends: its payload holds what must not linger (prompts). */
  removeWhenDone?: boolean;
}

/**
 * Enqueues jobs for runners and, for request/response jobs, waits for their outcome.
 * Queue and QueueEvents objects are made per queue name and closed with the services
 * that own them (per process on Node, per request in workerd).
 */
export class JobProducer {
  private queues = new Map<string, Queue>();
  private events = new Map<string, Promise<QueueEvents>>();
  private blockingConnections: Redis[] = [];

  constructor(
    private readonly connection: () => Redis,
    private readonly bullPrefix: string,
  ) {}

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection(), prefix: this.bullPrefix });
      this.queues.set(name, queue);
    }
    return queue;
  }

  async enqueue(queueName: string, job: RunnerJob, options: EnqueueOptions = {}): Promise<string> {
    const added = await this.queue(queueName).add(job.type, job, {
      ...(options.jobId ? { jobId: options.jobId } : {}),
      attempts: options.attempts ?? 3,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: options.removeWhenDone ? true : { age: 600, count: 1000 },
      removeOnFail: options.removeWhenDone ? true : { age: 24 * 3600 },
    });
    return added.id ?? '';
  }

  /** Enqueues and waits for the runner's answer; a runner that does not answer in time is an error. */
  async call(queueName: string, job: RunnerJob, timeoutMs: number): Promise<JobOutcome> {
    const events = await this.queueEvents(queueName);
    const added = await this.queue(queueName).add(job.type, job, {
      // Request/response jobs are not retried: the caller is waiting and will retry itself.
      attempts: 1,
      removeOnComplete: { age: 60, count: 1000 },
      removeOnFail: { age: 3600 },
    });
    const value = await added.waitUntilFinished(events, timeoutMs);
    return JobOutcomeSchema.parse(value);
  }

  private queueEvents(name: string): Promise<QueueEvents> {
    let pending = this.events.get(name);
    if (!pending) {
      // QueueEvents blocks on its own connection; it must not share the command connection.
      const blocking = this.connection().duplicate();
      this.blockingConnections.push(blocking);
      const events = new QueueEvents(name, { connection: blocking, prefix: this.bullPrefix });
      pending = events.waitUntilReady().then(() => events);
      this.events.set(name, pending);
    }
    return pending;
  }

  async close(): Promise<void> {
    const events = await Promise.allSettled([...this.events.values()]);
    await Promise.allSettled([
      ...[...this.queues.values()].map((q) => q.close()),
      ...events.flatMap((e) => (e.status === 'fulfilled' ? [e.value.close()] : [])),
    ]);
    for (const c of this.blockingConnections) c.disconnect();
    this.blockingConnections = [];
    this.queues.clear();
    this.events.clear();
  }
}
