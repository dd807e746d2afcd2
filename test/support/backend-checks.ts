/**
 * Hand-checked examples of every Backend kernel, registered as `it(...)` cases for any backend
 * factory. Where a case is too big to check by hand, the expectation is a straightforward JS loop
 * over the same float32 inputs. Every case disposes what it made: `afterEach` asserts that
 * `liveBuffers()` is back where it started, so the accounting is tested throughout.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  binaryOps, unaryOps, type Backend, type BinaryOp, type Handle, type Im2colSpec, type MatmulSpec, type UnaryOp,
} from '../../src/tensor/backend.ts';

export interface CheckOptions {
  /** Relative tolerance (absolute below magnitude 1): 1e-5 on CPU modes, 1e-4 on GL. */
  readonly rtol: number;
  /** Called once after the last case, e.g. to release a GL context. */
  readonly release?: (b: Backend) => void;
}

export const expectClose = (got: ArrayLike<number>, want: ArrayLike<number>, rtol: number): void => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], want[i]];
    const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w
      : Math.abs(g - w) <= rtol * Math.max(1, Math.abs(w));
    if (!ok) expect.fail(`element ${i}: got ${g}, want ${w} (rtol ${rtol})\n got  ${Array.from(got)}\n want ${Array.from(want)}`);
  }
};

/** Deterministic float32 test data in [-2, 2). */
export const sample = (n: number, seed = 1): Float32Array => {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 4 - 2;
  });
};

const rowMajor = (shape: readonly number[]): number[] =>
  shape.map((_, d) => shape.slice(d + 1).reduce((p, n) => p * n, 1));

/** out[i] = x[offset + Σ idx_d·strides_d], the definition of `strided`. */
export const refStrided = (x: ArrayLike<number>, shape: readonly number[], strides: readonly number[],
  offset = 0): number[] => {
  const size = shape.reduce((p, n) => p * n, 1);
  const st = rowMajor(shape);
  return Array.from({ length: size }, (_, i) =>
    x[offset + shape.reduce((acc, n, d) => acc + (Math.floor(i / st[d]) % n) * strides[d], 0)]);
};

const binaryRef: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b,
  pow: (a, b) => a ** b, maximum: Math.max, minimum: Math.min,
  greater: (a, b) => +(a > b), greaterEqual: (a, b) => +(a >= b), less: (a, b) => +(a < b),
  lessEqual: (a, b) => +(a <= b), equal: (a, b) => +(a === b), notEqual: (a, b) => +(a !== b),
};

/** erf to 10 digits (Abramowitz & Stegun tables), for the points the unary check uses. */
const erfTable: Record<number, number> = {
  [-2.5]: -0.9995930480, [-1]: -0.8427007929, [-0.25]: -0.2763263902, [0]: 0, [0.0001]: 0.0001128379167,
  [0.5]: 0.5204998778, [1.25]: 0.9229001283, [3]: 0.9999779095,
};

const unaryRef: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x, exp: Math.exp, log: Math.log, sqrt: Math.sqrt, rsqrt: (x) => 1 / Math.sqrt(x),
  square: (x) => x * x, abs: Math.abs, sign: Math.sign, sin: Math.sin, cos: Math.cos, tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)), relu: (x) => Math.max(x, 0), reciprocal: (x) => 1 / x,
  erf: (x) => erfTable[x],
};

export const refMatmul = (a: ArrayLike<number>, b: ArrayLike<number>, s: MatmulSpec): number[] => {
  const out: number[] = [];
  for (let t = 0; t < s.batch; t++) {
    for (let i = 0; i < s.m; i++) {
      for (let j = 0; j < s.n; j++) {
        let acc = 0;
        for (let p = 0; p < s.k; p++) {
          acc += a[t * s.strideA + (s.transA ? p * s.m + i : i * s.k + p)]
            * b[t * s.strideB + (s.transB ? j * s.k + p : p * s.n + j)];
        }
        out.push(acc);
      }
    }
  }
  return out;
};

