/**
 * The fast CPU backend: every buffer lives in one WebAssembly memory (see memory.ts) and the heavy
 * kernels are WebAssembly SIMD generated at run time by this repository's own emitter — matmul
 * (packed, register-tiled GEMM, split over worker threads when large), im2col/col2im, the Winograd
 * F(2×2, 3×3) and F(4×4, 3×3) transforms (winograd-wasm.ts), the fused group-norm row kernels
 * (rows-wasm.ts), and the hot elementwise ops (binary on same-shape and broadcast runs,
 * exp/sigmoid/relu and other cheap unary maps, where, last-axis sum/max). The rest are tight loops
 * over a Float32Array view of the memory.
 *
 * A handle is the FloatBlock itself ({ offset, size }); buffers are float32. Kernels pin their
 * inputs and output while they run, so the heap may spill other large buffers out of the 4 GiB
 * memory (and back) when a training step's live set does not fit.
 *
 * Results agree with the plain backend exactly for the loops, copies and SIMD arithmetic (float32
 * add/sub/mul/div/sqrt round exactly as the reference's doubles do), to about one ulp for the SIMD
 * exp and sigmoid (and rsqrt), and within float32 accumulation error for matmul.
 */
import {
  type Backend, type Handle, type Im2colSpec, matmulOutputSize, type MatmulSpec, type WinogradSpec, winogradTile, winogradTiles,
} from '../backend.ts';
import {
  checkWinogradSpec, winogradImageSize, winogradOutSize, winogradTransformedSize,
} from '../plain/winograd.ts';
import { adamCoefficientNames } from './optim-wasm.ts';
import { winogradScratchFloats, type WinogradExports } from './winograd-wasm.ts';
import { checkRows } from '../plain/rows.ts';
import { buildConvModule, validColumns, type ConvExports } from './conv-wasm.ts';
import { binary, reduceAxis, reduceLast, unary, where, type ElementwiseContext } from './elementwise.ts';
import { buildElementwiseModule, type ElementwiseExports } from './elementwise-wasm.ts';
import { concat, gather, pad, scatterAdd, strided } from './layout.ts';
import { defaultBlocking, defaultGemmShape, Gemm, type GemmBlocking, type GemmShape, narrowGemmShape, panelCoverage } from './matmul.ts';
import { FloatBlock, heapImport, WasmHeap, type HeapOptions } from './memory.ts';
import { runSplit, Workers } from './parallel.ts';
import { checkLength, sizeOf } from './strides.ts';
import { relaxedSimd } from './relaxed.ts';
import { canBlock, hardwareThreads } from '../platform.ts';

export interface FastBackendOptions {
  readonly heap?: HeapOptions;
  readonly gemmShape?: GemmShape;
  readonly gemmBlocking?: GemmBlocking;
  /**
   * Threads a large matmul is split over, the calling thread included; workers start at the first
   * such matmul. Default: the machine's available parallelism, at most 8; 1 on a browser page's main
   * thread, which may not block (run the engine in a Worker there).
   */
  readonly threads?: number;
  /**
   * Matmul multiply-adds with relaxed SIMD's FMA (default: where this runtime compiles it; see
   * relaxed.ts). Results then differ from mul + add by the rounding FMA skips.
   */
  readonly fma?: boolean;
}

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

const im2colSize = (s: Im2colSpec): number => s.n * s.c * s.kh * s.kw * s.oh * s.ow;
const imageSize = (s: Im2colSpec): number => s.n * s.c * s.h * s.w;

