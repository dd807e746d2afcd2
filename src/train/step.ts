/**
 * One training step as a pure function: draw t and ε from the step's key, noise the batch in
 * closed form, predict ε (or x0, or v), take the (min-SNR weighted) MSE's gradient, and update with the optimizer. Weights,
 * optimizer state and EMA are values in and values out.
 */
import type { Tensor } from '../tensor/tensor.ts';
import type { Key } from '../tensor/random.ts';
import { add, mul } from '../ops/elementwise.ts';
import { valueAndGradWithAux } from '../grad/value-and-grad.ts';
import { mapTree, zipTrees } from '../grad/tree.ts';
import type { Optimizer } from '../grad/optim.ts';
import { drawTimestepsAndNoise } from '../ddpm/loss.ts';
import { type Objective, objectiveLossAt } from '../ddpm/objectives.ts';
import type { Schedule } from '../ddpm/schedule.ts';
import type { Network, Weights } from './network.ts';

export interface StepResult<S> {
  readonly weights: Weights;
  readonly optState: S;
  readonly loss: Tensor;
}

export interface StepOptions {
  readonly objective?: Objective;
  /** min-SNR-γ weighting with this γ; 0 or absent: the plain MSE */
  readonly minSnr?: number;
  /** class labels [B] for a class-conditional network (already dropped to the null class where wanted) */
  readonly labels?: Tensor;
}

export const trainStep = <S>(
  net: Network, schedule: Schedule, opt: Optimizer<S>, weights: Weights, optState: S, x0: Tensor, key: Key,
  opts: StepOptions = {},
): StepResult<S> => {
  const { t, noise } = drawTimestepsAndNoise(schedule, x0, key);
  const { value, grads, aux } = valueAndGradWithAux((params: unknown) => {
    let state = weights.state;
    const model = (xt: Tensor, tt: Tensor): Tensor => {
      const r = net.apply({ params, state: weights.state }, xt, tt, { training: true, labels: opts.labels });
      state = r.state;
      return r.y;
    };
    const loss = objectiveLossAt(model, opts.objective ?? 'eps', schedule, x0, t, noise, opts.minSnr ? { minSnrGamma: opts.minSnr } : {});
    return [loss, state] as const;
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
