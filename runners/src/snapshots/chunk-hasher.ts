/**
 * SHA-256 of snapshot chunks on a worker thread, so that the runner's main thread goes on
 * reading and cutting the tar stream while the last chunk is hashed (on a 2-core host the read
 * and the hash then overlap: about 0.1 s of a 200 MB snapshot's main thread). A chunk's memory
 * is handed over (transferred, not copied) and comes back with its hash.
 *
 * The worker's program is a string run with `eval`, so the runner's one bundled module carries
 * it (runners/bundle.mjs has no second entry point). Where no worker can run (it failed to
 * start or died), chunks are hashed on the calling thread: slower, never wrong.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

const WORKER_PROGRAM = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', (m) => {
  const hash = createHash('sha256').update(new Uint8Array(m.buf, 0, m.len)).digest('hex');
  if (m.shared) parentPort.postMessage({ id: m.id, hash });
  else parentPort.postMessage({ id: m.id, buf: m.buf, hash }, [m.buf]);
});
`;

interface Waiting {
  resolve(r: { hash: string; data: Buffer }): void;
  reject(err: unknown): void;
  len: number;
  /** The chunk itself when its memory is shared (it never left this thread). */
  shared?: Buffer;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** One worker for the whole runner, started on first use; it keeps no process alive when idle. */
class ChunkHasher {
  private worker: Worker | undefined;
  private broken = false;
  private next = 0;
  private readonly waiting = new Map<number, Waiting>();

  /**
   * The chunk's hash, and the chunk itself. With `ownsMemory` (its memory is its alone: never a
   * slice of Node's shared pool), it is hashed on the worker: a SharedArrayBuffer is read there
   * in place (the caller must not change it until this settles), an ArrayBuffer travels there
   * and back and only the returned buffer may be used afterwards; else it is hashed here.
   * Shared memory is what a ContentChunker hands out: a buffer moved back from the worker is
   * a new ArrayBuffer each time, and some 200 MB of those per snapshot kept the collector busy.
   */
  hash(data: Buffer, ownsMemory: boolean): Promise<{ hash: string; data: Buffer }> {
    const buf = data.buffer;
    const worker = !ownsMemory || this.broken ? undefined : this.start();
    const shared = buf instanceof SharedArrayBuffer;
    if (!worker || data.byteOffset !== 0 || !(shared || buf instanceof ArrayBuffer)) {
      return Promise.resolve({ hash: sha256Hex(data), data });
    }
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, len: data.byteLength, ...(shared ? { shared: data } : {}) });
      if (this.waiting.size === 1) worker.ref();
      if (shared) worker.postMessage({ id, buf, len: data.byteLength, shared: true });
      else worker.postMessage({ id, buf, len: data.byteLength }, [buf as ArrayBuffer]);
    });
  }

  private start(): Worker | undefined {
    if (this.worker) return this.worker;
    try {
      const w = new Worker(WORKER_PROGRAM, { eval: true });
      w.unref();
      w.on('message', (m: { id: number; buf?: ArrayBuffer; hash: string }) => {
        const wait = this.waiting.get(m.id);
        if (!wait) return;
        this.waiting.delete(m.id);
        if (this.waiting.size === 0) w.unref();
        wait.resolve({ hash: m.hash, data: wait.shared ?? Buffer.from(m.buf!, 0, wait.len) });
      });
      const fail = (err: unknown) => {
        this.broken = true;
        this.worker = undefined;
        const failed = [...this.waiting.values()];
        this.waiting.clear();
        // Shared chunks are hashed here; moved ones' memory went with the worker: their
        // snapshots fail, later ones hash here.
        for (const wait of failed) {
          if (wait.shared) wait.resolve({ hash: sha256Hex(wait.shared), data: wait.shared });
          else wait.reject(err);
        }
      };
      w.on('error', fail);
      w.on('exit', (code) => fail(new Error(`the chunk hashing thread ended (exit ${code})`)));
      this.worker = w;
      return w;
    } catch {
      this.broken = true;
      return undefined;
    }
  }
}

export const chunkHasher = new ChunkHasher();
