/**
 * A diffusers-style DDPM scheduler: the model and the scheduler are separate and the caller owns the
 * loop. Pure: the scheduler holds only its schedule and options, `setTimesteps` returns the list
 * rather than storing it, and `step` is told which timestep it steps to.
 *
 *   const sched = ddpmScheduler(schedule, { variance: 'posterior' });
 *   const ts = sched.setTimesteps(50);
 *   ts.forEach((t, i) => {
 *     const prevT = ts[i + 1] ?? -1;
 *     const eps = model(x, full([B], t));
 *     x = sched.step(eps, t, x, prevT >= 0 ? normal(fold(key, t), x.shape) : null, prevT).prevSample;
 *   });
 */
import type { Tensor } from '../tensor/tensor.ts';
import { entry } from './extract.ts';
import { ddpmStep, type ReverseOptions, type StepOutput, withDefaults } from './reverse.ts';
import { respace, type Schedule } from './schedule.ts';

export interface DdpmScheduler {
  readonly schedule: Schedule;
  readonly options: ReverseOptions;
  /**
   * The timesteps to visit, from T−1 down to 0. With numSteps < T (default T) they are the
   * nearest integers to numSteps evenly spaced points of [0, T−1], both ends included (Nichol &
   * Dhariwal's respacing with one section; `spacedTimesteps`); numSteps = 1 gives [T−1] alone.
   */
  setTimesteps(numSteps?: number): readonly number[];
  /**
   * x_t → x_{prevT}: the next entry of `setTimesteps`' list, or −1 after the last (meaning the data,
   * ᾱ = 1, no noise). Default t − 1, the full chain, where this is exactly `ddpmStep`; a longer jump
   * is one step of the respaced chain (`respace`). `noise` is read only when prevT ≥ 0.
   */
  step(modelOutput: Tensor, t: number, sample: Tensor, noise: Tensor | null, prevT?: number): StepOutput;
}

/**
 * The one spacing rule of the DDPM and DPM-Solver samplers: round(linspace(T − 1, 0, numSteps)),
 * ties rounded up, in exact integer arithmetic: t_i = ⌊(2k(T − 1) + n)/(2n)⌋ with n = numSteps − 1
 * and k = n − i (a floating-point k·(T − 1)/n can land just below a tie such as 24.5 and round the
 * other way). numSteps = T gives every timestep; 1 gives [T − 1].
 */
export const spacedTimesteps = (T: number, numSteps: number = T): readonly number[] => {
  if (!(Number.isInteger(numSteps) && numSteps >= 1 && numSteps <= T)) {
    throw new RangeError(`setTimesteps: numSteps must be an integer in [1, ${T}], got ${numSteps}`);
  }
  if (numSteps === 1) return Object.freeze([T - 1]);
  const n = numSteps - 1;
  return Object.freeze(Array.from({ length: numSteps }, (_, i) => Math.floor((2 * (n - i) * (T - 1) + n) / (2 * n))));
};

/**
 * x_t → x_{prevT} given ε̂: with prevT = t − 1 exactly `ddpmStep` (the walk-through's equation); a
 * longer jump is one step of the chain respaced over …, prevT, t (`respace`); prevT = −1 lands on
 * the data. The transition both `ddpmScheduler` and the `ddpmSampler` take.
 */
export const ddpmTransition = (
  schedule: Schedule, eps: Tensor, t: number, sample: Tensor, noise: Tensor | null, prevT: number, options: ReverseOptions,
): StepOutput => {
  entry(schedule.betas, t);
  if (!(Number.isInteger(prevT) && prevT >= -1 && prevT < t)) {
    throw new RangeError(`step: prevT must be an integer in [−1, ${t}), got ${prevT}`);
  }
  if (prevT === t - 1) return ddpmStep(schedule, eps, t, sample, noise, options);
  return prevT === -1
    ? ddpmStep(respace(schedule, [t]), eps, 0, sample, noise, options)
    : ddpmStep(respace(schedule, [prevT, t]), eps, 1, sample, noise, options);
};

export const ddpmScheduler = (schedule: Schedule, opts: Partial<ReverseOptions> = {}): DdpmScheduler => {
  const options = Object.freeze(withDefaults(opts));
  return Object.freeze({
    schedule,
    options,
    setTimesteps: (numSteps?: number) => spacedTimesteps(schedule.T, numSteps),
    step: (modelOutput: Tensor, t: number, sample: Tensor, noise: Tensor | null, prevT = t - 1): StepOutput =>
      ddpmTransition(schedule, modelOutput, t, sample, noise, prevT, options),
  });
};
