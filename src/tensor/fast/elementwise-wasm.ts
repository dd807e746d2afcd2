/**
 * WebAssembly SIMD kernels for the hot elementwise ops: unary maps, binary ops on runs (same shape,
 * scalar and bias broadcasts), where, and last-axis sum/max.
 *
 * Whole-buffer kernels (unary, where) process ⌈n/4⌉ vectors: every heap block has a capacity that is
 * a multiple of 16 floats, so the last vector stays inside its own blocks. Run kernels (binary,
 * reductions) address the interior of buffers and finish with a scalar tail instead.
 *
 * exp uses the Cephes range reduction x = n·ln2 + r (|r| ≤ ln2/2) with a degree-7 polynomial,
 * error ≈ 1 ulp; 2ⁿ is built as two exponent-field scalings so results down to the subnormal range
 * (x ≥ −104) and overflow to +∞ (x > 88.72) match Math.exp rounded to float32.
 */
import { Code, f32, f64, i32, ModuleBuilder, v128, type MemoryImport } from './emitter.ts';
import type { BinaryOp, UnaryOp } from '../backend.ts';
import { buildOptimFunctions, type OptimExports } from './optim-wasm.ts';
import { buildRowFunctions, type RowExports } from './rows-wasm.ts';

export const simdUnaryOps = ['neg', 'abs', 'sqrt', 'square', 'reciprocal', 'rsqrt', 'relu', 'exp', 'sigmoid'] as const;
export type SimdUnaryOp = (typeof simdUnaryOps)[number] & UnaryOp;

export const simdBinaryOps = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'greater', 'greaterEqual',
  'less', 'lessEqual', 'equal', 'notEqual'] as const;
export type SimdBinaryOp = (typeof simdBinaryOps)[number] & BinaryOp;

/** Inner strides (a, b) of a run the binary kernels handle: both walk, or one is broadcast. */
export const runKinds = ['11', '10', '01'] as const;
export type RunKind = (typeof runKinds)[number];

export type UnaryKernel = (x: number, out: number, n: number) => void;
/** (a, b, out, outer, inner, aOuter, bOuter): outer runs of `inner`, operands advancing by a/bOuter elements. */
export type BinaryKernel = (a: number, b: number, out: number, outer: number, inner: number,
  aOuter: number, bOuter: number) => void;

export interface ElementwiseExports extends RowExports, OptimExports {
  [name: `unary_${string}`]: UnaryKernel;
  [name: `binary_${string}`]: BinaryKernel;
  where(cond: number, a: number, b: number, out: number, n: number): void;
  reduce_sum(x: number, out: number, outer: number, inner: number): void;
  reduce_max(x: number, out: number, outer: number, inner: number): void;
  /** (x, out, outer, size, inner): out[o, i] = Σ_s x[o, s, i] (f64 accumulation) or the max. */
  reduceAxis_sum(x: number, out: number, outer: number, size: number, inner: number): void;
  reduceAxis_max(x: number, out: number, outer: number, size: number, inner: number): void;
  /** (src, dst, d0, d1, d2, d3, s0, s1, s2, s3): dst, in order, = src[Σ i_k·s_k] over i < d (elements). */
  strided4(...params: number[]): void;
}

/** 1.5·2²³ and its bit pattern (see emitExp). */
const roundingMagic = 12582912;
const roundingMagicBits = 0x4b400000;

