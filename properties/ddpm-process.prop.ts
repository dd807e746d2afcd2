/**
 * Laws of the forward and reverse processes on tensors, on the default (plain, float32) backend;
 * the exact-ε laws also on plain64, where the same tolerances in units of the backend's ulp hold.
 *
 * Statistical laws compare sample moments with the closed form at 6 standard errors (two-sided tail
 * ≈ 2·10⁻⁹ per check). Exact laws use a tolerance built from the sizes of the terms each formula
 * adds (a few ulps of each term), so they are tight at every t, including near t = T − 1 of a
 * cosine schedule where 1/√ᾱ_t reaches ~10⁴ and float32 can only recover x_0 to ~10⁻².
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as O from '../src/ops/index.ts';
import { backendByName, withBackend } from '../src/tensor/engine.ts';
import * as R from '../src/tensor/random.ts';
import { dispose, type Tensor, tidy, toArray } from '../src/tensor/tensor.ts';
import type { Schedule } from '../src/ddpm/schedule.ts';
import {
  predictNoiseFromStart, predictNoiseFromV, predictStartFromNoise, predictStartFromV, predictV, qPosteriorMeanVariance, qSample,
} from '../src/ddpm/forward.ts';
import { ddpmStep, meanFromNoise, pMeanVariance } from '../src/ddpm/reverse.ts';
import { ddpmScheduler, spacedTimesteps } from '../src/ddpm/scheduler.ts';
import { arbKind, build, fail } from './support/schedules.ts';

const SIGMAS = 6;

/** A schedule and one of its timesteps. */
const arbScheduleAt = (minT: number, maxT: number) =>
  fc.tuple(arbKind, fc.integer({ min: minT, max: maxT }))
    .chain(([kind, T]) => fc.record({ kind: fc.constant(kind), T: fc.constant(T), t: fc.integer({ min: 0, max: T - 1 }) }));
const arbSeed = fc.integer({ min: 0, max: 2 ** 31 });
const values = (n: number, bound = 1) => fc.array(fc.double({ min: -bound, max: bound, noNaN: true }), { minLength: n, maxLength: n });

/** Below float32's smallest normal number relative error bounds do not hold (subnormals are spaced 1.4e-45 apart). */
const FLOOR = 1e-37;

/** |actual − expected| ≤ tol + FLOOR elementwise, failing with the first element that is not. */
const closeTo = (what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: (i: number) => number): void => {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= tol(i) + FLOOR)) fail(what, { i, actual: actual[i], expected: expected[i], err, tol: tol(i) });
  }
};

/** Column means and variances (about a known mean) of an [N, D] row-major sample, in float64. */
const moments = (xs: ArrayLike<number>, N: number, D: number, mu: readonly number[]): { mean: number[]; variance: number[] } => {
  const mean = new Array<number>(D).fill(0);
  const variance = new Array<number>(D).fill(0);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const x = xs[n * D + d];
      mean[d] += x / N;
      variance[d] += (x - mu[d]) ** 2 / N;
    }
  }
  return { mean, variance };
};

/** Checks N(mu, v·I) moments: mean within 6·√(v/N), variance within 6·v·√(2/N) (normal data), plus float slack. */
const checkGaussianMoments = (what: string, xs: ArrayLike<number>, N: number, D: number, mu: readonly number[], v: number): void => {
  const m = moments(xs, N, D, mu);
  for (let d = 0; d < D; d++) {
    const meanTol = SIGMAS * Math.sqrt(v / N) + 1e-6;
    const varTol = SIGMAS * v * Math.sqrt(2 / N) + 1e-9;
    if (!(Math.abs(m.mean[d] - mu[d]) <= meanTol)) fail(`${what}: mean`, { d, mean: m.mean[d], expected: mu[d], tol: meanTol });
    if (!(Math.abs(m.variance[d] - v) <= varTol)) fail(`${what}: variance`, { d, variance: m.variance[d], expected: v, tol: varTol });
  }
};

