/**
 * Laws of the timestep lists and of DDIM against ancestral DDPM.
 *
 * With every timestep visited (S = T) and η = 1, DDIM's step is DDPM's with σ_t² = β̃_t: the
 * variance is σ_t(1)² = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·(1 − ᾱ_t/ᾱ_{t−1}) = β̃_t, and the mean
 * √ᾱ_{t−1}·x̂_0 + √(1 − ᾱ_{t−1} − β̃_t)·ε̂ is the posterior mean c1·x̂_0 + c2·x_t once x_t is
 * written as √ᾱ_t·x̂_0 + √(1 − ᾱ_t)·ε̂. Checked three ways: the float64 coefficients, one step with
 * the same noise on tensors, and the moments of many draws of x_{t−1} given x_t.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as O from '../src/ops/index.ts';

import * as R from '../src/tensor/random.ts';
import { tidy, toArray } from '../src/tensor/tensor.ts';
import { linearBetas, makeSchedule } from '../src/ddpm/schedule.ts';
import { ddimCoefficients, ddimSampler, ddimTimesteps, ddpmSampler, dpmSolverTimesteps } from '../src/ddpm/samplers/index.ts';
import { arbKind, arbSeed, build, fail, usePlainBackend, values } from './support/schedules.ts';

usePlainBackend();

const arbSteps = (maxT: number) => fc.integer({ min: 1, max: maxT }).chain((T) => fc.tuple(fc.constant(T), fc.integer({ min: 1, max: T })));

/** Below float32's smallest normal number relative error bounds do not hold. */
const FLOOR = 1e-37;
const relClose = (what: string, actual: number, expected: number, rel: number): void => {
  if (!(Math.abs(actual - expected) <= rel * Math.abs(expected) + 1e-300)) fail(what, { actual, expected, rel });
};

describe('timestep lists', () => {
  it('DDIM: exactly τ_i = i·⌊T/S⌋ for i = S − 1 … 0, strictly decreasing, ending at 0', () => {
    fc.assert(fc.property(arbSteps(1000), ([T, S]) => {
      const ts = ddimTimesteps(T, S);
      const k = Math.floor(T / S);
      expect(ts.length).toBe(S);
      ts.forEach((t, j) => { if (t !== (S - 1 - j) * k) fail('τ', { T, S, j, t }); });
      for (let j = 1; j < S; j++) if (!(ts[j] < ts[j - 1])) fail('strictly decreasing', { T, S, ts });
      expect(ts[S - 1]).toBe(0);
      expect(ts[0]).toBeLessThan(T);
      expect(ddimSampler.setTimesteps(makeSchedule(linearBetas(T)), S)).toEqual(ts);
    }), { numRuns: 300 });
  });

  it('DPM-Solver++: round((S − 1 − i)·(T − 1)/(S − 1)), from T − 1, strictly decreasing, ending at 0', () => {
    fc.assert(fc.property(arbSteps(1000), ([T, S]) => {
      const ts = dpmSolverTimesteps(T, S);
      expect(ts.length).toBe(S);
      expect(ts[0]).toBe(T - 1);
      if (S === 1) return;
      // the nearest integer to k·(T − 1)/(S − 1), ties up: |t − exact| ≤ 1/2, and = 1/2 only below the tie
      ts.forEach((t, j) => {
        const twice = 2 * (S - 1 - j) * (T - 1); // 2·exact·(S − 1), an integer
        const diff = 2 * t * (S - 1) - twice; // 2·(t − exact)·(S − 1)
        if (!(diff > -(S - 1) && diff <= S - 1)) fail('linspace', { T, S, j, t });
      });
      for (let j = 1; j < S; j++) if (!(ts[j] < ts[j - 1])) fail('strictly decreasing', { T, S, ts });
      expect(ts[S - 1]).toBe(0);
    }), { numRuns: 300 });
  });
});