/** Leaves exp(x) (x a v128 local) on the stack; t, nn, ni are scratch v128 locals. */
const emitExp = (c: Code, x: number, t: number, nn: number, ni: number): void => {
  // Clamp with pmax/pmin (one instruction each on x64; NaN passes through as x).
  c.get(x).f32x4(-104).simd('f32x4_pmax').f32x4(89).simd('f32x4_pmin').set(t);
  // n = round(t·log2 e), half to even: adding 1.5·2²³ rounds to an integer in the low mantissa
  // bits (|n| ≤ 151 ≪ 2²²), which also gives n as an i32 without a float→int conversion.
  c.get(t).f32x4(Math.LOG2E).simd('f32x4_mul').f32x4(roundingMagic).simd('f32x4_add').set(ni);
  c.get(ni).f32x4(roundingMagic).simd('f32x4_sub').set(nn);
  // r = x − n·ln2, with ln2 split so n·C1 is exact.
  c.get(t).get(nn).f32x4(0.693359375).simd('f32x4_mul').simd('f32x4_sub')
    .get(nn).f32x4(-2.12194440e-4).simd('f32x4_mul').simd('f32x4_sub').set(t);
  // p = ((((((c7·r + c6)·r + c5)·r + c4)·r + c3)·r + 0.5)·r² + r + 1
  const coeffs = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
  c.f32x4(coeffs[0]);
  for (const k of coeffs.slice(1)) c.get(t).simd('f32x4_mul').f32x4(k).simd('f32x4_add');
  c.get(t).get(t).simd('f32x4_mul').simd('f32x4_mul').get(t).simd('f32x4_add').f32x4(1).simd('f32x4_add');
  // × 2^h · 2^(n−h), h = n >> 1, each a valid normal exponent for n ∈ [−150, 128].
  c.get(ni).i32x4(roundingMagicBits).simd('i32x4_sub').set(ni);
  c.get(ni).i32(1).simd('i32x4_shr_s').i32x4(127).simd('i32x4_add').i32(23).simd('i32x4_shl').simd('f32x4_mul');
  c.get(ni).get(ni).i32(1).simd('i32x4_shr_s').simd('i32x4_sub').i32x4(127).simd('i32x4_add')
    .i32(23).simd('i32x4_shl').simd('f32x4_mul');
};

/** Leaves op(x) on the stack for a v128 local x. */
export const emitUnaryVector = (c: Code, op: SimdUnaryOp, x: number): void => {
  const scratch = (): [number, number, number] => [c.local(v128), c.local(v128), c.local(v128)];
  switch (op) {
    case 'neg': c.get(x).simd('f32x4_neg'); return;
    case 'abs': c.get(x).simd('f32x4_abs'); return;
    case 'sqrt': c.get(x).simd('f32x4_sqrt'); return;
    case 'square': c.get(x).get(x).simd('f32x4_mul'); return;
    case 'reciprocal': c.f32x4(1).get(x).simd('f32x4_div'); return;
    case 'rsqrt': c.f32x4(1).get(x).simd('f32x4_sqrt').simd('f32x4_div'); return;
    // max propagates NaN and maps −0 to +0, like (v + |v|)/2.
    case 'relu': c.get(x).f32x4(0).simd('f32x4_max'); return;
    case 'exp': emitExp(c, x, ...scratch()); return;
    case 'sigmoid': {
      // e = exp(−|x|); (x ≥ 0 ? 1 : e) / (1 + e): never exp of a large positive number.
      const [t, nn, ni] = scratch();
      const e = c.local(v128);
      const ax = c.local(v128);
      c.get(x).simd('f32x4_abs').simd('f32x4_neg').set(ax);
      emitExp(c, ax, t, nn, ni);
      c.set(e);
      c.f32x4(1).get(e).get(x).f32x4(0).simd('f32x4_ge').simd('v128_bitselect');
      c.f32x4(1).get(e).simd('f32x4_add').simd('f32x4_div');
      return;
    }
    default: throw new RangeError(`fast unary: no SIMD form for ${String(op satisfies never)}`);
  }
};

const vectorBinary: Record<SimdBinaryOp, [string, boolean]> = {
  add: ['f32x4_add', false], sub: ['f32x4_sub', false], mul: ['f32x4_mul', false], div: ['f32x4_div', false],
  maximum: ['f32x4_max', false], minimum: ['f32x4_min', false],
  greater: ['f32x4_gt', true], greaterEqual: ['f32x4_ge', true], less: ['f32x4_lt', true],
  lessEqual: ['f32x4_le', true], equal: ['f32x4_eq', true], notEqual: ['f32x4_ne', true],
};
const scalarBinary: Record<SimdBinaryOp, string> = {
  add: 'f32_add', sub: 'f32_sub', mul: 'f32_mul', div: 'f32_div', maximum: 'f32_max', minimum: 'f32_min',
  greater: 'f32_gt', greaterEqual: 'f32_ge', less: 'f32_lt', lessEqual: 'f32_le', equal: 'f32_eq',
  notEqual: 'f32_ne',
};

