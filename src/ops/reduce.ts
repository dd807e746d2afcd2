/**
 * Reductions over chosen axes. The kernel reduces the last dimension of a [outer, inner] view;
 * other axes are permuted to the back first (no copy when they already are).
 */
import type { ReduceOp } from '../tensor/backend.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { normAxis, type Shape, ShapeError, sizeOf } from '../tensor/shape.ts';
import { emit } from './core.ts';
import { add, div, equal, exp, log, mul, neg, sub } from './elementwise.ts';
import { broadcastTo, permute, reshape, stopGradient } from './shape.ts';

export type Axes = number | readonly number[] | undefined;

const normAxes = (op: string, x: Tensor, axes: Axes): number[] => {
  const rank = x.shape.length;
  const list = axes === undefined ? x.shape.map((_, i) => i) : typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normAxis(op, a, rank, x.shape)))].sort((a, b) => a - b);
  return out;
};

/** The kept-dims shape: reduced axes become 1. */
const keptShape = (shape: Shape, axes: readonly number[]): number[] => shape.map((d, i) => (axes.includes(i) ? 1 : d));

/** Maximal runs [start, end) of consecutive reduced axes. */
const runsOf = (axes: readonly number[]): [number, number][] => {
  const runs: [number, number][] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last && last[1] === a) last[1] = a + 1;
    else runs.push([a, a + 1]);
  }
  return runs;
};

/**
 * Reduction over sorted axes with kept dims. A sum reduces each run of adjacent axes in place, the
 * last run first (a contiguous reduceLast when it is trailing, reduceAxis otherwise): no transposed
 * copy. A max over several runs permutes them to the back, so that ties share the gradient over all
 * reduced axes at once.
 */
const reduceRaw = (op: ReduceOp, x: Tensor, axes: readonly number[]): Tensor => {
  if (axes.some((a) => x.shape[a] === 0)) throw new ShapeError(op, [x.shape], 'cannot reduce over an empty dimension');
  const runs = runsOf(axes);
  if (runs.length === 1 || op === 'sum') return runs.reduceRight((y, [start, end]) => reduceRun(op, y, start, end), x);
  const rest = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const moved = permute(x, [...rest, ...axes]);
  const r = reduceRun(op, moved, rest.length, moved.shape.length);
  return reshape(r, keptShape(x.shape, axes));
};

/** Reduces the axes [start, end) of x (kept as 1s): x viewed as [outer, size, inner]. */
const reduceRun = (op: ReduceOp, x: Tensor, start: number, end: number): Tensor => {
  const outer = sizeOf(x.shape.slice(0, start));
  const size = sizeOf(x.shape.slice(start, end));
  const inner = sizeOf(x.shape.slice(end));
  const kept = x.shape.map((d, i) => (i >= start && i < end ? 1 : d));
  return emit(op, [x], kept,
    (b, [h]) => (inner === 1 ? b.reduceLast(op, h, outer, size) : b.reduceAxis(op, h, outer, size, inner)),
    (g, y) => {
      if (op === 'sum') return [broadcastTo(g, x.shape)];
      // max: ties share the gradient equally, as PyTorch's amax does
      const mask = equal(x, broadcastTo(y, x.shape));
      const count = broadcastTo(reduceRun('sum', mask, start, end), x.shape);
      return [mul(div(mask, count), broadcastTo(g, x.shape))];
    });
};

const finish = (r: Tensor, x: Tensor, axes: readonly number[], keepDims: boolean): Tensor =>
  keepDims ? r : reshape(r, x.shape.filter((_, i) => !axes.includes(i)));

export const sum = (x: Tensor, axes?: Axes, keepDims = false): Tensor => {
  const a = normAxes('sum', x, axes);
  if (a.length === 0) return x;
  return finish(reduceRaw('sum', x, a), x, a, keepDims);
};

export const max = (x: Tensor, axes?: Axes, keepDims = false): Tensor => {
  const a = normAxes('max', x, axes);
  if (a.length === 0) return x;
  return finish(reduceRaw('max', x, a), x, a, keepDims);
};

export const min = (x: Tensor, axes?: Axes, keepDims = false): Tensor => neg(max(neg(x), axes, keepDims));

export const mean = (x: Tensor, axes?: Axes, keepDims = false): Tensor => {
  const a = normAxes('mean', x, axes);
  const n = sizeOf(a.map((i) => x.shape[i]));
  return div(sum(x, a, keepDims), n);
};

/** Biased (population) variance, as normalisation layers use. */
export const variance = (x: Tensor, axes?: Axes, keepDims = false): Tensor => {
  const mu = mean(x, axes, true);
  const d = sub(x, mu);
  return mean(mul(d, d), axes, keepDims);
};

/** log Σ exp x, stable: the max is subtracted first (and held constant for the gradient). */
export const logsumexp = (x: Tensor, axes?: Axes, keepDims = false): Tensor => {
  const a = normAxes('logsumexp', x, axes);
  const m = stopGradient(max(x, a, true));
  const r = add(log(sum(exp(sub(x, m)), a, true)), m);
  return keepDims ? r : reshape(r, x.shape.filter((_, i) => !a.includes(i)));
};

/** Sums a broadcast result back to `shape` (the adjoint of broadcasting). */
export const sumTo = (g: Tensor, shape: Shape): Tensor => {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.shape.length - shape.length;
  const axes = g.shape.map((_, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1));
  return reshape(sum(g, axes, true), shape);
};
