/**
 * The forward (noising) process in closed form, and the reparametrisations between what a network
 * may predict — the noise ε, the clean image x_0, or the velocity v — given x_t.
 *
 *   x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε                   (Ho et al. 2020, eq. 4)
 *   v   = √ᾱ_t·ε − √(1 − ᾱ_t)·x_0                   (Salimans & Ho 2022)
 *
 * Every function takes t as a [B] tensor (one timestep per sample) or one number for the batch;
 * noise is always passed in, so tests can fix it and callers own the randomness.
 */
import { add, div, mul, sub } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { coefficient, type Timestep } from './extract.ts';
import type { Schedule } from './schedule.ts';

/** Sample q(x_t | x_0) = N(√ᾱ_t·x_0, (1 − ᾱ_t)·I) with the given standard-normal noise. */
export const qSample = (schedule: Schedule, x0: Tensor, t: Timestep, noise: Tensor): Tensor => {
  const rank = Math.max(x0.shape.length, noise.shape.length);
  return add(
    mul(coefficient(schedule.sqrtAlphasCumprod, t, rank), x0),
    mul(coefficient(schedule.sqrtOneMinusAlphasCumprod, t, rank), noise),
  );
};

export interface Gaussian {
  readonly mean: Tensor;
  /** [B, 1, …, 1] for a tensor t; a host number when one timestep serves the batch. */
  readonly variance: Tensor | number;
  readonly logVariance: Tensor | number;
}

/**
 * The posterior q(x_{t−1} | x_t, x_0) = N(μ̃_t, β̃_t·I) (Ho et al. eq. 6–7):
 * μ̃_t = β_t·√ᾱ_{t−1}/(1 − ᾱ_t)·x_0 + (1 − ᾱ_{t−1})·√α_t/(1 − ᾱ_t)·x_t.
 * At t = 0 it is a point mass on x_0 (β̃_0 = 0); logVariance is the clipped table there.
 */
export const qPosteriorMeanVariance = (schedule: Schedule, x0: Tensor, xt: Tensor, t: Timestep): Gaussian => {
  const rank = Math.max(x0.shape.length, xt.shape.length);
  return {
    mean: add(mul(coefficient(schedule.posteriorMeanCoef1, t, rank), x0), mul(coefficient(schedule.posteriorMeanCoef2, t, rank), xt)),
    variance: coefficient(schedule.posteriorVariance, t, rank),
    logVariance: coefficient(schedule.posteriorLogVarianceClipped, t, rank),
  };
};

/** x̂_0 = x_t/√ᾱ_t − √(1/ᾱ_t − 1)·ε: eq. 4 solved for x_0. */
export const predictStartFromNoise = (schedule: Schedule, xt: Tensor, t: Timestep, eps: Tensor): Tensor => {
  const rank = Math.max(xt.shape.length, eps.shape.length);
  return sub(mul(coefficient(schedule.sqrtRecipAlphasCumprod, t, rank), xt), mul(coefficient(schedule.sqrtRecipm1AlphasCumprod, t, rank), eps));
};

/** ε̂ = (x_t/√ᾱ_t − x_0)/√(1/ᾱ_t − 1): eq. 4 solved for ε. */
export const predictNoiseFromStart = (schedule: Schedule, xt: Tensor, t: Timestep, x0: Tensor): Tensor => {
  const rank = Math.max(xt.shape.length, x0.shape.length);
  return div(sub(mul(coefficient(schedule.sqrtRecipAlphasCumprod, t, rank), xt), x0), coefficient(schedule.sqrtRecipm1AlphasCumprod, t, rank));
};

/** v = √ᾱ_t·ε − √(1 − ᾱ_t)·x_0, the target of a v-prediction network. */
export const predictV = (schedule: Schedule, x0: Tensor, t: Timestep, eps: Tensor): Tensor => {
  const rank = Math.max(x0.shape.length, eps.shape.length);
  return sub(mul(coefficient(schedule.sqrtAlphasCumprod, t, rank), eps), mul(coefficient(schedule.sqrtOneMinusAlphasCumprod, t, rank), x0));
};

/**
 * x̂_0 = √ᾱ_t·x_t − √(1 − ᾱ_t)·v. (x_t, v) is a rotation of (x_0, ε) by the angle φ with
 * cos φ = √ᾱ_t, so the inverse needs no division and is well conditioned at every t.
 */
export const predictStartFromV = (schedule: Schedule, xt: Tensor, t: Timestep, v: Tensor): Tensor => {
  const rank = Math.max(xt.shape.length, v.shape.length);
  return sub(mul(coefficient(schedule.sqrtAlphasCumprod, t, rank), xt), mul(coefficient(schedule.sqrtOneMinusAlphasCumprod, t, rank), v));
};

/** ε̂ = √(1 − ᾱ_t)·x_t + √ᾱ_t·v, the other half of the same rotation. */
export const predictNoiseFromV = (schedule: Schedule, xt: Tensor, t: Timestep, v: Tensor): Tensor => {
  const rank = Math.max(xt.shape.length, v.shape.length);
  return add(mul(coefficient(schedule.sqrtOneMinusAlphasCumprod, t, rank), xt), mul(coefficient(schedule.sqrtAlphasCumprod, t, rank), v));
};
