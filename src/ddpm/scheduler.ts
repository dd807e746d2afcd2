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
   * Dhariwal's respacing with one section); numSteps = 1 gives [T−1] alone.
   */
  setTimesteps(numSteps?: number): readonly number[];
  /**
   * x_t → x_{prevT}: the next entry of `setTimesteps`' list, or −1 after the last (meaning the data,
   * ᾱ = 1, no noise). Default t − 1, the full chain, where this is exactly `ddpmStep`; a longer jump
   * is one step of the respaced chain (`respace`). `noise` is read only when prevT ≥ 0.
   */
  step(modelOutput: Tensor, t: number, sample: Tensor, noise: Tensor | null, prevT?: number): StepOutput;
}

/** numSteps timesteps in [0, T), descending. */
export const spacedTimesteps = (T: number, numSteps: number = T): readonly number[] => {
  if (!(Number.isInteger(numSteps) && numSteps >= 1 && numSteps <= T)) {
    throw new RangeError(`setTimesteps: numSteps must be an integer in [1, ${T}], got ${numSteps}`);
  }
  if (numSteps === 1) return Object.freeze([T - 1]);
  const stride = (T - 1) / (numSteps - 1); // ≥ 1, so rounding keeps the points distinct
  return Object.freeze(Array.from({ length: numSteps }, (_, i) => Math.round((numSteps - 1 - i) * stride)));
};

export const ddpmScheduler = (schedule: Schedule, opts: Partial<ReverseOptions> = {}): DdpmScheduler => {
  const options = Object.freeze(withDefaults(opts));
  return Object.freeze({
    schedule,
    options,
    setTimesteps: (numSteps?: number) => spacedTimesteps(schedule.T, numSteps),
    step: (modelOutput: Tensor, t: number, sample: Tensor, noise: Tensor | null, prevT = t - 1): StepOutput => {
      entry(schedule.betas, t);
      if (!(Number.isInteger(prevT) && prevT >= -1 && prevT < t)) {
        throw new RangeError(`step: prevT must be an integer in [−1, ${t}), got ${prevT}`);
      }
      if (prevT === t - 1) return ddpmStep(schedule, modelOutput, t, sample, noise, options);
      // a jump of several timesteps is one step of the respaced chain …, prevT, t
      return prevT === -1
        ? ddpmStep(respace(schedule, [t]), modelOutput, 0, sample, noise, options)
        : ddpmStep(respace(schedule, [prevT, t]), modelOutput, 1, sample, noise, options);
    },
  });
};
