/**
 * One WebAssembly.Memory for every buffer of the fast backend, and the allocator inside it.
 *
 * The memory is created `shared: true` (a SharedArrayBuffer, so worker threads run kernels on the
 * same buffers) with a 4 GiB maximum, the wasm32 limit; where shared memories are unavailable it
 * falls back to an ordinary growable one.
 *
 * - Small blocks (< 256 KiB) come in size classes, 4 per octave (≤ 25 % waste), carved from 4 MiB
 *   slabs and kept on a free list per class once freed, so a training step that repeats its shapes
 *   allocates nothing new.
 * - Large blocks are extents: freed ones merge with free neighbours (and with the top), and a request
 *   takes the best-fitting free extent, split — so memory freed by one shape serves another.
 * - Spilling: a training step's autodiff tape can hold more than 4 GiB. When the memory is full,
 *   the least recently used large blocks that are not pinned are copied out to ordinary JS memory and
 *   their space reused; a spilled block is copied back (to a new offset) the next time a kernel pins
 *   it. A block's `offset` is therefore only stable while it is pinned.
 *
 * A growth or a spill replaces or reuses memory: typed-array views must be taken after the last
 * allocation a kernel makes (use {@link WasmHeap.f32} or {@link WasmHeap.view}, never a cached array).
 */
import type { MemoryImport } from './emitter.ts';

const pageBytes = 65536;
/** Every block starts on a 64-byte boundary (one cache line, and aligned for v128). */
const alignFloats = 16;
/** Bytes reserved at address 0, so no block has offset 0. */
const reservedBytes = 64;
/** From this capacity (floats) on, blocks are extents, and may be spilled. */
export const largeFloats = 1 << 16;
/** Large capacities are rounded to this many floats (16 KiB). */
const largeAlignFloats = 4096;
/**
 * Small blocks are carved from slabs (taken like a large block: 1/256 of the maximum, between
 * 256 KiB and 4 MiB), so thousands of small blocks never sprinkle the address space between large
 * extents and fragment it.
 */
const slabBytesFor = (maximumBytes: number): number =>
  Math.min(4 << 20, Math.max(4 * largeFloats, Math.floor(maximumBytes / 256 / pageBytes) * pageBytes));

/** A float buffer inside the heap: `offset` in bytes, `size` in floats, `capacity` its rounded size. */
export class FloatBlock {
  /** @internal set by the heap when the block is freed. */
  freed = false;
  /** @internal pin count: a pinned block stays resident at its offset. */
  pins = 0;
  /** @internal the heap clock at the last pin, for least-recently-used spilling. */
  lastUse = 0;
  /** @internal the contents while spilled out of the wasm memory (offset is then −1). */
  spilled: Float32Array | null = null;
  constructor(public offset: number, readonly size: number, readonly capacity: number,
    readonly spillable: boolean) {}
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

/** The capacity a request of `size` floats gets. */
export const capacityFor = (size: number): number => {
  const small = sizeClass(size);
  return small < largeFloats ? small : Math.ceil(size / largeAlignFloats) * largeAlignFloats;
};

export interface HeapOptions {
  /** Initial size in bytes (rounded up to pages). Default 16 MiB. */
  readonly initialBytes?: number;
  /** Maximum size in bytes (rounded down to pages). Default 4 GiB, the wasm32 limit. */
  readonly maximumBytes?: number;
  /** Ask for a shared memory (falls back to unshared if the engine refuses). Default true. */
  readonly shared?: boolean;
}

interface Extent {
  offset: number;
  bytes: number;
}

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  readonly maximumPages: number;
  private floats: Float32Array;
  private top = reservedBytes;
  private readonly freeLists = new Map<number, number[]>();
  /** Free large extents below `top`, sorted by offset, never adjacent to each other or to `top`. */
  private readonly extents: Extent[] = [];
  /** Resident spillable blocks (the candidates for spilling). */
  private readonly resident = new Set<FloatBlock>();
  private clock = 0;
  private live = 0;
  private liveFloats = 0;
  private spills = 0;
  private peak = reservedBytes;
  private slabNext = 0;
  private slabEnd = 0;

