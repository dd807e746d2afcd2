/**
 * Every sampler against a data distribution it can solve exactly: a point mass at x*. The exact
 * ε-oracle is ε(x_t, t) = (x_t − √ᾱ_t·x*)/√(1 − ᾱ_t) (and the matching x_0- and v-oracles), so
 * x̂_0 = x* at every step whatever x_t is, and every sampler (ancestral or not) must land on x*:
 * each ends on a step to ᾱ = 1 that returns x̂_0 (DDPM's last mean at t = 0 is x̂_0 too).
 *
 * Tolerances are float32 ulps of the terms: recovering x̂_0 from x_t costs a few ulps of
 * |x_t|/√ᾱ_t (large at the noisy end of a cosine schedule, ~1 at t = 0) plus a few of |x*|.
 *
 * Also the clipping law: with clip on, x̂_0 lies in [−1, 1] and the ε̂ a step uses is re-derived
 * from it, x_t = √ᾱ_t·x̂_0 + √(1 − ᾱ_t)·ε̂.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as O from '../src/ops/index.ts';
import { getBackend } from '../src/tensor/engine.ts';

import * as R from '../src/tensor/random.ts';
import { dispose, type Tensor, tidy, toArray } from '../src/tensor/tensor.ts';
import { type Schedule } from '../src/ddpm/schedule.ts';
import { extract } from '../src/ddpm/extract.ts';
import { predictV } from '../src/ddpm/forward.ts';
import type { Objective } from '../src/ddpm/objectives.ts';
import { ddimSampler, ddpmSampler, dpmpp2mSampler, runSampler } from '../src/ddpm/samplers/index.ts';
import { denoise } from '../src/ddpm/samplers/types.ts';
import { arbKind, arbSeed, build, fail, usePlainBackend, values } from './support/schedules.ts';

usePlainBackend();

const arbPrediction = fc.constantFrom<Objective>('eps', 'x0', 'v');
const u = 2 ** -24;
const FLOOR = 1e-37;


/** The exact model of a point mass at x* [B, D], as an ε-, x_0- or v-prediction network. */
const oracle = (s: Schedule, xStar: Tensor, prediction: Objective) => (xt: Tensor, t: Tensor): Tensor => {
  const a = extract(s.sqrtAlphasCumprod, t, 2);
  const eps = O.div(O.sub(xt, O.mul(a, xStar)), extract(s.sqrtOneMinusAlphasCumprod, t, 2));
  return prediction === 'eps' ? eps : prediction === 'x0' ? O.add(xStar, 0) : predictV(s, xStar, t, eps);
};

type Case = { readonly name: string; readonly run: (s: Schedule, model: ReturnType<typeof oracle>, key: R.Key, o: RunCase) => Tensor };
type RunCase = {
  readonly steps: number; readonly clip: boolean; readonly prediction: Objective;
  readonly onStep: (t: number, xt: Tensor, predX0: Tensor) => void;
};
const B = 2;
const D = 3;
const cases: readonly Case[] = [
  { name: 'ddpm β̃', run: (s, m, k, o) => runSampler(ddpmSampler, m, s, [B, D], k, { ...o, variance: 'posterior' }) },
  { name: 'ddpm β', run: (s, m, k, o) => runSampler(ddpmSampler, m, s, [B, D], k, { ...o, variance: 'beta' }) },
  { name: 'ddim η = 0', run: (s, m, k, o) => runSampler(ddimSampler, m, s, [B, D], k, { ...o, eta: 0 }) },
  { name: 'ddim η = 1', run: (s, m, k, o) => runSampler(ddimSampler, m, s, [B, D], k, { ...o, eta: 1 }) },
  { name: 'ddim η = 0.3', run: (s, m, k, o) => runSampler(ddimSampler, m, s, [B, D], k, { ...o, eta: 0.3 }) },
  { name: 'dpmpp2m', run: (s, m, k, o) => runSampler(dpmpp2mSampler, m, s, [B, D], k, o) },
];

