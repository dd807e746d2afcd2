/** Hand-checked examples for the fast backend: the emitter's encodings, the memory, every kernel. */
import { describe, expect, it } from 'vitest';
import type { Handle, Im2colSpec } from '../src/tensor/backend.ts';
import { f32, i32, ModuleBuilder, sleb, uleb, v128 } from '../src/tensor/fast/emitter.ts';
import { createFastBackend } from '../src/tensor/fast/index.ts';
import { Gemm } from '../src/tensor/fast/matmul.ts';
import { heapImport, sizeClass, WasmHeap } from '../src/tensor/fast/memory.ts';
import { checkFlatMemory } from './support/memory-check.ts';

const bytes = (f: (out: number[]) => void): number[] => {
  const out: number[] = [];
  f(out);
  return out;
};

describe('emitter', () => {
  it('LEB128 as in the spec examples', () => {
    expect(bytes((o) => uleb(o, 0))).toEqual([0]);
    expect(bytes((o) => uleb(o, 127))).toEqual([0x7f]);
    expect(bytes((o) => uleb(o, 128))).toEqual([0x80, 0x01]);
    expect(bytes((o) => uleb(o, 624485))).toEqual([0xe5, 0x8e, 0x26]);
    expect(bytes((o) => uleb(o, 0xffffffff))).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(bytes((o) => sleb(o, -1))).toEqual([0x7f]);
    expect(bytes((o) => sleb(o, 63))).toEqual([0x3f]);
    expect(bytes((o) => sleb(o, 64))).toEqual([0xc0, 0x00]);
    expect(bytes((o) => sleb(o, -123456))).toEqual([0xc0, 0xbb, 0x78]);
    expect(bytes((o) => sleb(o, 0x80000000))).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
  });

  it('a scalar function with a loop: Σ_{i<n} i', () => {
    const heap = new WasmHeap({ initialBytes: 1 << 16 });
    const m = new ModuleBuilder(heapImport(heap));
    m.func('triangle', [i32], [i32], (c) => {
      const [k, s] = [c.local(i32), c.local(i32)];
      c.forUp(k, () => c.i32(0), 0, 1, () => c.get(s).get(k).op('i32_add').set(s));
      c.get(s);
    });
    const { triangle } = m.instantiate<{ triangle(n: number): number }>(heap.memory);
    expect(triangle(0)).toBe(0);
    expect(triangle(10)).toBe(45);
  });

  it('f32x4 arithmetic, splat, lanes and memory', () => {
    const heap = new WasmHeap({ initialBytes: 1 << 16 });
    const m = new ModuleBuilder(heapImport(heap));
    // out[0..4) = a[0..4) · s + (1, 2, 3, 4); returns lane 2 of the result.
    m.func('axpy', [i32, i32, f32], [f32], (c) => {
      const v = c.local(v128);
      c.get(0).mem('v128_load').get(2).simd('f32x4_splat').simd('f32x4_mul')
        .f32x4(1, 2, 3, 4).simd('f32x4_add').set(v);
      c.get(1).get(v).mem('v128_store');
      c.get(v).f32x4ExtractLane(2);
    });
    const { axpy } = m.instantiate<{ axpy(a: number, out: number, s: number): number }>(heap.memory);
    const a = heap.alloc(4);
    const out = heap.alloc(4);
    heap.view(a).set([1, -1, 0.5, 2]);
    expect(axpy(a.offset, out.offset, 2)).toBe(4);
    expect(Array.from(heap.view(out))).toEqual([3, 0, 4, 8]);
  });
});

