/**
 * The loop every sampler shares: start from noise (or a given x_T), ask the model at each visited
 * timestep, step. Randomness comes from one key, as in `sampleLoop`: [startKey, stepKey] =
 * split(key, 2), the start from startKey and the noise of the step at t from fold(stepKey, t), so a
 * run is reproducible step by step (and the DDPM sampler with every timestep and no clipping is
 * `sampleLoop` bit for bit).
 *
 * Memory: each step runs in a `tidy`, so the model's intermediates and the step's temporaries are
 * freed as it returns; the previous x and whatever the superseded state held (a multistep solver's
 * history) are disposed; the final state's tensors are disposed at the end. The returned sample is
 * the caller's.
 */
import { add } from '../../ops/elementwise.ts';
import { full } from '../../ops/create.ts';
import { normal } from '../../ops/random.ts';
import { fold, type Key, split } from '../../tensor/random.ts';
import { sameShape, type Shape, ShapeError } from '../../tensor/shape.ts';
import { dispose, type Tensor, tidy, treeTensors } from '../../tensor/tensor.ts';
import type { Denoiser } from '../loss.ts';
import type { Schedule } from '../schedule.ts';
import type { Sampler, SamplerOptions, SamplerState } from './types.ts';

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

/**
 * Draws a batch of `shape` with `sampler` and the denoiser `model` (whose output the sampler reads
 * per `opts.prediction`), with the sampler's options (η, clip, prediction, variance) in `opts`.
 */
export const runSampler = <S extends SamplerState, O extends SamplerOptions>(
  sampler: Sampler<S, O>, model: Denoiser, schedule: Schedule, shape: Shape, key: Key,
  opts: O & RunOptions = {} as O & RunOptions,
): Tensor => {
  if (shape.length < 1) throw new ShapeError('runSampler', [shape], 'the sample shape needs a batch dimension');
  if (opts.start && !sameShape(opts.start.shape, shape)) throw new ShapeError('runSampler', [opts.start.shape, shape], 'the start x_T must have the sample shape');
  const timesteps = sampler.setTimesteps(schedule, opts.steps ?? schedule.T, opts);
  let state = sampler.initState(schedule, timesteps, opts);
  const [startKey, stepKey] = split(key, 2);
  let x = opts.start ? add(opts.start, 0) : normal(startKey, shape);
  try {
    for (const t of timesteps) {
      const xt = x;
      const before = state;
      const out = tidy(() => {
        const output = model(xt, full([shape[0]], t, xt.backend));
        const noise = sampler.needsNoise(before) ? normal(fold(stepKey, t), shape, 0, 1, xt.backend) : null;
        const r = sampler.step(before, output, t, xt, noise);
        opts.onStep?.(t, xt, r.predX0);
        // tidy keeps what its result reaches: hand it the state's own tensors, and the state itself
        // behind a function, so its walk does not visit every entry of the schedule's tables
        return { prevSample: r.prevSample, held: stateTensors(r.state), nextState: () => r.state };
      });
      superseded(stateTensors(before), out.held).forEach(dispose);
      dispose(xt);
      x = out.prevSample;
      state = out.nextState();
    }
  } catch (e) {
    dispose(x);
    stateTensors(state).forEach(dispose);
    throw e;
  }
  stateTensors(state).forEach(dispose);
  return x;
};
