import { CallReply } from '@keel/contract/calls';
import type { JobOutcome } from '@keel/contract/jobs';
import { callReplyPattern } from '@keel/contract/keys';
import type { Redis } from 'ioredis';

/** How long a call waits for its message before it also looks for an answer left in a key. */
const FIRST_CHECK_MS = 1_000;
const CHECK_EVERY_MS = 1_000;

export type ReplyValue = { outcome: JobOutcome } | { failed: string } | { runnerGone: true };

/** What a lookup finds when the call's runner is offline and the call was taken back unrun. */
export const RUNNER_GONE = { runnerGone: true } as const;

/**
 * Reads an answer the runner left because nobody heard it (see contract/calls), or finds
 * that the runner is gone (RUNNER_GONE): then the call ends at once instead of at its deadline.
 */
export type UnheardLookup = () => Promise<string | typeof RUNNER_GONE | null>;

interface Waiter {
  resolve(v: ReplyValue): void;
  lookup: UnheardLookup;
}

/**
 * One subscriber connection per edge instance for the answers to every call it makes
 * (one pattern, all runners). A message published while the connection was down is
 * gone; the runner then keeps the answer in a key, which a call that has waited a while,
 * and every call after a reconnect, reads.
 */
export class CallReplies {
  private waiters = new Map<string, Waiter>();
  private readonly ready: Promise<void>;

  constructor(
    subscriber: Redis,
    keyPrefix: string,
    readonly instance: string,
  ) {
    subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => this.deliver(message));
    let first = true;
    subscriber.on('ready', () => {
      // ioredis subscribes again by itself after a reconnect; answers published meanwhile
      // went to keys.
      if (!first) for (const id of this.waiters.keys()) void this.check(id);
      first = false;
    });
    this.ready = subscriber.psubscribe(callReplyPattern(keyPrefix, instance)).then(() => {});
  }

  /** Resolves once the subscription is in place; calls must not be sent before. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Registers a call before it is sent, so no answer can arrive unheard. */
  wait(id: string, timeoutMs: number, lookup: UnheardLookup): Promise<ReplyValue> {
    return new Promise<ReplyValue>((resolve, reject) => {
      let poll: NodeJS.Timeout | undefined;
      const timeout = setTimeout(() => {
        finish();
        reject(new Error(`call ${id} had no answer after ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timeout);
        clearTimeout(poll);
        this.waiters.delete(id);
      };
      this.waiters.set(id, {
        lookup,
        resolve: (v) => {
          finish();
          resolve(v);
        },
      });
      const schedule = (ms: number) => {
        poll = setTimeout(() => {
          void this.check(id).then(() => {
            if (this.waiters.has(id)) schedule(CHECK_EVERY_MS);
          });
        }, ms);
      };
      schedule(FIRST_CHECK_MS);
    });
  }

  /** Calls still waiting. */
  get pending(): number {
    return this.waiters.size;
  }

  private deliver(message: string): void {
    const reply = parseReply(message);
    if (reply) this.waiters.get(reply.id)?.resolve(replyValue(reply));
  }

  private async check(id: string): Promise<void> {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    const raw = await waiter.lookup().catch(() => null);
    if (raw !== null && typeof raw !== 'string') {
      this.waiters.get(id)?.resolve(RUNNER_GONE);
      return;
    }
    const reply = raw ? parseReply(raw) : undefined;
    if (reply?.id === id) this.waiters.get(id)?.resolve(replyValue(reply));
  }
}

function parseReply(message: string): CallReply | undefined {
  try {
    const parsed = CallReply.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function replyValue(reply: CallReply): ReplyValue {
  return 'outcome' in reply ? { outcome: reply.outcome } : { failed: reply.failed };
}