/** Applies op to the two vectors (or scalars) on the stack; comparisons give 0/1 floats. */
const emitBinary = (c: Code, op: SimdBinaryOp, vector: boolean): void => {
  if (vector) {
    const [name, comparison] = vectorBinary[op];
    c.simd(name as Parameters<Code['simd']>[0]);
    if (comparison) c.f32x4(1).simd('v128_and');
  } else {
    c.op(scalarBinary[op] as Parameters<Code['op']>[0]);
    if (vectorBinary[op][1]) c.op('f32_convert_i32_s');
  }
};

const emitUnaryKernel = (m: ModuleBuilder, op: SimdUnaryOp): void => {
  m.func(`unary_${op}`, [i32, i32, i32], [], (c) => {
    const [x, out, n] = [0, 1, 2];
    const i = c.local(i32);
    const v = c.local(v128);
    c.forUp(i, () => c.i32(0), n, 4, () => {
      c.get(x).get(i).i32(4).op('i32_mul').op('i32_add').mem('v128_load').set(v);
      c.get(out).get(i).i32(4).op('i32_mul').op('i32_add');
      emitUnaryVector(c, op, v);
      c.mem('v128_store');
    });
  });
};

const emitBinaryKernel = (m: ModuleBuilder, op: SimdBinaryOp, kind: RunKind): void => {
  const [sa, sb] = [Number(kind[0]), Number(kind[1])];
  m.func(`binary_${op}_${kind}`, [i32, i32, i32, i32, i32, i32, i32], [], (c) => {
    const [a, b, out, outer, inner, aOuter, bOuter] = [0, 1, 2, 3, 4, 5, 6];
    const [o, i, pa, pb, po, n4] = [c.local(i32), c.local(i32), c.local(i32), c.local(i32), c.local(i32), c.local(i32)];
    const [va, vb] = [c.local(v128), c.local(v128)];
    c.get(out).set(po);
    c.get(inner).i32(-4).op('i32_and').set(n4);
    c.forUp(o, () => c.i32(0), outer, 1, () => {
      c.get(a).set(pa);
      c.get(b).set(pb);
      // A broadcast operand is one value per run: splat it once.
      if (sa === 0) c.get(pa).mem('v128_load32_splat').set(va);
      if (sb === 0) c.get(pb).mem('v128_load32_splat').set(vb);
      c.forUp(i, () => c.i32(0), n4, 4, () => {
        c.get(po);
        if (sa === 1) c.get(pa).mem('v128_load', 0, 0); else c.get(va);
        if (sb === 1) c.get(pb).mem('v128_load', 0, 0); else c.get(vb);
        emitBinary(c, op, true);
        c.mem('v128_store', 0, 0);
        c.get(po).i32(16).op('i32_add').set(po);
        if (sa === 1) c.get(pa).i32(16).op('i32_add').set(pa);
        if (sb === 1) c.get(pb).i32(16).op('i32_add').set(pb);
      });
      c.forUp(i, () => c.get(n4), inner, 1, () => {
        c.get(po).get(pa).mem('f32_load').get(pb).mem('f32_load');
        emitBinary(c, op, false);
        c.mem('f32_store');
        c.get(po).i32(4).op('i32_add').set(po);
        if (sa === 1) c.get(pa).i32(4).op('i32_add').set(pa);
        if (sb === 1) c.get(pb).i32(4).op('i32_add').set(pb);
      });
      c.get(a).get(aOuter).i32(4).op('i32_mul').op('i32_add').set(a);
      c.get(b).get(bOuter).i32(4).op('i32_mul').op('i32_add').set(b);
    });
  });
};

const emitWhere = (m: ModuleBuilder): void => {
  m.func('where', [i32, i32, i32, i32, i32], [], (c) => {
    const [cond, a, b, out, n] = [0, 1, 2, 3, 4];
    const [i, off] = [c.local(i32), c.local(i32)];
    c.forUp(i, () => c.i32(0), n, 4, () => {
      c.get(i).i32(4).op('i32_mul').set(off);
      c.get(out).get(off).op('i32_add');
      c.get(a).get(off).op('i32_add').mem('v128_load');
      c.get(b).get(off).op('i32_add').mem('v128_load');
      // cond ≠ 0 (NaN counts as true, −0 as false, as in JS).
      c.get(cond).get(off).op('i32_add').mem('v128_load').f32x4(0).simd('f32x4_ne');
      c.simd('v128_bitselect').mem('v128_store');
    });
  });
};

