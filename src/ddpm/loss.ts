/**
 * The simplified training objective of Ho et al. (2020), eq. 14 / Algorithm 1:
 * L = E_{t, x_0, ε} ‖ε − ε_θ(√ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, t)‖², t ~ U{0, …, T−1}, ε ~ N(0, I).
 */
import { normal, randint } from '../ops/random.ts';
import { mseLoss } from '../ops/nn.ts';
import { split, type Key } from '../tensor/random.ts';
import { ShapeError } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { qSample } from './forward.ts';
import { requireSameShape } from './reverse.ts';
import type { Schedule } from './schedule.ts';

/** A denoiser: x_t [B, …] and its timesteps t [B] (integers stored as floats) to a prediction shaped like x_t. */
export type Denoiser = (x: Tensor, t: Tensor) => Tensor;

export interface TrainingDraw {
  /** [B] timesteps, uniform on {0, …, T−1} */
  readonly t: Tensor;
  /** standard normal, shaped like x_0 */
  readonly noise: Tensor;
}

/** The random part of one training step, from two keys split off `key` (t from the first, ε from the second). */
export const drawTimestepsAndNoise = (schedule: Schedule, x0: Tensor, key: Key): TrainingDraw => {
  if (x0.shape.length < 1) throw new ShapeError('drawTimestepsAndNoise', [x0.shape], 'x0 needs a batch dimension');
  const [kt, kn] = split(key, 2);
  return {
    t: randint(kt, [x0.shape[0]], 0, schedule.T, x0.backend),
    noise: normal(kn, x0.shape, 0, 1, x0.backend),
  };
};

/** MSE(ε_θ(x_t, t), ε) for given timesteps and noise: the deterministic core, for tests and custom samplers of t. */
export const epsilonLossAt = (model: Denoiser, schedule: Schedule, x0: Tensor, t: Tensor, noise: Tensor): Tensor => {
  const xt = qSample(schedule, x0, t, noise);
  const predicted = model(xt, t);
  requireSameShape('epsilonLoss', predicted, xt);
  return mseLoss(predicted, noise);
};

/** The loss of one batch with t and ε drawn from `key`; a scalar tensor, differentiable through the model. */
export const epsilonLoss = (model: Denoiser, schedule: Schedule, x0: Tensor, key: Key): Tensor => {
  const { t, noise } = drawTimestepsAndNoise(schedule, x0, key);
  return epsilonLossAt(model, schedule, x0, t, noise);
};
