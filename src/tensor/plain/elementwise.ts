/** Elementwise kernels: unary maps, strided-broadcast binary ops, where, and last-axis reductions. */
import type { BinaryOp, FloatArray, ReduceOp, UnaryOp } from '../backend.ts';
import { erf } from './erf.ts';
import { checkLength, checkView, collapseDims, forEachRun } from './indexing.ts';

/**
 * A logistic that never forms exp of a large positive number: for x < 0 it uses e^x/(1 + e^x), so
 * ±1000 give 0 and 1 instead of NaN, and tiny results keep their relative precision.
 */
const sigmoid = (x: number): number => {
  const e = Math.exp(-Math.abs(x));
  return (x >= 0 ? 1 : e) / (1 + e);
};

/** out[i] = op(x[i]) for i < out.length. One loop per op so each loop body is a single inlined expression. */
export const unary = (op: UnaryOp, x: FloatArray, out: FloatArray): void => {
  const n = out.length;
  checkLength('unary', 'x', x, n);
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) out[i] = -x[i]; return;
    case 'exp': for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]); return;
    case 'log': for (let i = 0; i < n; i++) out[i] = Math.log(x[i]); return;
    case 'sqrt': for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]); return;
    case 'rsqrt': for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(x[i]); return;
    case 'square': for (let i = 0; i < n; i++) { const v = x[i]; out[i] = v * v; } return;
    case 'abs': for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]); return;
    case 'sign': for (let i = 0; i < n; i++) out[i] = Math.sign(x[i]); return;
    case 'sin': for (let i = 0; i < n; i++) out[i] = Math.sin(x[i]); return;
    case 'cos': for (let i = 0; i < n; i++) out[i] = Math.cos(x[i]); return;
    case 'tanh': for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]); return;
    case 'sigmoid': for (let i = 0; i < n; i++) out[i] = sigmoid(x[i]); return;
    case 'relu':
      // Branchless on the sign (a data-dependent branch mispredicts half the time on activations);
      // the −∞ test is never taken in practice and keeps relu(−∞) = 0 instead of NaN.
      for (let i = 0; i < n; i++) {
        const v = x[i];
        out[i] = v === -Infinity ? 0 : (v + Math.abs(v)) * 0.5;
      }
      return;
    case 'erf': for (let i = 0; i < n; i++) out[i] = erf(x[i]); return;
    case 'reciprocal': for (let i = 0; i < n; i++) out[i] = 1 / x[i]; return;
    default: throw new RangeError(`plain unary: unknown op ${String(op satisfies never)}`);
  }
};

/**
 * out[o + i] = a[ia + i·sa] op b[ib + i·sb] for i < len: one strided run. Comparisons use +(p) to
 * turn the boolean into 0/1 without a branch.
 */
const binaryRun = (
  op: BinaryOp, a: FloatArray, ia: number, sa: number, b: FloatArray, ib: number, sb: number,
  out: FloatArray, o: number, len: number,
): void => {
  const end = o + len;
  switch (op) {
    case 'add': for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] + b[ib]; return;
    case 'sub': for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] - b[ib]; return;
    case 'mul': for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] * b[ib]; return;
    case 'div': for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] / b[ib]; return;
    case 'pow': for (; o < end; o++, ia += sa, ib += sb) out[o] = Math.pow(a[ia], b[ib]); return;
    case 'maximum': for (; o < end; o++, ia += sa, ib += sb) out[o] = Math.max(a[ia], b[ib]); return;
    case 'minimum': for (; o < end; o++, ia += sa, ib += sb) out[o] = Math.min(a[ia], b[ib]); return;
    case 'greater': for (; o < end; o++, ia += sa, ib += sb) out[o] = +(a[ia] > b[ib]); return;
    case 'greaterEqual': for (; o < end; o++, ia += sa, ib += sb) out[o] = +(a[ia] >= b[ib]); return;
    case 'less': for (; o < end; o++, ia += sa, ib += sb) out[o] = +(a[ia] < b[ib]); return;
    case 'lessEqual': for (; o < end; o++, ia += sa, ib += sb) out[o] = +(a[ia] <= b[ib]); return;
    case 'equal': for (; o < end; o++, ia += sa, ib += sb) out[o] = +(a[ia] === b[ib]); return;
    case 'notEqual': for (; o < end; o++, ia += sa, ib += sb) out[o] = +(a[ia] !== b[ib]); return;
    default: throw new RangeError(`plain binary: unknown op ${String(op satisfies never)}`);
  }
};

