/**
 * DDIM (Song, Meng & Ermon 2021, eq. 12): from x_t with (ε̂, x̂_0),
 *
 *   x_prev = √ᾱ_prev·x̂_0 + √(1 − ᾱ_prev − σ_t²)·ε̂ + σ_t·z,
 *   σ_t(η) = η·√((1 − ᾱ_prev)/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev)                      (eq. 16)
 *
 * η = 0 is the deterministic DDIM sampler; η = 1 with every timestep visited is ancestral DDPM
 * with σ_t² = β̃_t (the properties check both the coefficients and the sampled moments). After the
 * last timestep ᾱ_prev = 1, so the last step returns x̂_0 itself.
 *
 * Timesteps for S steps: τ_i = i·⌊T/S⌋ for i = 0 … S − 1, visited from the largest (the paper's
 * "linear" τ, 0-based). With S ∤ T the largest is (S − 1)·⌊T/S⌋ < T − 1: the chain starts from a
 * slightly less noisy level than T − 1, as in the paper's code.
 */
import { add, mul } from '../../ops/elementwise.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { Schedule } from '../schedule.ts';
import {
  alphaBarAt, baseState, denoise, expectStep, jumpBeta, requireNoiseShape, type Sampler, type SamplerOptions, type SamplerState, type StepResult,
} from './types.ts';

export interface DdimOptions extends SamplerOptions {
  /** η ∈ [0, 1]: 0 (default) is deterministic, 1 is DDPM's β̃ variance. */
  readonly eta?: number;
}

export interface DdimState extends SamplerState {
  readonly eta: number;
}

/** τ_i = i·⌊T/S⌋, i = S − 1 down to 0. */
export const ddimTimesteps = (T: number, steps: number): readonly number[] => {
  if (!(Number.isInteger(steps) && steps >= 1 && steps <= T)) throw new RangeError(`ddim: steps must be an integer in [1, ${T}], got ${steps}`);
  const stride = Math.floor(T / steps);
  return Object.freeze(Array.from({ length: steps }, (_, i) => (steps - 1 - i) * stride));
};

export interface DdimCoefficients {
  /** √ᾱ_prev, the weight of x̂_0 */
  readonly sqrtAlphaBarPrev: number;
  /** √(1 − ᾱ_prev − σ_t²), the weight of ε̂ ("the direction pointing to x_t") */
  readonly direction: number;
  /** σ_t(η), the weight of z */
  readonly sigma: number;
}

/**
 * The three coefficients of the step t → prevT (prevT = −1: the data), in float64. With
 * b = 1 − ᾱ_t/ᾱ_prev (`jumpBeta`), σ² = η²·(1 − ᾱ_prev)·b/(1 − ᾱ_t), and the direction's square
 * 1 − ᾱ_prev − σ² is formed as (1 − ᾱ_prev)·((1 − η²)(1 − ᾱ_t) + η²(1 − ᾱ_prev)·ᾱ_t/ᾱ_prev)/(1 − ᾱ_t),
 * a sum of non-negative terms (using 1 − ᾱ_t − b = (1 − ᾱ_prev)·ᾱ_t/ᾱ_prev), so it never cancels.
 */
export const ddimCoefficients = (schedule: Schedule, t: number, prevT: number, eta: number): DdimCoefficients => {
  if (prevT < 0) return { sqrtAlphaBarPrev: 1, direction: 0, sigma: 0 };
  const cur = alphaBarAt(schedule, t);
  const prev = alphaBarAt(schedule, prevT);
  const b = jumpBeta(schedule, t, prevT);
  const e2 = eta * eta;
  return {
    sqrtAlphaBarPrev: Math.sqrt(prev.a),
    direction: Math.sqrt((prev.om * ((1 - e2) * cur.om + (e2 * prev.om * cur.a) / prev.a)) / cur.om),
    sigma: eta * Math.sqrt(prev.om / cur.om) * Math.sqrt(b),
  };
};

const setTimesteps = (schedule: Schedule, steps: number): readonly number[] => ddimTimesteps(schedule.T, steps);

const initState = (schedule: Schedule, timesteps: readonly number[], opts: DdimOptions = {}): DdimState => {
  const eta = opts.eta ?? 0;
  if (!(eta >= 0 && eta <= 1)) throw new RangeError(`ddim: η must be in [0, 1], got ${eta}`);
  return Object.freeze({ ...baseState('ddim', schedule, timesteps, opts), eta });
};

const needsNoise = (state: DdimState): boolean => state.eta > 0 && state.index < state.timesteps.length - 1;

const step = (state: DdimState, modelOutput: Tensor, t: number, xt: Tensor, noise?: Tensor | null): StepResult<DdimState> => {
  const prevT = expectStep('ddim', state, t);
  const { eps, x0 } = denoise(state, modelOutput, t, xt);
  const next = Object.freeze({ ...state, index: state.index + 1 });
  if (prevT < 0) return { prevSample: add(x0, 0), predX0: x0, state: next };
  const c = ddimCoefficients(state.schedule, t, prevT, state.eta);
  const mean = add(mul(x0, c.sqrtAlphaBarPrev), mul(eps, c.direction));
  if (c.sigma === 0) return { prevSample: mean, predX0: x0, state: next };
  if (!noise) throw new Error(`ddim: the step at t = ${t} with η = ${state.eta} needs noise z ~ N(0, I) shaped like x_t`);
  requireNoiseShape('ddim', noise, xt);
  return { prevSample: add(mean, mul(noise, c.sigma)), predX0: x0, state: next };
};

export const ddimSampler: Sampler<DdimState, DdimOptions> = Object.freeze({ name: 'ddim', setTimesteps, initState, needsNoise, step });
