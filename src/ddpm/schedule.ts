/**
 * Noise schedules: the betas β_0..β_{T−1} of the forward process q(x_t | x_{t−1}) = N(√(1−β_t)·x_{t−1}, β_t·I)
 * and every table the DDPM formulas read, precomputed once in float64.
 *
 * Timesteps are 0-based, as in the walk-through and in PyTorch code: index t ∈ [0, T) holds the
 * paper's step t+1, so ᾱ_t = Π_{s≤t} (1 − β_s) and x_t ~ N(√ᾱ_t·x_0, (1 − ᾱ_t)·I). The
 * "previous" level of t = 0 is the data itself: ᾱ_{−1} = 1.
 *
 * Tables stay on the host as Float64Array (cheap to compute, exact to test); `extract` copies the
 * entries a batch needs onto the backend, where they are rounded to its precision.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as t from 'io-ts';
import { numberWhere } from '../codec/codec.ts';

// ---- beta schedules ---------------------------------------------------------------------------

const requireSteps = (fn: string, T: number): void => {
  if (!Number.isSafeInteger(T) || T < 1) throw new RangeError(`${fn}: T must be an integer ≥ 1, got ${T}`);
};

/**
 * `T` values from `start` to `end`, both included, with torch.linspace's arithmetic: the first
 * half counts up from start, the second half down from end, so both endpoints are exact.
 */
export const linspace = (start: number, end: number, T: number): Float64Array => {
  requireSteps('linspace', T);
  const out = new Float64Array(T);
  if (T === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (T - 1);
  const half = Math.floor(T / 2);
  for (let i = 0; i < T; i++) out[i] = i < half ? start + step * i : end - step * (T - 1 - i);
  return out;
};

/** Ho et al. (2020): β rises linearly from `start` to `end` (both included, as torch.linspace). */
export const linearBetas = (T: number, start = 1e-4, end = 0.02): Float64Array => {
  requireSteps('linearBetas', T);
  return linspace(start, end, T);
};

/** The largest β the derived schedules allow: near t = T the ratio ᾱ_t/ᾱ_{t−1} tends to 0 and β to 1. */
export const MAX_BETA = 0.999;

/** β_t = min(1 − ᾱ(t+1)/ᾱ(t), 0.999) for a continuous ᾱ(·) on [0, T] with ᾱ(0) = 1. */
const betasFromAlphaBar = (fn: string, T: number, alphaBar: (step: number) => number): Float64Array => {
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    out[i] = Math.min(1 - alphaBar(i + 1) / alphaBar(i), MAX_BETA);
    if (!(out[i] > 0)) {
      throw new RangeError(`${fn}: ᾱ is flat in float64 between steps ${i} and ${i + 1} (β_${i} = ${out[i]}); the parameters make the curve too steep or too flat for T = ${T}`);
    }
  }
  return out;
};

/**
 * Nichol & Dhariwal (2021), eq. 17: ᾱ(t) = f(t)/f(0) with f(t) = cos²(((t/T + s)/(1 + s))·π/2),
 * β_t = 1 − ᾱ(t+1)/ᾱ(t) clipped at 0.999 (the last β, where f reaches 0, is always the clip).
 * The offset s keeps β_0 from being vanishingly small.
 */