describe('the forward process in distribution', () => {
  it('qSample(x_0, t, ε) over 20k draws of ε has mean √ᾱ_t·x_0 and variance 1 − ᾱ_t', () => {
    const N = 20_000;
    const D = 4;
    fc.assert(fc.property(arbScheduleAt(2, 1000), arbSeed, values(D), ({ kind, T, t }, seed, x0) => tidy(() => {
      const s = build(kind, T);
      const x0f = Array.from(Float32Array.from(x0));
      const xt = qSample(s, O.tensor(x0f, [1, D]), O.full([N], t), O.normal(R.key(seed), [N, D]));
      expect(xt.shape).toEqual([N, D]);
      checkGaussianMoments('q(x_t | x_0)', toArray(xt), N, D, x0f.map((x) => s.sqrtAlphasCumprod[t] * x), s.oneMinusAlphasCumprod[t]);
    })), { numRuns: 15 });
  });

  it('t + 1 steps of q(x_t | x_{t−1}) = N(√(1 − β_t)·x_{t−1}, β_t) match the closed form q(x_t | x_0)', () => {
    const N = 20_000;
    const D = 2;
    fc.assert(fc.property(arbScheduleAt(10, 50), arbSeed, values(D, 2), ({ kind, T, t }, seed, x0) => {
      const s = build(kind, T);
      const key = R.key(seed);
      const x0f = Array.from(Float32Array.from(x0));
      let x = O.broadcastTo(O.tensor(x0f, [1, D]), [N, D]);
      for (let step = 0; step <= t; step++) {
        const prev = x;
        x = tidy(() => O.add(O.mul(prev, Math.sqrt(s.alphas[step])), O.mul(O.normal(R.fold(key, step), [N, D]), Math.sqrt(s.betas[step]))));
        dispose(prev);
      }
      const xs = toArray(x);
      dispose(x);
      checkGaussianMoments(`${t + 1} Markov steps`, xs, N, D, x0f.map((v) => s.sqrtAlphasCumprod[t] * v), s.oneMinusAlphasCumprod[t]);
    }), { numRuns: 10 });
  });
});

// ---- exact laws, with tolerances from the terms' sizes ------------------------------------------

const ULP = { plain: 2 ** -24, plain64: 2 ** -53 } as const;
const backends = ['plain', 'plain64'] as const;

/** x [B, 1, 2, 2], ε standard normal, and x_t = qSample(x_0, t, ε) with t a [B] tensor, read back as float64. */
const forwardCase = (s: Schedule, t: number, seed: number, x0Data: number[]) => {
  const B = 2;
  const shape = [B, 1, 2, 2];
  const x0 = O.tensor(x0Data, shape);
  const eps = O.normal(R.key(seed), shape);
  const xt = qSample(s, x0, O.full([B], t), eps);
  return { shape, x0, eps, xt, h: { x0: toArray(x0), eps: toArray(eps), xt: toArray(xt) } };
};

