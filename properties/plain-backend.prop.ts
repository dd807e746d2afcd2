/**
 * The plain backend against deliberately naive references: every kernel recomputed here from its
 * doc comment in backend.ts, one element at a time with explicit multi-indices, in doubles. Inputs
 * are read back from the backend first, so float32 rounding of the inputs is shared; the outputs
 * then differ only by the final rounding (and summation order, for the reductions).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Backend, FloatArray, Handle, Im2colSpec, MatmulSpec } from '../src/tensor/backend.ts';
import { binaryOps, unaryOps } from '../src/tensor/backend.ts';
import { createPlainBackend } from '../src/tensor/plain/index.ts';

// ---------------------------------------------------------------------------------------------
// Naive references

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The multi-index of flat index i in a row-major shape. */
const unravel = (i: number, shape: readonly number[]): number[] => {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
};

const dotIdx = (idx: readonly number[], strides: readonly number[]): number =>
  idx.reduce((s, v, d) => s + v * strides[d], 0);

const dot = (u: ArrayLike<number>, v: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < u.length; i++) s += u[i] * v[i];
  return s;
};

const contiguous = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length);
  for (let d = shape.length - 1, acc = 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
};

/** erf(x) = (2/√π)·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)): all terms positive, so no cancellation. */
const naiveErf = (x: number): number => {
  // Past 6, erfc < 2e-17: erf is ±1 in double, and the series below would overflow.
  if (!(Math.abs(x) < 6)) return Number.isNaN(x) ? NaN : Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 400 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return Math.max(-1, Math.min(1, (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum));
};

const unaryRef: Record<(typeof unaryOps)[number], (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  square: (x) => x * x,
  abs: Math.abs,
  sign: Math.sign,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  // biome-ignore lint/complexity/useMathMinMax: the reference's own rule for NaN and −0, not Math.max's
  relu: (x) => (x > 0 ? x : 0),
  erf: naiveErf,
  reciprocal: (x) => 1 / x,
};

const binaryRef: Record<(typeof binaryOps)[number], (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: Math.max,
  minimum: Math.min,
  greater: (a, b) => (a > b ? 1 : 0),
  greaterEqual: (a, b) => (a >= b ? 1 : 0),
  less: (a, b) => (a < b ? 1 : 0),
  lessEqual: (a, b) => (a <= b ? 1 : 0),
  equal: (a, b) => (a === b ? 1 : 0),
  notEqual: (a, b) => (a !== b ? 1 : 0),
};

const stridedRef = (x: FloatArray, shape: readonly number[], strides: readonly number[],
  offset: number): number[] =>
  Array.from({ length: sizeOf(shape) }, (_, i) => x[offset + dotIdx(unravel(i, shape), strides)]);

const matmulRef = (a: FloatArray, b: FloatArray, s: MatmulSpec): number[] => {
  const out: number[] = [];
  for (let bi = 0; bi < s.batch; bi++) {
    for (let i = 0; i < s.m; i++) {
      for (let j = 0; j < s.n; j++) {
        let sum = 0;
        for (let p = 0; p < s.k; p++) {
          const av = a[bi * s.strideA + (s.transA ? p * s.m + i : i * s.k + p)];
          const bv = b[bi * s.strideB + (s.transB ? j * s.k + p : p * s.n + j)];
          sum += av * bv;
        }
        out.push(sum);
      }
    }
  }
  return out;
};

const padRef = (x: FloatArray, shape: readonly number[], before: readonly number[],
  after: readonly number[], value: number): number[] => {
  const outShape = shape.map((d, i) => d + before[i] + after[i]);
  return Array.from({ length: sizeOf(outShape) }, (_, i) => {
    const idx = unravel(i, outShape).map((v, d) => v - before[d]);
    return idx.every((v, d) => v >= 0 && v < shape[d]) ? x[dotIdx(idx, contiguous(shape))] : value;
  });
};

const concatRef = (xs: readonly FloatArray[], outer: number, inners: readonly number[]): number[] => {
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    xs.forEach((x, j) => {
      for (let i = 0; i < inners[j]; i++) out.push(x[o * inners[j] + i]);
    });
  }
  return out;
};