describe('DDIM η = 1 with S = T is DDPM with β̃', () => {
  it('the coefficients: σ² = β̃_t, √ᾱ_{t−1} = c1 + c2·√ᾱ_t, direction = c2·√(1 − ᾱ_t) (float64)', () => {
    fc.assert(fc.property(arbKind, fc.integer({ min: 2, max: 1000 }), (kind, T) => {
      const s = build(kind, T);
      for (let t = 0; t < T; t++) {
        const c = ddimCoefficients(s, t, t - 1, 1);
        const [c1, c2] = [s.posteriorMeanCoef1[t], s.posteriorMeanCoef2[t]];
        // relative accuracy of the tables: a few ulps per factor of ᾱ (a product of up to T terms)
        const rel = 64 * T * 2 ** -53 + 1e-14;
        if (t === 0) {
          expect(c).toEqual({ sqrtAlphaBarPrev: 1, direction: 0, sigma: 0 });
          expect([c1, c2]).toEqual([1, 0]);
          continue;
        }
        relClose(`σ² at t = ${t}`, c.sigma ** 2, s.posteriorVariance[t], rel);
        relClose(`x̂_0 weight at t = ${t}`, c.sqrtAlphaBarPrev, c1 + c2 * s.sqrtAlphasCumprod[t], rel);
        relClose(`ε̂ weight at t = ${t}`, c.direction, c2 * s.sqrtOneMinusAlphasCumprod[t], rel);
      }
    }), { numRuns: 40 });
  });

  it('for every η and any jump t → p: direction² + σ² = 1 − ᾱ_p, and η = 0 has no noise', () => {
    fc.assert(fc.property(arbKind, fc.integer({ min: 2, max: 1000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(), fc.nat(), (kind, T, eta, a, b) => {
      const s = build(kind, T);
      const t = 1 + (a % (T - 1));
      const p = b % t;
      const c = ddimCoefficients(s, t, p, eta);
      relClose('direction² + σ²', c.direction ** 2 + c.sigma ** 2, s.oneMinusAlphasCumprod[p], 1e-12);
      expect(c.sqrtAlphaBarPrev).toBe(Math.sqrt(s.alphasCumprod[p]));
      expect(ddimCoefficients(s, t, p, 0).sigma).toBe(0);
      relClose('η = 0 direction', ddimCoefficients(s, t, p, 0).direction, s.sqrtOneMinusAlphasCumprod[p], 1e-14);
    }), { numRuns: 200 });
  });

  it('one step on tensors with the same noise z: the same x_{t−1}, with or without clipping', () => {
    const u = 2 ** -24;
    fc.assert(fc.property(arbKind, fc.integer({ min: 2, max: 50 }).chain((T) => fc.tuple(fc.constant(T), fc.integer({ min: 0, max: T - 1 }))),
      values(6, 3), values(6, 3), arbSeed, fc.boolean(), fc.constantFrom('eps' as const, 'x0' as const, 'v' as const),
      (kind, [T, t], xtData, outData, seed, clip, prediction) => tidy(() => {
        const s = build(kind, T);
        const ts = Array.from({ length: T }, (_, i) => T - 1 - i);
        const at = <S extends { readonly index: number }>(st: S): S => ({ ...st, index: T - 1 - t });
        const [xt, out, z] = [O.tensor(xtData, [2, 3]), O.tensor(outData, [2, 3]), O.normal(R.key(seed), [2, 3])];
        const ddim = ddimSampler.step(at(ddimSampler.initState(s, ts, { eta: 1, clip, prediction })), out, t, xt, z);
        const ddpm = ddpmSampler.step(at(ddpmSampler.initState(s, ts, { variance: 'posterior', clip, prediction })), out, t, xt, z);
        const [a, b, x0a, x0b, hz, hx] = [ddim.prevSample, ddpm.prevSample, ddim.predX0, ddpm.predX0, z, xt].map(toArray);
        // the same x̂_0 (DDPM's is re-read from the ε it is given: a few ulps of x_t/√ᾱ_t apart)
        const x0Tol = (i: number) => 32 * u * (s.sqrtRecipAlphasCumprod[t] * Math.abs(hx[i]) + Math.abs(x0a[i])) + FLOOR;
        x0a.forEach((v, i) => { if (!(Math.abs(v - x0b[i]) <= x0Tol(i))) fail('x̂_0', { i, ddim: v, ddpm: x0b[i], tol: x0Tol(i) }); });
        a.forEach((v, i) => {
          const tol = 32 * u * (Math.abs(hx[i]) + Math.abs(x0a[i]) + Math.abs(hz[i]) + Math.abs(v)) + s.posteriorMeanCoef1[t] * x0Tol(i);
          if (!(Math.abs(v - b[i]) <= tol)) fail('x_{t−1}', { t, i, ddim: v, ddpm: b[i], tol });
        });
      })), { numRuns: 80 });
  });

  it('in distribution: over 20k draws both have mean μ̃_t(x̂_0, x_t) and variance β̃_t', () => {
    const N = 20_000;
    const D = 2;
    fc.assert(fc.property(arbKind, fc.integer({ min: 2, max: 50 }).chain((T) => fc.tuple(fc.constant(T), fc.integer({ min: 1, max: T - 1 }))),
      values(D, 2), values(D, 2), arbSeed, (kind, [T, t], xtData, epsData, seed) => tidy(() => {
        const s = build(kind, T);
        const ts = Array.from({ length: T }, (_, i) => T - 1 - i);
        const xt = O.broadcastTo(O.tensor(xtData, [1, D]), [N, D]);
        const eps = O.broadcastTo(O.tensor(epsData, [1, D]), [N, D]);
        const [k1, k2] = R.split(R.key(seed), 2);
        const ddimState = { ...ddimSampler.initState(s, ts, { clip: false, eta: 1 }), index: T - 1 - t };
        const ddpmState = { ...ddpmSampler.initState(s, ts, { clip: false }), index: T - 1 - t };
        const ddimDraws = toArray(ddimSampler.step(ddimState, eps, t, xt, O.normal(k1, [N, D])).prevSample);
        const ddpmDraws = toArray(ddpmSampler.step(ddpmState, eps, t, xt, O.normal(k2, [N, D])).prevSample);
        const xtf = Array.from(Float32Array.from(xtData));
        const epsf = Array.from(Float32Array.from(epsData));
        const x0 = xtf.map((x, d) => s.sqrtRecipAlphasCumprod[t] * x - s.sqrtRecipm1AlphasCumprod[t] * epsf[d]);
        const mu = x0.map((x, d) => s.posteriorMeanCoef1[t] * x + s.posteriorMeanCoef2[t] * xtf[d]);
        const v = s.posteriorVariance[t];
        for (const [name, xs] of [['ddim η = 1', ddimDraws], ['ddpm β̃', ddpmDraws]] as const) {
          for (let d = 0; d < D; d++) {
            let m = 0;
            let q = 0;
            for (let n = 0; n < N; n++) m += xs[n * D + d] / N;
            for (let n = 0; n < N; n++) q += (xs[n * D + d] - mu[d]) ** 2 / N;
            // 6 standard errors, plus float32 rounding of the mean (~ulp of the terms)
            const meanTol = 6 * Math.sqrt(v / N) + 1e-6 * (Math.abs(mu[d]) + s.sqrtRecipAlphasCumprod[t] * (Math.abs(xtf[d]) + Math.abs(epsf[d])));
            const varTol = 6 * v * Math.sqrt(2 / N) + 1e-6 * Math.abs(mu[d]) * Math.sqrt(v);
            if (!(Math.abs(m - mu[d]) <= meanTol)) fail(`${name}: mean`, { t, d, m, mu: mu[d], meanTol });
            if (!(Math.abs(q - v) <= varTol)) fail(`${name}: variance`, { t, d, q, v, varTol });
          }
        }
      })), { numRuns: 12 });
  });
});
