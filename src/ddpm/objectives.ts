/**
 * What a denoiser may be trained to predict from x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, and how to read
 * any of them back as the pair (ε̂, x̂_0) a sampler steps with:
 *
 *   'eps'  the noise ε                                  (Ho et al. 2020)
 *   'x0'   the clean sample x_0
 *   'v'    the velocity v = √ᾱ_t·ε − √(1 − ᾱ_t)·x_0     (Salimans & Ho 2022)
 *
 * plus the min-SNR-γ loss weights of Hang et al. (2023), which make the three objectives weigh
 * timesteps alike: with SNR_t = ᾱ_t/(1 − ᾱ_t), each objective's squared error is an SNR-dependent
 * multiple of the x_0 error (‖ε − ε̂‖² = SNR·‖x_0 − x̂_0‖², ‖v − v̂‖² = (SNR + 1)·‖x_0 − x̂_0‖²),
 * and the weights divide that multiple out while capping the x_0 weight at γ.
 */
import { mul, square, sub } from '../ops/elementwise.ts';
import { mean } from '../ops/reduce.ts';
import { ShapeError } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { extract, type Timestep } from './extract.ts';
import {
  predictNoiseFromStart, predictNoiseFromV, predictStartFromNoise, predictStartFromV, predictV, qSample,
} from './forward.ts';
import type { Denoiser } from './loss.ts';
import { requireSameShape } from './reverse.ts';
import type { Schedule } from './schedule.ts';

/** What the network's output means: the noise, the clean sample, or the velocity. */
export type Objective = 'eps' | 'x0' | 'v';

export const objectives: readonly Objective[] = Object.freeze(['eps', 'x0', 'v']);

const requireObjective = (fn: string, objective: unknown): Objective => {
  if (objective === 'eps' || objective === 'x0' || objective === 'v') return objective;
  throw new RangeError(`${fn}: the objective must be "eps", "x0" or "v", got ${JSON.stringify(objective)}`);
};

/** The regression target of `objective` for the pair (x_0, ε) at timesteps t. */
export const targetFor = (objective: Objective, x0: Tensor, eps: Tensor, schedule: Schedule, t: Timestep): Tensor => {
  switch (requireObjective('targetFor', objective)) {
    case 'eps':
      return eps;
    case 'x0':
      return x0;
    case 'v':
      return predictV(schedule, x0, t, eps);
  }
};

export interface EpsAndX0 {
  /** ε̂, the noise the prediction implies */
  readonly eps: Tensor;
  /** x̂_0, the clean sample the prediction implies */
  readonly x0: Tensor;
}

/**
 * The (ε̂, x̂_0) that a network output of kind `objective` implies at x_t, t. Both always satisfy
 * x_t = √ᾱ_t·x̂_0 + √(1 − ᾱ_t)·ε̂ (up to rounding); the output itself is returned as the half it
 * already is. From x̂_0, ε̂ divides by √(1/ᾱ_t − 1), which is smallest at t = 0 (√β_0): an
 * x_0-prediction's ε̂ is the least accurate there, as it must be.
 */
export const toEpsAndX0 = (objective: Objective, output: Tensor, xt: Tensor, t: Timestep, schedule: Schedule): EpsAndX0 => {
  requireSameShape('toEpsAndX0', output, xt);
  switch (requireObjective('toEpsAndX0', objective)) {
    case 'eps':
      return { eps: output, x0: predictStartFromNoise(schedule, xt, t, output) };
    case 'x0':
      return { eps: predictNoiseFromStart(schedule, xt, t, output), x0: output };
    case 'v':
      return { eps: predictNoiseFromV(schedule, xt, t, output), x0: predictStartFromV(schedule, xt, t, output) };
  }
};

// ---- min-SNR-γ weights --------------------------------------------------------------------------

/** SNR_t = ᾱ_t/(1 − ᾱ_t) for every t, from the schedule's accurate 1 − ᾱ. */
export const snr = (schedule: Schedule): Float64Array =>
  Float64Array.from(schedule.alphasCumprod, (a, t) => a / schedule.oneMinusAlphasCumprod[t]);

/** The default γ: Hang et al. (2023) find γ = 5 best across their settings. */
export const DEFAULT_MIN_SNR_GAMMA = 5;

/**
 * One min-SNR-γ weight from an SNR: eps: min(SNR, γ)/SNR; x0: min(SNR, γ); v: min(SNR, γ)/(SNR + 1).
 * For eps and v the weight is 1 (resp. SNR/(SNR + 1)) wherever SNR ≤ γ, and only the easy, nearly
 * clean timesteps are down-weighted.
 */
export const minSnrWeight = (objective: Objective, snrValue: number, gamma: number = DEFAULT_MIN_SNR_GAMMA): number => {
  if (!(Number.isFinite(gamma) && gamma > 0)) throw new RangeError(`minSnrWeight: γ must be a finite number > 0, got ${gamma}`);
  const capped = Math.min(snrValue, gamma);
  switch (requireObjective('minSnrWeight', objective)) {
    case 'eps':
      return capped / snrValue;
    case 'x0':
      return capped;
    case 'v':
      return capped / (snrValue + 1);
  }
};

/** The weight of every timestep, computed once in float64 (as the schedule's own tables). */
export const minSnrTable = (objective: Objective, schedule: Schedule, gamma: number = DEFAULT_MIN_SNR_GAMMA): Float64Array =>
  snr(schedule).map((s) => minSnrWeight(objective, s, gamma));

/**
 * The min-SNR-γ weight of each sample of a batch with timesteps t [B], shaped [B, 1, 1, 1] (or
 * [B, 1, …, 1] of the given rank) to broadcast against the per-element squared error.
 */
export const minSnrWeights = (
  objective: Objective, schedule: Schedule, t: Tensor, gamma: number = DEFAULT_MIN_SNR_GAMMA, rank = 4,
): Tensor => extract(minSnrTable(objective, schedule, gamma), t, rank);

// ---- the loss -----------------------------------------------------------------------------------

export interface ObjectiveLossOptions {
  /** Weight each sample by min-SNR-γ with this γ; absent, every sample weighs 1 (the plain MSE). */
  readonly minSnrGamma?: number;
}

/**
 * mean_{b,i} w_b·(f_θ(x_t, t) − target)² with x_t = qSample(x_0, t, ε) and the target of `objective`:
 * the ε-loss of `epsilonLossAt` for objective 'eps' without weights, its generalisation otherwise.
 */
export const objectiveLossAt = (
  model: Denoiser, objective: Objective, schedule: Schedule, x0: Tensor, t: Tensor, noise: Tensor,
  opts: ObjectiveLossOptions = {},
): Tensor => {
  if (x0.shape.length < 1 || t.shape.length !== 1 || t.shape[0] !== x0.shape[0]) {
    throw new ShapeError('objectiveLossAt', [x0.shape, t.shape], 'expected x0 [B, …] and t [B]');
  }
  const xt = qSample(schedule, x0, t, noise);
  const predicted = model(xt, t);
  requireSameShape('objectiveLossAt', predicted, xt);
  const err = square(sub(predicted, targetFor(objective, x0, noise, schedule, t)));
  return opts.minSnrGamma === undefined
    ? mean(err)
    : mean(mul(err, minSnrWeights(objective, schedule, t, opts.minSnrGamma, x0.shape.length)));
};