const gatherRef = (x: FloatArray, idx: readonly number[], outer: number, axis: number,
  inner: number): number[] => {
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const r of idx) for (let i = 0; i < inner; i++) out.push(x[(o * axis + r) * inner + i]);
  }
  return out;
};

const scatterAddRef = (g: FloatArray, idx: readonly number[], outer: number, inner: number,
  axis: number): number[] => {
  const out = new Array<number>(outer * axis * inner).fill(0);
  for (let o = 0; o < outer; o++) {
    idx.forEach((r, j) => {
      for (let i = 0; i < inner; i++) out[(o * axis + r) * inner + i] += g[(o * idx.length + j) * inner + i];
    });
  }
  return out;
};

/** Each patch entry read straight from the definition: pixel (oy·sh − ph + ki, ox·sw − pw + kj). */
const im2colRef = (x: FloatArray, s: Im2colSpec, padValue: number): number[] => {
  const out: number[] = [];
  for (let ni = 0; ni < s.n; ni++) {
    for (let ci = 0; ci < s.c; ci++) {
      for (let ki = 0; ki < s.kh; ki++) {
        for (let kj = 0; kj < s.kw; kj++) {
          for (let oy = 0; oy < s.oh; oy++) {
            for (let ox = 0; ox < s.ow; ox++) {
              const iy = oy * s.strideH - s.padH + ki;
              const ix = ox * s.strideW - s.padW + kj;
              const inside = iy >= 0 && iy < s.h && ix >= 0 && ix < s.w;
              out.push(inside ? x[((ni * s.c + ci) * s.h + iy) * s.w + ix] : padValue);
            }
          }
        }
      }
    }
  }
  return out;
};

const col2imRef = (cols: FloatArray, s: Im2colSpec): number[] => {
  const out = new Array<number>(s.n * s.c * s.h * s.w).fill(0);
  let p = 0;
  for (let ni = 0; ni < s.n; ni++) {
    for (let ci = 0; ci < s.c; ci++) {
      for (let ki = 0; ki < s.kh; ki++) {
        for (let kj = 0; kj < s.kw; kj++) {
          for (let oy = 0; oy < s.oh; oy++) {
            for (let ox = 0; ox < s.ow; ox++, p++) {
              const iy = oy * s.strideH - s.padH + ki;
              const ix = ox * s.strideW - s.padW + kj;
              if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) out[((ni * s.c + ci) * s.h + iy) * s.w + ix] += cols[p];
            }
          }
        }
      }
    }
  }
  return out;
};

// ---------------------------------------------------------------------------------------------
// Arbitraries

const shapeArb = (maxRank = 4, maxDim = 4): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: 0, maxLength: maxRank });

const values = (n: number, lo = -3, hi = 3): fc.Arbitrary<number[]> =>
  fc.array(fc.double({ min: lo, max: hi, noNaN: true }), { minLength: n, maxLength: n });

/**
 * An operand broadcast against outShape: some dims stride 0, the rest laid out in memory in a
 * random dimension order. Covers same-shape contiguous (no broadcast, identity order), scalars (all
 * broadcast), permuted views and bias-style broadcasts.
 */
const operandArb = (outShape: readonly number[]): fc.Arbitrary<{ strides: number[]; size: number }> =>
  fc.tuple(
    fc.array(fc.boolean(), { minLength: outShape.length, maxLength: outShape.length }),
    fc.shuffledSubarray([...outShape.keys()], { minLength: outShape.length, maxLength: outShape.length }),
  ).map(([bcast, order]) => {
    const strides = new Array<number>(outShape.length).fill(0);
    let acc = 1;
    for (const d of [...order].reverse()) {
      if (bcast[d]) continue;
      strides[d] = acc;
      acc *= outShape[d];
    }
    return { strides, size: acc };
  });

const precisions = [32, 64] as const;

/** Tolerance for comparing a kernel with its reference at a precision. */
const close = (precision: 32 | 64, got: FloatArray, want: readonly number[], rel?: number): void => {
  const tol = rel ?? (precision === 32 ? 2e-7 : 1e-13);
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    // Rounded to the backend's precision first, so float32 overflow and underflow match.
    const w = precision === 32 ? Math.fround(want[i]) : want[i];
    const g = got[i];
    if (Number.isNaN(w)) {
      expect(g, `element ${i}`).toBeNaN();
    } else if (!Number.isFinite(w)) {
      expect(g, `element ${i}`).toBe(w);
    } else if (Math.abs(g - w) > tol * (1 + Math.abs(w))) {
      expect.fail(`element ${i}: got ${g}, want ${w} (tolerance ${tol})`);
    }
  }
};

