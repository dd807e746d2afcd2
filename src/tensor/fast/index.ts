/**
 * The fast CPU backend: every buffer lives in one WebAssembly memory (see memory.ts) and the heavy
 * kernels are WebAssembly SIMD generated at run time by this repository's own emitter — matmul
 * (packed, register-tiled GEMM, split over worker threads when large), im2col/col2im, the Winograd
 * F(2×2, 3×3) and F(4×4, 3×3) transforms (winograd-wasm.ts), the fused group-norm row kernels
 * (rows-wasm.ts), and the hot elementwise ops (binary on same-shape and broadcast runs,
 * exp/sigmoid/relu and other cheap unary maps, where, last-axis sum/max). The rest are tight loops
 * over a Float32Array view of the memory.
 *
 * Four files make it: kernels.ts compiles the modules and starts the pool, handles.ts keeps the
 * handle table, conv-ops.ts and row-ops.ts hold the convolution and row/optimizer kernels; this file
 * the rest. A handle is the FloatBlock itself ({ offset, size }); buffers are float32. Kernels pin their
 * inputs and output while they run, so the heap may spill other large buffers out of the 4 GiB
 * memory (and back) when a training step's live set does not fit.
 *
 * Results agree with the plain backend exactly for the loops, copies and SIMD arithmetic (float32
 * add/sub/mul/div/sqrt round exactly as the reference's doubles do), to about one ulp for the SIMD
 * exp and sigmoid (and rsqrt), and within float32 accumulation error for matmul.
 */
import { type Backend, matmulOutputSize, type MatmulSpec } from '../backend.ts';
import { convOps } from './conv-ops.ts';
import { binary, reduceAxis, reduceLast, unary, where } from './elementwise.ts';
import { handleTable } from './handles.ts';
import { compileKernels, type FastBackendOptions } from './kernels.ts';
import { concat, gather, pad, scatterAdd, strided } from './layout.ts';
import type { WasmHeap } from './memory.ts';
import { rowOps } from './row-ops.ts';
import { checkLength, sizeOf } from './strides.ts';

export type { FastBackendOptions } from './kernels.ts';

export interface FastBackend extends Backend {
  /** The memory and allocator behind every handle (for tests and diagnostics). */
  readonly heap: WasmHeap;
  /** Stops the matmul worker threads (they never keep a process alive; this frees them early). */
  close(): void;
  /**
   * Starts the worker threads now and resolves once they take work. Under Node they do at once; in a
   * browser worker they start only after the caller yields, and until then kernels run on the
   * calling thread alone (the same results, slower): `await backend.ready()` before timing anything.
   */
  ready(): Promise<void>;
}

/** The fast backend: compiled kernels (kernels.ts), a handle table (handles.ts), and the ops over them. */
export const createFastBackend = (opts: FastBackendOptions = {}): FastBackend => {
  const k = compileKernels(opts);
  const { heap, ctx, gemmFor, workers } = k;
  const h = handleTable(heap);
  const { owner, block, fresh } = h;
  return {
    name: 'fast',
    heap,
    close: () => workers?.close(),
    ready: async () => {
      await workers?.ready();
    },

    write: (data) => fresh(data.length, (out) => heap.f32.set(data, out.index)),

    read: (handle, size) => {
      const b = owner(handle);
      checkLength('read', 'buffer', b.size, size);
      return heap.read(b, size);
    },

    dispose: h.dispose,

    liveBuffers: h.live,

    unary: (op, x, size) => fresh(size, (out) => unary(ctx, op, block(x), out, size)),

    binary: (op, a, b, outShape, aStrides, bStrides) => fresh(sizeOf(outShape),
      (out) => binary(ctx, op, block(a), block(b), out, outShape, aStrides, bStrides)),

    where: (cond, a, b, size) => fresh(size, (out) => where(ctx, block(cond), block(a), block(b), out, size)),

    reduceLast: (op, x, outer, inner) => fresh(outer, (out) => reduceLast(ctx, op, block(x), out, outer, inner)),

    reduceAxis: (op, x, outer, size, inner) => fresh(outer * inner, (out) => reduceAxis(ctx, op, block(x), out, outer, size, inner)),

    matmul: (a, b, spec: MatmulSpec) => fresh(matmulOutputSize(spec), (out) => {
      const { batch, m, k, n, strideA, strideB } = spec;
      const ab = block(a);
      const bb = block(b);
      if (batch > 0 && m > 0 && n > 0) {
        checkLength('matmul', 'a', ab.size, (batch - 1) * strideA + m * k);
        checkLength('matmul', 'b', bb.size, (batch - 1) * strideB + k * n);
      }
      gemmFor(n).run(ab.offset, bb.offset, out.offset, spec);
    }),

    strided: (x, outShape, strides, offset) => fresh(sizeOf(outShape),
      (out) => strided(heap, block(x), out, outShape, strides, offset, ctx)),

    pad: (x, shape, before, after, value) => fresh(
      sizeOf(shape.map((d, i) => d + (before[i] ?? 0) + (after[i] ?? 0))),
      (out) => pad(heap, block(x), out, shape, before, after, value)),

    concat: (xs, outer, inners) => fresh(outer * inners.reduce((s, w) => s + w, 0),
      (out) => concat(heap, xs.map(block), out, outer, inners)),

    gather: (x, indices, outer, axisSize, inner, nIdx) => fresh(outer * nIdx * inner,
      (out) => gather(heap, block(x), block(indices), out, outer, axisSize, inner, nIdx)),

    scatterAdd: (g, indices, outer, nIdx, inner, axisSize) => fresh(outer * axisSize * inner,
      (out) => scatterAdd(heap, block(g), block(indices), out, outer, nIdx, inner, axisSize)),

    ...convOps(k, h),
    ...rowOps(k, h),
  };
};
