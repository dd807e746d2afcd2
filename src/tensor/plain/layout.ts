/** Data-movement kernels: strided views, padding, concatenation, gather and its adjoint. */
import type { FloatArray } from '../backend.ts';
import { checkLength, checkView, collapseDims, forEachRun, sizeOf } from './indexing.ts';

/** out[i] = x[offset + Σ idx_d·strides_d]; runs that are contiguous in x collapse into one copy loop. */
export const strided = (
  x: FloatArray, out: FloatArray, outShape: readonly number[], strides: readonly number[],
  offset: number,
): void => {
  checkView('strided', 'x', x, outShape, strides, offset);
  if (out.length === 0) return;
  const { shape, strides: [s] } = collapseDims(outShape, [strides]);
  const step = shape.length > 0 ? s[shape.length - 1] : 0;
  forEachRun(shape, [s], ([ix], o, len) => {
    for (const end = o + len; o < end; o++, ix += step) out[o] = x[ix];
  }, [offset]);
};

/** Fills with `value`, then copies each innermost row of x to its place shifted by `before`. */
export const pad = (
  x: FloatArray, out: FloatArray, shape: readonly number[], before: readonly number[],
  after: readonly number[], value: number,
): void => {
  const rank = shape.length;
  if (before.length !== rank || after.length !== rank) {
    throw new RangeError(`plain pad: before [${before}] / after [${after}] do not match rank ${rank}`);
  }
  if (before.some((v) => v < 0) || after.some((v) => v < 0)) {
    throw new RangeError(`plain pad: negative padding before [${before}] / after [${after}]`);
  }
  checkLength('pad', 'x', x, sizeOf(shape));
  out.fill(value);
  if (sizeOf(shape) === 0) return;
  if (rank === 0) {
    out[0] = x[0];
    return;
  }
  const outStrides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    outStrides[d] = s;
    s *= shape[d] + before[d] + after[d];
  }
  let base = 0;
  for (let d = 0; d < rank; d++) base += before[d] * outStrides[d];
  // Walk x's rows; the odometer over the leading dims moves the output offset by outStrides.
  forEachRun(shape, [outStrides], ([o], ix, len) => {
    for (const end = ix + len; ix < end; ix++, o++) out[o] = x[ix];
  }, [base]);
};

/** Each xs[j] as [outer, inners[j]] placed side by side in [outer, Σ inners]. */
export const concat = (
  xs: readonly FloatArray[], out: FloatArray, outer: number, inners: readonly number[],
): void => {
  if (xs.length !== inners.length) {
    throw new RangeError(`plain concat: ${xs.length} inputs but ${inners.length} inner sizes`);
  }
  let total = 0;
  for (const w of inners) total += w;
  xs.forEach((x, j) => checkLength('concat', `input ${j}`, x, outer * inners[j]));
  for (let j = 0, col = 0; j < xs.length; col += inners[j], j++) {
    const x = xs[j];
    const w = inners[j];
    for (let o = 0, ix = 0; o < outer; o++) {
      for (let p = o * total + col, end = p + w; p < end; p++, ix++) out[p] = x[ix];
    }
  }
};

/** Throws unless every index is an integer in [0, axisSize). */
const checkIndices = (kernel: string, indices: FloatArray, nIdx: number, axisSize: number): void => {
  checkLength(kernel, 'indices', indices, nIdx);
  for (let j = 0; j < nIdx; j++) {
    const r = indices[j];
    if (!(Number.isInteger(r) && r >= 0 && r < axisSize)) {
      throw new RangeError(`plain ${kernel}: index ${r} at position ${j} is not an integer in [0, ${axisSize})`);
    }
  }
};

/** out[o, j, i] = x[o, indices[j], i]. */
export const gather = (
  x: FloatArray, indices: FloatArray, out: FloatArray, outer: number, axisSize: number,
  inner: number, nIdx: number,
): void => {
  checkLength('gather', 'x', x, outer * axisSize * inner);
  checkIndices('gather', indices, nIdx, axisSize);
  let p = 0;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nIdx; j++) {
      let ix = (o * axisSize + indices[j]) * inner;
      for (const end = p + inner; p < end; p++, ix++) out[p] = x[ix];
    }
  }
};

/** out[o, indices[j], i] += g[o, j, i], out starting at zero: the adjoint of gather. */
export const scatterAdd = (
  g: FloatArray, indices: FloatArray, out: FloatArray, outer: number, nIdx: number, inner: number,
  axisSize: number,
): void => {
  checkLength('scatterAdd', 'g', g, outer * nIdx * inner);
  checkIndices('scatterAdd', indices, nIdx, axisSize);
  out.fill(0);
  let p = 0;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nIdx; j++) {
      let io = (o * axisSize + indices[j]) * inner;
      for (const end = p + inner; p < end; p++, io++) out[io] += g[p];
    }
  }
};
