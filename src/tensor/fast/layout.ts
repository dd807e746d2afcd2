/**
 * Data-movement kernels on heap blocks, as loops over one Float32Array view of the memory:
 * contiguous runs go through `copyWithin` (a memmove) once they are long enough to pay for the call.
 */
import type { ElementwiseContext } from './elementwise.ts';
import type { FloatBlock, WasmHeap } from './memory.ts';
import { runSplit } from './parallel.ts';
import { checkLength, checkView, collapseDims, forEachSlab, sizeOf } from './strides.ts';

/** Below this, an element loop beats copyWithin's call overhead. */
const memmoveMin = 32;

/** f[o .. o + len) = f[i, i + step, …] */
const copyRun = (f: Float32Array, o: number, i: number, step: number, len: number): void => {
  if (step === 1 && len >= memmoveMin) {
    f.copyWithin(o, i, i + len);
    return;
  }
  if (step === 0 && len >= memmoveMin) {
    f.fill(f[i], o, o + len);
    return;
  }
  for (const end = o + len; o < end; o++, i += step) f[o] = f[i];
};

/** out[i] = x[offset + Σ idx_d·strides_d]. */
export const strided = (heap: WasmHeap, x: FloatBlock, out: FloatBlock, outShape: readonly number[],
  strides: readonly number[], offset: number, ctx?: ElementwiseContext): void => {
  checkView('strided', 'x', x.size, outShape, strides, offset);
  if (sizeOf(outShape) === 0) return;
  const { shape, strides: [s] } = collapseDims(outShape, [strides]);
  const rank = shape.length;
  const f = heap.f32;
  if (rank >= 2 && s[rank - 2] === 1 && Math.abs(s[rank - 1]) > 1) {
    // A transpose (say, moving a batch axis last): gathering one element per cache line would miss
    // on every read, so copy in square tiles that stay in L1.
    const [rows, cols, sc] = [shape[rank - 2], shape[rank - 1], s[rank - 1]];
    forEachSlab(shape, [s], 2, [x.index + offset], ([ix], start) => transposeTiles(f, out.index + start, ix, rows, cols, sc));
    return;
  }
  const step = rank > 0 ? s[rank - 1] : 0;
  const len = rank > 0 ? shape[rank - 1] : 1;
  if (ctx && rank >= 2 && rank <= 4 && len < memmoveMin) {
    // Short rows (an upsampling's [n·c·h, 2, w, 2] repeat, say): one WebAssembly loop nest, the
    // outermost dimension split over threads.
    const d = [...new Array<number>(4 - rank).fill(1), ...shape];
    const st = [...new Array<number>(4 - rank).fill(0), ...s];
    const inner = d[1] * d[2] * d[3];
    runSplit(ctx.workers, 1, 'strided4', d[0], 1,
      (from, to) => [x.offset + 4 * (offset + from * st[0]), out.offset + 4 * from * inner, to - from, d[1], d[2], d[3], ...st],
      (p) => ctx.ew.strided4(...p), d[0] * inner);
    return;
  }
  if (rank >= 2 && len < memmoveMin) {
    // Short rows (an upsampling's repeat axis, say): two dimensions per slab, so the per-slab
    // bookkeeping is paid once per plane instead of once per handful of elements.
    const [rows, rowStep] = [shape[rank - 2], s[rank - 2]];
    forEachSlab(shape, [s], 2, [x.index + offset], ([ix], start) => {
      let o = out.index + start;
      for (let r = 0; r < rows; r++) {
        for (let c = 0, i = ix + r * rowStep; c < len; c++, i += step) f[o++] = f[i];
      }
    });
    return;
  }
  forEachSlab(shape, [s], Math.min(rank, 1), [x.index + offset], ([ix], start) => {
    copyRun(f, out.index + start, ix, step, len);
  });
};

const tile = 32;

/** out[r·cols + c] = f[i + r + c·sc] for r < rows, c < cols, in tile × tile blocks. */
const transposeTiles = (f: Float32Array, o: number, i: number, rows: number, cols: number, sc: number): void => {
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(rows, r0 + tile);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(cols, c0 + tile);
      for (let r = r0; r < r1; r++) {
        for (let c = c0, p = o + r * cols + c0, q = i + r + c0 * sc; c < c1; c++, p++, q += sc) f[p] = f[q];
      }
    }
  }
};