/**
 * The general strided-broadcast form. Dimensions that both operands walk contiguously are merged
 * first, so same-shape contiguous operands and scalar-with-tensor pairs become a single flat run.
 */
export const binary = (
  op: BinaryOp, a: FloatArray, b: FloatArray, out: FloatArray, outShape: readonly number[],
  aStrides: readonly number[], bStrides: readonly number[],
): void => {
  checkView('binary', 'a', a, outShape, aStrides, 0);
  checkView('binary', 'b', b, outShape, bStrides, 0);
  if (out.length === 0) return;
  const { shape, strides: [sa, sb] } = collapseDims(outShape, [aStrides, bStrides]);
  const last = shape.length - 1;
  const innerA = last >= 0 ? sa[last] : 0;
  const innerB = last >= 0 ? sb[last] : 0;
  forEachRun(shape, [sa, sb], ([ia, ib], o, len) => {
    binaryRun(op, a, ia, innerA, b, ib, innerB, out, o, len);
  });
};

/** out[i] = cond[i] != 0 ? a[i] : b[i]. */
export const where = (cond: FloatArray, a: FloatArray, b: FloatArray, out: FloatArray): void => {
  const n = out.length;
  checkLength('where', 'cond', cond, n);
  checkLength('where', 'a', a, n);
  checkLength('where', 'b', b, n);
  for (let i = 0; i < n; i++) out[i] = cond[i] !== 0 ? a[i] : b[i];
};

/**
 * x as [outer, inner] reduced over inner, accumulating in doubles. max propagates NaN (Math.max);
 * an empty row sums to 0 and has max −∞.
 */
export const reduceLast = (op: ReduceOp, x: FloatArray, out: FloatArray, inner: number): void => {
  const outer = out.length;
  checkLength('reduceLast', 'x', x, outer * inner);
  if (op === 'sum') {
    for (let o = 0, p = 0; o < outer; o++) {
      let s = 0;
      for (const end = p + inner; p < end; p++) s += x[p];
      out[o] = s;
    }
  } else if (op === 'max') {
    for (let o = 0, p = 0; o < outer; o++) {
      let m = -Infinity;
      for (const end = p + inner; p < end; p++) m = Math.max(m, x[p]);
      out[o] = m;
    }
  } else {
    throw new RangeError(`plain reduceLast: unknown op ${String(op satisfies never)}`);
  }
};

/**
 * x as [outer, size, inner] reduced over the middle axis, each output accumulated in a double in
 * order of the middle index (the same order and precision as reduceLast). size ≥ 1.
 */
export const reduceAxis = (op: ReduceOp, x: FloatArray, out: FloatArray, outer: number, size: number, inner: number): void => {
  checkLength('reduceAxis', 'x', x, outer * size * inner);
  checkLength('reduceAxis', 'out', out, outer * inner);
  if (op !== 'sum' && op !== 'max') throw new RangeError(`reduceAxis: unknown op ${String(op satisfies never)}`);
  if (!(size >= 1)) throw new RangeError(`reduceAxis: size ${size} must be ≥ 1`);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    for (let i = 0; i < inner; i++) acc[i] = x[base + i];
    for (let j = 1; j < size; j++) {
      const row = base + j * inner;
      if (op === 'sum') for (let i = 0; i < inner; i++) acc[i] += x[row + i];
      else for (let i = 0; i < inner; i++) acc[i] = Math.max(acc[i], x[row + i]);
    }
    out.set(acc, o * inner);
  }
};
