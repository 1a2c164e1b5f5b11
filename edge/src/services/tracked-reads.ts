import type { Redis } from 'ioredis';
import { setBounded } from './bounded-map.ts';
import { closeRedis, connectRedis } from './redis.ts';
import type { RequestRedis } from './request-redis.ts';

/**
 * Reads of small keys that nearly every request makes (a session's entry, a cached list's
 * version, the runners' live statuses), kept in this process's memory for as long as Redis
 * says they stand: Redis's own client-side caching (CLIENT TRACKING, redirect mode). The keys
 * are read on a connection of their own that has tracking on; Redis remembers which keys it
 * read and, the moment any client writes one (or it expires or is evicted), publishes its name
 * on `__redis__:invalidate` to a second connection, which drops it here. A revoked session
 * thus acts on every edge as soon as that notice arrives (before the writer's answer has made
 * its way back to a person and their next request), with no read per request. A writer in this
 * process also forgets what it wrote (`forget`), since its own answer can beat the notice.
 *
 * What may not be kept:
 *  - a value whose key changed while it was being read (the invalidation can arrive before the
 *    read's answer, on the other socket): such an answer is used once and not kept;
 *  - anything, while either connection is down or being set up again (a new listener has a
 *    new id to redirect to; a new reader has tracking off): memory is emptied on every drop
 *    and values are kept again only from reads sent after tracking is back on.
 *
 * Per process (Node). In workerd, where services last one request, `passThrough` reads Redis
 * every time.
 */
export interface KeyReads {
  /** The values of `keys`, as MGET answers them. */
  mget(keys: readonly string[]): Promise<Array<string | null>>;
  /** What `mget` would answer from memory, without waiting: undefined unless every key is kept. */
  peek(keys: readonly string[]): Array<string | null> | undefined;
  /**
   * For a writer in this process, once Redis has answered its write of `keys`: Redis's notice
   * of the change comes on another socket and may be read after the writer's answer, so the
   * next request in this process could otherwise still find the old value.
   */
  forget(keys: readonly string[]): void;
  close(): Promise<void>;
}

/** Keys kept at most; past this the one kept longest ago is dropped first (Redis keeps tracking it). */
const MAX_KEPT = 50_000;
const INVALIDATE_CHANNEL = '__redis__:invalidate';

export class TrackedReads implements KeyReads {
  private readonly kept = new Map<string, string | null>();
  /** Reads in flight per key, and the keys invalidated while one was. */
  private readonly inFlight = new Map<string, number>();
  private readonly changedInFlight = new Set<string>();
  /** Bumped on every drop of memory: an answer to a read sent before it is not kept. */
  private epoch = 0;
  /** Bumped on every connection lost. */
  private lost = 0;
  /** True once tracking is on for the reader, redirected to the listener as it is now. */
  private tracking = false;
  private reader: Redis | undefined;
  private listener: Redis | undefined;
  private closed = false;

  /** `name` names both connections in Redis's CLIENT LIST. */
  constructor(
    private readonly url: string,
    private readonly name = 'keel-edge-reads',
  ) {}

  async mget(keys: readonly string[]): Promise<Array<string | null>> {
    const kept = this.peek(keys);
    if (kept) return kept;
    this.fromRedis++;
    return this.read(keys);
  }

