/** Shape primitives: views and copies that move values without arithmetic. */
import type { Tensor } from '../tensor/tensor.ts';
import { shareStorage } from '../tensor/tensor.ts';
import { broadcastShapes, broadcastStrides, normAxis, type Shape, ShapeError, sameShape, showShape, sizeOf, stridesOf } from '../tensor/shape.ts';
import { nodeFor } from '../tensor/tape.ts';
import { emit } from './core.ts';
import { sumTo } from './reduce.ts';

/** Same values, new shape (one dimension may be -1). Shares the buffer: no copy. */
export const reshape = (x: Tensor, shape: Shape): Tensor => {
  const known = shape.filter((d) => d !== -1);
  const inferred = shape.length - known.length;
  if (inferred > 1) throw new ShapeError('reshape', [x.shape, shape], 'at most one dimension may be -1');
  const rest = sizeOf(known);
  const full = shape.map((d) => (d === -1 ? (rest === 0 ? 0 : x.size / rest) : d));
  if (sizeOf(full) !== x.size || full.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError('reshape', [x.shape, shape], `cannot view ${x.size} elements as ${showShape(shape)}`);
  }
  if (sameShape(full, x.shape)) return x;
  return shareStorage(x, full, nodeFor([x], (g) => [reshape(g, x.shape)]));
};

/** The identity on values that blocks gradients (shares the buffer). */
export const stopGradient = (x: Tensor): Tensor => (x.node === null ? x : shareStorage(x, x.shape, null));

export const flatten = (x: Tensor, startAxis = 1): Tensor =>
  reshape(x, [...x.shape.slice(0, startAxis), -1]);

export const expandDims = (x: Tensor, axis: number): Tensor => {
  const a = normAxis('expandDims', axis, x.shape.length + 1, x.shape);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
};

export const squeeze = (x: Tensor, axis: number): Tensor => {
  const a = normAxis('squeeze', axis, x.shape.length, x.shape);
  if (x.shape[a] !== 1) throw new ShapeError('squeeze', [x.shape], `axis ${axis} has size ${x.shape[a]}, not 1`);
  return reshape(x, [...x.shape.slice(0, a), ...x.shape.slice(a + 1)]);
};

/** Materialises x broadcast to `shape` (NumPy rules); its gradient sums back. */
export const broadcastTo = (x: Tensor, shape: Shape): Tensor => {
  if (sameShape(x.shape, shape)) return x;
  const out = broadcastShapes('broadcastTo', x.shape, shape);
  if (!sameShape(out, shape)) throw new ShapeError('broadcastTo', [x.shape, shape], 'the target shape is not a broadcast of the input');
  return emit('broadcastTo', [x], shape, (b, [h]) => b.strided(h, shape, broadcastStrides(x.shape, shape), 0),
    (g) => [sumTo(g, x.shape)]);
};

/** Reorders dimensions: output dimension i is input dimension perm[i]. */
export const permute = (x: Tensor, perm: readonly number[]): Tensor => {
  const rank = x.shape.length;
  const p = perm.map((a) => normAxis('permute', a, rank, x.shape));
  if (p.length !== rank || new Set(p).size !== rank) {
    throw new ShapeError('permute', [x.shape], `[${perm.join(', ')}] is not a permutation of ${rank} axes`);
  }
  if (p.every((a, i) => a === i)) return x;
  const s = stridesOf(x.shape);
  const shape = p.map((a) => x.shape[a]);
  const inverse = new Array<number>(rank);
  p.forEach((a, i) => (inverse[a] = i));
  return emit('permute', [x], shape, (b, [h]) => b.strided(h, shape, p.map((a) => s[a]), 0),
    (g) => [permute(g, inverse)]);
};

/** Swaps two axes (default: the last two). */
export const transpose = (x: Tensor, a = -2, b = -1): Tensor => {
  const rank = x.shape.length;
  const i = normAxis('transpose', a, rank, x.shape);
  const j = normAxis('transpose', b, rank, x.shape);
  const perm = x.shape.map((_, k) => (k === i ? j : k === j ? i : k));
  return permute(x, perm);
};

