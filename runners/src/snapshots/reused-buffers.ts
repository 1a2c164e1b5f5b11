/**
 * Buffers of one size that go back into use once every holder let go of them: the restore's
 * tar writer holds a chunk while it cuts it, and each piece of it handed to the command's stdin
 * holds it until the driver's connection took the bytes (taken-input.ts). A piece whose driver
 * never says so keeps its buffer out of use for good: the memory is collected as any other, and
 * the next `take` makes a new buffer.
 *
 * Holders are counted per memory, in a WeakMap: nothing here keeps a buffer alive.
 */
import { whenTaken } from '../workloads/taken-input.ts';

export class ReusedBuffers {
  private readonly free: ArrayBufferLike[] = [];
  private readonly holders = new WeakMap<ArrayBufferLike, number>();
  private madeCount = 0;

  /** `shared`: SharedArrayBuffers, which the hashing thread reads in place (chunk-hasher.ts). */
  constructor(
    readonly size: number,
    private readonly shared = false,
  ) {}

  /** A buffer of `size` bytes with one holder: the caller. */
  take(): Buffer {
    let memory = this.free.pop();
    if (!memory) {
      memory = this.shared ? new SharedArrayBuffer(this.size) : Buffer.allocUnsafeSlow(this.size).buffer;
      this.madeCount++;
    }
    this.holders.set(memory, 1);
    return Buffer.from(memory, 0, this.size);
  }

  /** One holder of `view`'s buffer lets go; the last one puts it back. */
  release(view: Uint8Array): void {
    const n = this.holders.get(view.buffer);
    if (n === undefined) return;
    if (n > 1) {
      this.holders.set(view.buffer, n - 1);
      return;
    }
    this.holders.delete(view.buffer);
    this.free.push(view.buffer);
  }

  /**
   * `view`, about to be written to a command's stdin, holds its buffer until the driver's
   * connection took it. `transfer`: the caller's own hold goes with it instead of a new one.
   */
  lend(view: Uint8Array, transfer = false): void {
    const n = this.holders.get(view.buffer);
    if (n === undefined) return;
    if (!transfer) this.holders.set(view.buffer, n + 1);
    whenTaken(view, () => this.release(view));
  }

  /** Buffers made so far: with reuse, as many as were ever held at once. */
  get made(): number {
    return this.madeCount;
  }
}