export const createFastBackend = (opts: FastBackendOptions = {}): FastBackend => {
  const heap = new WasmHeap(opts.heap);
  const memory = heapImport(heap);
  const ewModule = new WebAssembly.Module(buildElementwiseModule(memory).encode());
  const instance = <T>(m: WebAssembly.Module): T => new WebAssembly.Instance(m, { env: { memory: heap.memory } }).exports as unknown as T;
  const ew = instance<ElementwiseExports>(ewModule);
  const threads = opts.threads ?? (canBlock() ? Math.min(8, hardwareThreads()) : 1);
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
  /** Room for im2col's column table (2 ints per kernel column). */
  let table = heap.alloc(64);

  // Blocks handed out as handles; `freed` on the block marks a disposed one.
  const owned = new WeakSet<FloatBlock>();
  let live = 0;
  /** Blocks pinned by the kernel running now (inputs as they are looked up, and the output). */
  let pinned: FloatBlock[] = [];

  const owner = (h: Handle): FloatBlock => {
    const b = h as unknown as FloatBlock;
    if (!owned.has(b)) throw new Error('fast backend: handle does not belong to this backend');
    if (b.freed) throw new Error('fast backend: buffer used after dispose');
    return b;
  };

  /** A kernel input: resident (copied back if it was spilled) and pinned until the kernel returns. */
  const block = (h: Handle): FloatBlock => {
    const b = owner(h);
    heap.pin(b);
    pinned.push(b);
    return b;
  };

  /**
   * Allocates the outputs, runs the kernel into them, and hands them out (freed again if the kernel
   * throws). The outputs head the pinned list; the kernel's inputs are pinned after them.
   */
  const freshMany = (sizes: readonly number[], kernel: (outs: FloatBlock[]) => void): Handle[] => {
    const outs: FloatBlock[] = [];
    const outer = pinned;
    pinned = outs;
    try {
      for (const size of sizes) outs.push(heap.alloc(size, true));
      kernel(outs.slice());
    } catch (e) {
      const made = outs.splice(0, sizes.length);
      for (const b of made) heap.free(b);
      throw e;
    } finally {
      for (const b of pinned) heap.unpin(b);
      pinned = outer;
    }
    for (const out of outs.slice(0, sizes.length)) {
      owned.add(out);
      live++;
    }
    return outs.slice(0, sizes.length) as unknown as Handle[];
  };
  const fresh = (size: number, kernel: (out: FloatBlock) => void): Handle => freshMany([size], ([out]) => kernel(out))[0];

  const columnTable = (spec: Im2colSpec): number => {
    const t = validColumns(spec);
    if (table.capacity < t.length) {
      heap.free(table);
      table = heap.alloc(t.length);
    }
    new Int32Array(heap.memory.buffer, table.offset, t.length).set(t);
    return table.offset;
  };

  /** im2col/col2im over the n·c image planes, split by planes over threads when large. */
  const overPlanes = (s: Im2colSpec, plane: number, params: (from: number, to: number) => number[], name: 'im2col' | 'col2im'): void => {
    const planes = s.n * s.c;
    runSplit(workers, 2, name, planes, 1, params, (p) => (conv[name] as (...a: number[]) => void)(...p), planes * plane);
  };

  /**
   * One Winograd transform over the n·C image planes, split by planes over threads when large;
   * each thread gets its own scratch block.
   */
  const winograd = (kernel: 'winogradInput' | 'winogradInputAdjoint' | 'winogradOutput' | 'winogradOutputAdjoint', src: Handle,
    s: WinogradSpec, inSize: number, outSize: number, bias: Handle | null = null): Handle => {
    checkWinogradSpec(kernel, s);
    const m = winogradTile(s).m;
    const name: keyof WinogradExports = m === 4 ? `${kernel}4` : kernel;
    return fresh(outSize, (out) => {
      const sb = block(src);
      checkLength(name, 'input', sb.size, inSize);
      const bb = bias ? block(bias) : null;
      if (bb) checkLength(name, 'bias', bb.size, s.c);
      // Only the output kernels take the bias pointer (0: none).
      const extra = kernel === 'winogradOutput' ? [bb ? bb.offset : 0] : [];
      const { th, tw, tiles, stride } = winogradTiles(s);
      const floats = winogradScratchFloats(th, tw, m);
      const scratch = heap.alloc(floats * (workers ? gemm.threads : 1));
      try {
        let k = 0;
        runSplit(workers, 2, name, s.n * s.c, 1, (from, to) => [sb.offset, out.offset, from, to, s.c, stride, s.h, s.w,
          s.padH, s.padW, s.oh, s.ow, th, tw, scratch.offset + 4 * floats * k++, tiles, ...extra], (p) => conv[name](...p), outSize);
      } finally {
        heap.free(scratch);
      }
    });
  };

  /**
   * A row kernel over `rows` rows of `len`, split by rows over threads when large: `ptrs(from)` gives
   * the call's pointers for a range starting at row `from`.
   */
  const overRows = (name: string, rows: number, len: number, ptrs: (from: number) => number[]): void => {
    const fn = ew[name as `rows_affine_${string}`];
    runSplit(workers, 1, name, rows, 1, (from, to) => [...ptrs(from), to - from, len], (p) => fn(...p), rows * len);
  };
  /** Input blocks, length-checked: [handle, floats] pairs. */
  const inputs = (kernel: string, list: readonly [string, Handle, number][]): FloatBlock[] => list.map(([what, h, size]) => {
    const b = block(h);
    checkLength(kernel, what, b.size, size);
    return b;
  });

  const checkSpec = (kernel: string, s: Im2colSpec): void => {
    const dims = [s.n, s.c, s.h, s.w, s.kh, s.kw, s.oh, s.ow, s.padH, s.padW];
    if (dims.some((d) => !Number.isInteger(d) || d < 0) || !(s.strideH >= 1 && s.strideW >= 1)) {
      throw new RangeError(`fast ${kernel}: bad spec ${JSON.stringify(s)}`);
    }
  };

  return {
    name: 'fast',
    heap,
    close: () => workers?.close(),
    ready: async () => {
      await workers?.ready();
    },

    write: (data) => fresh(data.length, (out) => heap.f32.set(data, out.index)),

    read: (h, size) => {
      const b = owner(h);
      checkLength('read', 'buffer', b.size, size);
      return heap.read(b, size);
    },

    dispose: (h) => {
      const b = h as unknown as FloatBlock;
      if (!owned.has(b)) throw new Error('fast backend: dispose of a handle that does not belong to this backend');
      if (b.freed) throw new Error('fast backend: dispose of a buffer that was already disposed');
      heap.free(b);
      live--;
    },

    liveBuffers: () => live,

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

    im2col: (x, spec, padValue) => fresh(im2colSize(spec), (out) => {
      checkSpec('im2col', spec);
      const xb = block(x);
      checkLength('im2col', 'x', xb.size, imageSize(spec));
      const s = spec;
      const table = columnTable(s);
      const plane = s.kh * s.kw * s.oh * s.ow;
      overPlanes(s, plane, (from, to) => [xb.offset + 4 * from * s.h * s.w, out.offset + 4 * from * plane, to - from,
        s.h, s.w, s.kh, s.kw, s.strideH, s.strideW, s.padH, s.padW, s.oh, s.ow, padValue, table], 'im2col');
    }),

    col2im: (cols, spec) => fresh(imageSize(spec), (out) => {
      checkSpec('col2im', spec);
      const cb = block(cols);
      checkLength('col2im', 'cols', cb.size, im2colSize(spec));
      const s = spec;
      const table = columnTable(s);
      const plane = s.kh * s.kw * s.oh * s.ow;
      overPlanes(s, plane, (from, to) => [cb.offset + 4 * from * plane, out.offset + 4 * from * s.h * s.w, to - from,
        s.h, s.w, s.kh, s.kw, s.strideH, s.strideW, s.padH, s.padW, s.oh, s.ow, table], 'col2im');
    }),

    winograd: {
      input: (x, s) => winograd('winogradInput', x, s, winogradImageSize(s), winogradTransformedSize(s)),
      inputAdjoint: (v, s) => winograd('winogradInputAdjoint', v, s, winogradTransformedSize(s), winogradImageSize(s)),
      output: (m, s, bias) => winograd('winogradOutput', m, s, winogradTransformedSize(s), winogradOutSize(s), bias ?? null),
      outputAdjoint: (g, s) => winograd('winogradOutputAdjoint', g, s, winogradOutSize(s), winogradTransformedSize(s)),
    },

    optim: {
      adam: (p, g, m, v, n, co) => {
        if (!Number.isInteger(n) || n < 0) throw new RangeError(`fast adam: n (${n}) must be an integer ≥ 0`);
        const [hp, hm, hv] = freshMany([n, n, n], ([op, om, ov]) => {
          const ins = inputs('adam', [['p', p, n], ['g', g, n], ['m', m, n], ['v', v, n]]);
          const coefficients = adamCoefficientNames.map((k) => co[k] ?? 0);
          runSplit(workers, 1, 'adam', n, 4, (from, to) => [...ins.map((b) => b.offset), op.offset, om.offset, ov.offset, from, to,
            ...coefficients, co.l2 === null ? 0 : 1, co.decay === null ? 0 : 1], (q) => ew.adam(...q));
        });
        return [hp, hm, hv] as const;
      },
    },

    rows: {
      moments: (x, rows, len) => (checkRows('rowMoments', rows, len), fresh(2 * rows, (out) => {
        const [xb] = inputs('rowMoments', [['x', x, rows * len]]);
        overRows('rows_moments', rows, len, (f) => [xb.offset + 4 * f * len, out.offset + 8 * f]);
      })),
      affineAct: (x, a, b, rows, len, act) => (checkRows('rowAffineAct', rows, len, act), fresh(rows * len, (out) => {
        const [xb, ab, bb] = inputs('rowAffineAct', [['x', x, rows * len], ['a', a, rows], ['b', b, rows]]);
        overRows(`rows_affine_${act}`, rows, len, (f) => [xb.offset + 4 * f * len, ab.offset + 4 * f, bb.offset + 4 * f, out.offset + 4 * f * len]);
      })),
      affineActGradSums: (x, gy, a, b, rows, len, act) => (checkRows('rowAffineActGradSums', rows, len, act), fresh(2 * rows, (out) => {
        const [xb, gb, ab, bb] = inputs('rowAffineActGradSums', [['x', x, rows * len], ['gy', gy, rows * len], ['a', a, rows], ['b', b, rows]]);
        overRows(`rows_gradsums_${act}`, rows, len, (f) => [xb.offset + 4 * f * len, gb.offset + 4 * f * len, ab.offset + 4 * f,
          bb.offset + 4 * f, out.offset + 8 * f]);
      })),
      affineActGradInput: (x, gy, a, b, p, q, s, rows, len, act) => (checkRows('rowAffineActGradInput', rows, len, act), fresh(rows * len, (out) => {
        const bs = inputs('rowAffineActGradInput', [['x', x, rows * len], ['gy', gy, rows * len], ['a', a, rows], ['b', b, rows],
          ['p', p, rows], ['q', q, rows], ['s', s, rows]]);
        overRows(`rows_gradinput_${act}`, rows, len, (f) => [...bs.map((blk, i) => blk.offset + 4 * f * (i < 2 ? len : 1)),
          out.offset + 4 * f * len]);
      })),
    },
  };
};
