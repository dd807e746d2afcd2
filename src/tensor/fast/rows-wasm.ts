/**
 * The fused row kernels (RowKernels) in WebAssembly SIMD, one function per kernel and activation.
 * Each takes its pointers already offset to the first of `rows` rows of `len` floats (so a thread
 * runs a row range), walks a row in f32x4 vectors (rows need not be 16-byte aligned) and ends it
 * with a partial vector that reads and writes only the valid lanes. Row sums accumulate in f64x2.
 *
 * SiLU: z·σ(z), with σ the elementwise module's SIMD sigmoid; its derivative σ·(1 + z·(1 − σ)).
 */
import type { RowAct } from '../backend.ts';
import { Code, f64, i32, ModuleBuilder, v128 } from './emitter.ts';
import { emitUnaryVector } from './elementwise-wasm.ts';
import { loadLanes, storeLanes } from './lanes.ts';

export const rowActs: readonly RowAct[] = ['identity', 'silu'];

/** Leaves act(z) on the stack. */
const emitAct = (c: Code, act: RowAct, z: number): void => {
  if (act === 'identity') {
    c.get(z);
    return;
  }
  emitUnaryVector(c, 'sigmoid', z);
  c.get(z).simd('f32x4_mul');
};

/** Leaves act′(z) on the stack (sig: a scratch v128 local). */
const emitActDerivative = (c: Code, act: RowAct, z: number, sig: number): void => {
  if (act === 'identity') {
    c.f32x4(1);
    return;
  }
  emitUnaryVector(c, 'sigmoid', z);
  c.set(sig);
  // σ·(1 + z·(1 − σ))
  c.get(sig).f32x4(1).get(z).f32x4(1).get(sig).simd('f32x4_sub').simd('f32x4_mul').simd('f32x4_add').simd('f32x4_mul');
};

/** acc += both halves of the f32x4 on the stack, promoted to f64x2 (lo, hi accumulators; t scratch). */
const accumulate = (c: Code, lo: number, hi: number, t: number): void => {
  c.set(t);
  c.get(lo).get(t).simd('f64x2_promote_low_f32x4').simd('f64x2_add').set(lo);
  c.get(hi).get(t).get(t).shuffle32(2, 3, 2, 3).simd('f64x2_promote_low_f32x4').simd('f64x2_add').set(hi);
};

/** lo + hi summed to one f64 on the stack. */
const total = (c: Code, lo: number, hi: number): void => {
  c.get(lo).get(hi).simd('f64x2_add').set(lo);
  c.get(lo).f64x2ExtractLane(0).get(lo).f64x2ExtractLane(1).op('f64_add');
};

/**
 * The row loop: for each row, `start()`, then `body(tail)` for every vector (tail: the last,
 * partial one, with `count` valid lanes), then `finish()`; `i` is the element index in the row and
 * `off` the byte offset of the current vector from the row start.
 */
const rowLoop = (c: Code, rowsArg: number, lenArg: number, l: { r: number; i: number; n4: number; off: number; count: number },
  start: () => void, body: (tail: boolean) => void, finish: () => void): void => {
  c.get(lenArg).i32(-4).op('i32_and').set(l.n4);
  c.get(lenArg).get(l.n4).op('i32_sub').set(l.count);
  c.forUp(l.r, () => c.i32(0), rowsArg, 1, () => {
    start();
    c.i32(0).set(l.off);
    c.forUp(l.i, () => c.i32(0), l.n4, 4, () => {
      body(false);
      c.get(l.off).i32(16).op('i32_add').set(l.off);
    });
    c.get(l.count).ifThen(() => body(true));
    finish();
  });
};

const rowLocals = (c: Code) => ({ r: c.local(i32), i: c.local(i32), n4: c.local(i32), off: c.local(i32), count: c.local(i32) });

