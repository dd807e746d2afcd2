/**
 * Neural-network ops composed from primitives (so they need no gradient rules of their own):
 * softmax, normalisations, attention, dropout and losses.
 */
import type { Tensor } from '../tensor/tensor.ts';
import { ShapeError } from '../tensor/shape.ts';
import { add, div, equal, greaterEqual, mul, rsqrt, square, sub } from './elementwise.ts';
import { matmul } from './matmul.ts';
import { logsumexp, max, mean, sum, variance } from './reduce.ts';
import { reshape, stopGradient } from './shape.ts';
import { exp } from './elementwise.ts';
import { arange } from './create.ts';

export const softmax = (x: Tensor, axis = -1): Tensor => {
  const e = exp(sub(x, stopGradient(max(x, axis, true))));
  return div(e, sum(e, axis, true));
};

export const logSoftmax = (x: Tensor, axis = -1): Tensor => sub(x, logsumexp(x, axis, true));

/** x·W^T + b with PyTorch's layout: weight [out, in], bias [out]; x [..., in]. */
export const linear = (x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor => {
  const y = matmul(x.shape.length === 1 ? reshape(x, [1, x.shape[0]]) : x, weight, false, true);
  const yb = bias ? add(y, bias) : y;
  return x.shape.length === 1 ? reshape(yb, [weight.shape[0]]) : yb;
};

/** (x − mean) / √(var + eps) over the given axes (biased variance). */
const standardise = (x: Tensor, axes: readonly number[], eps: number): Tensor => {
  const mu = mean(x, axes, true);
  const d = sub(x, mu);
  return mul(d, rsqrt(add(mean(square(d), axes, true), eps)));
};

/** Layer norm over the last `normalizedRank` dimensions, with optional affine [those dims]. */
export const layerNorm = (x: Tensor, weight: Tensor | null, bias: Tensor | null, normalizedRank = 1, eps = 1e-5): Tensor => {
  const axes = Array.from({ length: normalizedRank }, (_, i) => x.shape.length - normalizedRank + i);
  let y = standardise(x, axes, eps);
  if (weight) y = mul(y, weight);
  if (bias) y = add(y, bias);
  return y;
};

/** Group norm on NC… input: statistics per sample over each group of C/groups channels. */
export const groupNorm = (x: Tensor, groups: number, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor => {
  const [n, c] = x.shape;
  if (x.shape.length < 2 || c % groups !== 0) throw new ShapeError('groupNorm', [x.shape], `${c} channels do not split into ${groups} groups`);
  const y = reshape(standardise(reshape(x, [n, groups, -1]), [2], eps), x.shape);
  const affine = [1, c, ...x.shape.slice(2).map(() => 1)];
  const scaled = weight ? mul(y, reshape(weight, affine)) : y;
  return bias ? add(scaled, reshape(bias, affine)) : scaled;
};

export interface BatchNormState {
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
}

/**
 * Batch norm on NC… input. In training mode it normalises with the batch statistics and returns
 * updated running statistics (PyTorch's rule: r ← (1−m)·r + m·stat, the variance unbiased);
 * in eval mode it uses the running statistics and returns them unchanged.
 */
export const batchNorm = (
  x: Tensor, weight: Tensor | null, bias: Tensor | null, state: BatchNormState,
  opts: { readonly training: boolean; readonly momentum?: number; readonly eps?: number },
): { readonly y: Tensor; readonly state: BatchNormState } => {
  const c = x.shape[1];
  const eps = opts.eps ?? 1e-5;
  const m = opts.momentum ?? 0.1;
  const shape = [1, c, ...x.shape.slice(2).map(() => 1)];
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  let y: Tensor;
  let next = state;
  if (opts.training) {
    y = standardise(x, axes, eps);
    const count = x.size / c;
    const mu = stopGradient(reshape(mean(x, axes, true), [c]));
    const v = stopGradient(reshape(variance(x, axes, true), [c]));
    const unbiased = mul(v, count / Math.max(count - 1, 1));
    next = {
      runningMean: add(mul(state.runningMean, 1 - m), mul(mu, m)),
      runningVar: add(mul(state.runningVar, 1 - m), mul(unbiased, m)),
    };
  } else {
    y = mul(sub(x, reshape(state.runningMean, shape)), reshape(rsqrt(add(state.runningVar, eps)), shape));
  }
  if (weight) y = mul(y, reshape(weight, shape));
  if (bias) y = add(y, reshape(bias, shape));
  return { y, state: next };
};

/** softmax(q·kᵀ/√d)·v over the last two dimensions: q [..., n, d], k [..., m, d], v [..., m, dv]. */
export const scaledDotProductAttention = (q: Tensor, k: Tensor, v: Tensor): Tensor => {
  const d = q.shape[q.shape.length - 1];
  const scores = mul(matmul(q, k, false, true), 1 / Math.sqrt(d));
  return matmul(softmax(scores, -1), v);
};

/** Inverted dropout with a given uniform draw u (same shape as x): keeps entries with u ≥ p, scaled by 1/(1−p). */
export const dropoutWithUniform = (x: Tensor, u: Tensor, p: number): Tensor => {
  if (p <= 0) return x;
  if (p >= 1) return mul(x, 0);
  return mul(x, mul(greaterEqual(u, p), 1 / (1 - p)));
};

/** Mean squared error over every element. */
export const mseLoss = (a: Tensor, b: Tensor): Tensor => mean(square(sub(a, b)));

/** Mean cross-entropy of logits [n, classes] against integer labels [n]. */
export const crossEntropy = (logits: Tensor, labels: Tensor): Tensor => {
  const [n, classes] = logits.shape;
  if (logits.shape.length !== 2 || labels.shape.length !== 1 || labels.shape[0] !== n) {
    throw new ShapeError('crossEntropy', [logits.shape, labels.shape], 'expected logits [n, classes] and labels [n]');
  }
  const oneHot = equal(reshape(labels, [n, 1]), reshape(arange(0, classes, 1, logits.backend), [1, classes]));
  return mul(mean(sum(mul(logSoftmax(logits, 1), oneHot), 1)), -1);
};
