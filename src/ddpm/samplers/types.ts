/**
 * The contract every sampler keeps, diffusers-style but pure: the model and the sampler are
 * separate, the caller owns the loop, and nothing is mutated.
 *
 *   const ts = ddimSampler.setTimesteps(schedule, 50);
 *   let state = ddimSampler.initState(schedule, ts, { eta: 0 });
 *   for (const t of ts) {
 *     const out = model(x, full([B], t));
 *     const noise = ddimSampler.needsNoise(state) ? normal(fold(key, t), x.shape) : undefined;
 *     ({ prevSample: x, state } = ddimSampler.step(state, out, t, x, noise));
 *   }
 *
 * A sampler is a frozen value with no options of its own; `initState` resolves the options into
 * the state, which carries everything `step` reads (the schedule, the timestep list, where the loop
 * is in it, and for multistep solvers what earlier steps left behind). `step` returns a new state
 * and checks that it is given the timestep the state expects, so a loop that skips or repeats a
 * step fails loudly rather than sampling from the wrong chain.
 *
 * Timesteps are 0-based (see schedule.ts). After the last timestep the chain lands on the data:
 * ᾱ_prev = 1, no noise.
 */
import { type Objective, toEpsAndX0 } from '../objectives.ts';
import { predictNoiseFromStart } from '../forward.ts';
import { clipToDataRange, requireSameShape } from '../reverse.ts';
import type { Schedule } from '../schedule.ts';
import { sameShape, ShapeError } from '../../tensor/shape.ts';
import type { Tensor } from '../../tensor/tensor.ts';

/** Options every sampler reads. */
export interface SamplerOptions {
  /** What the model output means (default 'eps'); it is converted to (ε̂, x̂_0) before the update. */
  readonly prediction?: Objective;
  /** Clip x̂_0 to the data range [−1, 1] and re-derive ε̂ from it (default true). */
  readonly clip?: boolean;
}

/** What every sampler's state holds; samplers add their own fields. */
export interface SamplerState {
  readonly schedule: Schedule;
  /** The timesteps to visit, strictly descending, integers in [0, T). */
  readonly timesteps: readonly number[];
  /** The position in `timesteps` of the next step; timesteps.length once the loop is done. */
  readonly index: number;
  readonly prediction: Objective;
  readonly clip: boolean;
}

export interface StepResult<S> {
  /** x_prev: the sample at the next timestep of the list, or the final sample after the last. */
  readonly prevSample: Tensor;
  /** x̂_0 at this step (clipped when the state says so): the preview a UI shows. */
  readonly predX0: Tensor;
  /** The state for the next step. */
  readonly state: S;
}

export interface Sampler<S extends SamplerState, O extends SamplerOptions = SamplerOptions> {
  readonly name: string;
  /** The `steps` timesteps this sampler visits on `schedule`, descending. */
  setTimesteps(schedule: Schedule, steps: number, opts?: O): readonly number[];
  /** The state before the first step over `timesteps` (any strictly descending list in [0, T)). */
  initState(schedule: Schedule, timesteps: readonly number[], opts?: O): S;
  /** Whether the next `step` reads its noise argument (so a loop draws noise only when used). */
  needsNoise(state: S): boolean;
  /**
   * x_t → x_prev for the timestep t = state.timesteps[state.index], given the model's output at
   * (x_t, t). `noise` is standard normal shaped like x_t; it is required only when `needsNoise`.
   * prevSample is a new tensor; predX0 may be the model output itself (an x_0-prediction without
   * clipping). The state may hold tensors (a multistep solver's history), which the caller frees
   * once the state is superseded (see runSampler).
   */
  step(state: S, modelOutput: Tensor, t: number, xt: Tensor, noise?: Tensor | null): StepResult<S>;
}

// ---- helpers the samplers share -------------------------------------------------------------------

/** The common fields of a fresh state, with the options resolved and the timestep list checked. */
export const baseState = (fn: string, schedule: Schedule, timesteps: readonly number[], opts: SamplerOptions = {}): SamplerState => {
  if (timesteps.length < 1) throw new RangeError(`${fn}: need at least one timestep`);
  timesteps.forEach((t, i) => {
    if (!(Number.isInteger(t) && t >= 0 && t < schedule.T)) throw new RangeError(`${fn}: timestep ${t} is not an integer in [0, ${schedule.T})`);
    if (i > 0 && !(t < timesteps[i - 1])) throw new RangeError(`${fn}: timesteps must be strictly descending, got ${timesteps[i - 1]} then ${t}`);
  });
  const prediction = opts.prediction ?? 'eps';
  if (prediction !== 'eps' && prediction !== 'x0' && prediction !== 'v') {
    throw new RangeError(`${fn}: prediction must be "eps", "x0" or "v", got ${JSON.stringify(prediction)}`);
  }
  return { schedule, timesteps: Object.freeze([...timesteps]), index: 0, prediction, clip: opts.clip ?? true };
};

/**
 * Checks that `t` is the timestep the state expects and returns the one after it (−1 after the
 * last: the data).
 */
export const expectStep = (fn: string, state: SamplerState, t: number): number => {
  const { timesteps, index } = state;
  if (index >= timesteps.length) throw new RangeError(`${fn}: the loop is done (all ${timesteps.length} timesteps were stepped)`);
  if (t !== timesteps[index]) throw new RangeError(`${fn}: step ${index} is at timestep ${timesteps[index]}, got t = ${t}`);
  return timesteps[index + 1] ?? -1;
};

/**
 * (ε̂, x̂_0) from the model output; with `clip`, x̂_0 is clamped to [−1, 1] and ε̂ re-derived from
 * it so that x_t = √ᾱ_t·x̂_0 + √(1 − ᾱ_t)·ε̂ still holds: the update then moves towards the clipped
 * x̂_0 along the noise that explains x_t from it.
 */
export const denoise = (state: SamplerState, modelOutput: Tensor, t: number, xt: Tensor): { eps: Tensor; x0: Tensor } => {
  requireSameShape('step', modelOutput, xt);
  const { eps, x0 } = toEpsAndX0(state.prediction, modelOutput, xt, t, state.schedule);
  if (!state.clip) return { eps, x0 };
  const clipped = clipToDataRange(x0);
  return { eps: predictNoiseFromStart(state.schedule, xt, t, clipped), x0: clipped };
};

/** ᾱ and 1 − ᾱ at t, with ᾱ_{−1} = 1 (the data). */
export const alphaBarAt = (schedule: Schedule, t: number): { readonly a: number; readonly om: number } =>
  t < 0 ? { a: 1, om: 0 } : { a: schedule.alphasCumprod[t], om: schedule.oneMinusAlphasCumprod[t] };

/**
 * 1 − ᾱ_t/ᾱ_s for s < t (the β of the jump s → t), accurately: while ᾱ_t > 1/2 as a difference of
 * the schedule's accurate 1 − ᾱ, below that as 1 − the ratio (as `respace` does).
 */
export const jumpBeta = (schedule: Schedule, t: number, s: number): number => {
  const at = alphaBarAt(schedule, t);
  const as = alphaBarAt(schedule, s);
  return at.a > 0.5 ? (at.om - as.om) / as.a : 1 - at.a / as.a;
};

/** Noise that merely broadcasts against x_t would correlate the samples of a batch: refuse it. */
export const requireNoiseShape = (fn: string, noise: Tensor, xt: Tensor): void => {
  if (!sameShape(noise.shape, xt.shape)) throw new ShapeError(fn, [noise.shape, xt.shape], 'the noise must have the shape of x_t');
};