describe('the reverse step with the exact noise', () => {
  for (const backend of backends) {
    it(`ddpmStep(ε, t, x_t, z = 0) is the posterior mean μ̃_t(x_0, x_t), and x̂_0 is x_0 (${backend})`, () => {
      const u = ULP[backend];
      fc.assert(fc.property(
        arbScheduleAt(2, 1000), arbSeed, values(8), fc.boolean(), fc.constantFrom('beta' as const, 'posterior' as const),
        ({ kind, T, t }, seed, x0Data, clip, variance) => withBackend(backendByName(backend), () => tidy(() => {
          const s = build(kind, T);
          // with clipping on, keep x_0 well inside [−1, 1] so rounding never reaches the clip
          const { x0, eps, xt, h } = forwardCase(s, t, seed, clip ? x0Data.map((v) => v / 2) : x0Data);
          const { prevSample, predX0 } = ddpmStep(s, eps, t, xt, O.mul(eps, 0), { clip, variance });
          const [ab, om, c1, c2] = [s.alphasCumprod[t], s.oneMinusAlphasCumprod[t], s.posteriorMeanCoef1[t], s.posteriorMeanCoef2[t]];
          const mu = h.x0.map((x, i) => c1 * x + c2 * h.xt[i]);
          // x_t carries its own rounding δ ≤ 2u·(√ᾱ|x_0| + √(1−ᾱ)|ε|), which eq. 11 weighs by 1/√α_t − c2
          const delta = (i: number) => 2 * u * (Math.sqrt(ab) * Math.abs(h.x0[i]) + Math.sqrt(om) * Math.abs(h.eps[i]));
          // the float64 tables agree with one another to ~T ulps (ᾱ is a product of up to T factors):
          // invisible next to float32's ulp, the larger error on plain64
          const w = 8 * u + 4 * T * ULP.plain64;
          const x0Tol = (i: number) =>
            w * (s.sqrtRecipAlphasCumprod[t] * Math.abs(h.xt[i]) + s.sqrtRecipm1AlphasCumprod[t] * Math.abs(h.eps[i]))
            + s.sqrtRecipAlphasCumprod[t] * delta(i);
          const meanTol = clip
            ? (i: number) => c1 * x0Tol(i) + w * (c1 * Math.abs(h.x0[i]) + c2 * Math.abs(h.xt[i]))
            : (i: number) => w * (s.sqrtRecipAlphas[t] * (Math.abs(h.xt[i]) + (s.betas[t] / Math.sqrt(om)) * Math.abs(h.eps[i]))
              + c1 * Math.abs(h.x0[i]) + c2 * Math.abs(h.xt[i]))
              + Math.abs(s.sqrtRecipAlphas[t] - c2) * delta(i);
          closeTo('x̂_0', toArray(predX0), h.x0, x0Tol);
          closeTo('x_{t−1}', toArray(prevSample), mu, meanTol);
          void x0;
        }))), { numRuns: 60 });
    });
  }

  it('without clipping, eq. 11 is the posterior mean of x̂_0(x_t, ε̂) for any ε̂', () => {
    const u = ULP.plain;
    fc.assert(fc.property(arbScheduleAt(2, 1000), values(8, 3), values(8, 3), ({ kind, T, t }, xtData, epsData) => tidy(() => {
      const s = build(kind, T);
      const xt = O.tensor(xtData, [2, 4]);
      const eps = O.tensor(epsData, [2, 4]);
      const tt = O.full([2], t);
      const eq11 = toArray(meanFromNoise(s, xt, tt, eps));
      const posterior = toArray(qPosteriorMeanVariance(s, predictStartFromNoise(s, xt, tt, eps), xt, tt).mean);
      const [xs, es] = [toArray(xt), toArray(eps)];
      const x0Size = (i: number) => s.sqrtRecipAlphasCumprod[t] * Math.abs(xs[i]) + s.sqrtRecipm1AlphasCumprod[t] * Math.abs(es[i]);
      closeTo('eq. 11 vs μ̃(x̂_0)', eq11, posterior, (i) =>
        16 * u * (s.sqrtRecipAlphas[t] * (Math.abs(xs[i]) + (s.betas[t] / s.sqrtOneMinusAlphasCumprod[t]) * Math.abs(es[i]))
          + s.posteriorMeanCoef1[t] * x0Size(i) + s.posteriorMeanCoef2[t] * Math.abs(xs[i])));
      // and pMeanVariance without clipping is eq. 11, with the variance it was asked for
      const p = pMeanVariance(s, eps, xt, tt, { clip: false, variance: 'beta' });
      expect(toArray(p.mean)).toEqual(eq11);
      expect(toArray(p.variance as Tensor)).toEqual([s.betas[t], s.betas[t]].map(Math.fround));
    })), { numRuns: 60 });
  });
});

describe('reparametrisations round-trip (one timestep per sample)', () => {
  it('x̂_0(x_t, ε) = x_0, ε̂(x_t, x_0) = ε, and through v both come back', () => {
    const u = ULP.plain;
    const B = 4;
    const D = 3;
    fc.assert(fc.property(
      arbKind, fc.integer({ min: 2, max: 1000 }).chain((T) => fc.tuple(fc.constant(T), fc.array(fc.integer({ min: 0, max: T - 1 }), { minLength: B, maxLength: B }))),
      arbSeed, values(B * D),
      (kind, [T, ts], seed, x0Data) => tidy(() => {
        const s = build(kind, T);
        const t = O.tensor(ts, [B]);
        const x0 = O.tensor(x0Data, [B, D]);
        const eps = O.normal(R.key(seed), [B, D]);
        const xt = qSample(s, x0, t, eps);
        const v = predictV(s, x0, t, eps);
        const [h0, he, ht, hv] = [x0, eps, xt, v].map(toArray);
        const tOf = (i: number) => ts[Math.floor(i / D)];
        const sizes = (i: number) => {
          const tt = tOf(i);
          return { a: s.sqrtAlphasCumprod[tt], b: s.sqrtOneMinusAlphasCumprod[tt], ra: s.sqrtRecipAlphasCumprod[tt], rm1: s.sqrtRecipm1AlphasCumprod[tt] };
        };
        const delta = (i: number) => { const { a, b } = sizes(i); return 2 * u * (a * Math.abs(h0[i]) + b * Math.abs(he[i])); };
        closeTo('x̂_0 from ε', toArray(predictStartFromNoise(s, xt, t, eps)), h0, (i) => {
          const { ra, rm1 } = sizes(i);
          return 8 * u * (ra * Math.abs(ht[i]) + rm1 * Math.abs(he[i])) + ra * delta(i);
        });
        closeTo('ε̂ from x_0', toArray(predictNoiseFromStart(s, xt, t, x0)), he, (i) => {
          const { ra, rm1 } = sizes(i);
          return (8 * u * (ra * Math.abs(ht[i]) + Math.abs(h0[i])) + ra * delta(i)) / rm1;
        });
        // (x_t, v) is a rotation of (x_0, ε): every coefficient is at most 1, so errors stay at a few ulps
        const rotTol = (i: number) => 8 * u * (Math.abs(h0[i]) + Math.abs(he[i]) + Math.abs(ht[i]) + Math.abs(hv[i]));
        closeTo('x̂_0 from v', toArray(predictStartFromV(s, xt, t, v)), h0, rotTol);
        closeTo('ε̂ from v', toArray(predictNoiseFromV(s, xt, t, v)), he, rotTol);
      })), { numRuns: 60 });
  });
});

