import { type CallRequest, callId, UNHEARD_REPLY_TTL_MS } from '@keel/contract/calls';
import type { JobOutcome, RunnerJob } from '@keel/contract/jobs';
import { bullPrefixOf, callListKey, callReplyKey, runnerKeyBase } from '@keel/contract/keys';
import type { JobTrace } from '@keel/contract/trace';
import { Queue } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import { CallReplies, RUNNER_GONE } from './call-replies.ts';

/** A call whose runner is offline (no heartbeat): it was taken back before it ran. */
export class RunnerGoneError extends Error {
  constructor() {
    super('its runner is offline');
  }
}

/** A call ready to be pushed: its runner's list, the call as stored, and the list's expiry. */
export interface OutgoingCall {
  list: string;
  payload: string;
  ttlMs: number;
}

export interface EnqueueOptions {
  jobId?: string;
  attempts?: number;
  /** Drop the job from Redis as soon as it ends: its payload holds what must not linger (prompts). */
  removeWhenDone?: boolean;
  /** The request the job serves: its id and span go with the job (contract/trace). */
  trace?: JobTrace;
}

/**
 * Enqueues jobs for runners and, for request/response jobs, waits for their outcome.
 * Queue objects are made per queue name and closed with the services that own them (per
 * process on Node, per request in workerd), like the one subscriber that hears answers.
 */
export class JobProducer {
  private queues = new Map<string, Queue>();
  private replies: CallReplies | undefined;
  private subscriber: Redis | undefined;
  private sequence = 0;
  private readonly bullPrefix: string;
  /** Names this edge instance in call ids, so answers come back to it. */
  private readonly instance = instanceId();

  constructor(
    private readonly connection: () => Redis,
    private readonly keyPrefix: string,
  ) {
    this.bullPrefix = bullPrefixOf(keyPrefix);
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection(), prefix: this.bullPrefix });
      this.queues.set(name, queue);
    }
    return queue;
  }

  async enqueue(queueName: string, job: RunnerJob, options: EnqueueOptions = {}): Promise<string> {
    // The trace rides beside the job's own fields: the runner reads it before it checks the job.
    const data = options.trace ? { ...job, trace: options.trace } : job;
    const added = await this.queue(queueName).add(job.type, data, {
      ...(options.jobId ? { jobId: options.jobId } : {}),
      attempts: options.attempts ?? 3,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: options.removeWhenDone ? true : { age: 600, count: 1000 },
      removeOnFail: options.removeWhenDone ? true : { age: 24 * 3600 },
    });
    return added.id ?? '';
  }

  /**
   * Sends a request/response call to the runner that consumes `queueName` and waits for
   * its answer; a runner that does not answer in time is an error. Calls skip BullMQ
   * (see contract/calls): one list push out, one published message back.
   */
  async call(queueName: string, job: RunnerJob, timeoutMs: number, trace?: JobTrace): Promise<JobOutcome> {
    const replies = this.callReplies();
    await replies.whenReady();
    const redis = this.connection();
    const id = callId(this.instance, ++this.sequence);
    const runnerBase = runnerKeyBase(this.keyPrefix, queueName);
    const replyKey = callReplyKey(runnerBase, id);
    const call = this.outgoing(
      queueName,
      { id, deadline: Date.now() + timeoutMs, job, ...(trace ? { trace } : {}) },
      timeoutMs,
    );
    // Only a call still waiting after a second looks (see CallReplies): the reply and the
    // runner's heartbeat in one read, so the answered calls cost nothing more.
    const lookup = async () => {
      const [reply, beat] = await redis.mget(replyKey, `${runnerBase}heartbeat`);
      if (reply || beat) return reply ?? null;
      // Taken back unrun, so it cannot run after its caller heard it failed; a call the
      // runner took already is answered as usual.
      return (await redis.lrem(call.list, 1, call.payload)) > 0 ? RUNNER_GONE : null;
    };
    const answer = replies.wait(id, timeoutMs, lookup);
    try {
      await this.push(redis.multi(), call).exec();
    } catch (err) {
      answer.catch(() => {});
      throw err;
    }
    const value = await answer.catch(async (err: unknown) => {
      // The caller hears "no answer" only once the call can no longer run: a timer may
      // fire a millisecond before the runner's clock passes the deadline, so the call is
      // taken back from the list first (a call the runner took already is past saving).
      await redis.lrem(call.list, 1, call.payload).catch(() => 0);
      throw err;
    });
    if ('runnerGone' in value) throw new RunnerGoneError();
    if ('failed' in value) throw new Error(value.failed);
    return value.outcome;
  }

  /**
   * A one-way call (see contract/calls) for the runner that consumes `queueName`, as the two
   * commands that send it, to add to a transaction of the caller's own: the call then leaves
   * in the same round trip as the caller's writes, and after them.
   */
  oneWay(
    multi: ChainableCommander,
    queueName: string,
    job: RunnerJob,
    waitMs: number,
    trace?: JobTrace,
  ): ChainableCommander {
    return this.push(multi, this.oneWayCall(queueName, job, waitMs, trace));
  }

  /**
   * A one-way call as what `oneWay` writes: the list, the call, and the list's expiry, for a
   * script that pushes it itself (`RPUSH`, then `PEXPIRE … NX` and `PEXPIRE … GT`).
   */
  oneWayCall(queueName: string, job: RunnerJob, waitMs: number, trace?: JobTrace): OutgoingCall {
    const id = callId(this.instance, ++this.sequence);
    return this.outgoing(
      queueName,
      { id, deadline: Date.now() + waitMs, job, reply: false, ...(trace ? { trace } : {}) },
      waitMs,
    );
  }

  private outgoing(queueName: string, request: CallRequest, waitMs: number): OutgoingCall {
    return {
      list: callListKey(runnerKeyBase(this.keyPrefix, queueName)),
      payload: JSON.stringify(request),
      ttlMs: waitMs + UNHEARD_REPLY_TTL_MS,
    };
  }

  /**
   * Appends a call to the runner's list. Calls nobody takes (a runner that is gone) vanish with
   * their list, but never before their own deadline: the list's expiry is only ever set on a
   * new list (NX) or moved later (GT), so a short call pushed after a long one cannot cut the
   * long one's wait short.
   */
  private push(multi: ChainableCommander, call: OutgoingCall) {
    const { list, payload, ttlMs } = call;
    return multi.rpush(list, payload).pexpire(list, ttlMs, 'NX').pexpire(list, ttlMs, 'GT');
  }

  private callReplies(): CallReplies {
    if (!this.replies) {
      // Subscribed connections take no other commands: this one is the listener's own.
      this.subscriber = this.connection().duplicate();
      this.replies = new CallReplies(this.subscriber, this.keyPrefix, this.instance);
    }
    return this.replies;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.subscriber?.disconnect();
    this.subscriber = undefined;
    this.replies = undefined;
    this.queues.clear();
  }
}

function instanceId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
}