/** Row sums accumulate in f64x2 pairs (as the reference accumulates in doubles); max in f32x4. */
const emitReduce = (m: ModuleBuilder, op: 'sum' | 'max'): void => {
  m.func(`reduce_${op}`, [i32, i32, i32, i32], [], (c) => {
    const [x, out, outer, inner] = [0, 1, 2, 3];
    const [o, i, p, n4] = [c.local(i32), c.local(i32), c.local(i32), c.local(i32)];
    const [acc0, acc1] = [c.local(v128), c.local(v128)];
    const s = c.local(op === 'sum' ? f64 : f32);
    c.get(x).set(p);
    c.get(inner).i32(-4).op('i32_and').set(n4);
    c.forUp(o, () => c.i32(0), outer, 1, () => {
      if (op === 'sum') {
        c.f32x4(0).tee(acc0).set(acc1);
        c.forUp(i, () => c.i32(0), n4, 4, () => {
          c.get(acc0).get(p).mem('v128_load64_zero', 0, 0).simd('f64x2_promote_low_f32x4').simd('f64x2_add').set(acc0);
          c.get(acc1).get(p).mem('v128_load64_zero', 8, 0).simd('f64x2_promote_low_f32x4').simd('f64x2_add').set(acc1);
          c.get(p).i32(16).op('i32_add').set(p);
        });
        c.get(acc0).get(acc1).simd('f64x2_add').set(acc0);
        c.get(acc0).f64x2ExtractLane(0).get(acc0).f64x2ExtractLane(1).op('f64_add').set(s);
        c.forUp(i, () => c.get(n4), inner, 1, () => {
          c.get(s).get(p).mem('f32_load').op('f64_promote_f32').op('f64_add').set(s);
          c.get(p).i32(4).op('i32_add').set(p);
        });
        c.get(out).get(s).op('f32_demote_f64').mem('f32_store');
      } else {
        c.f32x4(-Infinity).set(acc0);
        c.forUp(i, () => c.i32(0), n4, 4, () => {
          c.get(acc0).get(p).mem('v128_load', 0, 0).simd('f32x4_max').set(acc0);
          c.get(p).i32(16).op('i32_add').set(p);
        });
        c.get(acc0).f32x4ExtractLane(0).get(acc0).f32x4ExtractLane(1).op('f32_max')
          .get(acc0).f32x4ExtractLane(2).get(acc0).f32x4ExtractLane(3).op('f32_max').op('f32_max').set(s);
        c.forUp(i, () => c.get(n4), inner, 1, () => {
          c.get(s).get(p).mem('f32_load').op('f32_max').set(s);
          c.get(p).i32(4).op('i32_add').set(p);
        });
        c.get(out).get(s).mem('f32_store');
      }
      c.get(out).i32(4).op('i32_add').set(out);
    });
  });
};

/**
 * Reduction over the middle axis of [outer, size, inner]: four columns i at a time in vectors (sums
 * in two f64x2 accumulators, max in f32x4, NaN propagating), the last inner mod 4 one by one.
 */
