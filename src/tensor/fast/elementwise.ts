/**
 * Elementwise kernels on heap blocks: the SIMD kernels where one exists (see elementwise-wasm.ts),
 * tight loops over a Float32Array view of the memory otherwise (log, trig, tanh, erf, sign, pow, and
 * broadcasts whose innermost strides are neither 0 nor 1). The loops compute in doubles and round
 * when they store, exactly like the plain backend.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from '../backend.ts';
import { erf } from '../plain/erf.ts';
import {
  runKinds, simdBinaryOps, simdUnaryOps, type ElementwiseExports, type RunKind, type SimdBinaryOp,
  type SimdUnaryOp,
} from './elementwise-wasm.ts';
import type { FloatBlock, WasmHeap } from './memory.ts';
import { checkLength, checkView, collapseDims, forEachSlab, sizeOf } from './strides.ts';
import { runSplit, type Workers } from './parallel.ts';

export interface ElementwiseContext {
  readonly heap: WasmHeap;
  readonly ew: ElementwiseExports;
  /** Threads to split large SIMD kernels over (the elementwise module is module 1 of the pool). */
  readonly workers: Workers | null;
}

/** Runs SIMD export `name` over [0, n) split into ranges (on multiples of 4) when n is large. */
const split = (ctx: ElementwiseContext, name: keyof ElementwiseExports, n: number,
  params: (from: number, to: number) => readonly number[]): void =>
  runSplit(ctx.workers, 1, name, n, 4, params, (p) => (ctx.ew[name] as (...a: number[]) => void)(...p));

const isSimdUnary = (op: UnaryOp): op is SimdUnaryOp => (simdUnaryOps as readonly string[]).includes(op);
const isSimdBinary = (op: BinaryOp): op is SimdBinaryOp => (simdBinaryOps as readonly string[]).includes(op);
const isRunKind = (k: string): k is RunKind => (runKinds as readonly string[]).includes(k);

/** out[0 .. n) = op(x[0 .. n)); x is at least n long. */
export const unary = (ctx: ElementwiseContext, op: UnaryOp, x: FloatBlock, out: FloatBlock, n: number): void => {
  checkLength('unary', 'x', x.size, n);
  if (isSimdUnary(op)) {
    split(ctx, `unary_${op}`, n, (from, to) => [x.offset + 4 * from, out.offset + 4 * from, to - from]);
    return;
  }
  const f = ctx.heap.f32;
  const xi = x.index;
  const oi = out.index;
  const end = oi + n;
  switch (op) {
    case 'log': for (let i = xi, o = oi; o < end; i++, o++) f[o] = Math.log(f[i]); return;
    case 'sign': for (let i = xi, o = oi; o < end; i++, o++) f[o] = Math.sign(f[i]); return;
    case 'sin': for (let i = xi, o = oi; o < end; i++, o++) f[o] = Math.sin(f[i]); return;
    case 'cos': for (let i = xi, o = oi; o < end; i++, o++) f[o] = Math.cos(f[i]); return;
    case 'tanh': for (let i = xi, o = oi; o < end; i++, o++) f[o] = Math.tanh(f[i]); return;
    case 'erf': for (let i = xi, o = oi; o < end; i++, o++) f[o] = erf(f[i]); return;
    default: throw new RangeError(`fast unary: unknown op ${String(op)}`);
  }
};

/** out[o + i] = a[ia + i·sa] op b[ib + i·sb] for i < len, on one view of the memory. */
const binaryRun = (op: BinaryOp, f: Float32Array, ia: number, sa: number, ib: number, sb: number,
  o: number, len: number): void => {
  const end = o + len;
  switch (op) {
    case 'add': for (; o < end; o++, ia += sa, ib += sb) f[o] = f[ia] + f[ib]; return;
    case 'sub': for (; o < end; o++, ia += sa, ib += sb) f[o] = f[ia] - f[ib]; return;
    case 'mul': for (; o < end; o++, ia += sa, ib += sb) f[o] = f[ia] * f[ib]; return;
    case 'div': for (; o < end; o++, ia += sa, ib += sb) f[o] = f[ia] / f[ib]; return;
    case 'pow': for (; o < end; o++, ia += sa, ib += sb) f[o] = Math.pow(f[ia], f[ib]); return;
    case 'maximum': for (; o < end; o++, ia += sa, ib += sb) f[o] = Math.max(f[ia], f[ib]); return;
    case 'minimum': for (; o < end; o++, ia += sa, ib += sb) f[o] = Math.min(f[ia], f[ib]); return;
    case 'greater': for (; o < end; o++, ia += sa, ib += sb) f[o] = +(f[ia] > f[ib]); return;
    case 'greaterEqual': for (; o < end; o++, ia += sa, ib += sb) f[o] = +(f[ia] >= f[ib]); return;
    case 'less': for (; o < end; o++, ia += sa, ib += sb) f[o] = +(f[ia] < f[ib]); return;
    case 'lessEqual': for (; o < end; o++, ia += sa, ib += sb) f[o] = +(f[ia] <= f[ib]); return;
    case 'equal': for (; o < end; o++, ia += sa, ib += sb) f[o] = +(f[ia] === f[ib]); return;
    case 'notEqual': for (; o < end; o++, ia += sa, ib += sb) f[o] = +(f[ia] !== f[ib]); return;
    default: throw new RangeError(`fast binary: unknown op ${String(op satisfies never)}`);
  }
};