/** Calls visit(colIndex, imageIndex | -1) for every im2col entry, in output order. */
const im2colWalk = (s: Im2colSpec, visit: (col: number, src: number) => void): void => {
  let col = 0;
  for (let n = 0; n < s.n; n++) for (let c = 0; c < s.c; c++) for (let ki = 0; ki < s.kh; ki++) {
    for (let kj = 0; kj < s.kw; kj++) for (let oy = 0; oy < s.oh; oy++) for (let ox = 0; ox < s.ow; ox++) {
      const y = oy * s.strideH - s.padH + ki, x = ox * s.strideW - s.padW + kj;
      const inside = y >= 0 && y < s.h && x >= 0 && x < s.w;
      visit(col++, inside ? ((n * s.c + c) * s.h + y) * s.w + x : -1);
    }
  }
};

export const refIm2col = (x: ArrayLike<number>, s: Im2colSpec, padValue: number): number[] => {
  const out: number[] = [];
  im2colWalk(s, (_, src) => out.push(src < 0 ? padValue : x[src]));
  return out;
};

export const refCol2im = (cols: ArrayLike<number>, s: Im2colSpec): number[] => {
  const out = new Array<number>(s.n * s.c * s.h * s.w).fill(0);
  im2colWalk(s, (col, src) => { if (src >= 0) out[src] += cols[col]; });
  return out;
};