  constructor(opts: HeapOptions = {}) {
    this.maximumPages = Math.min(65536, Math.floor((opts.maximumBytes ?? 2 ** 32) / pageBytes));
    const initial = Math.min(this.maximumPages, Math.max(1, Math.ceil((opts.initialBytes ?? 16 << 20) / pageBytes)));
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

  /** The block's `size` floats as a view (the block must be resident; valid until the next allocation). */
  view(b: FloatBlock): Float32Array {
    if (b.spilled) throw new Error('WasmHeap: view of a spilled block (pin it first)');
    return this.f32.subarray(b.index, b.index + b.size);
  }

  /** Number of blocks allocated and not freed. */
  get liveBlocks(): number { return this.live; }
  /** Floats requested by live blocks (not counting rounding). */
  get liveSize(): number { return this.liveFloats; }
  /** Bytes below the bump pointer now (live, free-listed or free extents). */
  get usedBytes(): number { return this.top; }
  /** The highest the bump pointer has been: memory a steady loop keeps reusing. */
  get peakBytes(): number { return this.peak; }
  /** Blocks copied out to JS memory so far. */
  get spillCount(): number { return this.spills; }

  /**
   * A new block of `size` floats. A `spillable` block may be moved out of the memory while unpinned;
   * a new block starts pinned (call {@link unpin} when the kernel that fills it is done).
   */
  alloc(size: number, spillable = false): FloatBlock {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`WasmHeap: bad size ${size}`);
    const capacity = capacityFor(size);
    const offset = capacity < largeFloats
      ? this.freeLists.get(capacity)?.pop() ?? this.carveSmall(capacity * 4)
      : this.carve(capacity * 4);
    const b = new FloatBlock(offset, size, capacity, spillable && capacity >= largeFloats);
    b.pins = 1;
    b.lastUse = ++this.clock;
    if (b.spillable) this.resident.add(b);
    this.live++;
    this.liveFloats += size;
    return b;
  }

  /** Makes b resident (copying it back if spilled) and keeps it there until the matching unpin. */
  pin(b: FloatBlock): void {
    if (b.freed) throw new Error('WasmHeap: pin of a freed block');
    b.pins++;
    b.lastUse = ++this.clock;
    const data = b.spilled;
    if (data) {
      b.offset = this.carve(b.capacity * 4);
      b.spilled = null;
      this.f32.set(data, b.index);
      this.resident.add(b);
    }
  }

  unpin(b: FloatBlock): void {
    if (b.pins <= 0) throw new Error('WasmHeap: unpin of an unpinned block');
    b.pins--;
  }

  /** The block's contents as a fresh array, without making it resident. */
  read(b: FloatBlock, size: number): Float32Array {
    return b.spilled ? b.spilled.slice(0, size) : this.f32.slice(b.index, b.index + size);
  }

  free(b: FloatBlock): void {
    if (b.freed) throw new Error('WasmHeap: block freed twice');
    b.freed = true;
    this.live--;
    this.liveFloats -= b.size;
    this.resident.delete(b);
    if (b.spilled) {
      b.spilled = null;
      return;
    }
    this.release(b.offset, b.capacity);
  }

  private release(offset: number, capacity: number): void {
    if (capacity >= largeFloats) {
      this.addExtent(offset, capacity * 4);
      return;
    }
    const list = this.freeLists.get(capacity);
    if (list) list.push(offset);
    else this.freeLists.set(capacity, [offset]);
  }

