/** The plain backend on small examples whose answers are worked out by hand in the comments. */
import { describe, expect, it } from 'vitest';
import type { Backend, Handle, Im2colSpec, MatmulSpec } from '../src/tensor/backend.ts';
import { createPlainBackend } from '../src/tensor/plain/index.ts';

const backends = [createPlainBackend(), createPlainBackend({ precision: 64 })];

/** Writes the inputs, runs `f`, reads `size` values of its result, and disposes everything it made. */
const run = (be: Backend, inputs: readonly (readonly number[])[],
  f: (...hs: Handle[]) => Handle, size: number): number[] => {
  const hs = inputs.map((xs) => be.write(Float64Array.from(xs)));
  try {
    const out = f(...hs);
    const got = Array.from(be.read(out, size));
    be.dispose(out);
    return got;
  } finally {
    hs.forEach((h) => be.dispose(h));
  }
};

const expectClose = (got: readonly number[], want: readonly number[], tol = 1e-6): void => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]), `element ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]))));
};

describe('createPlainBackend', () => {
  it('names the precision and stores matching typed arrays', () => {
    const [b32, b64] = backends;
    expect(b32.name).toBe('plain');
    expect(b64.name).toBe('plain64');
    const h32 = b32.write(new Float64Array([0.1]));
    const h64 = b64.write(new Float32Array([0.5]));
    expect(b32.read(h32, 1)).toBeInstanceOf(Float32Array);
    expect(b32.read(h32, 1)[0]).toBe(Math.fround(0.1));
    expect(b64.read(h64, 1)).toEqual(new Float64Array([0.5]));
    b32.dispose(h32);
    b64.dispose(h64);
  });

  it('rejects an unknown precision', () => {
    expect(() => createPlainBackend({ precision: 16 as 32 })).toThrow(/precision/);
  });
});

describe.each(backends)('$name backend', (be) => {
  describe('storage', () => {
    it('copies on write and on read, and counts live buffers', () => {
      const before = be.liveBuffers();
      const data = new Float32Array([1, 2, 3]);
      const h = be.write(data);
      data[0] = 99;
      expect(Array.from(be.read(h, 3))).toEqual([1, 2, 3]);
      const copy = be.read(h, 2);
      copy[0] = 42;
      expect(Array.from(be.read(h, 2))).toEqual([1, 2]);
      const y = be.unary('neg', h, 3);
      expect(be.liveBuffers()).toBe(before + 2);
      be.dispose(h);
      be.dispose(y);
      expect(be.liveBuffers()).toBe(before);
    });

    it('throws on a double dispose, on use after dispose and on a foreign handle', () => {
      const h = be.write(new Float32Array([1]));
      be.dispose(h);
      expect(() => be.dispose(h)).toThrow(/already disposed/);
      expect(() => be.read(h, 1)).toThrow(/after dispose/);
      expect(() => be.unary('exp', h, 1)).toThrow(/after dispose/);
      const other = createPlainBackend();
      const foreign = other.write(new Float32Array([1]));
      expect(() => be.dispose(foreign)).toThrow(/does not belong/);
      expect(() => be.read(new Float32Array(1) as unknown as Handle, 1)).toThrow(/does not belong/);
      other.dispose(foreign);
    });

    it('refuses to read past the end of a buffer', () => {
      const h = be.write(new Float32Array(2));
      expect(() => be.read(h, 3)).toThrow(RangeError);
      be.dispose(h);
    });
  });

  describe('unary', () => {
    const at = (op: Parameters<Backend['unary']>[0], xs: number[]): number[] => run(be, [xs], (x) => be.unary(op, x, xs.length), xs.length);

    it('computes each op on a few points', () => {
      expect(at('neg', [1, -2])).toEqual([-1, 2]);
      expectClose(at('exp', [0, 1]), [1, Math.E]);
      expectClose(at('log', [1, Math.E]), [0, 1]);
      expect(at('sqrt', [4, 9])).toEqual([2, 3]);
      expect(at('rsqrt', [4, 0.25])).toEqual([0.5, 2]);
      expect(at('square', [-3, 0.5])).toEqual([9, 0.25]);
      expect(at('abs', [-3, 2])).toEqual([3, 2]);
      expect(at('sign', [-3, 0, 2])).toEqual([-1, 0, 1]);
      expectClose(at('sin', [0, Math.PI / 2]), [0, 1]);
      expectClose(at('cos', [0, Math.PI]), [1, -1]);
      expectClose(at('tanh', [0, 100]), [0, 1]);
      expect(at('relu', [-2, 0, 3, -Infinity, Infinity])).toEqual([0, 0, 3, 0, Infinity]);
      expect(at('reciprocal', [4, -0.5])).toEqual([0.25, -2]);
    });

    it('sigmoid is finite at ±1000 and exact at 0', () => {
      expect(at('sigmoid', [-1000, 0, 1000])).toEqual([0, 0.5, 1]);
      // σ(−30) = e⁻³⁰/(1 + e⁻³⁰) keeps its relative precision instead of cancelling to 1 − 1.
      expectClose(at('sigmoid', [-30]), [9.357622968839299e-14]);
    });

    it('erf matches tabulated values to 1e-7', () => {
      // Reference values from mpmath at 30 digits.
      const xs = [0, 1e-8, 0.1, 0.5, -0.5, 1, -2, 3, 4.5, 6, -7];
      const want = [0, 1.1283791670955126e-8, 0.1124629160182849, 0.5204998778130465, -0.5204998778130465,
        0.8427007929497149, -0.9953222650189527, 0.9999779095030014, 0.9999999998033839, 1, -1];
      const got = at('erf', xs);
      got.forEach((g, i) => expect(Math.abs(g - want[i]), `erf(${xs[i]})`).toBeLessThan(1e-7));
      if (be.name === 'plain64') got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThan(1e-15));
    });
  });

  describe('binary', () => {
    it('adds a row vector to every row (broadcast with stride 0)', () => {
      // [[1, 2, 3], [4, 5, 6]] + [10, 20, 30]
      expect(run(be, [[1, 2, 3, 4, 5, 6], [10, 20, 30]], (a, b) => be.binary('add', a, b, [2, 3], [3, 1], [0, 1]), 6))
        .toEqual([11, 22, 33, 14, 25, 36]);
    });

    it('adds a column vector to every column', () => {
      // [[1, 2, 3], [4, 5, 6]] − [[1], [2]]
      expect(run(be, [[1, 2, 3, 4, 5, 6], [1, 2]], (a, b) => be.binary('sub', a, b, [2, 3], [3, 1], [1, 0]), 6))
        .toEqual([0, 1, 2, 2, 3, 4]);
    });

    it('takes the same-shape and the scalar fast paths', () => {
      expect(run(be, [[1, 2, 3, 4], [4, 3, 2, 1]], (a, b) => be.binary('mul', a, b, [2, 2], [2, 1], [2, 1]), 4)).toEqual([4, 6, 6, 4]);
      expectClose(run(be, [[2], [1, 2, 3, 4]], (a, b) => be.binary('div', a, b, [2, 2], [0, 0], [2, 1]), 4), [2, 1, 2 / 3, 0.5]);
      expect(run(be, [[1, 2, 3], [2]], (a, b) => be.binary('pow', a, b, [3], [1], [0]), 3)).toEqual([1, 4, 9]);
      expect(run(be, [[3], [4]], (a, b) => be.binary('maximum', a, b, [], [], []), 1)).toEqual([4]);
    });

    it('combines a transposed view with a broadcast (outer product layout)', () => {
      // a = [[1, 2], [3, 4]] read transposed, b = [10, 100] along rows → [[1+10, 3+10], [2+100, 4+100]]
      expect(run(be, [[1, 2, 3, 4], [10, 100]], (a, b) => be.binary('add', a, b, [2, 2], [1, 2], [1, 0]), 4))
        .toEqual([11, 13, 102, 104]);
    });

    it('comparisons give 0/1 masks', () => {
      const a = [1, 2, 3];
      const b = [2, 2, 2];
      const cmp = (op: Parameters<Backend['binary']>[0]): number[] => run(be, [a, b], (x, y) => be.binary(op, x, y, [3], [1], [1]), 3);
      expect(cmp('greater')).toEqual([0, 0, 1]);
      expect(cmp('greaterEqual')).toEqual([0, 1, 1]);
      expect(cmp('less')).toEqual([1, 0, 0]);
      expect(cmp('lessEqual')).toEqual([1, 1, 0]);
      expect(cmp('equal')).toEqual([0, 1, 0]);
      expect(cmp('notEqual')).toEqual([1, 0, 1]);
      expect(cmp('minimum')).toEqual([1, 2, 2]);
    });

    it('rejects strides that reach outside an operand', () => {
      const a = be.write(new Float32Array(3));
      expect(() => be.binary('add', a, a, [2, 3], [3, 1], [3, 1])).toThrow(RangeError);
      be.dispose(a);
    });
  });

  it('where picks a where cond is non-zero', () => {
    expect(run(be, [[1, 0, -2, 0], [1, 2, 3, 4], [5, 6, 7, 8]], (c, a, b) => be.where(c, a, b, 4), 4)).toEqual([1, 6, 3, 8]);
  });

  it('reduceLast sums and maxes each row', () => {
    const x = [1, 5, -2, 3, 0, 4];
    expect(run(be, [x], (h) => be.reduceLast('sum', h, 2, 3), 2)).toEqual([4, 7]);
    expect(run(be, [x], (h) => be.reduceLast('max', h, 2, 3), 2)).toEqual([5, 4]);
    expect(run(be, [[]], (h) => be.reduceLast('max', h, 2, 0), 2)).toEqual([-Infinity, -Infinity]);
  });

  describe('matmul', () => {
    const spec = (m: number, k: number, n: number, extra: Partial<MatmulSpec> = {}): MatmulSpec => ({
      batch: 1, m, k, n, transA: false, transB: false, strideA: m * k, strideB: k * n, ...extra,
    });
    // [[1, 2, 3], [4, 5, 6]] · [[7, 8], [9, 10], [11, 12]] = [[1·7+2·9+3·11, 1·8+2·10+3·12], [4·7+5·9+6·11, 4·8+5·10+6·12]]
    const A = [1, 2, 3, 4, 5, 6];
    const B = [7, 8, 9, 10, 11, 12];
    const C = [58, 64, 139, 154];
    const At = [1, 4, 2, 5, 3, 6]; // A stored as [k, m]
    const Bt = [7, 9, 11, 8, 10, 12]; // B stored as [n, k]

    it('multiplies a 2×3 by a 3×2 matrix, in every storage order', () => {
      expect(run(be, [A, B], (a, b) => be.matmul(a, b, spec(2, 3, 2)), 4)).toEqual(C);
      expect(run(be, [At, B], (a, b) => be.matmul(a, b, spec(2, 3, 2, { transA: true })), 4)).toEqual(C);
      expect(run(be, [A, Bt], (a, b) => be.matmul(a, b, spec(2, 3, 2, { transB: true })), 4)).toEqual(C);
      expect(run(be, [At, Bt], (a, b) => be.matmul(a, b, spec(2, 3, 2, { transA: true, transB: true })), 4)).toEqual(C);
    });

    it('broadcasts a shared operand over the batch (stride 0)', () => {
      // batch 2: A·B and (2A)·B with B shared
      const A2 = [...A, ...A.map((v) => 2 * v)];
      expect(run(be, [A2, B], (a, b) => be.matmul(a, b, spec(2, 3, 2, { batch: 2, strideB: 0 })), 8))
        .toEqual([...C, ...C.map((v) => 2 * v)]);
      // batch 2: A·B and A·(−B) with A shared
      const B2 = [...B, ...B.map((v) => -v)];
      expect(run(be, [A, B2], (a, b) => be.matmul(a, b, spec(2, 3, 2, { batch: 2, strideA: 0 })), 8))
        .toEqual([...C, ...C.map((v) => -v)]);
    });

    it('handles k = 0 and empty outputs', () => {
      expect(run(be, [[], []], (a, b) => be.matmul(a, b, spec(2, 0, 2)), 4)).toEqual([0, 0, 0, 0]);
      expect(run(be, [[], [1, 2]], (a, b) => be.matmul(a, b, spec(0, 1, 2)), 0)).toEqual([]);
    });

    // Sizes that reach the packed path with partial tiles, several row and column blocks (a long k
    // leaves room for only a few panels per block), a shared B repacked per batch, and k past the
    // packing scratch (which falls back to the direct loop).
    it.each([
      [1, 37, 70, 29, false, false, false],
      [2, 33, 2000, 70, true, false, true],
      [3, 40, 2000, 45, false, true, false],
      [1, 9, 9000, 6, true, true, false],
      [2, 5, 17000, 6, false, false, true],
    ])('agrees with a naive product: batch %i, %i×%i×%i, transA %s, transB %s, shared B %s', (batch, m, k, n, transA, transB, sharedB) => {
      const s = spec(m, k, n, { batch, transA, transB, strideB: sharedB ? 0 : k * n });
      // small integers: every partial sum is exact in float32, so the results must match exactly
      const av = Array.from({ length: batch * m * k }, (_, i) => ((i * 7) % 5) - 2);
      const bv = Array.from({ length: (sharedB ? 1 : batch) * k * n }, (_, i) => ((i * 3) % 7) - 3);
      const want: number[] = [];
      for (let bi = 0; bi < batch; bi++) {
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let sum = 0;
            for (let p = 0; p < k; p++) {
              sum += av[bi * m * k + (transA ? p * m + i : i * k + p)] * bv[bi * s.strideB + (transB ? j * k + p : p * n + j)];
            }
            want.push(sum);
          }
        }
      }
      expect(run(be, [av, bv], (a, b) => be.matmul(a, b, s), batch * m * n)).toEqual(want);
    });
  });

  describe('strided', () => {
    it('permutes: the transpose of a 2×3 matrix', () => {
      // x = [[1, 2, 3], [4, 5, 6]]; xᵀ[i, j] = x[j, i] at j·3 + i: strides [1, 3]
      expect(run(be, [[1, 2, 3, 4, 5, 6]], (x) => be.strided(x, [3, 2], [1, 3], 0), 6)).toEqual([1, 4, 2, 5, 3, 6]);
    });

    it('slices with an offset and broadcasts with stride 0', () => {
      // x[1:, 1:] of [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
      expect(run(be, [[1, 2, 3, 4, 5, 6, 7, 8, 9]], (x) => be.strided(x, [2, 2], [3, 1], 4), 4)).toEqual([5, 6, 8, 9]);
      // [1, 2] repeated as 3 rows
      expect(run(be, [[1, 2]], (x) => be.strided(x, [3, 2], [0, 1], 0), 6)).toEqual([1, 2, 1, 2, 1, 2]);
    });

    it('moves the channel axis of an NCHW batch last (NHWC)', () => {
      // x [1, 2, 2, 2] = channel 0: 0..3, channel 1: 4..7 → NHWC [1, 2, 2, 2] strides [8, 2, 1, 4]
      expect(run(be, [[0, 1, 2, 3, 4, 5, 6, 7]], (x) => be.strided(x, [1, 2, 2, 2], [8, 2, 1, 4], 0), 8))
        .toEqual([0, 4, 1, 5, 2, 6, 3, 7]);
    });
  });

  it('pad surrounds with a constant', () => {
    // [[1, 2], [3, 4]] with one row before and one column after, value 9
    expect(run(be, [[1, 2, 3, 4]], (x) => be.pad(x, [2, 2], [1, 0], [0, 1], 9), 9)).toEqual([9, 9, 9, 1, 2, 9, 3, 4, 9]);
    expect(run(be, [[5]], (x) => be.pad(x, [], [], [], 0), 1)).toEqual([5]);
    expect(run(be, [[1, 2]], (x) => be.pad(x, [2], [2], [1], 0), 5)).toEqual([0, 0, 1, 2, 0]);
  });

  it('concat places rows side by side', () => {
    // [[1], [2]] ‖ [[3, 4], [5, 6]] ‖ (empty) → [[1, 3, 4], [2, 5, 6]]
    expect(run(be, [[1, 2], [3, 4, 5, 6], []], (a, b, c) => be.concat([a, b, c], 2, [1, 2, 0]), 6)).toEqual([1, 3, 4, 2, 5, 6]);
  });

  it('gather picks rows and scatterAdd sums them back', () => {
    // x = [[1, 2], [3, 4], [5, 6]] (outer 1, axis 3, inner 2); rows [2, 0, 2]
    expect(run(be, [[1, 2, 3, 4, 5, 6], [2, 0, 2]], (x, i) => be.gather(x, i, 1, 3, 2, 3), 6)).toEqual([5, 6, 1, 2, 5, 6]);
    // g = [[1, 1], [2, 2], [3, 3]] into rows [2, 0, 2]: row 0 gets [2, 2], row 1 nothing, row 2 [1+3, 1+3]
    expect(run(be, [[1, 1, 2, 2, 3, 3], [2, 0, 2]], (g, i) => be.scatterAdd(g, i, 1, 3, 2, 3), 6)).toEqual([2, 2, 0, 0, 4, 4]);
    // along the last axis (inner 1) with outer 2: x = [[1, 2, 3], [4, 5, 6]], columns [1, 1]
    expect(run(be, [[1, 2, 3, 4, 5, 6], [1, 1]], (x, i) => be.gather(x, i, 2, 3, 1, 2), 4)).toEqual([2, 2, 5, 5]);
  });

  it('gather rejects an out-of-range or fractional index', () => {
    expect(() => run(be, [[1, 2], [2]], (x, i) => be.gather(x, i, 1, 2, 1, 1), 1)).toThrow(RangeError);
    expect(() => run(be, [[1, 2], [0.5]], (x, i) => be.gather(x, i, 1, 2, 1, 1), 1)).toThrow(RangeError);
  });

  describe('im2col / col2im', () => {
    const conv = (s: Partial<Im2colSpec> & Pick<Im2colSpec, 'h' | 'w' | 'kh' | 'kw'>): Im2colSpec => {
      const full = { n: 1, c: 1, strideH: 1, strideW: 1, padH: 0, padW: 0, ...s };
      return {
        ...full,
        oh: Math.floor((full.h + 2 * full.padH - full.kh) / full.strideH) + 1,
        ow: Math.floor((full.w + 2 * full.padW - full.kw) / full.strideW) + 1,
      };
    };
    // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    const image = [1, 2, 3, 4, 5, 6, 7, 8, 9];

    it('extracts the four 2×2 patches of a 3×3 image', () => {
      // rows (ki, kj) = (0,0), (0,1), (1,0), (1,1); columns = patch positions (0,0), (0,1), (1,0), (1,1)
      expect(run(be, [image], (x) => be.im2col(x, conv({ h: 3, w: 3, kh: 2, kw: 2 }), 0), 16)).toEqual([
        1, 2, 4, 5,
        2, 3, 5, 6,
        4, 5, 7, 8,
        5, 6, 8, 9,
      ]);
    });

    it('reads padValue outside the image and honours the stride', () => {
      // 3×3 kernel, pad 1, stride 2 → 2×2 outputs centred on (0,0), (0,2), (2,0), (2,2); row (ki,kj) = (0,0)
      // reads the pixel up-left of each centre: all outside except the one at (1,1) for centre (2,2).
      const cols = run(be, [image], (x) => be.im2col(x, conv({ h: 3, w: 3, kh: 3, kw: 3, padH: 1, padW: 1, strideH: 2, strideW: 2 }), -1), 36);
      expect(cols.slice(0, 4)).toEqual([-1, -1, -1, 5]);
      // the centre row (ki,kj) = (1,1) reads the centres themselves
      expect(cols.slice(16, 20)).toEqual([1, 3, 7, 9]);
    });

    it('col2im sums overlapping patches back (the adjoint)', () => {
      // All-ones columns: each pixel receives one per patch that covers it.
      const counts = run(be, [new Array(16).fill(1)], (c) => be.col2im(c, conv({ h: 3, w: 3, kh: 2, kw: 2 })), 9);
      expect(counts).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
      // <im2col(x), c> = <x, col2im(c)> for the image above and c = 0..15
      const c = Array.from({ length: 16 }, (_, i) => i);
      const s = conv({ h: 3, w: 3, kh: 2, kw: 2 });
      const cols = run(be, [image], (x) => be.im2col(x, s, 0), 16);
      const back = run(be, [c], (h) => be.col2im(h, s), 9);
      const dot = (u: readonly number[], v: readonly number[]): number => u.reduce((acc, x, i) => acc + x * v[i], 0);
      expect(dot(cols, c)).toBe(dot(image, back));
    });

    it('handles several images and channels', () => {
      // n = 2, c = 2, 2×2 images, 1×1 kernel: im2col is the identity layout
      const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
      const s = conv({ n: 2, c: 2, h: 2, w: 2, kh: 1, kw: 1 });
      expect(run(be, [x], (h) => be.im2col(h, s, 0), 16)).toEqual(x);
      expect(run(be, [x], (h) => be.col2im(h, s), 16)).toEqual(x);
    });
  });

  it('leaves no buffers behind after the examples', () => {
    expect(be.liveBuffers()).toBe(0);
  });
});