export function registerBackendChecks(factory: () => Backend, opts: CheckOptions): void {
  const { rtol } = opts;
  let b: Backend;
  let start = 0;
  let kept: Handle[] = [];
  beforeAll(() => { b = factory(); start = b.liveBuffers(); });
  afterAll(() => { if (b) opts.release?.(b); });
  afterEach(() => {
    kept.forEach((h) => b.dispose(h));
    kept = [];
    expect(b.liveBuffers()).toBe(start);
  });

  /** Handles made through these helpers are disposed after each case. */
  const keep = (h: Handle): Handle => { kept.push(h); return h; };
  const put = (xs: ArrayLike<number>): Handle => keep(b.write(Float32Array.from(xs)));
  const val = (h: Handle, n: number): number[] => Array.from(b.read(keep(h), n));

  it('write copies its input and read returns fresh copies, also of a prefix', () => {
    const src = Float64Array.of(1.5, -2, 3.25);
    const h = keep(b.write(src));
    src[0] = 99;
    const first = b.read(h, 3);
    expect(Array.from(first)).toEqual([1.5, -2, 3.25]);
    first[1] = 42;
    expect(Array.from(b.read(h, 3))).toEqual([1.5, -2, 3.25]);
    expect(Array.from(b.read(h, 2))).toEqual([1.5, -2]);
  });

  it('liveBuffers counts writes and kernel outputs; dispose releases them', () => {
    const x = b.write(Float32Array.of(1, 2));
    const y = b.unary('neg', x, 2);
    const z = b.binary('add', x, y, [2], [1], [1]);
    expect(b.liveBuffers()).toBe(start + 3);
    [x, y, z].forEach((h) => b.dispose(h));
    expect(b.liveBuffers()).toBe(start);
  });

  it('outputs of one kernel stay independent, also when fed back into it or disposed', () => {
    const [x1, x2] = [put([1, 2]), put([3, 4])];
    const y1 = keep(b.unary('neg', x1, 2));
    const y2 = keep(b.unary('neg', x2, 2));
    const y3 = keep(b.unary('neg', y1, 2));
    b.dispose(b.unary('neg', y3, 2));
    const y4 = keep(b.unary('neg', x1, 2));
    expect([y1, y2, y3, y4].map((h) => Array.from(b.read(h, 2)))).toEqual([[-1, -2], [-3, -4], [1, 2], [-1, -2]]);
  });

  it('empty buffers and empty reductions', () => {
    expect(val(b.unary('exp', put([]), 0), 0)).toEqual([]);
    const x = put([1, 2]);
    expect(val(b.reduceLast('sum', x, 2, 0), 2)).toEqual([0, 0]);
    expect(val(b.reduceLast('max', x, 2, 0), 2)).toEqual([-Infinity, -Infinity]);
    const mm = { batch: 1, m: 1, k: 0, n: 2, transA: false, transB: false, strideA: 0, strideB: 0 };
    expect(val(b.matmul(put([]), put([]), mm), 2)).toEqual([0, 0]);
    expect(val(b.pad(put([]), [0, 2], [1, 0], [0, 0], 7), 2)).toEqual([7, 7]);
    expect(val(b.concat([x, put([]), x], 1, [2, 0, 2]), 4)).toEqual([1, 2, 1, 2]);
  });

  it('unary ops at sample points, against Math (erf against tables)', () => {
    const xs = [-2.5, -1, -0.25, 0, 0.0001, 0.5, 1.25, 3];
    const pos = [0.0001, 0.25, 1, 2.5, 7, 100];
    for (const op of unaryOps) {
      const pts = op === 'log' || op === 'sqrt' || op === 'rsqrt' ? pos : xs;
      const f32 = Float32Array.from(pts);
      const got = val(b.unary(op, put(f32), pts.length), pts.length);
      const want = op === 'erf' ? pts.map(unaryRef.erf) : Array.from(f32, unaryRef[op]);
      expectClose(got, want, rtol);
    }
  });

  it('tanh, erf and sigmoid are accurate in the tails and near zero (relatively)', () => {
    const xs = Float32Array.of(-60, -20, 60, 1e-4, -3e-3, 0.2, 0.26);
    const t = val(b.unary('tanh', put(xs), 7), 7);
    expect(t.slice(0, 3)).toEqual([-1, -1, 1]);
    xs.slice(3).forEach((x, i) => expect(Math.abs(t[i + 3] / Math.tanh(x) - 1)).toBeLessThan(rtol));
    const e = val(b.unary('erf', put([-8, 8, 1e-3]), 3), 3);
    expect(e.slice(0, 2)).toEqual([-1, 1]);
    expect(Math.abs(e[2] / 0.001128379163 - 1)).toBeLessThan(rtol);
    expect(val(b.unary('sigmoid', put([-200, 200]), 2), 2)).toEqual([0, 1]);
  });

  it('binary ops broadcast a row over a matrix', () => {
    const a = put([1, 2, 3, 4, 5, 6]);
    const row = put([3, 2, 1]);
    expect(val(b.binary('add', a, row, [2, 3], [3, 1], [0, 1]), 6)).toEqual([4, 4, 4, 7, 7, 7]);
    expect(val(b.binary('greaterEqual', a, row, [2, 3], [3, 1], [0, 1]), 6)).toEqual([0, 1, 1, 1, 1, 1]);
    expect(val(b.binary('equal', a, row, [2, 3], [3, 1], [0, 1]), 6)).toEqual([0, 1, 0, 0, 0, 0]);
    const [av, bv] = [[1, 2, 3, 4, 5, 6], [3, 2, 1]];
    for (const op of binaryOps) {
      const want = av.map((x, i) => binaryRef[op](x, bv[i % 3]));
      expectClose(val(b.binary(op, a, row, [2, 3], [3, 1], [0, 1]), 6), want, rtol);
    }
  });

  it('pow of negative bases follows JS for integer exponents; x^0 = 1', () => {
    const got = val(b.binary('pow', put([-2, -2, 0, 2, -8, -3]), put([3, 2, 0, 0.5, 1, 0]), [6], [1], [1]), 6);
    expectClose(got, [-8, 4, 1, Math.SQRT2, -8, 1], rtol);
  });

  it('binary over rank 6 with broadcast and permuted strides', () => {
    const shape = [2, 3, 1, 2, 4, 2];
    const xa = sample(96, 3), xb = sample(8, 4);
    // a is a [2,4,2,3,2] buffer read permuted; b broadcasts over dims 0, 1 and 3.
    const aStrides = [48, 2, 0, 1, 6, 24], bStrides = [0, 0, 0, 0, 2, 1];
    for (const op of ['sub', 'maximum', 'less'] as const) {
      const ra = refStrided(xa, shape, aStrides), rb = refStrided(xb, shape, bStrides);
      const got = val(b.binary(op, put(xa), put(xb), shape, aStrides, bStrides), 96);
      expectClose(got, ra.map((x, i) => binaryRef[op](x, rb[i])), rtol);
    }
  });

  it('where picks a where the mask is non-zero', () => {
    const got = val(b.where(put([1, 0, 2, 0]), put([1, 2, 3, 4]), put([-1, -2, -3, -4]), 4), 4);
    expect(got).toEqual([1, -2, 3, -4]);
  });

  it('reduceLast sums and maxes the rows', () => {
    const x = put([1, 5, -2, 0, -7, -3]);
    expect(val(b.reduceLast('sum', x, 2, 3), 2)).toEqual([4, -10]);
    expect(val(b.reduceLast('max', x, 2, 3), 2)).toEqual([5, 0]);
    expect(val(b.reduceLast('sum', x, 1, 6), 1)).toEqual([-6]);
  });

  it('reduceLast loops far past 1000 iterations (inner = 3000)', () => {
    const inner = 3000;
    const xs = Float32Array.from({ length: 2 * inner }, (_, i) => (i < inner ? i % 7 : -1));
    xs[inner + 2500] = 9;
    const rowSum = Array.from(xs.subarray(0, inner)).reduce((s, v) => s + v, 0);
    expect(val(b.reduceLast('sum', put(xs), 2, inner), 2)).toEqual([rowSum, -(inner - 1) + 9]);
    expect(val(b.reduceLast('max', put(xs), 2, inner), 2)).toEqual([6, 9]);
  });

  it('matmul: plain, transposed operands, batched with a shared A', () => {
    const spec = (o: Partial<MatmulSpec>): MatmulSpec => ({
      batch: 1, m: 2, k: 3, n: 2, transA: false, transB: false, strideA: 6, strideB: 6, ...o,
    });
    const a = put([1, 2, 3, 4, 5, 6]); // [[1,2,3],[4,5,6]]
    const bm = put([1, 0, 0, 1, 1, 1]); // [[1,0],[0,1],[1,1]]
    expect(val(b.matmul(a, bm, spec({})), 4)).toEqual([4, 5, 10, 11]);
    const aT = put([1, 4, 2, 5, 3, 6]); // A stored [k, m]
    const bT = put([1, 0, 1, 0, 1, 1]); // B stored [n, k]
    expect(val(b.matmul(aT, bT, spec({ transA: true, transB: true })), 4)).toEqual([4, 5, 10, 11]);
    const bs = put([1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0]);
    expect(val(b.matmul(a, bs, spec({ batch: 2, strideA: 0 })), 8)).toEqual([4, 5, 10, 11, 2, 1, 5, 4]);
  });

  it('matmul with k = 1500 and every transpose/broadcast combination', () => {
    for (const [transA, transB, strideA] of [[false, false, 1500 * 3], [true, false, 0], [false, true, 0], [true, true, 4500]] as const) {
      const s: MatmulSpec = { batch: 2, m: 3, k: 1500, n: 2, transA, transB, strideA, strideB: 3000 };
      const xa = sample(9000, 5).map((v) => Math.round(v * 4) / 4), xb = sample(6000, 6).map((v) => Math.round(v * 4) / 4);
      expectClose(val(b.matmul(put(xa), put(xb), s), 12), refMatmul(xa, xb, s), rtol);
    }
  });

  it('strided: transpose, broadcast and slice', () => {
    const x = put([1, 2, 3, 4, 5, 6]);
    expect(val(b.strided(x, [3, 2], [1, 3], 0), 6)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(val(b.strided(x, [2, 3], [0, 1], 3), 6)).toEqual([4, 5, 6, 4, 5, 6]);
    expect(val(b.strided(x, [2, 1], [3, 1], 2), 2)).toEqual([3, 6]);
    expect(val(b.strided(x, [], [], 4), 1)).toEqual([5]);
  });

  it('strided: a rank-6 permutation with an offset', () => {
    const xs = sample(400, 7);
    const shape = [2, 3, 2, 2, 3, 2], strides = [1, 120, 60, 2, 20, 4];
    expect(val(b.strided(put(xs), shape, strides, 5), 144)).toEqual(refStrided(xs, shape, strides, 5));
  });

  it('pad adds constant borders, -Infinity included', () => {
    const x = put([1, 2, 3, 4]);
    expect(val(b.pad(x, [2, 2], [1, 0], [0, 1], 0), 9)).toEqual([0, 0, 0, 1, 2, 0, 3, 4, 0]);
    const m = -Infinity;
    expect(val(b.pad(x, [4], [2], [1], m), 7)).toEqual([m, m, 1, 2, 3, 4, m]);
    const xs = sample(24, 8);
    const got = val(b.pad(put(xs), [2, 3, 4], [0, 1, 2], [1, 0, 1], -1), 3 * 4 * 7);
    const want = Array.from({ length: 84 }, (_, i) => {
      const [d0, d1, d2] = [Math.floor(i / 28), Math.floor(i / 7) % 4 - 1, (i % 7) - 2];
      return d0 < 2 && d1 >= 0 && d2 >= 0 && d2 < 4 ? xs[(d0 * 3 + d1) * 4 + d2] : -1;
    });
    expect(got).toEqual(want);
  });

  it('concat puts rows side by side', () => {
    const got = val(b.concat([put([1, 2, 3, 4]), put([5, 6]), put([7, 8, 9, 10])], 2, [2, 1, 2]), 10);
    expect(got).toEqual([1, 2, 5, 7, 8, 3, 4, 6, 9, 10]);
  });

  it('concat of 11 inputs (more than one kernel takes) leaves only its output alive', () => {
    const inners = [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2];
    const parts = inners.map((w, j) => sample(3 * w, 10 + j));
    const want: number[] = [];
    for (let o = 0; o < 3; o++) parts.forEach((p, j) => want.push(...p.subarray(o * inners[j], (o + 1) * inners[j])));
    const hs = parts.map(put);
    const before = b.liveBuffers();
    const out = b.concat(hs, 3, inners);
    expect(b.liveBuffers()).toBe(before + 1);
    expect(val(out, want.length)).toEqual(want);
  });

  it('gather picks slices; scatterAdd sums them back, repeated indices adding up', () => {
    const x = put([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // [2, 3, 2]
    const idx = put([2, 0, 2]);
    expect(val(b.gather(x, idx, 2, 3, 2, 3), 12)).toEqual([5, 6, 1, 2, 5, 6, 11, 12, 7, 8, 11, 12]);
    const g = put([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // [2, 3 indices, 2]
    expect(val(b.scatterAdd(g, idx, 2, 3, 2, 3), 12)).toEqual([3, 4, 0, 0, 6, 8, 9, 10, 0, 0, 18, 20]);
    expect(val(b.gather(x, put([1]), 1, 6, 2, 1), 2)).toEqual([3, 4]);
  });

  it('scatterAdd loops past 1000 indices', () => {
    const idx = Float32Array.from({ length: 2400 }, (_, j) => j % 3);
    expect(val(b.scatterAdd(put(new Float32Array(2400).fill(1)), put(idx), 1, 2400, 1, 4), 4)).toEqual([800, 800, 800, 0]);
  });

  it('im2col lays patches out as columns; col2im adds overlaps back', () => {
    const spec: Im2colSpec = { n: 1, c: 1, h: 2, w: 3, kh: 2, kw: 2, strideH: 1, strideW: 1, padH: 0, padW: 0, oh: 1, ow: 2 };
    const cols = b.im2col(put([1, 2, 3, 4, 5, 6]), spec, 0);
    expect(val(cols, 8)).toEqual([1, 2, 2, 3, 4, 5, 5, 6]);
    expect(val(b.col2im(cols, spec), 6)).toEqual([1, 4, 3, 4, 10, 6]);
    const padded: Im2colSpec = { ...spec, h: 2, w: 2, kh: 2, kw: 2, strideH: 2, strideW: 2, padH: 1, padW: 1, oh: 2, ow: 2 };
    const pc = b.im2col(put([1, 2, 3, 4]), padded, -Infinity);
    const m = -Infinity;
    expect(val(pc, 16)).toEqual([m, m, m, 4, m, m, 3, m, m, 2, m, m, 1, m, m, m]);
  });

  it('im2col and col2im with strides, padding and channels, and their adjointness', () => {
    const s: Im2colSpec = { n: 2, c: 2, h: 5, w: 4, kh: 3, kw: 2, strideH: 2, strideW: 1, padH: 1, padW: 1, oh: 3, ow: 5 };
    const xs = sample(80, 20), ys = sample(2 * 2 * 6 * 15, 21);
    const cols = val(b.im2col(put(xs), s, 0.5), ys.length);
    expectClose(cols, refIm2col(xs, s, 0.5), rtol);
    const img = val(b.col2im(put(ys), s), 80);
    expectClose(img, refCol2im(ys, s), rtol);
    const zeroPad = val(b.im2col(put(xs), s, 0), ys.length);
    const lhs = zeroPad.reduce((acc, v, i) => acc + v * ys[i], 0), rhs = img.reduce((acc, v, i) => acc + v * xs[i], 0);
    expect(Math.abs(lhs - rhs)).toBeLessThan(rtol * 100);
  });

  it('500 binary ops, each output disposed, return liveBuffers to where they were', () => {
    const x = put(sample(64, 30)), y = put(sample(64, 31));
    const before = b.liveBuffers();
    for (let i = 0; i < 500; i++) b.dispose(b.binary(binaryOps[i % binaryOps.length], x, y, [64], [1], [1]));
    expect(b.liveBuffers()).toBe(before);
  });
}
