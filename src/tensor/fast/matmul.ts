/**
 * Batched matmul on heap offsets: sets up the strides and block depth for the WASM `gemm` loop nest
 * (gemm-wasm.ts), packs operands that the whole batch shares once, and splits the work over threads.
 *
 * Packed caches: an A shared by the batch (stride 0, as conv weights are) is packed once with its
 * block (pc, ic) at pc·mPad + ic·kc; a shared B with block (jc, pc) at jc·k + pc·ncPad.
 *
 * Threads: the product is cut into chunks — batch entries, or column ranges of whole panels when
 * the batch is shorter than the thread count — that every thread takes from a shared atomic
 * counter (the caches are read by all; each thread owns its packing scratch). Products below
 * `parallelMinFlops` stay on the calling thread, where waking a worker (tens of µs) costs more than
 * it saves.
 */
import type { MatmulSpec } from '../backend.ts';
import {
  buildGemmModule, defaultGemmShape, gemmParams, type GemmExports, type GemmShape,
} from './gemm-wasm.ts';
import { heapImport, type FloatBlock, type WasmHeap } from './memory.ts';
import type { Workers } from './parallel.ts';

export { defaultGemmShape, narrowGemmShape, type GemmShape } from './gemm-wasm.ts';

/** The fraction of computed columns that are real when n columns are covered by panels of nr. */
export const panelCoverage = (n: number, nr: number): number => n / (nr * Math.ceil(n / nr));

export interface GemmBlocking {
  /** Rows of A per packed block (kept in L2). */
  readonly mc: number;
  /** Maximum depth per block (an nr-wide B panel of kc rows stays in L1). */
  readonly kc: number;
  /** Columns of B per packed block. */
  readonly nc: number;
}

/** L1d is 48 KiB and L2 2 MiB per core here: B panel 16 × 256 floats = 16 KiB, A block 120 KiB. */
export const defaultBlocking: GemmBlocking = { mc: 120, kc: 256, nc: 1024 };

export const parallelMinFlops = 4e6;

interface Scratch {
  readonly pa: FloatBlock;
  readonly pb: FloatBlock;
  readonly tile: FloatBlock;
}

/**
 * A Gemm's heap buffers: per-thread packing scratch, the packed-operand caches and the chunk
 * counter threads take work from. Gemms that never run at the same time may share them.
 */
interface GemmBuffers {
  readonly scratch: Scratch[];
  aCache: FloatBlock | null;
  bCache: FloatBlock | null;
  readonly counter: FloatBlock;
}

export class Gemm {
  private readonly k: GemmExports;
  private readonly buffers: GemmBuffers;
  readonly shape: GemmShape;
  readonly blocking: GemmBlocking;
  /** Threads a large product is split over (1 = the calling thread only). */
  readonly threads: number;

  /** The compiled module (workers instantiate it too: it is module 0 of the backend's pool). */
  readonly module: WebAssembly.Module;
  /** Set by the backend once its worker pool exists (null: this thread only). */
  workers: Workers | null = null;
  /** This module's index in the worker pool's module list (set with `workers`). */
  moduleIndex = 0;

  /** `shareBuffersWith`: a Gemm on the same heap and thread count whose buffers this one reuses. */
  constructor(private readonly heap: WasmHeap, shape: GemmShape = defaultGemmShape,
    blocking: GemmBlocking = defaultBlocking, threads = 1, shareBuffersWith?: Gemm) {
    this.shape = shape;
    // Whole tiles per block, so only the last block of a matrix has edge tiles.
    const mc = Math.max(shape.mr, Math.floor(blocking.mc / shape.mr) * shape.mr);
    const nc = Math.max(shape.nr, Math.floor(blocking.nc / shape.nr) * shape.nr);
    this.blocking = { mc, kc: blocking.kc, nc };
    this.threads = heap.shared ? Math.max(1, Math.floor(threads)) : 1;
    this.module = new WebAssembly.Module(buildGemmModule(heapImport(heap), shape, { mc, nc }).encode());
    this.k = new WebAssembly.Instance(this.module, { env: { memory: heap.memory } }).exports as unknown as GemmExports;
    const sizes = { pa: mc * blocking.kc, pb: nc * blocking.kc, tile: shape.mr * shape.nr };
    const other = shareBuffersWith?.buffers;
    if (other) {
      if (other.scratch.length !== this.threads || other.scratch.some((t) => t.pa.capacity < sizes.pa || t.pb.capacity < sizes.pb
        || t.tile.capacity < sizes.tile)) throw new RangeError('Gemm: the shared buffers are too small for this shape or thread count');
      this.buffers = other;
    } else {
      this.buffers = {
        scratch: Array.from({ length: this.threads }, () => ({ pa: heap.alloc(sizes.pa), pb: heap.alloc(sizes.pb), tile: heap.alloc(sizes.tile) })),
        aCache: null, bCache: null, counter: heap.alloc(16),
      };
    }
  }

  private get scratch(): Scratch[] {
    return this.buffers.scratch;
  }

  private get counter(): FloatBlock {
    return this.buffers.counter;
  }

  /** A cache block of at least `size` floats (grown by replacing it). */
  private cache(which: 'aCache' | 'bCache', size: number): number {
    const block = this.buffers[which];
    if (block && block.capacity >= size) return block.offset;
    if (block) this.heap.free(block);
    const fresh = this.heap.alloc(size);
    this.buffers[which] = fresh;
    return fresh.offset;
  }