  /** Inserts a free extent, merging it with free neighbours and giving it back to `top` if it ends there. */
  private addExtent(offset: number, bytes: number): void {
    const xs = this.extents;
    let i = 0;
    while (i < xs.length && xs[i].offset < offset) i++;
    const prev = i > 0 ? xs[i - 1] : null;
    const next = i < xs.length ? xs[i] : null;
    let e: Extent;
    if (prev && prev.offset + prev.bytes === offset) {
      prev.bytes += bytes;
      e = prev;
      i--;
    } else {
      e = { offset, bytes };
      xs.splice(i, 0, e);
    }
    if (next && e.offset + e.bytes === next.offset) {
      e.bytes += next.bytes;
      xs.splice(i + 1, 1);
    }
    if (e.offset + e.bytes === this.top) {
      this.top = e.offset;
      xs.splice(i, 1);
    }
  }

  /** Space for a small block: the rest of the current slab, or a new slab. */
  private carveSmall(bytes: number): number {
    if (this.slabEnd - this.slabNext < bytes) {
      const slab = slabBytesFor(this.maximumPages * pageBytes);
      this.slabNext = this.carve(slab);
      this.slabEnd = this.slabNext + slab;
    }
    const offset = this.slabNext;
    this.slabNext += bytes;
    return offset;
  }

  /** Space for `bytes`: the best-fitting free extent, else the top (growing), else after spilling. */
  private carve(bytes: number): number {
    for (;;) {
      const fit = this.fromExtents(bytes) ?? this.fromTop(bytes);
      if (fit !== null) return fit;
      if (!this.spillOne()) throw new RangeError(`WasmHeap: out of memory: ${bytes} bytes wanted; ${this.describe()}`);
    }
  }

  private fromExtents(bytes: number): number | null {
    let best = -1;
    this.extents.forEach((e, i) => {
      if (e.bytes >= bytes && (best < 0 || e.bytes < this.extents[best].bytes)) best = i;
    });
    if (best < 0) return null;
    const e = this.extents[best];
    const offset = e.offset;
    if (e.bytes === bytes) this.extents.splice(best, 1);
    else {
      e.offset += bytes;
      e.bytes -= bytes;
    }
    return offset;
  }

  private fromTop(bytes: number): number | null {
    const offset = this.top;
    const end = offset + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const needed = Math.ceil((end - have) / pageBytes);
      const current = have / pageBytes;
      if (current + needed > this.maximumPages) return null;
      // Grow by at least a quarter of the current size, so growth happens O(log) times.
      this.memory.grow(Math.min(this.maximumPages - current, Math.max(needed, Math.ceil(current / 4))));
    }
    this.top = end;
    this.peak = Math.max(this.peak, end);
    return offset;
  }

  /** Where the memory is, for the out-of-memory message. */
  private describe(): string {
    const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
    let pinned = 0;
    for (const b of this.resident) pinned += b.capacity * 4;
    let listed = 0;
    for (const [cap, list] of this.freeLists) listed += cap * 4 * list.length;
    const free = this.extents.reduce((t, e) => t + e.bytes, 0);
    const largest = this.extents.reduce((m, e) => Math.max(m, e.bytes), 0);
    return `maximum ${mib(this.maximumPages * pageBytes)}, top ${mib(this.top)}; resident large blocks `
      + `(all pinned) ${mib(pinned)}; small blocks free-listed ${mib(listed)}; free extents ${mib(free)} `
      + `in ${this.extents.length} (largest ${mib(largest)}); ${this.spills} spills so far`;
  }

  /** Copies the least recently used unpinned spillable block out; false if there is none. */
  private spillOne(): boolean {
    let victim: FloatBlock | null = null;
    for (const b of this.resident) {
      if (b.pins === 0 && (!victim || b.lastUse < victim.lastUse)) victim = b;
    }
    if (!victim) return false;
    victim.spilled = this.f32.slice(victim.index, victim.index + victim.size);
    this.resident.delete(victim);
    this.release(victim.offset, victim.capacity);
    victim.offset = -1;
    this.spills++;
    return true;
  }
}

/** The import descriptor a module needs to link against this heap's memory. */
export const heapImport = (heap: WasmHeap): MemoryImport => ({
  initialPages: 1,
  maximumPages: heap.maximumPages,
  shared: heap.shared,
});
