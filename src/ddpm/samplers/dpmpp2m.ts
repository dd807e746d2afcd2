/**
 * DPM-Solver++(2M) (Lu, Zhou, Bao, Chen, Li & Zhu 2022, Algorithm 2): a second-order multistep
 * solver of the diffusion ODE in its data-prediction form. With α = √ᾱ, σ = √(1 − ᾱ) and the
 * half log-SNR λ = log(α/σ), one step s → t (h = λ_t − λ_s > 0) is
 *
 *   x_t = (σ_t/σ_s)·x_s + α_t·(1 − e^{−h})·D,
 *
 * with D = x̂_0(s) on a first-order step (DPM-Solver++(1), which is DDIM with η = 0) and, when the
 * previous step's x̂_0(u) is at hand, the multistep correction
 *
 *   D = (1 + 1/(2r))·x̂_0(s) − 1/(2r)·x̂_0(u),   r = (λ_s − λ_u)/h.
 *
 * Orders, as diffusers' DPMSolverMultistepScheduler with lower_order_final = true: the first step
 * is first-order (no history yet). The last step, to the data (ᾱ = 1, σ = 0, λ = +∞, h = ∞), is
 * first-order too: there r = 0 and the second-order formula is undefined, while the first-order
 * one gives x_t = x̂_0(s) exactly. With fewer than 15 steps the step before it is first-order as
 * well (unless `lowerOrderFinal: false`): near t = 0 the λ-steps grow fast (λ_0 is large), so
 * r = h_prev/h becomes small and the extrapolation weight 1/(2r) large. Every other step is
 * second-order; the properties check the global error falls as 1/S² on Gaussian data.
 *
 * Timesteps for S steps: the nearest integers to S evenly spaced points from T − 1 down to 0,
 * round((S − 1 − i)·(T − 1)/(S − 1)) for i = 0 … S − 1, ties up (linspace(T − 1, 0, S) rounded;
 * [T − 1] for S = 1); distinct because the spacing is ≥ 1, so strictly decreasing and ending at 0.
 */
import { add, mul, sub } from '../../ops/elementwise.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { Schedule } from '../schedule.ts';
import { spacedTimesteps } from '../scheduler.ts';
import { alphaBarAt, baseState, denoise, expectStep, type Sampler, type SamplerOptions, type SamplerState, type StepResult } from './types.ts';

export interface DpmSolverOptions extends SamplerOptions {
  /**
   * With fewer than 15 steps, make the second-to-last step first-order too (default true, as
   * diffusers' lower_order_final). The last step, to the data, is first-order regardless.
   */
  readonly lowerOrderFinal?: boolean;
}

export interface DpmSolverState extends SamplerState {
  readonly lowerOrderFinal: boolean;
  /** x̂_0 of the previous step (at timesteps[index − 1]); null before the first step. Owned by the state. */
  readonly prevX0: Tensor | null;
}

/** round(linspace(T − 1, 0, S)), the DDPM sampler's grid (`spacedTimesteps`: ties up, exact integers). */
export const dpmSolverTimesteps = (T: number, steps: number): readonly number[] => {
  if (!(Number.isSafeInteger(T) && T >= 1)) throw new RangeError(`dpmpp2m: T must be an integer ≥ 1, got ${T}`);
  if (!(Number.isInteger(steps) && steps >= 1 && steps <= T)) throw new RangeError(`dpmpp2m: steps must be an integer in [1, ${T}], got ${steps}`);
  return spacedTimesteps(T, steps);
};

/** λ_t = log(α_t/σ_t) = ½·(log ᾱ_t − log(1 − ᾱ_t)); +∞ for the data (t = −1). */
export const halfLogSnr = (schedule: Schedule, t: number): number => {
  const { a, om } = alphaBarAt(schedule, t);
  return om === 0 ? Infinity : 0.5 * (Math.log(a) - Math.log(om));
};

export interface DpmSolverCoefficients {
  /** σ_t/σ_s, the weight of x_s */
  readonly sampleRatio: number;
  /** α_t·(1 − e^{−h}), the weight of D */
  readonly dataWeight: number;
  /** the multistep ratio r = (λ_s − λ_u)/h, or null on a first-order step */
  readonly r: number | null;
}

/** Below this many steps the second-to-last step is first-order too (diffusers' rule). */
export const LOWER_ORDER_SECOND_BELOW = 15;

/** Whether step `index` of `steps` uses the previous x̂_0 (the multistep correction). */
export const isSecondOrder = (index: number, steps: number, lowerOrderFinal = true): boolean =>
  index > 0 && index < steps - 1 && !(lowerOrderFinal && index === steps - 2 && steps < LOWER_ORDER_SECOND_BELOW);

/** The coefficients of the step s → t (t = −1: the data), with u the previous step's timestep (null: none). */
export const dpmSolverCoefficients = (schedule: Schedule, s: number, t: number, u: number | null): DpmSolverCoefficients => {
  if (t < 0) return { sampleRatio: 0, dataWeight: 1, r: null };
  const cur = alphaBarAt(schedule, s);
  const next = alphaBarAt(schedule, t);
  const h = halfLogSnr(schedule, t) - halfLogSnr(schedule, s);
  return {
    sampleRatio: Math.sqrt(next.om / cur.om),
    dataWeight: -Math.sqrt(next.a) * Math.expm1(-h),
    r: u === null ? null : (halfLogSnr(schedule, s) - halfLogSnr(schedule, u)) / h,
  };
};

const setTimesteps = (schedule: Schedule, steps: number): readonly number[] => dpmSolverTimesteps(schedule.T, steps);

const initState = (schedule: Schedule, timesteps: readonly number[], opts: DpmSolverOptions = {}): DpmSolverState =>
  Object.freeze({ ...baseState('dpmpp2m', schedule, timesteps, opts), lowerOrderFinal: opts.lowerOrderFinal ?? true, prevX0: null });

const needsNoise = (): boolean => false;

const step = (state: DpmSolverState, modelOutput: Tensor, t: number, xt: Tensor): StepResult<DpmSolverState> => {
  const prevT = expectStep('dpmpp2m', state, t);
  const denoised = denoise(state, modelOutput, t, xt).x0;
  // the state outlives this step and is freed by whoever supersedes it: never alias the caller's tensors
  const x0 = denoised === modelOutput || denoised === xt ? add(denoised, 0) : denoised;
  const next = Object.freeze({ ...state, index: state.index + 1, prevX0: x0 });
  const u = isSecondOrder(state.index, state.timesteps.length, state.lowerOrderFinal) && state.prevX0 !== null ? state.timesteps[state.index - 1] : null;
  const c = dpmSolverCoefficients(state.schedule, t, prevT, u);
  if (prevT < 0) return { prevSample: add(x0, 0), predX0: x0, state: next };
  const d = c.r === null || state.prevX0 === null
    ? x0
    : sub(mul(x0, 1 + 1 / (2 * c.r)), mul(state.prevX0, 1 / (2 * c.r)));
  return { prevSample: add(mul(xt, c.sampleRatio), mul(d, c.dataWeight)), predX0: x0, state: next };
};

export const dpmpp2mSampler: Sampler<DpmSolverState, DpmSolverOptions> = Object.freeze({ name: 'dpmpp2m', setTimesteps, initState, needsNoise, step });
