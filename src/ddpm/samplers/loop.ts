/**
 * The loop every sampler shares, a fold of `sampleStep` over the timesteps: start from noise (or a
 * given x_T), ask the model at each visited timestep, step. Randomness comes from one key, as in `sampleLoop`: [startKey, stepKey] =
 * split(key, 2), the start from startKey and the noise of the step at t from fold(stepKey, t), so a
 * run is reproducible step by step (and the DDPM sampler with every timestep and no clipping is
 * `sampleLoop` bit for bit).
 *
 * Memory: each step runs in a `tidy`, so the model's intermediates and the step's temporaries are
 * freed as it returns; the previous x and whatever the superseded state held (a multistep solver's
 * history) are disposed; the final state's tensors are disposed at the end. The returned sample is
 * the caller's.
 */
import { pipe } from 'fp-ts/lib/function.js';
import * as RA from 'fp-ts/lib/ReadonlyArray.js';
import { add } from '../../ops/elementwise.ts';
import { full } from '../../ops/create.ts';
import { normal } from '../../ops/random.ts';
import { fold, type Key, split } from '../../tensor/random.ts';
import { sameShape, type Shape, ShapeError } from '../../tensor/shape.ts';
import { dispose, type Tensor, tidy, treeTensors } from '../../tensor/tensor.ts';
import type { Denoiser } from '../loss.ts';
import type { Schedule } from '../schedule.ts';
import type { Sampler, SamplerOptions, SamplerState, StepResult } from './types.ts';

export interface RunOptions {
  /** How many timesteps to visit (default T); the sampler's `setTimesteps` picks which. */
  readonly steps?: number;
  /** Start from this x_T (shaped like `shape`) instead of noise from the key; it is not disposed. */
  readonly start?: Tensor;
  /**
   * Called at each timestep with the sample the model saw, x_t, and its x̂_0. Both are freed by the
   * loop (x̂_0 when the step ends, or when a multistep solver's state lets go of it), so read them
   * inside the callback, or keep a copy: `keep(add(predX0, 0))`.
   */
  readonly onStep?: (t: number, xt: Tensor, predX0: Tensor) => void;
}

/** The tensors of the tree `old` that `next` no longer reaches. */
const superseded = (old: unknown, next: unknown): Tensor[] => {
  const live = new Set(treeTensors(next));
  return treeTensors(old).filter((t) => !live.has(t));
};

/** Tensors in a state: only its own fields, not the schedule's tables. */
const stateTensors = (state: SamplerState): Tensor[] =>
  Object.entries(state).flatMap(([k, v]) => (k === 'schedule' || k === 'timesteps' ? [] : treeTensors(v)));

/** The timestep the state steps next; throws once the loop is done. */
export const nextTimestep = (state: SamplerState): number => {
  if (state.index >= state.timesteps.length) throw new RangeError(`sampleStep: the loop is done (all ${state.timesteps.length} timesteps were stepped)`);
  return state.timesteps[state.index];
};

/**
 * One step of any sampler, x_t → x_prev at the state's next timestep, the state as a value: the
 * contract's `step` with the timestep read from the state. A custom loop is
 *
 *   let state = ddimSampler.initState(schedule, ddimSampler.setTimesteps(schedule, 50));
 *   for (const t of state.timesteps) {
 *     const noise = ddimSampler.needsNoise(state) ? normal(fold(key, t), x.shape) : null;
 *     ({ prevSample: x, state } = sampleStep(ddimSampler, state, model(x, full([B], t)), x, noise));
 *   }
 */
export const sampleStep = <S extends SamplerState, O extends SamplerOptions>(
  sampler: Sampler<S, O>, state: S, modelOutput: Tensor, xt: Tensor, noise?: Tensor | null,
): StepResult<S> => sampler.step(state, modelOutput, nextTimestep(state), xt, noise);

/** What the fold carries from one timestep to the next: the sample and the sampler's state. */
interface Carry<S> {
  readonly x: Tensor;
  readonly state: S;
}

/**
 * Draws a batch of `shape` with `sampler` and the denoiser `model` (whose output the sampler reads
 * per `opts.prediction`), with the sampler's options (η, clip, prediction, variance) in `opts`: a
 * fold of `sampleStep` over the sampler's timesteps, from noise (or `opts.start`) to the data.
 */
export const runSampler = <S extends SamplerState, O extends SamplerOptions>(
  sampler: Sampler<S, O>, model: Denoiser, schedule: Schedule, shape: Shape, key: Key,
  opts: O & RunOptions = {} as O & RunOptions,
): Tensor => {
  if (shape.length < 1) throw new ShapeError('runSampler', [shape], 'the sample shape needs a batch dimension');
  if (opts.start && !sameShape(opts.start.shape, shape)) throw new ShapeError('runSampler', [opts.start.shape, shape], 'the start x_T must have the sample shape');
  const timesteps = sampler.setTimesteps(schedule, opts.steps ?? schedule.T, opts);
  const [startKey, stepKey] = split(key, 2);
  /** One timestep: the model, the noise if the sampler reads it, the step; the superseded tensors freed. */
  const advance = ({ x: xt, state: before }: Carry<S>, t: number): Carry<S> => {
    const out = tidy(() => {
      const output = model(xt, full([shape[0]], t, xt.backend));
      const noise = sampler.needsNoise(before) ? normal(fold(stepKey, t), shape, 0, 1, xt.backend) : null;
      const r = sampleStep(sampler, before, output, xt, noise);
      opts.onStep?.(t, xt, r.predX0);
      // tidy keeps what its result reaches: hand it the state's own tensors, and the state itself
      // behind a function, so its walk does not visit every entry of the schedule's tables
      return { prevSample: r.prevSample, held: stateTensors(r.state), nextState: () => r.state };
    });
    superseded(stateTensors(before), out.held).forEach(dispose);
    dispose(xt);
    return { x: out.prevSample, state: out.nextState() };
  };
  // the latest carry, for freeing what it holds if a step throws
  let latest: Carry<S> = { x: opts.start ? add(opts.start, 0) : normal(startKey, shape), state: sampler.initState(schedule, timesteps, opts) };
  try {
    const last = pipe(timesteps, RA.reduce(latest, (carry, t) => {
      latest = advance(carry, t);
      return latest;
    }));
    stateTensors(last.state).forEach(dispose);
    return last.x;
  } catch (e) {
    dispose(latest.x);
    stateTensors(latest.state).forEach(dispose);
    throw e;
  }
};