/** (x, out, rows, len): out[2r] = Σ x, out[2r + 1] = Σ (x − mean)². */
const emitMoments = (m: ModuleBuilder): void => {
  m.func('rows_moments', [i32, i32, i32, i32], [], (c) => {
    const [x, out, rows, len] = [0, 1, 2, 3];
    const l = rowLocals(c);
    const [lo, hi, t, v, meanv] = Array.from({ length: 5 }, () => c.local(v128));
    const [s, mean, d, e] = [c.local(f64), c.local(f64), c.local(f64), c.local(f64)];
    const [p, j] = [c.local(i32), c.local(i32)];
    c.get(len).i32(-4).op('i32_and').set(l.n4);
    c.forUp(l.r, () => c.i32(0), rows, 1, () => {
      // Σ x
      c.f32x4(0).tee(lo).set(hi);
      c.get(x).set(p);
      c.forUp(j, () => c.i32(0), l.n4, 4, () => {
        c.get(p).mem('v128_load', 0, 0);
        accumulate(c, lo, hi, t);
        c.get(p).i32(16).op('i32_add').set(p);
      });
      total(c, lo, hi);
      c.set(s);
      c.forUp(j, () => c.get(l.n4), len, 1, () => {
        c.get(s).get(p).mem('f32_load').op('f64_promote_f32').op('f64_add').set(s);
        c.get(p).i32(4).op('i32_add').set(p);
      });
      c.get(s).get(len).op('f64_convert_i32_s').op('f64_div').set(mean);
      // Σ (x − mean)², in doubles
      c.get(mean).simd('f64x2_splat').set(meanv);
      c.f32x4(0).tee(lo).set(hi);
      c.get(x).set(p);
      c.forUp(j, () => c.i32(0), l.n4, 4, () => {
        c.get(p).mem('v128_load', 0, 0).set(v);
        c.get(v).simd('f64x2_promote_low_f32x4').get(meanv).simd('f64x2_sub').set(t);
        c.get(lo).get(t).get(t).simd('f64x2_mul').simd('f64x2_add').set(lo);
        c.get(v).get(v).shuffle32(2, 3, 2, 3).simd('f64x2_promote_low_f32x4').get(meanv).simd('f64x2_sub').set(t);
        c.get(hi).get(t).get(t).simd('f64x2_mul').simd('f64x2_add').set(hi);
        c.get(p).i32(16).op('i32_add').set(p);
      });
      total(c, lo, hi);
      c.set(d);
      c.forUp(j, () => c.get(l.n4), len, 1, () => {
        c.get(p).mem('f32_load').op('f64_promote_f32').get(mean).op('f64_sub').set(e);
        c.get(d).get(e).get(e).op('f64_mul').op('f64_add').set(d);
        c.get(p).i32(4).op('i32_add').set(p);
      });
      c.get(x).get(len).i32(4).op('i32_mul').op('i32_add').set(x);
      c.get(out).get(s).op('f32_demote_f64').mem('f32_store');
      c.get(out).get(d).op('f32_demote_f64').mem('f32_store', 4);
      c.get(out).i32(8).op('i32_add').set(out);
    });
  });
};

/** (x, a, b, out, rows, len): out = act(a[r]·x + b[r]). */
const emitAffine = (m: ModuleBuilder, act: RowAct): void => {
  m.func(`rows_affine_${act}`, [i32, i32, i32, i32, i32, i32], [], (c) => {
    const [x, a, b, out, rows, len] = [0, 1, 2, 3, 4, 5];
    const l = rowLocals(c);
    const [av, bv, v, z, y] = Array.from({ length: 5 }, () => c.local(v128));
    const [px, po] = [c.local(i32), c.local(i32)];
    rowLoop(c, rows, len, l, () => {
      c.get(a).mem('v128_load32_splat').set(av);
      c.get(b).mem('v128_load32_splat').set(bv);
    }, (tail) => {
      c.get(x).get(l.off).op('i32_add').set(px);
      c.get(out).get(l.off).op('i32_add').set(po);
      loadLanes(c, v, px, 0, tail, l.count);
      c.get(v).get(av).simd('f32x4_mul').get(bv).simd('f32x4_add').set(z);
      emitAct(c, act, z);
      c.set(y);
      storeLanes(c, po, 0, y, tail, l.count);
    }, () => {
      const rowBytes = (): void => { c.get(len).i32(4).op('i32_mul'); };
      c.get(x); rowBytes(); c.op('i32_add').set(x);
      c.get(out); rowBytes(); c.op('i32_add').set(out);
      c.get(a).i32(4).op('i32_add').set(a);
      c.get(b).i32(4).op('i32_add').set(b);
    });
  });
};

