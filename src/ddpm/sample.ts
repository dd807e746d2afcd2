/**
 * Ancestral sampling (Ho et al. 2020, Algorithm 2), the walk-through's loop: x_{T−1} ~ N(0, I), then
 * one DDPM step per timestep down to the data, with its defaults (ε-prediction, no clipping, σ² =
 * β̃). It is `runSampler` with the `ddpmSampler` (the same fold of `sampleStep`), plus the x_t it is
 * asked to keep. Randomness comes from one key: the start from its first half, the noise of the
 * step at t from fold(second half, t), so a run is reproducible step by step.
 */
import type { Key } from '../tensor/random.ts';
import { sameShape, ShapeError, type Shape } from '../tensor/shape.ts';
import { add } from '../ops/elementwise.ts';
import { dispose, keep, type Tensor } from '../tensor/tensor.ts';
import type { Denoiser } from './loss.ts';
import type { VarianceKind } from './reverse.ts';
import { spacedTimesteps } from './scheduler.ts';
import type { Schedule } from './schedule.ts';
import { ddpmSampler } from './samplers/ddpm.ts';
import { runSampler } from './samplers/loop.ts';

export interface SampleOptions {
  /**
   * Called at each timestep with the sample the model saw, x_t, and its x̂_0. Both are freed when
   * the step ends, so read them inside the callback (`keep(predX0)` takes x̂_0 out of the step's
   * scope; for x_t use `keepTrajectory`).
   */
  readonly onStep?: (t: number, xt: Tensor, predX0: Tensor) => void;
  /** Timesteps t whose x_t to return in `trajectory` (T−1 is the starting noise). */
  readonly keepTrajectory?: readonly number[];
  /** σ_t² = β̃_t ('posterior', default, as the walk-through) or β_t ('beta'). */
  readonly variance?: VarianceKind;
  /** Clip x̂_0 to [−1, 1] at each step (default false, as the walk-through). */
  readonly clip?: boolean;
  /** Visit this many evenly spaced timesteps instead of all T (see `setTimesteps`). */
  readonly numSteps?: number;
  /** Start from this x_T (shaped like `shape`) instead of noise drawn from the key; it is not disposed. */
  readonly start?: Tensor;
}

export interface SampleResult {
  /** The generated batch. */
  readonly x0: Tensor;
  /**
   * x_t for each requested t. These tensors are taken out of every open `tidy` scope (a Map is
   * invisible to tidy's result walk), so the caller owns them and disposes them.
   */
  readonly trajectory: ReadonlyMap<number, Tensor>;
}

export const sampleLoop = (
  model: Denoiser, schedule: Schedule, shape: Shape, key: Key, opts: SampleOptions = {},
): SampleResult => {
  if (shape.length < 1) throw new ShapeError('sampleLoop', [shape], 'the sample shape needs a batch dimension');
  const timesteps = spacedTimesteps(schedule.T, opts.numSteps);
  const wanted = new Set(opts.keepTrajectory ?? []);
  const missing = [...wanted].filter((t) => !timesteps.includes(t));
  if (missing.length > 0) throw new RangeError(`sampleLoop: keepTrajectory asks for timesteps ${missing.join(', ')}, which this run does not visit`);
  if (opts.start && !sameShape(opts.start.shape, shape)) throw new ShapeError('sampleLoop', [opts.start.shape, shape], 'the start x_T must have the sample shape');
  const trajectory = new Map<number, Tensor>();
  try {
    const x0 = runSampler(ddpmSampler, model, schedule, shape, key, {
      prediction: 'eps', clip: opts.clip ?? false, variance: opts.variance, steps: timesteps.length, start: opts.start,
      onStep: (t, xt, predX0) => {
        // a copy, taken out of the step's scope: the loop frees x_t itself
        if (wanted.has(t)) trajectory.set(t, keep(add(xt, 0)));
        opts.onStep?.(t, xt, predX0);
      },
    });
    return { x0, trajectory };
  } catch (e) {
    trajectory.forEach((kept) => dispose(kept));
    throw e;
  }
};