const emitReduceAxis = (m: ModuleBuilder, op: 'sum' | 'max'): void => {
  m.func(`reduceAxis_${op}`, [i32, i32, i32, i32, i32], [], (c) => {
    const [x, out, outer, size, inner] = [0, 1, 2, 3, 4];
    const [o, i, j, p, i4, rowBytes, base] = Array.from({ length: 7 }, () => c.local(i32));
    const [acc0, acc1, v] = [c.local(v128), c.local(v128), c.local(v128)];
    const s = c.local(op === 'sum' ? f64 : f32);
    c.get(inner).i32(-4).op('i32_and').set(i4);
    c.get(inner).i32(4).op('i32_mul').set(rowBytes);
    c.forUp(o, () => c.i32(0), outer, 1, () => {
      c.get(x).get(o).get(size).op('i32_mul').get(rowBytes).op('i32_mul').op('i32_add').set(base);
      c.forUp(i, () => c.i32(0), i4, 4, () => {
        c.get(base).get(i).i32(4).op('i32_mul').op('i32_add').set(p);
        if (op === 'sum') c.f32x4(0).tee(acc0).set(acc1);
        else c.f32x4(-Infinity).set(acc0);
        c.forUp(j, () => c.i32(0), size, 1, () => {
          c.get(p).mem('v128_load', 0, 0).set(v);
          if (op === 'sum') {
            c.get(acc0).get(v).simd('f64x2_promote_low_f32x4').simd('f64x2_add').set(acc0);
            c.get(acc1).get(v).get(v).shuffle32(2, 3, 2, 3).simd('f64x2_promote_low_f32x4').simd('f64x2_add').set(acc1);
          } else {
            c.get(acc0).get(v).simd('f32x4_max').set(acc0);
          }
          c.get(p).get(rowBytes).op('i32_add').set(p);
        });
        c.get(out).get(o).get(inner).op('i32_mul').get(i).op('i32_add').i32(4).op('i32_mul').op('i32_add');
        if (op === 'sum') {
          c.get(acc0).simd('f32x4_demote_f64x2_zero').get(acc1).simd('f32x4_demote_f64x2_zero').shuffle32(0, 1, 4, 5);
        } else c.get(acc0);
        c.mem('v128_store', 0, 0);
      });
      c.forUp(i, () => c.get(i4), inner, 1, () => {
        c.get(base).get(i).i32(4).op('i32_mul').op('i32_add').set(p);
        if (op === 'sum') c.f64(0).set(s);
        else c.f32(-Infinity).set(s);
        c.forUp(j, () => c.i32(0), size, 1, () => {
          if (op === 'sum') c.get(s).get(p).mem('f32_load').op('f64_promote_f32').op('f64_add').set(s);
          else {
            // max, NaN propagating (f32.max does)
            c.get(s).get(p).mem('f32_load').op('f32_max').set(s);
          }
          c.get(p).get(rowBytes).op('i32_add').set(p);
        });
        c.get(out).get(o).get(inner).op('i32_mul').get(i).op('i32_add').i32(4).op('i32_mul').op('i32_add');
        c.get(s);
        if (op === 'sum') c.op('f32_demote_f64');
        c.mem('f32_store');
      });
    });
  });
};

/**
 * A rank-4 strided gather (views with short rows: broadcasts, upsampling repeats), scalar loads and
 * stores in a loop nest whose pointers step by the strides (any sign, 0 for a repeat).
 */
const emitStrided4 = (m: ModuleBuilder): void => {
  m.func('strided4', Array.from({ length: 10 }, () => i32), [], (c) => {
    const [src, dst, d, s] = [0, 1, [2, 3, 4, 5], [6, 7, 8, 9]];
    const idx = d.map(() => c.local(i32));
    const ptr = d.map(() => c.local(i32));
    const bytes = s.map(() => c.local(i32));
    s.forEach((sk, k) => c.get(sk).i32(4).op('i32_mul').set(bytes[k]));
    c.get(src).set(ptr[0]);
    const level = (k: number): void => {
      if (k > 0) c.get(ptr[k - 1]).set(ptr[k]);
      c.forUp(idx[k], () => c.i32(0), d[k], 1, () => {
        if (k < 3) level(k + 1);
        else {
          c.get(dst).get(ptr[3]).mem('f32_load').mem('f32_store');
          c.get(dst).i32(4).op('i32_add').set(dst);
        }
        c.get(ptr[k]).get(bytes[k]).op('i32_add').set(ptr[k]);
      });
    };
    level(0);
  });
};

export const buildElementwiseModule = (memory: MemoryImport): ModuleBuilder => {
  const m = new ModuleBuilder(memory);
  for (const op of simdUnaryOps) emitUnaryKernel(m, op);
  for (const op of simdBinaryOps) for (const kind of runKinds) emitBinaryKernel(m, op, kind);
  emitWhere(m);
  emitReduce(m, 'sum');
  emitReduce(m, 'max');
  emitReduceAxis(m, 'sum');
  emitReduceAxis(m, 'max');
  emitStrided4(m);
  buildRowFunctions(m);
  buildOptimFunctions(m);
  return m;
};