describe('memory', () => {
  it('is a shared, growable WebAssembly.Memory in Node 20', () => {
    const heap = new WasmHeap();
    expect(heap.shared).toBe(true);
    expect(heap.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('size classes: 16-float minimum, 4 per octave', () => {
    expect([0, 1, 16, 17, 33, 64, 65, 100, 1000].map(sizeClass)).toEqual([16, 16, 16, 32, 48, 64, 80, 112, 1024]);
  });
});

describe('fast kernels, by hand', () => {
  const b = createFastBackend();
  const w = (xs: number[]): Handle => b.write(Float32Array.from(xs));
  const r = (h: Handle, n: number): number[] => Array.from(b.read(h, n));

  it('unary', () => {
    expect(r(b.unary('relu', w([-1, 0, 2, -0.5, 3]), 5), 5)).toEqual([0, 0, 2, 0, 3]);
    expect(r(b.unary('exp', w([0, 1, -1, 100, -200]), 5), 5))
      .toEqual([1, Math.fround(Math.E), Math.fround(1 / Math.E), Infinity, 0]);
    expect(r(b.unary('sigmoid', w([0, 1000, -1000]), 3), 3)).toEqual([0.5, 1, 0]);
    expect(r(b.unary('rsqrt', w([4, 0.25]), 2), 2)).toEqual([0.5, 2]);
    expect(r(b.unary('log', w([1, 0]), 2), 2)).toEqual([0, -Infinity]);
  });

  it('binary: same shape, bias over channels, scalar, and a transposed operand', () => {
    expect(r(b.binary('sub', w([5, 7, 9]), w([1, 2, 3]), [3], [1], [1]), 3)).toEqual([4, 5, 6]);
    // x [2, 2, 2] + bias [2] over the middle axis.
    expect(r(b.binary('add', w([0, 0, 0, 0, 1, 1, 1, 1]), w([10, 20]), [2, 2, 2], [4, 2, 1], [0, 1, 0]), 8))
      .toEqual([10, 10, 20, 20, 11, 11, 21, 21]);
    expect(r(b.binary('greater', w([1, 3, 2]), w([2]), [3], [1], [0]), 3)).toEqual([0, 1, 0]);
    // a [[1, 2], [3, 4]] minus aᵀ.
    const a = w([1, 2, 3, 4]);
    expect(r(b.binary('sub', a, a, [2, 2], [2, 1], [1, 2]), 4)).toEqual([0, -1, 1, 0]);
    expect(r(b.binary('pow', w([2, 9]), w([3, 0.5]), [2], [1], [1]), 2)).toEqual([8, 3]);
  });

  it('where and reduceLast', () => {
    expect(r(b.where(w([1, 0, -0, NaN, 2]), w([1, 2, 3, 4, 5]), w([-1, -2, -3, -4, -5]), 5), 5))
      .toEqual([1, -2, -3, 4, 5]);
    expect(r(b.reduceLast('sum', w([1, 2, 3, 4, 5, 6]), 2, 3), 2)).toEqual([6, 15]);
    expect(r(b.reduceLast('max', w([1, 7, 3, -4, -5, -6]), 2, 3), 2)).toEqual([7, -4]);
    expect(r(b.reduceLast('max', w([]), 1, 0), 1)).toEqual([-Infinity]);
  });

  it('matmul in every layout', () => {
    const a = w([1, 2, 3, 4, 5, 6]); // [[1,2,3],[4,5,6]]
    const bm = w([7, 8, 9, 10, 11, 12]); // [[7,8],[9,10],[11,12]]
    const spec = { batch: 1, m: 2, k: 3, n: 2, transA: false, transB: false, strideA: 6, strideB: 6 };
    expect(r(b.matmul(a, bm, spec), 4)).toEqual([58, 64, 139, 154]);
    // Aᵀ stored [3, 2]: [[1,4],[2,5],[3,6]]; Bᵀ stored [2, 3]: [[7,9,11],[8,10,12]].
    expect(r(b.matmul(w([1, 4, 2, 5, 3, 6]), w([7, 9, 11, 8, 10, 12]), { ...spec, transA: true, transB: true }), 4))
      .toEqual([58, 64, 139, 154]);
    // Batch 2 with A shared: B[1] = 2·B[0].
    expect(r(b.matmul(a, w([7, 8, 9, 10, 11, 12, 14, 16, 18, 20, 22, 24]), { ...spec, batch: 2, strideA: 0 }), 8))
      .toEqual([58, 64, 139, 154, 116, 128, 278, 308]);
    expect(r(b.matmul(w([]), w([]), { ...spec, k: 0 }), 4)).toEqual([0, 0, 0, 0]);
  });

  it('matmul of a conv-sized product matches a double-precision loop', () => {
    const heap = new WasmHeap();
    const gemm = new Gemm(heap);
    const [m, k, n] = [37, 300, 70];
    const a = heap.alloc(m * k);
    const bb = heap.alloc(k * n);
    const c = heap.alloc(m * n);
    heap.view(a).set(Array.from({ length: m * k }, (_, i) => Math.sin(i)));
    heap.view(bb).set(Array.from({ length: k * n }, (_, i) => Math.cos(i)));
    gemm.run(a.offset, bb.offset, c.offset, { batch: 1, m, k, n, transA: false, transB: false, strideA: 0, strideB: 0 });
    const [av, bv, cv] = [heap.view(a), heap.view(bb), heap.view(c)];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += av[i * k + p] * bv[p * n + j];
        expect(Math.abs(cv[i * n + j] - s)).toBeLessThan(1e-4);
      }
    }
  });

  it('strided, pad, concat', () => {
    // Transpose of [[1,2,3],[4,5,6]], then the second column broadcast ×2.
    const x = w([1, 2, 3, 4, 5, 6]);
    expect(r(b.strided(x, [3, 2], [1, 3], 0), 6)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(r(b.strided(x, [2, 2], [0, 3], 1), 4)).toEqual([2, 5, 2, 5]);
    expect(r(b.pad(w([1, 2, 3, 4]), [2, 2], [1, 0], [0, 1], 9), 9)).toEqual([9, 9, 9, 1, 2, 9, 3, 4, 9]);
    // A transpose larger than one 32 × 32 tile, batched: out[k, j, i] = x[k, i, j].
    const big = w(Array.from({ length: 2 * 70 * 45 }, (_, i) => i));
    const t = r(b.strided(big, [2, 45, 70], [3150, 1, 45], 0), 2 * 70 * 45);
    expect(t.every((v, p) => {
      const [k, j, i] = [Math.floor(p / 3150), Math.floor(p / 70) % 45, p % 70];
      return v === k * 3150 + i * 45 + j;
    })).toBe(true);
    expect(r(b.concat([w([1, 2, 3, 4]), w([5, 6])], 2, [2, 1]), 6)).toEqual([1, 2, 5, 3, 4, 6]);
  });

  it('gather and scatterAdd', () => {
    // x [1, 3, 2]: rows (1,2), (3,4), (5,6); pick rows 2, 0, 2.
    const x = w([1, 2, 3, 4, 5, 6]);
    const idx = w([2, 0, 2]);
    expect(r(b.gather(x, idx, 1, 3, 2, 3), 6)).toEqual([5, 6, 1, 2, 5, 6]);
    expect(r(b.scatterAdd(w([1, 1, 2, 2, 3, 3]), idx, 1, 3, 2, 3), 6)).toEqual([2, 2, 0, 0, 4, 4]);
    expect(() => b.gather(x, w([3]), 1, 3, 2, 1)).toThrow(/not an integer in \[0, 3\)/);
  });

  it('im2col and col2im of a 3×3 image with a 2×2 kernel, padding 1, stride 2', () => {
    const spec: Im2colSpec = { n: 1, c: 1, h: 3, w: 3, kh: 2, kw: 2, strideH: 2, strideW: 2, padH: 1, padW: 1, oh: 2, ow: 2 };
    const x = w([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Patch rows (ki, kj) over outputs (oy, ox); input (oy·2 − 1 + ki, ox·2 − 1 + kj), −1 outside.
    expect(r(b.im2col(x, spec, -1), 16)).toEqual([
      -1, -1, -1, 5, // ki 0, kj 0
      -1, -1, 4, 6, // ki 0, kj 1
      -1, 2, -1, 8, // ki 1, kj 0
      1, 3, 7, 9, // ki 1, kj 1
    ]);
    // Adjoint: each pixel sums the patch entries read from it (ones here: how often it was read).
    expect(r(b.col2im(w(new Array(16).fill(1)), spec), 9)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const stride1: Im2colSpec = { ...spec, strideH: 1, strideW: 1, oh: 4, ow: 4 };
    expect(r(b.col2im(w(new Array(64).fill(1)), stride1), 9)).toEqual([4, 4, 4, 4, 4, 4, 4, 4, 4]);
  });
});

describe('training on the fast backend', () => {
  it('keeps live buffers flat over 1,000 steps, and allocates no new memory once warm', () => {
    const b = createFastBackend();
    checkFlatMemory(b, 20);
    const [used, live] = [b.heap.peakBytes, b.liveBuffers()];
    checkFlatMemory(b, 1000);
    // The helper leaves one small buffer live per run (on every backend); nothing else may be new.
    const leftLive = b.liveBuffers() - live;
    expect(leftLive).toBeLessThanOrEqual(1);
    expect(b.heap.peakBytes - used).toBeLessThanOrEqual(64 * leftLive);
  });
});
