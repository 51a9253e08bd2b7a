/**
 * Reuses the large buffers objects are built in. A fresh 15 MB buffer per object costs
 * more in page faults than building its rows (measured: ~4× the row-building time on
 * this VM), so buffers go back to the pool once an object is compressed.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  /** Only buffers made here come back: a view of Node's shared slab must never be reused. */
  private readonly owned = new WeakSet<ArrayBuffer>();

  constructor(private readonly maxPooled = 16) {}

  /** A buffer of at least `bytes`; its contents are garbage. */
  acquire(bytes: number): Buffer {
    const index = this.free.findIndex((b) => b.byteLength >= bytes);
    if (index >= 0) {
      const [found] = this.free.splice(index, 1);
      if (found) return Buffer.from(found);
    }
    const backing = new ArrayBuffer(bytes);
    this.owned.add(backing);
    return Buffer.from(backing);
  }

  /** Gives back a buffer (or any view of one) from acquire(); the caller must not use it again. Others are ignored. */
  release(view: Uint8Array): void {
    const backing = view.buffer;
    if (this.maxPooled === 0 || !(backing instanceof ArrayBuffer) || !this.owned.has(backing)) return;
    if (this.free.includes(backing)) return;
    if (this.free.length >= this.maxPooled) this.free.shift();
    this.free.push(backing);
  }
}