/**
 * The two gradient kernels share the computation of gz = gy·act′(a·x + b):
 * sums (x, gy, a, b, out, rows, len): out[2r] = Σ gz, out[2r + 1] = Σ gz·x;
 * input (x, gy, a, b, p, q, s, out, rows, len): out = p[r]·gz + q[r]·x + s[r].
 */
const emitGrad = (m: ModuleBuilder, act: RowAct, kind: 'sums' | 'input'): void => {
  const n = kind === 'sums' ? 7 : 10;
  m.func(`rows_grad${kind}_${act}`, new Array<typeof i32>(n).fill(i32), [], (c) => {
    const [x, gy, a, b] = [0, 1, 2, 3];
    const [p, q, s] = [4, 5, 6];
    const out = kind === 'sums' ? 4 : 7;
    const [rows, len] = [n - 2, n - 1];
    const l = rowLocals(c);
    const [av, bv, pv, qv, sv, xv, gv, z, sig, gz, y, t] = Array.from({ length: 12 }, () => c.local(v128));
    const [lo1, hi1, lo2, hi2] = Array.from({ length: 4 }, () => c.local(v128));
    const [px, pg, po] = [c.local(i32), c.local(i32), c.local(i32)];
    rowLoop(c, rows, len, l, () => {
      c.get(a).mem('v128_load32_splat').set(av);
      c.get(b).mem('v128_load32_splat').set(bv);
      if (kind === 'input') {
        c.get(p).mem('v128_load32_splat').set(pv);
        c.get(q).mem('v128_load32_splat').set(qv);
        c.get(s).mem('v128_load32_splat').set(sv);
      } else {
        c.f32x4(0).tee(lo1).tee(hi1).tee(lo2).set(hi2);
      }
    }, (tail) => {
      c.get(x).get(l.off).op('i32_add').set(px);
      c.get(gy).get(l.off).op('i32_add').set(pg);
      loadLanes(c, xv, px, 0, tail, l.count);
      loadLanes(c, gv, pg, 0, tail, l.count);
      c.get(xv).get(av).simd('f32x4_mul').get(bv).simd('f32x4_add').set(z);
      emitActDerivative(c, act, z, sig);
      c.get(gv).simd('f32x4_mul').set(gz);
      if (kind === 'sums') {
        // Masked lanes have gy = 0, so gz = 0 there.
        c.get(gz);
        accumulate(c, lo1, hi1, t);
        c.get(gz).get(xv).simd('f32x4_mul');
        accumulate(c, lo2, hi2, t);
      } else {
        c.get(out).get(l.off).op('i32_add').set(po);
        c.get(pv).get(gz).simd('f32x4_mul').get(qv).get(xv).simd('f32x4_mul').simd('f32x4_add').get(sv).simd('f32x4_add').set(y);
        storeLanes(c, po, 0, y, tail, l.count);
      }
    }, () => {
      const rowBytes = (): void => { c.get(len).i32(4).op('i32_mul'); };
      c.get(x); rowBytes(); c.op('i32_add').set(x);
      c.get(gy); rowBytes(); c.op('i32_add').set(gy);
      for (const ptr of kind === 'input' ? [a, b, p, q, s] : [a, b]) c.get(ptr).i32(4).op('i32_add').set(ptr);
      if (kind === 'sums') {
        c.get(out);
        total(c, lo1, hi1);
        c.op('f32_demote_f64').mem('f32_store');
        c.get(out);
        total(c, lo2, hi2);
        c.op('f32_demote_f64').mem('f32_store', 4);
        c.get(out).i32(8).op('i32_add').set(out);
      } else {
        c.get(out); rowBytes(); c.op('i32_add').set(out);
      }
    });
  });
};

/** Adds the row kernels to a module (the backend puts them in its elementwise module). */
export const buildRowFunctions = (m: ModuleBuilder): void => {
  emitMoments(m);
  for (const act of rowActs) {
    emitAffine(m, act);
    emitGrad(m, act, 'sums');
    emitGrad(m, act, 'input');
  }
};

export interface RowExports {
  rows_moments(x: number, out: number, rows: number, len: number): void;
  [name: `rows_affine_${string}`]: (...p: number[]) => void;
  [name: `rows_gradsums_${string}`]: (...p: number[]) => void;
  [name: `rows_gradinput_${string}`]: (...p: number[]) => void;
}