  /** out[b] = opA(A[b]) · opB(B[b]) for byte offsets a, b, out (see MatmulSpec). */
  run(a: number, b: number, out: number, spec: MatmulSpec): void {
    const { batch, m, k, n, transA, transB, strideA, strideB } = spec;
    const summed = spec.sumBatch === true;
    if (m === 0 || n === 0 || (batch === 0 && !summed)) return;
    if (k === 0 || batch === 0) {
      this.heap.f32.fill(0, out >>> 2, (out >>> 2) + (summed ? 1 : batch) * m * n);
      return;
    }
    const { mr, nr } = this.shape;
    const { mc: MC, nc: NC } = this.blocking;
    // Equal k blocks no deeper than kc, so the last is not a sliver.
    const KC = Math.ceil(k / Math.ceil(k / this.blocking.kc));
    const rsA = transA ? 1 : k;
    const csA = transA ? m : 1;
    const rsB = transB ? 1 : n;
    const csB = transB ? k : 1;
    const kern = this.k;
    let threads = this.workers && this.threads > 1 && 2 * batch * m * n * k >= parallelMinFlops ? this.threads : 1;
    // A summed batch is split into one batch range per thread (never more threads than entries).
    if (summed) threads = Math.min(threads, batch);
    const byBatch = summed || batch >= threads;

    let aCache = 0;
    let bCache = 0;
    // A shared by the batch, or the one A of a product split into column chunks, is packed once.
    if ((strideA === 0 && batch > 1) || (batch === 1 && !byBatch)) {
      const mPad = Math.ceil(m / mr) * mr;
      aCache = this.cache('aCache', mPad * k);
      for (let pc = 0; pc < k; pc += KC) {
        const kc = Math.min(KC, k - pc);
        for (let ic = 0; ic < m; ic += MC) {
          kern.packA(a + 4 * (ic * rsA + pc * csA), aCache + 4 * (pc * mPad + ic * kc), Math.min(MC, m - ic), kc, rsA, csA);
        }
      }
    }
    // B's cache holds every column block, so it only serves shares that keep all columns.
    if (strideB === 0 && batch > 1 && byBatch) {
      bCache = this.cache('bCache', Math.ceil(n / nr) * nr * k);
      for (let jc = 0; jc < n; jc += NC) {
        const nc = Math.min(NC, n - jc);
        const ncPad = Math.ceil(nc / nr) * nr;
        for (let pc = 0; pc < k; pc += KC) {
          const kc = Math.min(KC, k - pc);
          kern.packB(b + 4 * (pc * rsB + jc * csB), bCache + 4 * (jc * k + pc * ncPad), nc, kc, csB, rsB);
        }
      }
    }

    /** The gemm parameters for thread t's scratch (see gemmParams). */
    const params = (t: number): number[] => {
      const { pa, pb, tile } = this.scratch[t];
      const p = [a, b, out, batch, 4 * strideA, 4 * strideB, summed ? 0 : 4 * m * n, m, k, n, rsA, csA, rsB, csB, n, KC,
        aCache, bCache, pa.offset, pb.offset, tile.offset];
      if (p.length !== gemmParams.length) throw new Error('gemm: parameter list out of date');
      return p;
    };

    if (threads === 1) {
      kern.gemm(...params(0));
      return;
    }
    const workers = this.workers as Workers;
    if (summed) {
      this.runSummed(workers, params, batch, threads, 4 * strideA, 4 * strideB, out, m * n);
      return;
    }
    // Chunks: whole batch entries, or for a short batch column ranges of whole panels (≥ 128 wide,
    // about 4 per thread) — dynamic, so a thread the OS runs late just takes fewer.
    const cols = byBatch ? n : Math.min(n, Math.max(128, Math.ceil(n / (4 * threads) / nr) * nr));
    const perBatch = Math.ceil(n / cols);
    const counter = this.counter.offset;
    new Int32Array(this.heap.memory.buffer, counter, 1)[0] = 0;
    const shared = (t: number): number[] => [counter, batch * perBatch, perBatch, cols, ...params(t)];
    workers.run(this.moduleIndex, 'gemmShared', Array.from({ length: threads }, (_, t) => shared(t)), (p) => kern.gemmShared(...p));
  }

  /**
   * Σ_b over `threads` batch ranges: thread t sums its range into its own partial matrix (thread 0
   * into `out`), each with its own counter and a single chunk; then the partials are added to out.
   */
  private runSummed(workers: Workers, params: (t: number) => number[], batch: number, threads: number,
    strideABytes: number, strideBBytes: number, out: number, size: number): void {
    const partials = Array.from({ length: threads - 1 }, () => this.heap.alloc(size));
    try {
      const counters = new Int32Array(this.heap.memory.buffer, this.counter.offset, threads);
      const call = (t: number): number[] => {
        const from = Math.floor((t * batch) / threads);
        const to = Math.floor(((t + 1) * batch) / threads);
        const p = params(t);
        p[0] += from * strideABytes;
        p[1] += from * strideBBytes;
        if (t > 0) p[2] = partials[t - 1].offset;
        p[3] = to - from;
        counters[t] = 0;
        return [this.counter.offset + 4 * t, 1, 1, p[9], ...p];
      };
      workers.run(this.moduleIndex, 'gemmShared', Array.from({ length: threads }, (_, t) => call(t)), (p) => this.k.gemmShared(...p));
      const f32 = this.heap.f32;
      const o = out >>> 2;
      for (const part of partials) {
        const q = part.index;
        for (let i = 0; i < size; i++) f32[o + i] += f32[q + i];
      }
    } finally {
      for (const part of partials) this.heap.free(part);
    }
  }

}