/**
 * The strided-broadcast binary op. After collapsing, the last two dimensions go to one SIMD call
 * when the innermost strides are (1, 1), (1, 0) or (0, 1) — same shape, and scalar, bias or row
 * broadcasts; leading dimensions (rare after collapsing) are walked here.
 */
export const binary = (
  ctx: ElementwiseContext, op: BinaryOp, a: FloatBlock, b: FloatBlock, out: FloatBlock,
  outShape: readonly number[], aStrides: readonly number[], bStrides: readonly number[],
): void => {
  checkView('binary', 'a', a.size, outShape, aStrides, 0);
  checkView('binary', 'b', b.size, outShape, bStrides, 0);
  if (sizeOf(outShape) === 0) return;
  const { shape, strides: [sa, sb] } = collapseDims(outShape, [aStrides, bStrides]);
  const rank = shape.length;
  const kind = rank === 0 ? '' : `${sa[rank - 1]}${sb[rank - 1]}`;
  if (isSimdBinary(op) && isRunKind(kind)) {
    const name = `binary_${op}_${kind}` as const;
    const kernel = ctx.ew[name];
    const keep = Math.min(rank, 2);
    const outer = keep === 2 ? shape[rank - 2] : 1;
    const inner = shape[rank - 1];
    const aOuter = keep === 2 ? sa[rank - 2] : 0;
    const bOuter = keep === 2 ? sb[rank - 2] : 0;
    if (rank <= 2) {
      // One slab: split rows when there are several, else the run itself.
      const [ia, ib] = [sa[rank - 1], sb[rank - 1]];
      if (outer > 1) {
        split(ctx, name, outer * inner, (from, to) => {
          const [r0, r1] = [Math.round(from / inner), Math.round(to / inner)];
          return [a.offset + 4 * r0 * aOuter, b.offset + 4 * r0 * bOuter, out.offset + 4 * r0 * inner, r1 - r0, inner, aOuter, bOuter];
        });
      } else {
        split(ctx, name, inner, (from, to) => [a.offset + 4 * from * ia, b.offset + 4 * from * ib, out.offset + 4 * from, 1, to - from, 0, 0]);
      }
      return;
    }
    forEachSlab(shape, [sa, sb], keep, [0, 0], ([ia, ib], start) => {
      kernel(a.offset + 4 * ia, b.offset + 4 * ib, out.offset + 4 * start, outer, shape[rank - 1], aOuter, bOuter);
    });
    return;
  }
  const f = ctx.heap.f32;
  const keep = Math.min(rank, 1);
  const len = rank === 0 ? 1 : shape[rank - 1];
  const ia = rank === 0 ? 0 : sa[rank - 1];
  const ib = rank === 0 ? 0 : sb[rank - 1];
  forEachSlab(shape, [sa, sb], keep, [a.index, b.index], ([pa, pb], start) => {
    binaryRun(op, f, pa, ia, pb, ib, out.index + start, len);
  });
};

/** out[i] = cond[i] ≠ 0 ? a[i] : b[i] for i < n. */
export const where = (ctx: ElementwiseContext, cond: FloatBlock, a: FloatBlock, b: FloatBlock,
  out: FloatBlock, n: number): void => {
  checkLength('where', 'cond', cond.size, n);
  checkLength('where', 'a', a.size, n);
  checkLength('where', 'b', b.size, n);
  split(ctx, 'where', n, (from, to) => [cond.offset + 4 * from, a.offset + 4 * from, b.offset + 4 * from, out.offset + 4 * from, to - from]);
};

/** x as [outer, inner] reduced over inner: sums accumulate in doubles; max propagates NaN. */
export const reduceLast = (ctx: ElementwiseContext, op: ReduceOp, x: FloatBlock, out: FloatBlock,
  outer: number, inner: number): void => {
  checkLength('reduceLast', 'x', x.size, outer * inner);
  if (op !== 'sum' && op !== 'max') throw new RangeError(`fast reduceLast: unknown op ${String(op satisfies never)}`);
  const name = `reduce_${op}` as const;
  runSplit(ctx.workers, 1, name, outer, 1, (from, to) => [x.offset + 4 * from * inner, out.offset + 4 * from, to - from, inner],
    (p) => ctx.ew[name](p[0], p[1], p[2], p[3]), outer * inner);
};

/** x as [outer, size, inner] reduced over the middle axis, split over threads by outer rows. */
export const reduceAxis = (ctx: ElementwiseContext, op: ReduceOp, x: FloatBlock, out: FloatBlock,
  outer: number, size: number, inner: number): void => {
  checkLength('reduceAxis', 'x', x.size, outer * size * inner);
  if (op !== 'sum' && op !== 'max') throw new RangeError(`fast reduceAxis: unknown op ${String(op satisfies never)}`);
  if (!(size >= 1)) throw new RangeError(`fast reduceAxis: size ${size} must be ≥ 1`);
  if (inner === 1) {
    reduceLast(ctx, op, x, out, outer, size);
    return;
  }
  const name = `reduceAxis_${op}` as const;
  runSplit(ctx.workers, 1, name, outer, 1,
    (from, to) => [x.offset + 4 * from * size * inner, out.offset + 4 * from * inner, to - from, size, inner],
    (p) => ctx.ew[name](p[0], p[1], p[2], p[3], p[4]), outer * size * inner);
};
