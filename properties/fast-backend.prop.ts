/**
 * The fast backend against the plain reference, kernel by kernel, on random shapes and data
 * (including ±0, ±∞, NaN and subnormals where an op must propagate them). The conformance suite
 * (every op case, values and gradients) runs once for every backend, in backends.prop.ts.
 *
 * Agreement: |fast − plain| ≤ 1e-5·max(|fast|, |plain|), or both NaN, or both in the subnormal
 * range (|x| < 2⁻¹²⁶, where exp's last scaling may round once more). Matmul compares with
 * 2⁻²⁰·(k + 1)·Σₚ|aᵢₚ bₚⱼ|, the float32 accumulation bound (plus
 * (k + 1) subnormal ulps); sums with 1e-6·Σ|x|.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  binaryOps, unaryOps, type Backend, type BinaryOp, type FloatArray, type Im2colSpec, type MatmulSpec, type ReduceOp,
  type RowAct, type RowKernels, type UnaryOp, type WinogradKernels, type WinogradSpec, winogradTiles,
} from '../src/tensor/backend.ts';
import { createFastBackend } from '../src/tensor/fast/index.ts';
import { createPlainBackend } from '../src/tensor/plain/index.ts';

const plain = createPlainBackend();
const fast = createFastBackend();
/**
 * Tiny GEMM blocks, so every block edge (mc, kc, nc) is crossed by small matrices; the other tile
 * order; and mul + add where `fast` uses relaxed-SIMD FMA (when this runtime has it).
 */
const fastTinyBlocks = createFastBackend({
  gemmBlocking: { mc: 8, kc: 5, nc: 32 }, gemmShape: { mr: 4, nr: 16, unroll: 4, order: 'columns-outer' }, fma: false,
});

const minNormal = 2 ** -126;

const maxAbsOf = (x: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
};

const agree = (x: number, y: number, rel = 1e-5): boolean =>
  Object.is(x, y) || x === y || (Number.isNaN(x) && Number.isNaN(y))
  || (Math.abs(x) < minNormal && Math.abs(y) < minNormal)
  || Math.abs(x - y) <= rel * Math.max(Math.abs(x), Math.abs(y));

const expectAgree = (what: string, got: FloatArray, want: FloatArray, rel = 1e-5): void => {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!agree(got[i], want[i], rel)) expect.fail(`${what}: element ${i} is ${got[i]}, reference ${want[i]}`);
  }
};

/** Runs the same kernel on both backends from host data; returns both results. */
const both = (inputs: readonly FloatArray[], size: number,
  kernel: (b: Backend, hs: ReturnType<Backend['write']>[]) => ReturnType<Backend['write']>): [FloatArray, FloatArray] =>
  [fast, plain].map((b) => {
    const hs = inputs.map((x) => b.write(x));
    const out = kernel(b, hs);
    const r = b.read(out, size);
    hs.forEach((h) => b.dispose(h));
    b.dispose(out);
    return r;
  }) as [FloatArray, FloatArray];

const special = fc.constantFrom(0, -0, Infinity, -Infinity, NaN, 1e-40, -3e-39, 3e38, 90, -90, -110);
const value = (lo = -4, hi = 4): fc.Arbitrary<number> =>
  fc.oneof({ weight: 12, arbitrary: fc.double({ min: lo, max: hi, noNaN: true }) }, { weight: 1, arbitrary: special });
const floats = (n: number, lo?: number, hi?: number): fc.Arbitrary<Float32Array> =>
  fc.array(value(lo, hi), { minLength: n, maxLength: n }).map((v) => Float32Array.from(v));