describe('the scheduler', () => {
  it('setTimesteps(n): n distinct integers from T − 1 down to 0, the nearest to linspace (ties up), all of them for n = T', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1000 }).chain((T) => fc.tuple(fc.constant(T), fc.integer({ min: 1, max: T }))), ([T, n]) => {
      const ts = spacedTimesteps(T, n);
      expect(ts.length).toBe(n);
      expect(ts[0]).toBe(T - 1);
      if (n > 1) expect(ts[n - 1]).toBe(0);
      for (let i = 1; i < n; i++) if (!(Number.isInteger(ts[i]) && ts[i] < ts[i - 1])) fail('descending integers', ts);
      if (n === T) expect(ts).toEqual(Array.from({ length: T }, (_, i) => T - 1 - i));
      // the nearest integer to k·(T − 1)/(n − 1), ties up (the one rule DPM-Solver++ uses too)
      ts.forEach((t, i) => {
        if (n === 1) return;
        const diff = 2 * t * (n - 1) - 2 * (n - 1 - i) * (T - 1); // 2·(t − exact)·(n − 1)
        if (!(diff > -(n - 1) && diff <= n - 1)) fail('nearest, ties up', { T, n, i, t });
      });
    }));
  });

  it('a jump t → prevT with the exact ε lands on the posterior mean of q(x_prevT | x_t, x_0); a unit jump is ddpmStep', () => {
    const u = ULP.plain;
    fc.assert(fc.property(
      arbScheduleAt(2, 1000).chain((c) => fc.tuple(fc.constant(c), fc.integer({ min: -1, max: c.t - 1 }))), arbSeed, values(8),
      ([{ kind, T, t }, prevT], seed, x0Data) => tidy(() => {
        const s = build(kind, T);
        const sched = ddpmScheduler(s);
        const { eps, xt, h } = forwardCase(s, t, seed, x0Data);
        const zero = O.mul(eps, 0);
        const { prevSample, predX0 } = sched.step(eps, t, xt, zero, prevT);
        if (prevT === t - 1) {
          expect(toArray(prevSample)).toEqual(toArray(ddpmStep(s, eps, t, xt, zero).prevSample));
          return;
        }
        // q(x_p | x_t, x_0) for p < t: mean √ᾱ_p·β'/(1 − ᾱ_t)·x_0 + √α'·(1 − ᾱ_p)/(1 − ᾱ_t)·x_t, α' = ᾱ_t/ᾱ_p
        const [ab, om] = [s.alphasCumprod[t], s.oneMinusAlphasCumprod[t]];
        const [abP, omP] = prevT < 0 ? [1, 0] : [s.alphasCumprod[prevT], s.oneMinusAlphasCumprod[prevT]];
        const a = ab / abP;
        const b = 1 - a;
        const mu = h.x0.map((x, i) => ((Math.sqrt(abP) * b) / om) * x + ((Math.sqrt(a) * omP) / om) * h.xt[i]);
        const delta = (i: number) => 2 * u * (Math.sqrt(ab) * Math.abs(h.x0[i]) + Math.sqrt(om) * Math.abs(h.eps[i]));
        const tol = (i: number) => 8 * u * (Math.abs(h.xt[i]) + (b / Math.sqrt(om)) * Math.abs(h.eps[i])) / Math.sqrt(a)
          + Math.abs(1 / Math.sqrt(a) - (Math.sqrt(a) * omP) / om) * delta(i);
        closeTo(`x_${prevT} from x_${t}`, toArray(prevSample), mu, tol);
        expect(predX0.shape).toEqual(xt.shape);
      })), { numRuns: 60 });
  });
});