describe('a point mass at x* with the exact oracle', () => {
  for (const c of cases) {
    it(`${c.name} lands on x*, with x̂_0 = x* at every step`, () => {
      fc.assert(fc.property(
        arbKind, fc.integer({ min: 20, max: 50 }).chain((T) => fc.tuple(fc.constant(T), fc.integer({ min: 1, max: T }))),
        values(B * D), arbSeed, arbPrediction, fc.boolean(),
        (kind, [T, steps], xData, seed, prediction, clip) => tidy(() => {
          const s = build(kind, T);
          // with clipping, x* stays inside [−1, 1] (clipping then only removes rounding); without, anywhere in [−2, 2]
          const star = Array.from(Float32Array.from(xData.map((x) => (clip ? x : 2 * x))));
          const xStar = O.tensor(star, [B, D]);
          const tolAt = (t: number, xt: readonly number[]) => (i: number) =>
            32 * u * (s.sqrtRecipAlphasCumprod[t] * Math.abs(xt[i]) + Math.abs(star[i])) + FLOOR;
          let last = { t: -1, tol: (_: number) => 0 };
          const visited: number[] = [];
          const before = getBackend().liveBuffers();
          const x = c.run(s, oracle(s, xStar, prediction), R.key(seed), {
            steps, clip, prediction,
            onStep: (t, xt, predX0) => {
              visited.push(t);
              const tol = tolAt(t, toArray(xt));
              toArray(predX0).forEach((v, i) => {
                if (!(Math.abs(v - star[i]) <= tol(i))) fail(`x̂_0 at t = ${t}`, { i, v, star: star[i], tol: tol(i) });
              });
              last = { t, tol };
            },
          });
          expect(visited.length).toBe(steps);
          expect(getBackend().liveBuffers()).toBe(before + 1);
          toArray(x).forEach((v, i) => {
            const tol = 2 * last.tol(i);
            if (!(Math.abs(v - star[i]) <= tol)) fail(`final sample (last t = ${last.t})`, { i, v, star: star[i], tol });
          });
          dispose(x);
        })), { numRuns: 25 });
    });
  }
});

describe('clipping', () => {
  it('x̂_0 ∈ [−1, 1] and ε̂ is re-derived from it: x_t = √ᾱ_t·x̂_0 + √(1 − ᾱ_t)·ε̂', () => {
    fc.assert(fc.property(
      arbKind, fc.integer({ min: 2, max: 50 }).chain((T) => fc.tuple(fc.constant(T), fc.integer({ min: 0, max: T - 1 }))),
      values(6, 3), values(6, 20), arbPrediction,
      (kind, [T, t], xtData, outData, prediction) => tidy(() => {
        const s = build(kind, T);
        const xt = O.tensor(xtData, [2, 3]);
        const out = O.tensor(outData, [2, 3]);
        const hx = toArray(xt);
        const a = s.sqrtAlphasCumprod[t];
        const b = s.sqrtOneMinusAlphasCumprod[t];
        // the helper every sampler shares
        const { eps, x0 } = denoise(ddimSampler.initState(s, [t], { prediction }), out, t, xt);
        const [he, h0] = [toArray(eps), toArray(x0)];
        h0.forEach((v, i) => {
          if (!(v >= -1 && v <= 1)) fail('x̂_0 in [−1, 1]', { i, v });
          // ε̂ = (x_t − √ᾱ·x̂_0)/√(1 − ᾱ): its rounding, times √(1 − ᾱ), is a few ulps of the terms
          const err = Math.abs(a * v + b * he[i] - hx[i]);
          const tol = 8 * u * (Math.abs(hx[i]) + a * Math.abs(v) + b * Math.abs(he[i])) + FLOOR;
          if (!(err <= tol)) fail('x_t = √ᾱ x̂_0 + √(1 − ᾱ) ε̂', { t, i, err, tol });
        });
        // and through each sampler's step: x̂_0 is clipped, and DDIM η = 0 moves along the re-derived ε̂
        // and through each sampler's step (clip is on by default): x̂_0 is clipped, and DDIM η = 0 moves along the re-derived ε̂
        const ts = t > 0 ? [t, t - 1] : [t];
        const z = O.zeros([2, 3]);
        const results = {
          ddpm: ddpmSampler.step(ddpmSampler.initState(s, ts, { prediction }), out, t, xt, z),
          ddim: ddimSampler.step(ddimSampler.initState(s, ts, { prediction }), out, t, xt),
          dpmpp2m: dpmpp2mSampler.step(dpmpp2mSampler.initState(s, ts, { prediction }), out, t, xt),
        };
        for (const [name, r] of Object.entries(results)) {
          toArray(r.predX0).forEach((v, i) => { if (!(v >= -1 && v <= 1)) fail(`${name}: x̂_0 in [−1, 1]`, { i, v }); });
        }
        const p0 = toArray(results.ddim.predX0);
        const [ap, bp] = t > 0 ? [s.sqrtAlphasCumprod[t - 1], s.sqrtOneMinusAlphasCumprod[t - 1]] : [1, 0];
        toArray(results.ddim.prevSample).forEach((v, i) => {
          const epsHat = (hx[i] - a * p0[i]) / b;
          const expected = ap * p0[i] + bp * epsHat;
          // bp/b ≤ 1, so ε̂'s rounding enters at most at its own size
          const tol = 16 * u * (Math.abs(hx[i]) + Math.abs(p0[i]) + Math.abs(v)) + FLOOR;
          if (!(Math.abs(v - expected) <= tol)) fail('ddim along the re-derived ε̂', { t, i, v, expected, tol });
        });
      })), { numRuns: 100 });
  });
});
