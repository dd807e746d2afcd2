/**
 * One step of the learned reverse process p_θ(x_{t−1} | x_t) = N(μ_θ(x_t, t), σ_t²·I) for a network
 * that predicts the noise ε̂ = ε_θ(x_t, t) (Ho et al. 2020, §3.2 and Algorithm 2).
 *
 * Two fixed variances, both from the paper: σ_t² = β_t ('beta', optimal for x_0 ~ N(0, I)) and
 * σ_t² = β̃_t ('posterior', optimal for a point-mass x_0; the walk-through's choice).
 */
import { add, div, maximum, minimum, mul, sub } from '../ops/elementwise.ts';
import { sameShape, ShapeError } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { coefficient, type Timestep } from './extract.ts';
import { predictStartFromNoise, qPosteriorMeanVariance } from './forward.ts';
import type { Schedule } from './schedule.ts';

export type VarianceKind = 'beta' | 'posterior';

export interface ReverseOptions {
  /** Clip x̂_0 to [−1, 1] (the data range) before forming the mean. */
  readonly clip: boolean;
  readonly variance: VarianceKind;
}

export interface PMeanVariance {
  readonly mean: Tensor;
  /** σ_t²: [B, 1, …, 1] for a tensor t, a host number for one timestep */
  readonly variance: Tensor | number;
  readonly logVariance: Tensor | number;
  /** x̂_0(x_t, ε̂), clipped when asked */
  readonly predX0: Tensor;
}

/**
 * Ho et al. eq. 11, op for op as the walk-through's `p_sample`:
 * μ_θ = 1/√α_t · (x_t − β_t·ε̂/√(1 − ᾱ_t)).
 * Algebraically it is the posterior mean μ̃_t(x̂_0(x_t, ε̂), x_t); the properties check the identity.
 */
export const meanFromNoise = (schedule: Schedule, xt: Tensor, t: Timestep, eps: Tensor): Tensor => {
  const rank = Math.max(xt.shape.length, eps.shape.length);
  const betaEps = mul(coefficient(schedule.betas, t, rank), eps);
  const scaled = div(betaEps, coefficient(schedule.sqrtOneMinusAlphasCumprod, t, rank));
  return mul(coefficient(schedule.sqrtRecipAlphas, t, rank), sub(xt, scaled));
};

/** A model output that merely broadcasts against x_t is a bug (a wrong head, a lost batch dimension): refuse it. */
export const requireSameShape = (op: string, modelOutput: Tensor, like: Tensor): void => {
  if (!sameShape(modelOutput.shape, like.shape)) {
    throw new ShapeError(op, [modelOutput.shape, like.shape], 'the model output must have the shape of x_t');
  }
};

/** Clamps to the data range [−1, 1]. */
export const clipToDataRange = (x: Tensor): Tensor => maximum(minimum(x, 1), -1);

/**
 * The mean and variance of p_θ(x_{t−1} | x_t) given the model's ε̂. Without clipping the mean is
 * eq. 11 (`meanFromNoise`); with clipping it must be the posterior mean of the clipped x̂_0, since
 * eq. 11 has no x̂_0 in it to clip (as Ho et al.'s code does).
 */
export const pMeanVariance = (
  schedule: Schedule, modelOutput: Tensor, xt: Tensor, t: Timestep, opts: ReverseOptions,
): PMeanVariance => {
  requireSameShape('pMeanVariance', modelOutput, xt);
  const rank = xt.shape.length;
  const rawX0 = predictStartFromNoise(schedule, xt, t, modelOutput);
  const predX0 = opts.clip ? clipToDataRange(rawX0) : rawX0;
  const mean = opts.clip ? qPosteriorMeanVariance(schedule, predX0, xt, t).mean : meanFromNoise(schedule, xt, t, modelOutput);
  const variance = opts.variance === 'beta'
    ? { variance: coefficient(schedule.betas, t, rank), logVariance: coefficient(schedule.betas.map(Math.log), t, rank) }
    : { variance: coefficient(schedule.posteriorVariance, t, rank), logVariance: coefficient(schedule.posteriorLogVarianceClipped, t, rank) };
  return { mean, ...variance, predX0 };
};

export interface StepOutput {
  /** x_{t−1} */
  readonly prevSample: Tensor;
  /** x̂_0 at this step, the preview a UI shows */
  readonly predX0: Tensor;
}

export const defaultReverseOptions: ReverseOptions = Object.freeze({ clip: false, variance: 'posterior' });

/** Missing or undefined fields take the defaults (a spread would let `{ clip: undefined }` through). */
export const withDefaults = (opts: Partial<ReverseOptions>): ReverseOptions => ({
  clip: opts.clip ?? defaultReverseOptions.clip,
  variance: opts.variance ?? defaultReverseOptions.variance,
});

/**
 * Algorithm 2, line 4 for one timestep of the whole batch: x_{t−1} = μ_θ(x_t, t) + σ_t·z, with no
 * noise at t = 0 (then `noise` may be null). Defaults: σ_t² = β̃_t and no clipping, as the walk-through.
 */
export const ddpmStep = (
  schedule: Schedule, modelOutput: Tensor, t: number, xt: Tensor, noise: Tensor | null,
  opts: Partial<ReverseOptions> = {},
): StepOutput => {
  const { mean, variance, predX0 } = pMeanVariance(schedule, modelOutput, xt, t, withDefaults(opts));
  if (t === 0) return { prevSample: mean, predX0 };
  if (noise === null) throw new Error(`ddpmStep: t = ${t} > 0 needs noise z ~ N(0, I) shaped like x_t`);
  return { prevSample: add(mean, mul(Math.sqrt(variance as number), noise)), predX0 };
};