export const cosineBetas = (T: number, s = 0.008): Float64Array => {
  requireSteps('cosineBetas', T);
  if (!(Number.isFinite(s) && s >= 0)) throw new RangeError(`cosineBetas: s must be a finite number ≥ 0, got ${s}`);
  const f = (step: number): number => Math.cos((((step / T) + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  const f0 = f(0);
  return betasFromAlphaBar('cosineBetas', T, (step) => f(step) / f0);
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * The sigmoid schedule of Jabri, Fleet & Chen (2022, "Scalable adaptive computation for iterative
 * generation"), as in denoising-diffusion-pytorch's `sigmoid_beta_schedule`: with u = t/T,
 * ᾱ(u) = (σ(end/τ) − σ((u·(end − start) + start)/τ)) / (σ(end/τ) − σ(start/τ)),
 * β_t = 1 − ᾱ(t+1)/ᾱ(t) clipped at 0.999. ᾱ falls from 1 to 0 along a sigmoid: slowly at both ends,
 * fastest where (u·(end − start) + start) = 0 (for the symmetric default, ᾱ(T/2) = 1/2 exactly).
 * This is not the DiffWave/GeoDiff "sigmoid" schedule that squashes a linspace of betas.
 */
export const sigmoidBetas = (T: number, start = -3, end = 3, tau = 1): Float64Array => {
  requireSteps('sigmoidBetas', T);
  if (!(Number.isFinite(start) && Number.isFinite(end) && start < end)) {
    throw new RangeError(`sigmoidBetas: need finite start < end, got start = ${start}, end = ${end}`);
  }
  if (!(Number.isFinite(tau) && tau > 0)) throw new RangeError(`sigmoidBetas: tau must be a finite number > 0, got ${tau}`);
  const vStart = sigmoid(start / tau);
  const vEnd = sigmoid(end / tau);
  const alphaBar = (step: number): number => (vEnd - sigmoid(((step / T) * (end - start) + start) / tau)) / (vEnd - vStart);
  return betasFromAlphaBar('sigmoidBetas', T, alphaBar);
};

// ---- the precomputed tables -------------------------------------------------------------------

/**
 * Every coefficient the DDPM formulas use, one Float64Array of length T per name, index t ∈ [0, T).
 * The arrays are shared, not copied, by whoever reads the schedule: treat them as read-only.
 */
export interface Schedule {
  readonly T: number;
  /** β_t */
  readonly betas: Float64Array;
  /** α_t = 1 − β_t */
  readonly alphas: Float64Array;
  /** ᾱ_t = Π_{s≤t} α_s */
  readonly alphasCumprod: Float64Array;
  /** ᾱ_{t−1}, with ᾱ_{−1} = 1 */
  readonly alphasCumprodPrev: Float64Array;
  /** 1 − ᾱ_t, computed without cancellation where ᾱ_t ≈ 1 */
  readonly oneMinusAlphasCumprod: Float64Array;
  /** √ᾱ_t */
  readonly sqrtAlphasCumprod: Float64Array;
  /** √(1 − ᾱ_t) */
  readonly sqrtOneMinusAlphasCumprod: Float64Array;
  /** 1/√α_t */
  readonly sqrtRecipAlphas: Float64Array;
  /** 1/√ᾱ_t */
  readonly sqrtRecipAlphasCumprod: Float64Array;
  /** √(1/ᾱ_t − 1) */
  readonly sqrtRecipm1AlphasCumprod: Float64Array;
  /** β̃_t = β_t·(1 − ᾱ_{t−1})/(1 − ᾱ_t), the variance of q(x_{t−1} | x_t, x_0); 0 at t = 0 */
  readonly posteriorVariance: Float64Array;
  /**
   * log β̃_t with the 0 at t = 0 replaced by β̃_1 (as Ho et al.'s code), so the log is finite;
   * for T = 1, where there is no β̃_1, log β_0.
   */
  readonly posteriorLogVarianceClipped: Float64Array;
  /** β_t·√ᾱ_{t−1}/(1 − ᾱ_t), the weight of x_0 in the posterior mean μ̃_t(x_0, x_t) */
  readonly posteriorMeanCoef1: Float64Array;
  /** (1 − ᾱ_{t−1})·√α_t/(1 − ᾱ_t), the weight of x_t in μ̃_t(x_0, x_t) */
  readonly posteriorMeanCoef2: Float64Array;
}

const map = (xs: Float64Array, f: (x: number, i: number) => number): Float64Array => {
  const out = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = f(xs[i], i);
  return out;
};

/**
 * Every table from the four that define a chain: β, α = 1 − β, ᾱ and 1 − ᾱ (passed separately so
 * each can be computed in its most accurate form).
 */
const tables = (betas: Float64Array, alphas: Float64Array, alphasCumprod: Float64Array, oneMinus: Float64Array): Schedule => {
  const T = betas.length;
  const alphasCumprodPrev = map(alphasCumprod, (_, i) => (i === 0 ? 1 : alphasCumprod[i - 1]));
  const oneMinusPrev = map(oneMinus, (_, i) => (i === 0 ? 0 : oneMinus[i - 1]));
  const posteriorVariance = map(betas, (b, i) => (b * oneMinusPrev[i]) / oneMinus[i]);
  return Object.freeze({
    T,
    betas,
    alphas,
    alphasCumprod,
    alphasCumprodPrev,
    oneMinusAlphasCumprod: oneMinus,
    sqrtAlphasCumprod: map(alphasCumprod, Math.sqrt),
    sqrtOneMinusAlphasCumprod: map(oneMinus, Math.sqrt),
    sqrtRecipAlphas: map(alphas, (a) => Math.sqrt(1 / a)),
    sqrtRecipAlphasCumprod: map(alphasCumprod, (a) => Math.sqrt(1 / a)),
    sqrtRecipm1AlphasCumprod: map(alphasCumprod, (a, i) => Math.sqrt(oneMinus[i] / a)),
    posteriorVariance,
    posteriorLogVarianceClipped: map(posteriorVariance, (v, i) =>
      Math.log(i > 0 ? v : T > 1 ? posteriorVariance[1] : betas[0])),
    posteriorMeanCoef1: map(betas, (b, i) => (b * Math.sqrt(alphasCumprodPrev[i])) / oneMinus[i]),
    posteriorMeanCoef2: map(alphas, (a, i) => (oneMinusPrev[i] * Math.sqrt(a)) / oneMinus[i]),
  });
};

/**
 * The schedule of the given betas (copied). Throws a RangeError unless T ≥ 1 and every β is in
 * (0, 1): β = 0 would make 1 − ᾱ_0 = 0 and the posterior divide by zero, β ≥ 1 would zero ᾱ.
 */
export const makeSchedule = (betasIn: ArrayLike<number>): Schedule => {
  const T = betasIn.length;
  if (T < 1) throw new RangeError('makeSchedule: need at least one beta (T ≥ 1), got none');
  const betas = Float64Array.from(betasIn);
  betas.forEach((b, i) => {
    if (!(b > 0 && b < 1)) throw new RangeError(`makeSchedule: betas[${i}] = ${b} is not in (0, 1)`);
  });
  const alphas = map(betas, (b) => 1 - b);
  const alphasCumprod = new Float64Array(T);
  let acc = 1;
  for (let i = 0; i < T; i++) alphasCumprod[i] = acc *= alphas[i];
  // 1 − ᾱ_t, accurate to a few ulps relative even where ᾱ_t ≈ 1 (1 − ᾱ_0 is β_0 exactly): while
  // ᾱ > 1/2 sum the positive terms 1 − ᾱ_t = (1 − ᾱ_{t−1}) + ᾱ_{t−1}·β_t instead of cancelling;
  // below 1/2 the subtraction is the more accurate.
  const oneMinus = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    oneMinus[i] = alphasCumprod[i] > 0.5 ? (i === 0 ? 0 : oneMinus[i - 1]) + (i === 0 ? 1 : alphasCumprod[i - 1]) * betas[i] : 1 - alphasCumprod[i];
  }
  return tables(betas, alphas, alphasCumprod, oneMinus);
};

/**
 * The chain that visits only `timesteps` (ascending or descending, distinct, in [0, T)) of
 * `schedule`, as Nichol & Dhariwal (2021, §4) respace a trained model for faster sampling: it keeps
 * ᾱ at those timesteps exactly (index i of the result has ᾱ of the i-th smallest timestep) and
 * derives β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}}, with ᾱ_{τ_{−1}} = 1. Respacing with every timestep
 * gives the schedule back (up to rounding).
 */
export const respace = (schedule: Schedule, timesteps: readonly number[]): Schedule => {
  const taus = [...timesteps].sort((a, b) => a - b);
  if (taus.length < 1) throw new RangeError('respace: need at least one timestep');
  taus.forEach((tau, i) => {
    if (!(Number.isInteger(tau) && tau >= 0 && tau < schedule.T)) throw new RangeError(`respace: timestep ${tau} is not an integer in [0, ${schedule.T})`);
    if (i > 0 && tau === taus[i - 1]) throw new RangeError(`respace: timestep ${tau} appears twice`);
  });
  const alphasCumprod = Float64Array.from(taus, (tau) => schedule.alphasCumprod[tau]);
  const oneMinus = Float64Array.from(taus, (tau) => schedule.oneMinusAlphasCumprod[tau]);
  const alphas = map(alphasCumprod, (a, i) => (i === 0 ? a : a / alphasCumprod[i - 1]));
  // β' as a difference of the accurate 1 − ᾱ where ᾱ ≈ 1, else as 1 − α'
  const betas = map(alphas, (a, i) =>
    i === 0 ? oneMinus[0] : alphasCumprod[i] > 0.5 ? (oneMinus[i] - oneMinus[i - 1]) / alphasCumprod[i - 1] : 1 - a);
  return tables(betas, alphas, alphasCumprod, oneMinus);
};

// ---- configuration ----------------------------------------------------------------------------

export type ScheduleConfig =
  | { readonly kind: 'linear'; readonly T: number; readonly betaStart?: number; readonly betaEnd?: number }
  | { readonly kind: 'cosine'; readonly T: number; readonly s?: number }
  | { readonly kind: 'sigmoid'; readonly T: number; readonly start?: number; readonly end?: number; readonly tau?: number };

const show = (u: unknown): string => {
  if (typeof u === 'string') return JSON.stringify(u);
  if (typeof u === 'number' || typeof u === 'boolean' || u == null) return String(u);
  return Array.isArray(u) ? 'an array' : `a ${typeof u}`;
};

const Steps = numberWhere('Steps', 'an integer T ≥ 1', (n) => Number.isSafeInteger(n) && n >= 1);
const OpenUnit = numberWhere('OpenUnit', 'a number in (0, 1)', (n) => n > 0 && n < 1);
const NonNegative = numberWhere('NonNegative', 'a finite number ≥ 0', (n) => Number.isFinite(n) && n >= 0);
const Positive = numberWhere('Positive', 'a finite number > 0', (n) => Number.isFinite(n) && n > 0);
const Finite = numberWhere('Finite', 'a finite number', Number.isFinite);

/** An optional field: undefined (absent) or a valid value; unlike `t.partial` inside `t.intersection`, errors keep a flat path. */
const optional = <A>(codec: t.Type<A, A, unknown>): t.Type<A | undefined, A | undefined, unknown> =>
  new t.Type<A | undefined, A | undefined, unknown>(
    `${codec.name}?`,
    (u): u is A | undefined => u === undefined || codec.is(u),
    (u, c) => (u === undefined ? t.success(undefined) : codec.validate(u, c)),
    t.identity,
  );

const branches = {
  linear: t.type({ kind: t.literal('linear'), T: Steps, betaStart: optional(OpenUnit), betaEnd: optional(OpenUnit) }),
  cosine: t.type({ kind: t.literal('cosine'), T: Steps, s: optional(NonNegative) }),
  sigmoid: t.type({ kind: t.literal('sigmoid'), T: Steps, start: optional(Finite), end: optional(Finite), tau: optional(Positive) }),
};

/** Fields a kind does not read: refused rather than ignored, so `betaEnd` on a cosine schedule is not silently dropped. */
const known: Record<keyof typeof branches, readonly string[]> = {
  linear: ['kind', 'T', 'betaStart', 'betaEnd'],
  cosine: ['kind', 'T', 's'],
  sigmoid: ['kind', 'T', 'start', 'end', 'tau'],
};

const isKind = (u: unknown): u is keyof typeof branches => u === 'linear' || u === 'cosine' || u === 'sigmoid';

/**
 * The codec of a schedule's configuration, a union tagged by `kind`:
 * `{ kind: 'linear', T, betaStart?, betaEnd? }` (defaults 1e-4, 0.02),
 * `{ kind: 'cosine', T, s? }` (default 0.008), `{ kind: 'sigmoid', T, start?, end?, tau? }` (−3, 3, 1).
 * Decoding dispatches on `kind` first so an error names one field, not every branch.
 */
export const ScheduleConfig: t.Type<ScheduleConfig, ScheduleConfig, unknown> = new t.Type<ScheduleConfig, ScheduleConfig, unknown>(
  'ScheduleConfig',
  (u): u is ScheduleConfig => typeof u === 'object' && u !== null && isKind((u as { kind?: unknown }).kind) && branches[(u as { kind: keyof typeof branches }).kind].is(u),
  (u, c) => {
    if (typeof u !== 'object' || u === null || Array.isArray(u)) return t.failure(u, c, `expected a schedule config object, got ${show(u)}`);
    const kind = (u as Record<string, unknown>).kind;
    if (!isKind(kind)) {
      return t.failure(kind, t.appendContext(c, 'kind', t.unknown, kind), `expected "linear", "cosine" or "sigmoid", got ${show(kind)}`);
    }
    const extra = Object.keys(u).find((k) => !known[kind].includes(k));
    if (extra !== undefined) {
      const v = (u as Record<string, unknown>)[extra];
      return t.failure(v, t.appendContext(c, extra, t.unknown, v), `the ${kind} schedule takes no "${extra}" (it reads ${known[kind].join(', ')})`);
    }
    return branches[kind].validate(u, c) as t.Validation<ScheduleConfig>;
  },
  t.identity,
);

/** The first error of a failed decode as `path: message`. */
const report = (errors: t.Errors): string => {
  const e = errors[0];
  const path = e.context.map((entry) => entry.key).filter((k) => k !== '').join('.');
  return `${path === '' ? 'schedule config' : path}: ${e.message ?? `expected ${e.context[e.context.length - 1]?.type.name}, got ${show(e.value)}`}`;
};

export const decodeScheduleConfig = (u: unknown): E.Either<string, ScheduleConfig> =>
  pipe(ScheduleConfig.decode(u), E.mapLeft(report));

export const betasFromConfig = (config: ScheduleConfig): Float64Array => {
  switch (config.kind) {
    case 'linear':
      return linearBetas(config.T, config.betaStart, config.betaEnd);
    case 'cosine':
      return cosineBetas(config.T, config.s);
    case 'sigmoid':
      return sigmoidBetas(config.T, config.start, config.end, config.tau);
  }
};

/** The schedule a (decoded) config describes. */
export const scheduleFromConfig = (config: ScheduleConfig): Schedule => makeSchedule(betasFromConfig(config));

/**
 * Untrusted input (a file, CLI flags) to a schedule: a Left names the field at fault. The one
 * check the codec cannot make field by field, sigmoid's start < end, is reported here too.
 */
export const scheduleFromJSON = (u: unknown): E.Either<string, Schedule> =>
  pipe(
    decodeScheduleConfig(u),
    E.chain((config) => E.tryCatch(() => scheduleFromConfig(config), (e) => (e instanceof Error ? e.message : String(e)))),
  );