/** Finite values of moderate size (±0 and subnormals included), for sums and products. */
const finiteFloats = (n: number, lo = -2, hi = 2): fc.Arbitrary<Float32Array> =>
  fc.array(fc.oneof({ weight: 12, arbitrary: fc.double({ min: lo, max: hi, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(0, -0, 1e-40, -3e-39) }), { minLength: n, maxLength: n })
    .map((v) => Float32Array.from(v));
const sized = (max: number, lo?: number, hi?: number): fc.Arbitrary<Float32Array> =>
  fc.integer({ min: 0, max }).chain((n) => floats(n, lo, hi));

const rowMajor = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length);
  for (let d = shape.length - 1, acc = 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
};
const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

describe('fast kernels = plain kernels', () => {
  it('unary, every op, any length (SIMD tails included)', () => {
    fc.assert(fc.property(fc.constantFrom(...unaryOps), sized(70, -100, 100), (op: UnaryOp, x) => {
      const [got, want] = both([x], x.length, (b, [h]) => b.unary(op, h, x.length));
      expectAgree(op, got, want);
    }), { numRuns: 300 });
  });

  it('binary, every op, broadcast and transposed operands', () => {
    // An output shape; each operand broadcasts some dims (stride 0) and may store its dims permuted.
    const operand = (shape: number[]) => fc.tuple(
      fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
      fc.boolean(),
    ).chain(([bcast, permute]) => {
      const own = shape.map((d, i) => (bcast[i] ? 1 : d));
      const order = own.map((_, i) => i);
      if (permute) order.reverse();
      const stored = order.map((i) => own[i]);
      const storedStrides = rowMajor(stored);
      const strides = own.map((d, i) => (d === 1 ? 0 : storedStrides[order.indexOf(i)]));
      return floats(sizeOf(stored)).map((data) => ({ data, strides }));
    });
    const arb = fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 0, maxLength: 4 })
      .chain((shape) => fc.tuple(fc.constant(shape), operand(shape), operand(shape), fc.constantFrom(...binaryOps)));
    fc.assert(fc.property(arb, ([shape, a, b, op]: [number[], { data: Float32Array; strides: number[] }, { data: Float32Array; strides: number[] }, BinaryOp]) => {
      const [got, want] = both([a.data, b.data], sizeOf(shape),
        (be, [ha, hb]) => be.binary(op, ha, hb, shape, a.strides, b.strides));
      expectAgree(`${op} [${shape}]`, got, want);
    }), { numRuns: 400 });
  });

  it('where', () => {
    const arb = fc.integer({ min: 0, max: 40 }).chain((n) => fc.tuple(
      fc.array(fc.constantFrom(0, -0, 1, -2, NaN), { minLength: n, maxLength: n }).map((v) => Float32Array.from(v)),
      floats(n), floats(n)));
    fc.assert(fc.property(arb, ([c, a, b]) => {
      const [got, want] = both([c, a, b], c.length, (be, [hc, ha, hb]) => be.where(hc, ha, hb, c.length));
      expectAgree('where', got, want);
    }), { numRuns: 100 });
  });

  it('reduceLast sum (within 1e-6·Σ|x|) and max (exact)', () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 40 }))
      .chain(([outer, inner]) => fc.tuple(fc.constant(outer), fc.constant(inner), floats(outer * inner)));
    fc.assert(fc.property(arb, ([outer, inner, x]) => {
      const [maxGot, maxWant] = both([x], outer, (b, [h]) => b.reduceLast('max', h, outer, inner));
      expectAgree('max', maxGot, maxWant, 0);
      const finite = x.map((v) => (Number.isFinite(v) && Math.abs(v) < 1e6 ? v : 1));
      const [got, want] = both([finite], outer, (b, [h]) => b.reduceLast('sum', h, outer, inner));
      for (let o = 0; o < outer; o++) {
        let scale = 0;
        for (let i = 0; i < inner; i++) scale += Math.abs(finite[o * inner + i]);
        expect(Math.abs(got[o] - want[o])).toBeLessThanOrEqual(1e-6 * scale + 1e-30);
      }
    }), { numRuns: 150 });
  });

  it('matmul, every layout and batch broadcast, error within the float32 accumulation bound', () => {
    const arb = fc.record({
      batch: fc.integer({ min: 0, max: 3 }), m: fc.integer({ min: 0, max: 23 }), k: fc.integer({ min: 0, max: 23 }),
      n: fc.integer({ min: 0, max: 37 }), transA: fc.boolean(), transB: fc.boolean(),
      shareA: fc.boolean(), shareB: fc.boolean(), tiny: fc.boolean(), sumBatch: fc.boolean(),
    }).chain((p) => {
      const spec: MatmulSpec = { batch: p.batch, m: p.m, k: p.k, n: p.n, transA: p.transA, transB: p.transB,
        strideA: p.shareA ? 0 : p.m * p.k, strideB: p.shareB ? 0 : p.k * p.n, sumBatch: p.sumBatch };
      const len = (stride: number, one: number): number => Math.max(0, (p.batch - 1) * stride + one);
      return fc.tuple(fc.constant(spec), fc.constant(p.tiny),
        finiteFloats(len(spec.strideA, p.m * p.k)), finiteFloats(len(spec.strideB, p.k * p.n)));
    });
    fc.assert(fc.property(arb, ([spec, tiny, a, b]) => {
      const { batch, m, k, n } = spec;
      const size = (spec.sumBatch ? 1 : batch) * m * n;
      const run = (be: Backend): FloatArray => {
        const [ha, hb] = [be.write(a), be.write(b)];
        const out = be.matmul(ha, hb, spec);
        const r = be.read(out, size);
        [ha, hb, out].forEach((h) => be.dispose(h));
        return r;
      };
      const got = run(tiny ? fastTinyBlocks : fast);
      const want = run(plain);
      // A summed batch is one product of depth batch·k.
      const [outs, depth] = spec.sumBatch ? [1, batch * k] : [batch, k];
      const scale = new Float64Array(size);
      for (let bi = 0; bi < batch; bi++) {
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            for (let p = 0; p < k; p++) {
              const av = a[bi * spec.strideA + (spec.transA ? p * m + i : i * k + p)];
              const bv = b[bi * spec.strideB + (spec.transB ? j * k + p : p * n + j)];
              scale[((outs === 1 ? 0 : bi) * m + i) * n + j] += Math.abs(av * bv);
            }
          }
        }
      }
      for (let at = 0; at < size; at++) {
        expect(Math.abs(got[at] - want[at])).toBeLessThanOrEqual(2 ** -20 * (depth + 1) * scale[at] + (depth + 1) * 2 ** -149);
      }
    }), { numRuns: 200 });
  });

  it('matmul split over 2 threads (by batch or by columns) equals the 1-thread result bit for bit', () => {
    const one = createFastBackend({ threads: 1 });
    const two = createFastBackend({ threads: 2 });
    // Every product is above the 4 MFLOP threshold, so the split really happens.
    const arb = fc.record({
      batch: fc.integer({ min: 1, max: 3 }), m: fc.integer({ min: 60, max: 100 }), k: fc.integer({ min: 200, max: 300 }),
      n: fc.integer({ min: 170, max: 260 }), transA: fc.boolean(), transB: fc.boolean(), shareA: fc.boolean(),
      shareB: fc.boolean(), seed: fc.nat(),
    });
    fc.assert(fc.property(arb, (p) => {
      const spec: MatmulSpec = { ...p, strideA: p.shareA ? 0 : p.m * p.k, strideB: p.shareB ? 0 : p.k * p.n };
      const a = Float32Array.from({ length: (p.batch - 1) * spec.strideA + p.m * p.k }, (_, i) => Math.sin(i + p.seed));
      const b = Float32Array.from({ length: (p.batch - 1) * spec.strideB + p.k * p.n }, (_, i) => Math.cos(i * 0.3 + p.seed));
      const [got, want] = [two, one].map((be) => {
        const [ha, hb] = [be.write(a), be.write(b)];
        const out = be.matmul(ha, hb, spec);
        const r = be.read(out, p.batch * p.m * p.n);
        [ha, hb, out].forEach((h) => be.dispose(h));
        return r;
      });
      expect(got).toEqual(want);
    }), { numRuns: 12 });
    two.close();
  });

  it('a summed batch split over 2 threads agrees with 1 thread within the accumulation bound', () => {
    const one = createFastBackend({ threads: 1 });
    const two = createFastBackend({ threads: 2 });
    const arb = fc.record({
      batch: fc.integer({ min: 2, max: 5 }), m: fc.integer({ min: 30, max: 70 }), k: fc.integer({ min: 100, max: 300 }),
      n: fc.integer({ min: 100, max: 200 }), transA: fc.boolean(), transB: fc.boolean(), seed: fc.nat(),
    });
    fc.assert(fc.property(arb, (p) => {
      const spec: MatmulSpec = { ...p, strideA: p.m * p.k, strideB: p.k * p.n, sumBatch: true };
      const a = Float32Array.from({ length: p.batch * p.m * p.k }, (_, i) => Math.sin(i + p.seed));
      const b = Float32Array.from({ length: p.batch * p.k * p.n }, (_, i) => Math.cos(i * 0.3 + p.seed));
      const [got, want] = [two, one].map((be) => {
        const [ha, hb] = [be.write(a), be.write(b)];
        const out = be.matmul(ha, hb, spec);
        const r = be.read(out, p.m * p.n);
        [ha, hb, out].forEach((h) => be.dispose(h));
        return r;
      });
      // |a|, |b| ≤ 1: each entry's Σ|a·b| is at most batch·k
      const bound = 2 ** -20 * (p.batch * p.k + 1) * p.batch * p.k;
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(bound);
      expect(got).not.toEqual(new Float32Array(want.length));
    }), { numRuns: 10 });
    one.close();
    two.close();
  });

  it('large elementwise, strided-view, reduction and im2col/col2im kernels split over 2 threads equal the 1-thread results bit for bit', () => {
    const one = createFastBackend({ threads: 1 });
    const two = createFastBackend({ threads: 2 });
    const arb = fc.record({
      rows: fc.integer({ min: 1, max: 400 }), cols: fc.integer({ min: 170, max: 700 }), seed: fc.nat(),
      op: fc.constantFrom<BinaryOp>('add', 'mul', 'sub', 'div', 'maximum', 'greater'),
      unaryOp: fc.constantFrom<UnaryOp>('exp', 'sigmoid', 'relu', 'square', 'sqrt'),
      bcast: fc.constantFrom('none', 'row', 'column'),
      reduceOp: fc.constantFrom<ReduceOp>('sum', 'max'),
    }).filter((p) => p.rows * p.cols >= 1 << 16);
    fc.assert(fc.property(arb, (p) => {
      const n = p.rows * p.cols;
      const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + p.seed) * 3);
      const y = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.3 + p.seed) + 0.5);
      const [bShape, bStrides] = p.bcast === 'row' ? [[1, p.cols], [0, 1]] : p.bcast === 'column' ? [[p.rows, 1], [1, 0]] : [[p.rows, p.cols], [p.cols, 1]];
      const bData = y.subarray(0, sizeOf(bShape));
      const spec: Im2colSpec = { n: 2, c: Math.max(1, Math.floor(p.rows / 4)), h: 12, w: 11, kh: 3, kw: 3, strideH: 1, strideW: 2, padH: 1, padW: 1, oh: 12, ow: 6 };
      const img = x.subarray(0, Math.min(n, spec.n * spec.c * spec.h * spec.w));
      const run = (be: Backend): FloatArray[] => {
        const hs = [be.write(x), be.write(bData), be.write(y), be.write(img)];
        const outs = [
          be.unary(p.unaryOp, hs[0], n),
          be.binary(p.op, hs[0], hs[1], [p.rows, p.cols], [p.cols, 1], bStrides),
          be.where(hs[2], hs[0], hs[2], n),
        ];
        const r = outs.map((h) => be.read(h, n));
        // An upsampling-like view: rows of up to 31 elements, each element and each row repeated 4×.
        const w = Math.min(p.cols, 31);
        const up = be.strided(hs[0], [p.rows, 4, w, 4], [p.cols, 0, 1, 0], 0);
        r.push(be.read(up, p.rows * 16 * w));
        outs.push(up);
        // Reductions split by outer rows: the last axis, and the middle axis of [rows, 2, ⌊cols/2⌋].
        const half = Math.floor(p.cols / 2);
        const reduced = [be.reduceLast(p.reduceOp, hs[0], p.rows, p.cols), be.reduceAxis(p.reduceOp, hs[0], p.rows, 2, half)];
        r.push(be.read(reduced[0], p.rows), be.read(reduced[1], p.rows * half));
        outs.push(...reduced);
        if (img.length === spec.n * spec.c * spec.h * spec.w) {
          const cols = be.im2col(hs[3], spec, 0.25);
          const back = be.col2im(cols, spec);
          r.push(be.read(cols, spec.n * spec.c * 9 * spec.oh * spec.ow), be.read(back, img.length));
          outs.push(cols, back);
        }
        [...hs, ...outs].forEach((h) => be.dispose(h));
        return r;
      };
      const [got, want] = [run(two), run(one)];
      const w = Math.min(p.cols, 31);
      const up = want[3];
      for (let i = 0; i < up.length; i++) {
        const [row, col] = [Math.floor(i / (16 * w)), Math.floor((i % (4 * w)) / 4)];
        if (up[i] !== x[row * p.cols + col]) expect.fail(`upsampling view: element ${i} is ${up[i]}, expected x[${row}, ${col}] = ${x[row * p.cols + col]}`);
      }
      got.forEach((g, i) => {
        expect(g.length).toBe(want[i].length);
        // bit for bit (NaN included), without a deep-equality walk over 10⁵ elements
        const bits = [new Uint32Array(g.buffer, g.byteOffset, g.length), new Uint32Array(want[i].buffer, want[i].byteOffset, g.length)];
        const at = bits[0].findIndex((v, j) => v !== bits[1][j]);
        expect(at, `output ${i}: first difference at ${at}`).toBe(-1);
      });
    }), { numRuns: 15 });
    one.close();
    two.close();
  });

  it('strided: permutations, broadcasts, slices (exact)', () => {
    const arb = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 0, maxLength: 4 }).chain((shape) => fc.tuple(
      fc.constant(shape), fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length }),
      fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
      fc.array(fc.nat(), { minLength: shape.length, maxLength: shape.length }),
      floats(sizeOf(shape)), fc.constantFrom(3, 40)));
    fc.assert(fc.property(arb, ([shape, perm, bcast, starts, x, wide]) => {
      // View: permuted dims, some broadcast to stride 0, each sliced from a start within range.
      const strides = rowMajor(shape);
      const begin = shape.map((d, i) => starts[i] % d);
      const offset = begin.reduce((s, v, i) => s + v * strides[i], 0);
      const outShape = perm.map((d) => (bcast[d] ? wide : shape[d] - begin[d]));
      const outStrides = perm.map((d) => (bcast[d] ? 0 : strides[d]));
      const [got, want] = both([x], sizeOf(outShape), (b, [h]) => b.strided(h, outShape, outStrides, offset));
      expectAgree('strided', got, want, 0);
    }), { numRuns: 150 });
  });

  it('pad, concat, gather, scatterAdd (exact)', () => {
    const padArb = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 3 }).chain((shape) => fc.tuple(
      fc.constant(shape), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 2 * shape.length, maxLength: 2 * shape.length }),
      floats(sizeOf(shape))));
    fc.assert(fc.property(padArb, value(), ([shape, ps, x], v) => {
      const before = ps.slice(0, shape.length);
      const after = ps.slice(shape.length);
      const size = sizeOf(shape.map((d, i) => d + before[i] + after[i]));
      const [got, want] = both([x], size, (b, [h]) => b.pad(h, shape, before, after, v));
      expectAgree('pad', got, want, 0);
    }), { numRuns: 100 });

    const catArb = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 4 }))
      .chain(([outer, inners]) => fc.tuple(fc.constant(outer), fc.constant(inners), fc.tuple(...inners.map((w) => floats(outer * w)))));
    fc.assert(fc.property(catArb, ([outer, inners, xs]) => {
      const total = inners.reduce((s, w) => s + w, 0);
      const [got, want] = both(xs, outer * total, (b, hs) => b.concat(hs, outer, inners));
      expectAgree('concat', got, want, 0);
    }), { numRuns: 100 });

    const gatherArb = fc.record({
      outer: fc.integer({ min: 1, max: 3 }), axis: fc.integer({ min: 1, max: 5 }), inner: fc.integer({ min: 1, max: 40 }),
    }).chain((p) => fc.tuple(fc.constant(p), fc.array(fc.integer({ min: 0, max: p.axis - 1 }), { minLength: 1, maxLength: 7 }),
      floats(p.outer * p.axis * p.inner), fc.nat()));
    fc.assert(fc.property(gatherArb, ([{ outer, axis, inner }, idx, x, seed]) => {
      const indices = Float32Array.from(idx);
      const n = idx.length;
      const [got, want] = both([x, indices], outer * n * inner, (b, [h, hi]) => b.gather(h, hi, outer, axis, inner, n));
      expectAgree('gather', got, want, 0);
      const g = Float32Array.from({ length: outer * n * inner }, (_, i) => Math.sin(i + seed));
      const [sGot, sWant] = both([g, indices], outer * axis * inner, (b, [h, hi]) => b.scatterAdd(h, hi, outer, n, inner, axis));
      expectAgree('scatterAdd', sGot, sWant, 0);
    }), { numRuns: 100 });
  });

  it('im2col and col2im on random convolutions', () => {
    const arb = fc.record({
      n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 11 }),
      w: fc.integer({ min: 1, max: 11 }), kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }),
      strideH: fc.integer({ min: 1, max: 3 }), strideW: fc.integer({ min: 1, max: 3 }),
      padH: fc.integer({ min: 0, max: 2 }), padW: fc.integer({ min: 0, max: 2 }),
    }).filter((p) => p.h + 2 * p.padH >= p.kh && p.w + 2 * p.padW >= p.kw).map((p): Im2colSpec => ({
      ...p, oh: Math.floor((p.h + 2 * p.padH - p.kh) / p.strideH) + 1, ow: Math.floor((p.w + 2 * p.padW - p.kw) / p.strideW) + 1,
    })).chain((s) => fc.tuple(fc.constant(s), floats(s.n * s.c * s.h * s.w),
      finiteFloats(s.n * s.c * s.kh * s.kw * s.oh * s.ow), value()));
    fc.assert(fc.property(arb, ([s, x, cols, padValue]) => {
      const [got, want] = both([x], cols.length, (b, [h]) => b.im2col(h, s, padValue));
      expectAgree('im2col', got, want, 0);
      const [gotBack, wantBack] = both([cols], x.length, (b, [h]) => b.col2im(h, s));
      expectAgree('col2im', gotBack, wantBack, 1e-6);
    }), { numRuns: 200 });
  });

  it('Winograd transforms, F(2×2, 3×3) and F(4×4, 3×3), on random shapes (1 and 2 threads; the split is bit-identical)', () => {
    const one = createFastBackend({ threads: 1 });
    const two = createFastBackend({ threads: 2 });
    // Any plane, or (a third of the time) one of 2×2 F(4×4) tiles, which the fast kernels treat as one group.
    const anyPlane = fc.record({
      n: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 1, max: 24 }), h: fc.integer({ min: 1, max: 30 }),
      w: fc.integer({ min: 1, max: 30 }), padH: fc.integer({ min: 0, max: 2 }), padW: fc.integer({ min: 0, max: 2 }),
      tile: fc.constantFrom<2 | 4>(2, 4),
    });
    const quadPlane = fc.record({
      n: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 1, max: 24 }), h: fc.integer({ min: 3, max: 10 }),
      w: fc.integer({ min: 3, max: 10 }), padH: fc.integer({ min: 0, max: 2 }), padW: fc.integer({ min: 0, max: 2 }),
      tile: fc.constant<4>(4),
    }).filter((p) => [p.h + 2 * p.padH - 2, p.w + 2 * p.padW - 2].every((o) => o >= 5 && o <= 8));
    const arb = fc.oneof({ arbitrary: anyPlane, weight: 2 }, { arbitrary: quadPlane, weight: 1 })
      .filter((p) => p.h + 2 * p.padH >= 3 && p.w + 2 * p.padW >= 3)
      .map((p): WinogradSpec => ({ ...p, oh: p.h + 2 * p.padH - 2, ow: p.w + 2 * p.padW - 2 }))
      .chain((s) => {
        const { stride } = winogradTiles(s);
        return fc.tuple(fc.constant(s), finiteFloats(s.n * s.c * s.h * s.w), finiteFloats((s.tile as number + 2) ** 2 * s.c * stride),
          finiteFloats(s.n * s.c * s.oh * s.ow));
      });
    fc.assert(fc.property(arb, ([s, img, tr, out]) => {
      const trSize = (s.tile as number + 2) ** 2 * s.c * winogradTiles(s).stride;
      // The output transform also runs with a per-channel bias (from the image's first values).
      const bias = img.subarray(0, s.c);
      const cases: [keyof WinogradKernels, Float32Array, number, Float32Array | null][] = [
        ['input', img, trSize, null], ['inputAdjoint', tr, img.length, null], ['output', tr, out.length, null],
        ['output', tr, out.length, bias], ['outputAdjoint', out, trSize, null],
      ];
      for (const [k, data, size, b] of cases) {
        const run = (be: Backend): FloatArray => {
          const h = be.write(data);
          const hb = b ? be.write(b) : null;
          const o = (be.winograd as WinogradKernels)[k](h, s, hb);
          const r = be.read(o, size);
          be.dispose(h);
          if (hb) be.dispose(hb);
          be.dispose(o);
          return r;
        };
        const want = run(plain);
        const got = run(one);
        // Sums of up to 36 terms (F(4×4, 3×3)'s coefficients reach 8), rounded in float32: within
        // a few ulps of the larger of the input and output magnitudes.
        const scale = Math.max(maxAbsOf(data), maxAbsOf(want));
        for (let i = 0; i < size; i++) {
          if (!(Math.abs(got[i] - want[i]) <= 1e-6 * scale)) expect.fail(`${k} ${JSON.stringify(s)}: element ${i} is ${got[i]}, reference ${want[i]}`);
        }
        expect(run(two), `${k}: 2 threads`).toEqual(got);
      }
    }), { numRuns: 45 });
    expect(one.liveBuffers()).toBe(0);
    one.close();
    two.close();
  });

  it('fused row kernels (moments, affine + activation and its two gradient kernels) on random rows (1 and 2 threads)', () => {
    const one = createFastBackend({ threads: 1 });
    const two = createFastBackend({ threads: 2 });
    // Data from a seed (the sizes reach the 2-thread split, where fast-check arrays would be slow).
    const arb = fc.record({
      rows: fc.integer({ min: 1, max: 200 }), len: fc.integer({ min: 1, max: 600 }), act: fc.constantFrom<RowAct>('identity', 'silu'),
      seed: fc.double({ min: 0, max: 100, noNaN: true }),
    });
    fc.assert(fc.property(arb, ({ rows, len, act, seed }) => {
      const wave = (n: number, f: number, amp: number): Float32Array => Float32Array.from({ length: n }, (_, i) => amp * Math.sin(f * i + seed));
      const x = wave(rows * len, 0.77, 6);
      const gy = wave(rows * len, 0.31, 2);
      const coeffs = [1.3, 0.57, 0.91, 2.1, 0.17].map((f) => wave(rows, f, 2));
      const run = (be: Backend): FloatArray[] => {
        const hs = [x, gy, ...coeffs].map((d) => be.write(d));
        const k = be.rows as RowKernels;
        const outs: [ReturnType<Backend['write']>, number][] = [
          [k.moments(hs[0], rows, len), 2 * rows],
          [k.affineAct(hs[0], hs[2], hs[3], rows, len, act), rows * len],
          [k.affineActGradSums(hs[0], hs[1], hs[2], hs[3], rows, len, act), 2 * rows],
          [k.affineActGradInput(hs[0], hs[1], hs[2], hs[3], hs[4], hs[5], hs[6], rows, len, act), rows * len],
        ];
        const r = outs.map(([h, n]) => be.read(h, n));
        [...hs, ...outs.map(([h]) => h)].forEach((h) => be.dispose(h));
        return r;
      };
      const want = run(plain);
      const got = run(one);
      ['moments', 'affineAct', 'affineActGradSums', 'affineActGradInput'].forEach((name, i) => {
        // Sums against the sum of magnitudes; maps elementwise (a few ulps: the SIMD sigmoid).
        const scale = name.endsWith('Sums') || name === 'moments' ? 2e-6 * len * 40 : 1e-5;
        for (let j = 0; j < want[i].length; j++) {
          const tol = scale * Math.max(1, Math.abs(want[i][j]));
          if (!(Math.abs(got[i][j] - want[i][j]) <= tol)) expect.fail(`${name} (${rows}×${len}, ${act}): element ${j} is ${got[i][j]}, reference ${want[i][j]}`);
        }
      });
      expect(run(two), '2 threads').toEqual(got);
    }), { numRuns: 20 });
    one.close();
    two.close();
  });

  it('kernels write only their output: the buffer right after it keeps its contents', () => {
    const b = createFastBackend();
    const sentinel = Float32Array.from({ length: 20 }, (_, i) => i + 0.5);
    /** Places the kernel's output just before a sentinel: a freed placeholder of the same size is reused. */
    const check = (size: number, kernel: () => ReturnType<Backend['write']>): void => {
      const placeholder = b.write(new Float32Array(size));
      const after = b.write(sentinel);
      b.dispose(placeholder);
      const out = kernel();
      expect(b.read(after, 20)).toEqual(sentinel);
      b.dispose(out);
      b.dispose(after);
    };
    fc.assert(fc.property(sized(41), fc.constantFrom(...unaryOps), (x, op) => {
      const hx = b.write(x);
      const n = x.length;
      check(n, () => b.unary(op, hx, n));
      check(n, () => b.binary('add', hx, hx, [n], [1], [1]));
      check(n, () => b.binary('mul', hx, hx, [n], [1], [0]));
      check(n, () => b.where(hx, hx, hx, n));
      check(1, () => b.reduceLast('sum', hx, 1, n));
      check(n, () => b.strided(hx, [n], [1], 0));
      b.dispose(hx);
      expect(b.liveBuffers()).toBe(0);
    }), { numRuns: 60 });
  });
});
