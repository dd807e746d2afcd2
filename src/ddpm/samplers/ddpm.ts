/**
 * Ancestral DDPM (Ho et al. 2020, Algorithm 2) under the sampler contract: the same transition as
 * `ddpmScheduler` (`ddpmTransition`), so with all T timesteps it is the walk-through's p_sample step for step, and
 * with fewer it is the respaced chain of Nichol & Dhariwal (2021, §4) over the visited timesteps.
 *
 * x_prev = μ_θ(x_t, t) + σ_t·z with σ_t² = β̃_t ('posterior', default) or β_t ('beta') of the
 * (respaced) chain, and no noise on the last step. With clipping the mean is the posterior mean
 * μ̃(clip(x̂_0), x_t), which is eq. 11 with ε̂ re-derived from the clipped x̂_0.
 */
import type { Tensor } from '../../tensor/tensor.ts';
import { toEpsAndX0 } from '../objectives.ts';
import type { VarianceKind } from '../reverse.ts';
import type { Schedule } from '../schedule.ts';
import { ddpmTransition, spacedTimesteps } from '../scheduler.ts';
import { baseState, expectStep, requireNoiseShape, type Sampler, type SamplerOptions, type SamplerState, type StepResult } from './types.ts';

export interface DdpmOptions extends SamplerOptions {
  /** σ_t² = β̃_t ('posterior', default) or β_t ('beta') */
  readonly variance?: VarianceKind;
}

export interface DdpmState extends SamplerState {
  readonly variance: VarianceKind;
}

/**
 * The nearest integers to `steps` evenly spaced points of [0, T − 1], both ends included,
 * descending (`spacedTimesteps`); steps = T visits every timestep.
 */
const setTimesteps = (schedule: Schedule, steps: number): readonly number[] => spacedTimesteps(schedule.T, steps);

const initState = (schedule: Schedule, timesteps: readonly number[], opts: DdpmOptions = {}): DdpmState => {
  const variance = opts.variance ?? 'posterior';
  if (variance !== 'posterior' && variance !== 'beta') throw new RangeError(`ddpm: variance must be "posterior" or "beta", got ${JSON.stringify(variance)}`);
  return Object.freeze({ ...baseState('ddpm', schedule, timesteps, opts), variance });
};

const needsNoise = (state: DdpmState): boolean => state.index < state.timesteps.length - 1;

const step = (state: DdpmState, modelOutput: Tensor, t: number, xt: Tensor, noise?: Tensor | null): StepResult<DdpmState> => {
  const prevT = expectStep('ddpm', state, t);
  if (prevT >= 0 && !noise) throw new Error(`ddpm: the step at t = ${t} needs noise z ~ N(0, I) shaped like x_t`);
  if (noise) requireNoiseShape('ddpm', noise, xt);
  // the scheduler reads ε̂ and clips x̂_0(x_t, ε̂) itself; for ε-prediction this is its exact path
  const { eps } = toEpsAndX0(state.prediction, modelOutput, xt, t, state.schedule);
  const { prevSample, predX0 } = ddpmTransition(state.schedule, eps, t, xt, prevT >= 0 ? noise ?? null : null, prevT, { clip: state.clip, variance: state.variance });
  return { prevSample, predX0, state: Object.freeze({ ...state, index: state.index + 1 }) };
};

export const ddpmSampler: Sampler<DdpmState, DdpmOptions> = Object.freeze({ name: 'ddpm', setTimesteps, initState, needsNoise, step });