/** Runs f on a fresh backend and checks that every buffer it made was disposed. */
const withBackend = (precision: 32 | 64, f: (be: Backend, keep: (h: Handle) => Handle) => void): void => {
  const be = createPlainBackend({ precision });
  const made: Handle[] = [];
  f(be, (h) => {
    made.push(h);
    return h;
  });
  made.forEach((h) => be.dispose(h));
  expect(be.liveBuffers()).toBe(0);
};

const floats = (precision: 32 | 64, xs: readonly number[]): FloatArray =>
  precision === 64 ? Float64Array.from(xs) : Float32Array.from(xs);

const numRuns = 60;

// ---------------------------------------------------------------------------------------------

describe.each(precisions)('plain backend (precision %i) against naive references', (precision) => {
  it('unary: every op', () => {
    const op = fc.constantFrom(...unaryOps);
    const special = fc.constantFrom(0, -0, 1e-9, -1e-9, 0.5, -0.5, 6, -6, 40, -40, 1000, -1000, Infinity, -Infinity);
    const xs = fc.array(fc.oneof(fc.double({ min: -8, max: 8, noNaN: true }), special), { maxLength: 40 });
    fc.assert(fc.property(op, xs, (o, data) => withBackend(precision, (be, keep) => {
      const x = keep(be.write(floats(precision, data)));
      const stored = be.read(x, data.length);
      const got = be.read(keep(be.unary(o, x, data.length)), data.length);
      const want = Array.from(stored, unaryRef[o]);
      // Transcendentals: the naive formulas round differently from Math/erf.ts by a few ulps.
      close(precision, got, want, o === 'erf' || o === 'sigmoid' ? (precision === 32 ? 2e-7 : 1e-14) : undefined);
    })), { numRuns: numRuns * 2 });
  });

  it('binary: every op over random broadcasts and layouts', () => {
    const arb = shapeArb().chain((shape) => fc.record({
      shape: fc.constant(shape),
      op: fc.constantFrom(...binaryOps),
      a: operandArb(shape),
      b: operandArb(shape),
    })).chain((c) => fc.record({
      c: fc.constant(c),
      // small integers make the comparisons hit equality and pow stay finite
      av: values(c.a.size).map((v) => v.map((x) => Math.round(x * 2) / 2)),
      bv: values(c.b.size).map((v) => v.map((x) => Math.round(x * 2) / 2)),
    }));
    fc.assert(fc.property(arb, ({ c, av, bv }) => withBackend(precision, (be, keep) => {
      const a = keep(be.write(floats(precision, av)));
      const b = keep(be.write(floats(precision, bv)));
      const n = sizeOf(c.shape);
      const got = be.read(keep(be.binary(c.op, a, b, c.shape, c.a.strides, c.b.strides)), n);
      const want = Array.from({ length: n }, (_, i) => {
        const idx = unravel(i, c.shape);
        return binaryRef[c.op](av[dotIdx(idx, c.a.strides)], bv[dotIdx(idx, c.b.strides)]);
      });
      close(precision, got, want);
    })), { numRuns: numRuns * 3 });
  });

  it('where', () => {
    const arb = fc.integer({ min: 0, max: 30 }).chain((n) =>
      fc.tuple(fc.array(fc.constantFrom(0, 1, -2, 0.5), { minLength: n, maxLength: n }), values(n), values(n)));
    fc.assert(fc.property(arb, ([cv, av, bv]) => withBackend(precision, (be, keep) => {
      const [c, a, b] = [cv, av, bv].map((v) => keep(be.write(floats(precision, v))));
      const ar = be.read(a, av.length);
      const br = be.read(b, bv.length);
      close(precision, be.read(keep(be.where(c, a, b, cv.length)), cv.length),
        cv.map((v, i) => (v !== 0 ? ar[i] : br[i])), 0);
    })), { numRuns });
  });

  it('reduceLast: sum and max', () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 9 }), fc.constantFrom('sum' as const, 'max' as const))
      .chain(([outer, inner, op]) => fc.tuple(fc.constant([outer, inner, op] as const), values(outer * inner)));
    fc.assert(fc.property(arb, ([[outer, inner, op], data]) => withBackend(precision, (be, keep) => {
      const x = keep(be.write(floats(precision, data)));
      const xr = be.read(x, data.length);
      const want = Array.from({ length: outer }, (_, o) => {
        const row = Array.from(xr.subarray(o * inner, (o + 1) * inner));
        return op === 'sum' ? row.reduce((s, v) => s + v, 0) : Math.max(-Infinity, ...row);
      });
      close(precision, be.read(keep(be.reduceLast(op, x, outer, inner)), outer), want);
    })), { numRuns });
  });

  it('matmul: every transA/transB/stride combination, edge sizes included', () => {
    const dimArb = fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 8, 17), fc.integer({ min: 1, max: 40 }));
    const specArb = fc.record({
      batch: fc.integer({ min: 1, max: 3 }), m: dimArb, k: dimArb, n: dimArb,
      transA: fc.boolean(), transB: fc.boolean(), shareA: fc.boolean(), shareB: fc.boolean(),
    }).map(({ shareA, shareB, ...s }): MatmulSpec => ({
      ...s, strideA: shareA ? 0 : s.m * s.k, strideB: shareB ? 0 : s.k * s.n,
    }));
    const arb = specArb.chain((spec) => fc.tuple(
      fc.constant(spec),
      values(spec.strideA === 0 ? spec.m * spec.k : spec.batch * spec.m * spec.k),
      values(spec.strideB === 0 ? spec.k * spec.n : spec.batch * spec.k * spec.n),
    ));
    fc.assert(fc.property(arb, ([spec, av, bv]) => withBackend(precision, (be, keep) => {
      const a = keep(be.write(floats(precision, av)));
      const b = keep(be.write(floats(precision, bv)));
      const want = matmulRef(be.read(a, av.length), be.read(b, bv.length), spec);
      // Sums of k products: compare relative to the size of the terms, not of the (possibly cancelling) result.
      close(precision, be.read(keep(be.matmul(a, b, spec)), want.length), want,
        (precision === 32 ? 2e-7 : 1e-14) * 9 * spec.k);
    })), { numRuns: numRuns * 2 });
  });

  it('strided: permutes, broadcasts and slices with an offset', () => {
    const arb = shapeArb().chain((shape) => fc.tuple(fc.constant(shape), operandArb(shape), fc.integer({ min: 0, max: 5 })))
      .chain(([shape, view, offset]) => fc.tuple(fc.constant({ shape, view, offset }), values(view.size + offset + 2)));
    fc.assert(fc.property(arb, ([{ shape, view, offset }, data]) => withBackend(precision, (be, keep) => {
      const x = keep(be.write(floats(precision, data)));
      const want = stridedRef(be.read(x, data.length), shape, view.strides, offset);
      close(precision, be.read(keep(be.strided(x, shape, view.strides, offset)), want.length), want, 0);
    })), { numRuns });
  });

  it('pad', () => {
    const arb = shapeArb(4, 3).chain((shape) => fc.tuple(
      fc.constant(shape),
      fc.array(fc.integer({ min: 0, max: 2 }), { minLength: shape.length, maxLength: shape.length }),
      fc.array(fc.integer({ min: 0, max: 2 }), { minLength: shape.length, maxLength: shape.length }),
      fc.constantFrom(0, -1.5, 7),
      values(sizeOf(shape)),
    ));
    fc.assert(fc.property(arb, ([shape, before, after, value, data]) => withBackend(precision, (be, keep) => {
      const x = keep(be.write(floats(precision, data)));
      const want = padRef(be.read(x, data.length), shape, before, after, value);
      close(precision, be.read(keep(be.pad(x, shape, before, after, value)), want.length), want, 0);
    })), { numRuns });
  });

  it('concat', () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }))
      .chain(([outer, inners]) => fc.tuple(fc.constant(outer), fc.constant(inners), fc.tuple(...inners.map((w) => values(outer * w)))));
    fc.assert(fc.property(arb, ([outer, inners, datas]) => withBackend(precision, (be, keep) => {
      const xs = datas.map((d) => keep(be.write(floats(precision, d))));
      const want = concatRef(xs.map((x, j) => be.read(x, datas[j].length)), outer, inners);
      close(precision, be.read(keep(be.concat(xs, outer, inners)), want.length), want, 0);
    })), { numRuns });
  });

  it('gather and scatterAdd, and scatterAdd is the adjoint of gather', () => {
    const arb = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }))
      .chain(([outer, axis, inner]) => fc.tuple(
        fc.constant([outer, axis, inner] as const),
        fc.array(fc.integer({ min: 0, max: axis - 1 }), { maxLength: 7 }),
        values(outer * axis * inner),
      )).chain(([dims, idx, xv]) => fc.tuple(fc.constant(dims), fc.constant(idx), fc.constant(xv), values(dims[0] * idx.length * dims[2])));
    fc.assert(fc.property(arb, ([[outer, axis, inner], idx, xv, gv]) => withBackend(precision, (be, keep) => {
      const x = keep(be.write(floats(precision, xv)));
      const g = keep(be.write(floats(precision, gv)));
      const ix = keep(be.write(floats(precision, idx)));
      const xr = be.read(x, xv.length);
      const gr = be.read(g, gv.length);
      const gathered = be.read(keep(be.gather(x, ix, outer, axis, inner, idx.length)), gv.length);
      const scattered = be.read(keep(be.scatterAdd(g, ix, outer, idx.length, inner, axis)), xv.length);
      close(precision, gathered, gatherRef(xr, idx, outer, axis, inner), 0);
      close(precision, scattered, scatterAddRef(gr, idx, outer, inner, axis));
      const lhs = dot(gathered, gr);
      const rhs = dot(scattered, xr);
      expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual((precision === 32 ? 1e-5 : 1e-12) * (1 + Math.abs(lhs)) * 10);
    })), { numRuns });
  });

  describe('im2col / col2im', () => {
    const specArb: fc.Arbitrary<Im2colSpec> = fc.record({
      n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }),
      h: fc.integer({ min: 1, max: 6 }), w: fc.integer({ min: 1, max: 6 }),
      kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
      strideH: fc.integer({ min: 1, max: 3 }), strideW: fc.integer({ min: 1, max: 3 }),
      padH: fc.integer({ min: 0, max: 2 }), padW: fc.integer({ min: 0, max: 2 }),
    }).map((s) => ({
      ...s,
      oh: Math.floor((s.h + 2 * s.padH - s.kh) / s.strideH) + 1,
      ow: Math.floor((s.w + 2 * s.padW - s.kw) / s.strideW) + 1,
    })).filter((s) => s.oh >= 1 && s.ow >= 1);
    const colSize = (s: Im2colSpec): number => s.n * s.c * s.kh * s.kw * s.oh * s.ow;
    const arb = specArb.chain((s) => fc.tuple(fc.constant(s), values(s.n * s.c * s.h * s.w), values(colSize(s)), fc.constantFrom(0, -2.5)));

    it('match the naive patch definitions', () => {
      fc.assert(fc.property(arb, ([s, xv, cv, padValue]) => withBackend(precision, (be, keep) => {
        const x = keep(be.write(floats(precision, xv)));
        const c = keep(be.write(floats(precision, cv)));
        close(precision, be.read(keep(be.im2col(x, s, padValue)), cv.length), im2colRef(be.read(x, xv.length), s, padValue), 0);
        close(precision, be.read(keep(be.col2im(c, s)), xv.length), col2imRef(be.read(c, cv.length), s));
      })), { numRuns });
    });

    it('are adjoint: <im2col(x), c> = <x, col2im(c)>', () => {
      fc.assert(fc.property(arb, ([s, xv, cv]) => withBackend(precision, (be, keep) => {
        const x = keep(be.write(floats(precision, xv)));
        const c = keep(be.write(floats(precision, cv)));
        const xr = be.read(x, xv.length);
        const cr = be.read(c, cv.length);
        const cols = be.read(keep(be.im2col(x, s, 0)), cv.length);
        const img = be.read(keep(be.col2im(c, s)), xv.length);
        const lhs = dot(cols, cr);
        const rhs = dot(img, xr);
        const scale = dot(cols.map(Math.abs), cr.map(Math.abs));
        expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual((precision === 32 ? 1e-6 : 1e-13) * (1 + scale));
      })), { numRuns });
    });
  });
});
