/**
 * One WebAssembly.Memory for every buffer of the fast backend, and a size-class allocator inside it.
 *
 * The memory is created `shared: true` (a SharedArrayBuffer, so worker_threads can run kernels on
 * the same buffers) with a 4 GiB maximum; where shared memories are unavailable it falls back to an
 * ordinary growable one. Blocks are carved from a bump pointer and, once freed, kept on a free list
 * per size class (4 classes per octave, so at most 25 % waste); a training step that allocates the
 * same shapes every step therefore allocates nothing new after the first. Memory is never returned.
 *
 * A growth replaces `memory.buffer`: typed-array views must be taken after any allocation that may
 * grow (use {@link WasmHeap.f32} or {@link WasmHeap.view}, never a cached array).
 */

import type { MemoryImport } from './emitter.ts';

const pageBytes = 65536;
/** Every block starts on a 64-byte boundary (one cache line, and aligned for v128). */
const alignFloats = 16;
/** Bytes reserved at address 0, so no block has offset 0. */
const reservedBytes = 64;

/** A float buffer inside the heap: `offset` in bytes, `size` in floats, `capacity` its class. */
export class FloatBlock {
  /** @internal set by the heap when the block is freed. */
  freed = false;
  constructor(readonly offset: number, readonly size: number, readonly capacity: number) {}
  /** Index of the first float in a Float32Array over the whole memory. */
  get index(): number { return this.offset >>> 2; }
}

/** The capacity (floats) of the size class holding `size` floats: 4 classes per power of two. */
export const sizeClass = (size: number): number => {
  if (size <= alignFloats) return alignFloats;
  const step = 2 ** Math.max(0, Math.floor(Math.log2(size - 1)) - 2);
  const cap = Math.ceil(size / step) * step;
  return Math.ceil(cap / alignFloats) * alignFloats;
};

export interface HeapOptions {
  /** Initial size in bytes (rounded up to pages). Default 16 MiB. */
  readonly initialBytes?: number;
  /** Maximum size in bytes (rounded down to pages). Default 4 GiB, the wasm32 limit. */
  readonly maximumBytes?: number;
  /** Ask for a shared memory (falls back to unshared if the engine refuses). Default true. */
  readonly shared?: boolean;
}

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  readonly maximumPages: number;
  private floats: Float32Array;
  private top = reservedBytes;
  private readonly freeLists = new Map<number, number[]>();
  private live = 0;
  private liveFloats = 0;

  constructor(opts: HeapOptions = {}) {
    const initial = Math.max(1, Math.ceil((opts.initialBytes ?? 16 << 20) / pageBytes));
    this.maximumPages = Math.min(65536, Math.floor((opts.maximumBytes ?? 2 ** 32) / pageBytes));
    if (initial > this.maximumPages) throw new RangeError('WasmHeap: initialBytes above maximumBytes');
    let memory: WebAssembly.Memory | null = null;
    if (opts.shared ?? true) {
      try {
        memory = new WebAssembly.Memory({ initial, maximum: this.maximumPages, shared: true });
      } catch {
        memory = null;
      }
    }
    this.shared = memory !== null;
    this.memory = memory ?? new WebAssembly.Memory({ initial, maximum: this.maximumPages });
    this.floats = new Float32Array(this.memory.buffer);
  }

  /** A Float32Array over the whole memory, current after the latest growth. */
  get f32(): Float32Array {
    if (this.floats.buffer.byteLength !== this.memory.buffer.byteLength) {
      this.floats = new Float32Array(this.memory.buffer);
    }
    return this.floats;
  }

  /** The block's `size` floats as a view (valid until the next growth). */
  view(b: FloatBlock): Float32Array {
    return this.f32.subarray(b.index, b.index + b.size);
  }

  /** Number of blocks allocated and not freed. */
  get liveBlocks(): number { return this.live; }
  /** Floats requested by live blocks (not counting class rounding). */
  get liveSize(): number { return this.liveFloats; }
  /** Bytes ever carved from the memory (live, free-listed, or reserved). */
  get usedBytes(): number { return this.top; }

  alloc(size: number): FloatBlock {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`WasmHeap: bad size ${size}`);
    const capacity = sizeClass(size);
    const offset = this.freeLists.get(capacity)?.pop() ?? this.carve(capacity * 4);
    this.live++;
    this.liveFloats += size;
    return new FloatBlock(offset, size, capacity);
  }

  free(b: FloatBlock): void {
    if (b.freed) throw new Error('WasmHeap: block freed twice');
    b.freed = true;
    this.live--;
    this.liveFloats -= b.size;
    let list = this.freeLists.get(b.capacity);
    if (!list) this.freeLists.set(b.capacity, (list = []));
    list.push(b.offset);
  }

  private carve(bytes: number): number {
    const offset = this.top;
    const end = offset + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const needed = Math.ceil((end - have) / pageBytes);
      const current = have / pageBytes;
      // Grow by at least a quarter of the current size, so growth happens O(log) times.
      const pages = Math.min(this.maximumPages - current, Math.max(needed, Math.ceil(current / 4)));
      if (pages < needed) {
        throw new RangeError(`WasmHeap: out of memory (${end} bytes needed, maximum ${this.maximumPages * pageBytes})`);
      }
      this.memory.grow(pages);
    }
    this.top = end;
    return offset;
  }
}

/** The import descriptor a module needs to link against this heap's memory. */
export const heapImport = (heap: WasmHeap): MemoryImport => ({
  initialPages: 1,
  maximumPages: heap.maximumPages,
  shared: heap.shared,
});