/** x[begin[d] : begin[d] + size[d]] in every dimension (size -1: to the end). */
export const slice = (x: Tensor, begin: readonly number[], size: readonly number[]): Tensor => {
  if (begin.length !== x.shape.length || size.length !== x.shape.length) {
    throw new ShapeError('slice', [x.shape], `begin [${begin.join(', ')}] and size [${size.join(', ')}] must have rank ${x.shape.length}`);
  }
  const shape = size.map((s, d) => (s === -1 ? x.shape[d] - begin[d] : s));
  shape.forEach((s, d) => {
    if (begin[d] < 0 || s < 0 || begin[d] + s > x.shape[d]) {
      throw new ShapeError('slice', [x.shape], `dimension ${d}: [${begin[d]}, ${begin[d] + s}) is outside [0, ${x.shape[d]})`);
    }
  });
  if (sameShape(shape, x.shape)) return x;
  const s = stridesOf(x.shape);
  const offset = begin.reduce((acc, b, d) => acc + b * s[d], 0);
  return emit('slice', [x], shape, (b, [h]) => b.strided(h, shape, s, offset),
    (g) => [pad(g, begin, shape.map((n, d) => x.shape[d] - begin[d] - n))]);
};

/** Slice along one axis: x[…, start:end, …]. */
export const sliceAxis = (x: Tensor, axis: number, start: number, end: number): Tensor => {
  const a = normAxis('sliceAxis', axis, x.shape.length, x.shape);
  return slice(x, x.shape.map((_, d) => (d === a ? start : 0)), x.shape.map((n, d) => (d === a ? end - start : n)));
};

/** Constant padding with `before[d]` and `after[d]` elements in dimension d. */
export const pad = (x: Tensor, before: readonly number[], after: readonly number[], value = 0): Tensor => {
  if (before.length !== x.shape.length || after.length !== x.shape.length || [...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) {
    throw new ShapeError('pad', [x.shape], `paddings [${before.join(', ')}] / [${after.join(', ')}] must be ${x.shape.length} non-negative integers each`);
  }
  if (before.every((p) => p === 0) && after.every((p) => p === 0)) return x;
  const shape = x.shape.map((n, d) => n + before[d] + after[d]);
  return emit('pad', [x], shape, (b, [h]) => b.pad(h, x.shape, before, after, value),
    (g) => [slice(g, before, x.shape)]);
};

/** Joins tensors along an axis; all other dimensions must agree. */
export const concat = (xs: readonly Tensor[], axis: number): Tensor => {
  if (xs.length === 0) throw new Error('concat: needs at least one tensor');
  const first = xs[0];
  const a = normAxis('concat', axis, first.shape.length, first.shape);
  for (const t of xs) {
    if (t.shape.length !== first.shape.length || t.shape.some((n, d) => d !== a && n !== first.shape[d])) {
      throw new ShapeError('concat', xs.map((u) => u.shape), `all dimensions but axis ${a} must agree`);
    }
  }
  if (xs.length === 1) return first;
  const outer = sizeOf(first.shape.slice(0, a));
  const inners = xs.map((t) => sizeOf(t.shape.slice(a)));
  const shape = first.shape.map((n, d) => (d === a ? xs.reduce((s, t) => s + t.shape[a], 0) : n));
  return emit('concat', xs, shape, (b, hs) => b.concat(hs, outer, inners), (g) => {
    let start = 0;
    return xs.map((t) => {
      const part = sliceAxis(g, a, start, start + t.shape[a]);
      start += t.shape[a];
      return part;
    });
  });
};

/** Splits along an axis into pieces of the given sizes. */
export const split = (x: Tensor, sizes: readonly number[], axis: number): Tensor[] => {
  const a = normAxis('split', axis, x.shape.length, x.shape);
  if (sizes.reduce((s, n) => s + n, 0) !== x.shape[a]) {
    throw new ShapeError('split', [x.shape], `sizes [${sizes.join(', ')}] do not add up to ${x.shape[a]}`);
  }
  let start = 0;
  return sizes.map((n) => {
    const part = sliceAxis(x, a, start, start + n);
    start += n;
    return part;
  });
};

/**
 * Picks entries along an axis: `indices` is a 1-D tensor of integers in [0, x.shape[axis]);
 * the result has indices.size entries in that axis (torch.index_select). Its gradient scatters back.
 */
export const gather = (x: Tensor, indices: Tensor, axis = 0): Tensor => {
  const a = normAxis('gather', axis, x.shape.length, x.shape);
  if (indices.shape.length !== 1) throw new ShapeError('gather', [x.shape, indices.shape], 'indices must be 1-D');
  const outer = sizeOf(x.shape.slice(0, a));
  const inner = sizeOf(x.shape.slice(a + 1));
  const n = indices.size;
  const axisSize = x.shape[a];
  const shape = x.shape.map((d, i) => (i === a ? n : d));
  return emit('gather', [x, indices], shape, (b, [h, hi]) => b.gather(h, hi, outer, axisSize, inner, n),
    (g) => [emit('scatterAdd', [g, indices], x.shape, (b, [hg, hi]) => b.scatterAdd(hg, hi, outer, n, inner, axisSize), () => {
      throw new Error('scatterAdd: second-order gradients are not supported');
    }), null]);
};
