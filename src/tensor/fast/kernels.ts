/**
 * The fast backend's compiled kernels: one WebAssembly memory (memory.ts), the elementwise and
 * convolution modules, the two GEMM register tiles, and the worker pool that runs any of them
 * (parallel.ts). Everything a kernel group (conv-ops.ts, row-ops.ts) and the backend object need.
 */
import { buildConvModule, type ConvExports } from './conv-wasm.ts';
import type { ElementwiseContext } from './elementwise.ts';
import { buildElementwiseModule, type ElementwiseExports } from './elementwise-wasm.ts';
import { defaultBlocking, defaultGemmShape, Gemm, type GemmBlocking, type GemmShape, narrowGemmShape, panelCoverage } from './matmul.ts';
import { heapImport, WasmHeap, type HeapOptions } from './memory.ts';
import { Workers } from './parallel.ts';
import { relaxedSimd } from './relaxed.ts';
import { canBlock, hardwareThreads, sharedMemoryAvailable } from '../platform.ts';

export interface FastBackendOptions {
  readonly heap?: HeapOptions;
  readonly gemmShape?: GemmShape;
  readonly gemmBlocking?: GemmBlocking;
  /**
   * Threads a large matmul is split over, the calling thread included; workers start at the first
   * such matmul. Default: the machine's available parallelism, at most 8; 1 on a browser page's main
   * thread, which may not block (run the engine in a Worker there), and 1 where memory cannot be
   * shared with workers (a page that is not cross-origin isolated).
   */
  readonly threads?: number;
  /**
   * Matmul multiply-adds with relaxed SIMD's FMA (default: where this runtime compiles it; see
   * relaxed.ts). Results then differ from mul + add by the rounding FMA skips.
   */
  readonly fma?: boolean;
}

export interface FastKernels {
  readonly heap: WasmHeap;
  readonly ew: ElementwiseExports;
  readonly conv: ConvExports;
  /** the default register tile (its thread count is the pool's) */
  readonly gemm: Gemm;
  /** the GEMM whose register tile suits a product with n columns */
  readonly gemmFor: (n: number) => Gemm;
  /** null when kernels run on the calling thread alone */
  readonly workers: Workers | null;
  readonly ctx: ElementwiseContext;
}

export const compileKernels = (opts: FastBackendOptions): FastKernels => {
  // threads need memory the workers can share: not on a browser page that is not cross-origin isolated
  const shareable = sharedMemoryAvailable();
  const heap = new WasmHeap({ shared: shareable, ...opts.heap });
  const memory = heapImport(heap);
  const ewModule = new WebAssembly.Module(buildElementwiseModule(memory).encode());
  const instance = <T>(m: WebAssembly.Module): T => new WebAssembly.Instance(m, { env: { memory: heap.memory } }).exports as unknown as T;
  const ew = instance<ElementwiseExports>(ewModule);
  const threads = opts.threads ?? (canBlock() && shareable ? Math.min(8, hardwareThreads()) : 1);
  const fma = opts.fma ?? opts.gemmShape?.fma ?? relaxedSimd();
  if (fma && !relaxedSimd()) throw new Error('fast backend: fma was asked for, but this runtime cannot compile WebAssembly relaxed SIMD');
  // Two register tiles unless one is asked for: each product takes the one that is faster for its
  // column count (see narrowGemmShape). They never run at once, so they share packing buffers.
  const blocking = opts.gemmBlocking ?? defaultBlocking;
  const gemm = new Gemm(heap, { ...(opts.gemmShape ?? defaultGemmShape), fma }, blocking, threads);
  const gemms = opts.gemmShape ? [gemm] : [gemm, new Gemm(heap, { ...narrowGemmShape, fma }, blocking, threads, gemm)];
  const gemmFor = (n: number): Gemm => {
    if (gemms.length === 1) return gemm;
    const narrow = gemms[1];
    return panelCoverage(n, narrow.shape.nr) * 1.06 >= panelCoverage(n, gemm.shape.nr) ? narrow : gemm;
  };
  const convModule = new WebAssembly.Module(buildConvModule(memory, { fma }).encode());
  const conv = instance<ConvExports>(convModule);
  // Pool workers run the kernels of every module: 0 gemm, 1 elementwise, 2 conv, 3 the second gemm.
  const workers = gemm.threads > 1
    ? new Workers(heap, [gemm.module, ewModule, convModule, ...gemms.slice(1).map((g) => g.module)], gemm.threads) : null;
  gemms.forEach((g, i) => {
    g.workers = workers;
    g.moduleIndex = i === 0 ? 0 : 2 + i;
  });
  const ctx: ElementwiseContext = { heap, ew, workers };
  return { heap, ew, conv, gemm, gemmFor, workers, ctx };
};