  peek(keys: readonly string[]): Array<string | null> | undefined {
    if (!this.tracking) return undefined;
    const out: Array<string | null> = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const v = this.kept.get(keys[i]!);
      if (v === undefined) return undefined;
      out[i] = v;
    }
    this.fromMemory++;
    return out;
  }

  /** Reads answered from memory, and reads sent to Redis. */
  fromMemory = 0;
  fromRedis = 0;

  /** How many keys are kept now. */
  get size(): number {
    return this.kept.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.drop();
    await Promise.all([this.reader && closeRedis(this.reader), this.listener && closeRedis(this.listener)]);
  }

  private async read(keys: readonly string[]): Promise<Array<string | null>> {
    const reader = this.connect();
    const keepable = this.tracking;
    const epoch = this.epoch;
    for (const k of keys) this.inFlight.set(k, (this.inFlight.get(k) ?? 0) + 1);
    try {
      const values = await reader.mget(...keys);
      if (keepable && epoch === this.epoch) {
        keys.forEach((k, i) => {
          if (!this.changedInFlight.has(k)) setBounded(this.kept, k, values[i] ?? null, MAX_KEPT);
        });
      }
      return values;
    } finally {
      for (const k of keys) {
        const n = (this.inFlight.get(k) ?? 1) - 1;
        if (n > 0) this.inFlight.set(k, n);
        else {
          this.inFlight.delete(k);
          this.changedInFlight.delete(k);
        }
      }
    }
  }

  /** Opens both connections on first use; each (re)connection sets tracking up again. */
  private connect(): Redis {
    if (this.reader) return this.reader;
    // The listener's subscription is made by hand after each connect, once its id is known:
    // ioredis's own resubscribe would leave no moment to ask for the new id.
    const listener = connectRedis(this.url, { autoResubscribe: false, connectionName: this.name });
    const reader = connectRedis(this.url, { connectionName: this.name });
    this.listener = listener;
    this.reader = reader;
    listener.on('messageBuffer', (channel: Buffer, message: unknown) => {
      if (channel.toString() !== INVALIDATE_CHANNEL) return;
      // A list of key names; nil when Redis dropped every key at once (FLUSHALL, FLUSHDB).
      if (!Array.isArray(message)) this.forgetAll();
      else for (const k of message) this.forgetKey(String(k));
    });
    for (const connection of [listener, reader]) {
      connection.on('close', () => this.drop());
      connection.on('ready', () => this.setUp());
    }
    return reader;
  }

  private settingUp = false;
  private setUpAgain = false;

  /** Sets tracking up once both connections are ready; one set-up at a time, again if asked meanwhile. */
  private setUp(): void {
    if (this.settingUp) {
      this.setUpAgain = true;
      return;
    }
    this.settingUp = true;
    void (async () => {
      do {
        this.setUpAgain = false;
        await this.setUpOnce();
      } while (this.setUpAgain && !this.closed);
      this.settingUp = false;
    })();
  }

  /** Tracking on for the reader, redirected to the listener's current id. */
  private async setUpOnce(): Promise<void> {
    const { listener, reader } = this;
    if (!listener || !reader || listener.status !== 'ready' || reader.status !== 'ready') return;
    this.drop();
    const lost = this.lost;
    try {
      if (listener.mode !== 'subscriber') {
        this.redirectTo = (await listener.client('ID')) as number;
        await listener.subscribe(INVALIDATE_CHANNEL);
      }
      await reader.client('TRACKING', 'OFF');
      await reader.client('TRACKING', 'ON', 'REDIRECT', String(this.redirectTo));
      // No connection lost meanwhile: reads sent from now on are tracked.
      if (lost === this.lost && !this.closed) this.tracking = true;
    } catch (err) {
      console.error(
        JSON.stringify({ level: 'warn', msg: 'redis read tracking not set up', error: String(err) }),
      );
    }
  }

  private redirectTo = 0;

  forget(keys: readonly string[]): void {
    for (const k of keys) this.forgetKey(k);
  }

  private forgetKey(key: string): void {
    this.kept.delete(key);
    if (this.inFlight.has(key)) this.changedInFlight.add(key);
  }

  /** A connection is lost (or being set up again): nothing is kept until tracking is back. */
  private drop(): void {
    this.tracking = false;
    this.lost++;
    this.forgetAll();
  }

  private forgetAll(): void {
    this.epoch++;
    this.kept.clear();
    for (const k of this.inFlight.keys()) this.changedInFlight.add(k);
  }
}

/** Every read goes to Redis: for services that last one request (workerd). */
export class UntrackedReads implements KeyReads {
  constructor(private readonly redis: RequestRedis) {}
  async mget(keys: readonly string[]): Promise<Array<string | null>> {
    return keys.length === 0 ? [] : this.redis.send(['MGET', ...keys]);
  }
  /** Nothing is kept: every read goes to Redis. */
  peek(): undefined {
    return undefined;
  }
  forget(): void {}
  async close(): Promise<void> {}
}
