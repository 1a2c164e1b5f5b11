import { type CallReply, CallRequest, callerOf, UNHEARD_REPLY_TTL_MS } from '@keel/contract/calls';
import type { JobOutcome } from '@keel/contract/jobs';
import { callListKey, callReplyChannel, callReplyKey } from '@keel/contract/keys';
import type { Redis } from 'ioredis';

/** How long one pop blocks; bounds how long `stop` waits for the loop to notice. */
const POP_BLOCK_SECONDS = 2;

/** Runs a call's job; `trace` is the request it serves (contract/trace), when it says. */
export type CallHandler = (job: unknown, trace?: unknown) => Promise<JobOutcome>;
/** A one-way call taken after its deadline: the work never starts, and this says so. */
export type ExpiredHandler = (job: unknown) => Promise<void>;

/**
 * Takes request/response calls from this runner's list (see contract/calls), runs up to
 * `concurrency` at once, and publishes each answer to the edge instance that waits.
 * `blocking` is a connection of its own (BLPOP holds it), closed by `stop`.
 */
export class CallConsumer {
  private running = new Set<Promise<void>>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly list: string;

  constructor(
    private readonly redis: Redis,
    private readonly blocking: Redis,
    private readonly runnerBase: string,
    private readonly concurrency: number,
    private readonly handle: CallHandler,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly onExpired: ExpiredHandler = async () => {},
  ) {
    this.list = callListKey(runnerBase);
  }

  start(): void {
    this.loop ??= this.pump();
  }

  /**
   * Stops taking calls and waits (at most `waitMs`) for the ones in progress. The blocking
   * connection is closed at once: a pop still waiting must not take a call after this.
   */
  async stop(waitMs: number): Promise<void> {
    this.stopped = true;
    this.blocking.disconnect();
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((r) => {
      timer = setTimeout(r, waitMs);
    });
    await Promise.race([this.loop, limit]);
    await Promise.race([Promise.allSettled([...this.running]), limit]);
    clearTimeout(timer);
  }

  private async pump(): Promise<void> {
    while (!this.stopped) {
      if (this.running.size >= this.concurrency) {
        await Promise.race(this.running);
        continue;
      }
      let popped: [string, string] | null;
      try {
        popped = await this.blocking.blpop(this.list, POP_BLOCK_SECONDS);
      } catch (err) {
        if (this.stopped) return;
        this.onError(err);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (!popped) continue;
      const task = this.run(popped[1]).catch(this.onError);
      this.running.add(task);
      void task.finally(() => this.running.delete(task));
      // The call's first steps (an AI call reads its files and sends the prompt) go before the
      // next pop's write: on a busy host, waking Redis can cost this process its CPU.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private async run(raw: string): Promise<void> {
    let request: CallRequest;
    try {
      const parsed = CallRequest.safeParse(JSON.parse(raw));
      if (!parsed.success) return;
      request = parsed.data;
    } catch {
      return;
    }
    // The caller gave up: doing the work now (a write, say) would surprise the person.
    if (Date.now() > request.deadline) {
      if (request.reply === false) await this.onExpired(request.job);
      return;
    }
    if (request.reply === false) {
      // Its outcome goes nowhere; a failure to start is the handler's to make visible.
      await this.handle(request.job, request.trace);
      return;
    }
    let reply: CallReply;
    try {
      reply = { id: request.id, outcome: await this.handle(request.job, request.trace) };
    } catch (err) {
      reply = { id: request.id, failed: err instanceof Error ? err.message : String(err) };
    }
    await this.answer(reply);
  }

  private async answer(reply: CallReply): Promise<void> {
    const caller = callerOf(reply.id);
    if (!caller) return;
    const message = JSON.stringify(reply);
    const heard = await this.redis.publish(callReplyChannel(this.runnerBase, caller), message);
    if (heard === 0) {
      await this.redis.set(callReplyKey(this.runnerBase, reply.id), message, 'PX', UNHEARD_REPLY_TTL_MS);
    }
  }
}