/** Fills with `value`, then copies each innermost row of x to its place shifted by `before`. */
export const pad = (heap: WasmHeap, x: FloatBlock, out: FloatBlock, shape: readonly number[],
  before: readonly number[], after: readonly number[], value: number): void => {
  const rank = shape.length;
  if (before.length !== rank || after.length !== rank) {
    throw new RangeError(`fast pad: before [${before}] / after [${after}] do not match rank ${rank}`);
  }
  if (before.some((v) => v < 0) || after.some((v) => v < 0)) {
    throw new RangeError(`fast pad: negative padding before [${before}] / after [${after}]`);
  }
  const n = sizeOf(shape);
  checkLength('pad', 'x', x.size, n);
  const f = heap.f32;
  f.fill(value, out.index, out.index + out.size);
  if (n === 0) return;
  if (rank === 0) {
    f[out.index] = f[x.index];
    return;
  }
  const outStrides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    outStrides[d] = s;
    s *= shape[d] + before[d] + after[d];
  }
  let base = out.index;
  for (let d = 0; d < rank; d++) base += before[d] * outStrides[d];
  const len = shape[rank - 1];
  // Walk x's rows in order; the odometer moves the output offset by the padded strides.
  forEachSlab(shape, [outStrides], 1, [base], ([o], start) => copyRun(f, o, x.index + start, 1, len));
};

/** Each xs[j] as [outer, inners[j]] placed side by side in [outer, Σ inners]. */
export const concat = (heap: WasmHeap, xs: readonly FloatBlock[], out: FloatBlock, outer: number,
  inners: readonly number[]): void => {
  if (xs.length !== inners.length) {
    throw new RangeError(`fast concat: ${xs.length} inputs but ${inners.length} inner sizes`);
  }
  xs.forEach((x, j) => checkLength('concat', `input ${j}`, x.size, outer * inners[j]));
  let total = 0;
  for (const w of inners) total += w;
  const f = heap.f32;
  for (let j = 0, col = 0; j < xs.length; col += inners[j], j++) {
    const w = inners[j];
    for (let o = 0, ix = xs[j].index, p = out.index + col; o < outer; o++, ix += w, p += total) {
      copyRun(f, p, ix, 1, w);
    }
  }
};

/** Throws unless every index is an integer in [0, axisSize). */
const checkIndices = (kernel: string, f: Float32Array, indices: FloatBlock, nIdx: number, axisSize: number): void => {
  checkLength(kernel, 'indices', indices.size, nIdx);
  for (let j = 0; j < nIdx; j++) {
    const r = f[indices.index + j];
    if (!(Number.isInteger(r) && r >= 0 && r < axisSize)) {
      throw new RangeError(`fast ${kernel}: index ${r} at position ${j} is not an integer in [0, ${axisSize})`);
    }
  }
};

/** out[o, j, i] = x[o, indices[j], i]. */
export const gather = (heap: WasmHeap, x: FloatBlock, indices: FloatBlock, out: FloatBlock,
  outer: number, axisSize: number, inner: number, nIdx: number): void => {
  const f = heap.f32;
  checkLength('gather', 'x', x.size, outer * axisSize * inner);
  checkIndices('gather', f, indices, nIdx, axisSize);
  let p = out.index;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nIdx; j++, p += inner) {
      copyRun(f, p, x.index + (o * axisSize + f[indices.index + j]) * inner, 1, inner);
    }
  }
};

/** out[o, indices[j], i] += g[o, j, i], out starting at zero: the adjoint of gather. */
export const scatterAdd = (heap: WasmHeap, g: FloatBlock, indices: FloatBlock, out: FloatBlock,
  outer: number, nIdx: number, inner: number, axisSize: number): void => {
  const f = heap.f32;
  checkLength('scatterAdd', 'g', g.size, outer * nIdx * inner);
  checkIndices('scatterAdd', f, indices, nIdx, axisSize);
  f.fill(0, out.index, out.index + outer * axisSize * inner);
  let p = g.index;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nIdx; j++) {
      let io = out.index + (o * axisSize + f[indices.index + j]) * inner;
      for (const end = p + inner; p < end; p++, io++) f[io] += f[p];
    }
  }
};
