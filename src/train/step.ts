/**
 * One training step as a pure function: draw t and ε from the step's key, noise the batch in
 * closed form, predict ε, take the MSE's gradient, and update with the optimizer. Weights,
 * optimizer state and EMA are values in and values out.
 */
import type { Tensor } from '../tensor/tensor.ts';
import type { Key } from '../tensor/random.ts';
import { add, mul } from '../ops/elementwise.ts';
import { mseLoss } from '../ops/nn.ts';
import { valueAndGradWithAux } from '../grad/value-and-grad.ts';
import { mapTree, zipTrees } from '../grad/tree.ts';
import type { Optimizer } from '../grad/optim.ts';
import { drawTimestepsAndNoise } from '../ddpm/loss.ts';
import { qSample } from '../ddpm/forward.ts';
import type { Schedule } from '../ddpm/schedule.ts';
import type { Network, Weights } from './network.ts';

export interface StepResult<S> {
  readonly weights: Weights;
  readonly optState: S;
  readonly loss: Tensor;
}

export const trainStep = <S>(net: Network, schedule: Schedule, opt: Optimizer<S>, weights: Weights, optState: S, x0: Tensor, key: Key): StepResult<S> => {
  const { t, noise } = drawTimestepsAndNoise(schedule, x0, key);
  const xt = qSample(schedule, x0, t, noise);
  const { value, grads, aux } = valueAndGradWithAux((params: unknown) => {
    const { y, state } = net.apply({ params, state: weights.state }, xt, t, { training: true });
    return [mseLoss(y, noise), state] as const;
  })(weights.params);
  const up = opt.update(grads, optState, weights.params);
  return { weights: { params: up.params, state: aux }, optState: up.state, loss: value };
};

/**
 * The EMA decay used at a step: min(decay, (1 + step)/(10 + step)), the usual warm-up, so early
 * averages are not dominated by the random initialisation.
 */
export const emaDecayAt = (decay: number, step: number): number => Math.min(decay, (1 + step) / (10 + step));

/** ema ← d·ema + (1 − d)·params (params' non-trainable state is copied as it is). */
export const emaUpdate = (ema: Weights, weights: Weights, decay: number): Weights => ({
  params: zipTrees([ema.params, weights.params], ([e, p]) => add(mul(e, decay), mul(p, 1 - decay))),
  state: mapTree(weights.state, (s) => s),
});
