/**
 * DPM-Solver++(2M) solves the probability-flow ODE to second order. Checked where the ODE has a
 * closed form: Gaussian data x_0 ~ N(0, c²). Then x_t ~ N(0, ᾱ_t·c² + 1 − ᾱ_t), the exact
 * denoiser is E[x_0 | x_t] = √ᾱ_t·c²/(ᾱ_t·c² + 1 − ᾱ_t)·x_t, and the ODE keeps the standardised
 * x_t/√(ᾱ_t·c² + 1 − ᾱ_t) constant; after its last step (to ᾱ = 1) a sampler returns the exact
 * denoiser's x̂_0 at t = 0, so from x at the first timestep τ the exact answer is
 * E[x_0 | x_(0)] with x_(0) = x·√(ᾱ_0·c² + 1 − ᾱ_0)/√(ᾱ_τ·c² + 1 − ᾱ_τ).
 *
 * On plain64 (so rounding stays far below the discretisation error), doubling the steps divides
 * the error by ~4, where DDIM (first order) divides it by ~2. The linear schedule is used because
 * its λ-grid is smooth at both ends (the 0.999 clip of the cosine and sigmoid schedules puts a jump
 * of ½·log 1000 in λ at t = T − 1 that no step count refines). T is a multiple of 100 so that both
 * step counts land on evenly spaced integer timesteps and the 50-step grid is every other point of
 * the 100-step one: with any T the rounding to integers makes the grids uneven, which is a
 * different discretisation at each step count, and the ratio then drops as low as ~2.5 (T = 128)
 * without the solver being any less second order.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as O from '../src/ops/index.ts';
import { backendByName, withBackend } from '../src/tensor/engine.ts';

import * as R from '../src/tensor/random.ts';
import { dispose, type Tensor, tidy, toArray } from '../src/tensor/tensor.ts';
import { linearBetas, makeSchedule, type Schedule } from '../src/ddpm/schedule.ts';
import { extract } from '../src/ddpm/extract.ts';
import { ddimSampler, dpmpp2mSampler, isSecondOrder, runSampler } from '../src/ddpm/samplers/index.ts';
import { build, fail, type Kind, usePlainBackend } from './support/schedules.ts';

usePlainBackend();


/** The exact x_0-prediction for data N(0, c²). */
const gaussianDenoiser = (s: Schedule, c: number) => (x: Tensor, t: Tensor): Tensor => {
  const ab = extract(s.alphasCumprod, t, x.shape.length);
  const gain = O.div(O.mul(extract(s.sqrtAlphasCumprod, t, x.shape.length), c * c), O.add(O.mul(ab, c * c), extract(s.oneMinusAlphasCumprod, t, x.shape.length)));
  return O.mul(gain, x);
};

const exactEnd = (s: Schedule, c: number, tau: number, x: number): number => {
  const spread = (t: number) => Math.sqrt(s.alphasCumprod[t] * c * c + s.oneMinusAlphasCumprod[t]);
  const atZero = (x * spread(0)) / spread(tau);
  return ((s.sqrtAlphasCumprod[0] * c * c) / (spread(0) ** 2)) * atZero;
};

describe('DPM-Solver++(2M) on Gaussian data', () => {
  it('is second order: 50 → 100 steps divides the error by ≥ 3.5, and beats DDIM at 100 steps', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10 }).map((k) => 100 * k), fc.double({ min: 0.5, max: 3, noNaN: true }), fc.double({ min: 0.5, max: 2, noNaN: true }),
      (T, c, x) => withBackend(backendByName('plain64'), () => tidy(() => {
        const s = makeSchedule(linearBetas(T));
        const model = gaussianDenoiser(s, c);
        const start = O.tensor([x], [1, 1]);
        const error = (sampler: typeof ddimSampler | typeof dpmpp2mSampler, steps: number): number => {
          const tau = sampler.setTimesteps(s, steps)[0];
          const out = sampler === ddimSampler
            ? runSampler(ddimSampler, model, s, [1, 1], R.key(0), { steps, start, prediction: 'x0', clip: false })
            : runSampler(dpmpp2mSampler, model, s, [1, 1], R.key(0), { steps, start, prediction: 'x0', clip: false });
          const err = Math.abs(toArray(out)[0] - exactEnd(s, c, tau, x));
          dispose(out);
          return err;
        };
        const [dpm50, dpm100, ddim100] = [error(dpmpp2mSampler, 50), error(dpmpp2mSampler, 100), error(ddimSampler, 100)];
        if (!(dpm50 / dpm100 >= 3.5)) fail('order 2', { T, c, dpm50, dpm100 });
        if (!(dpm100 < ddim100 / 1.5)) fail('better than DDIM', { T, c, dpm100, ddim100 });
      }))), { numRuns: 15 });
  });
});

describe('DPM-Solver++(2M) steps', () => {
  const values = (n: number) => fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: n, maxLength: n });

  it('a first-order step is DDIM with η = 0 (the same x_prev from the same x_t and output)', () => {
    const u = 2 ** -24;
    fc.assert(fc.property(fc.constantFrom<Kind>('linear', 'cosine', 'sigmoid'), fc.integer({ min: 2, max: 50 }).chain((T) =>
      fc.tuple(fc.constant(T), fc.integer({ min: 1, max: T - 1 }).chain((t) => fc.tuple(fc.constant(t), fc.integer({ min: -1, max: t - 1 }))))),
      values(4), values(4), fc.boolean(),
      (kind, [T, [t, p]], xtData, outData, clip) => tidy(() => {
        const s = build(kind, T);
        const ts = p >= 0 ? [t, p] : [t];
        const [xt, out] = [O.tensor(xtData, [2, 2]), O.tensor(outData, [2, 2])];
        const a = toArray(dpmpp2mSampler.step(dpmpp2mSampler.initState(s, ts, { clip }), out, t, xt).prevSample);
        const b = toArray(ddimSampler.step(ddimSampler.initState(s, ts, { clip, eta: 0 }), out, t, xt).prevSample);
        const hx = toArray(xt);
        const x0Size = (i: number) => s.sqrtRecipAlphasCumprod[t] * (Math.abs(hx[i]) + Math.abs(outData[i]));
        a.forEach((v, i) => {
          const tol = 32 * u * (Math.abs(hx[i]) + x0Size(i) + Math.abs(v)) + 1e-37;
          if (!(Math.abs(v - b[i]) <= tol)) fail('DPM-Solver++(1) = DDIM(η = 0)', { t, p, i, dpm: v, ddim: b[i], tol });
        });
      })), { numRuns: 100 });
  });

  it('the order schedule: first and last steps first-order, the second-to-last too below 15 steps', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 60 }), (n) => {
      const orders = Array.from({ length: n }, (_, i) => (isSecondOrder(i, n) ? 2 : 1));
      expect(orders[0]).toBe(1);
      expect(orders[n - 1]).toBe(1);
      if (n >= 3) expect(orders[n - 2]).toBe(n >= 15 ? 2 : 1);
      expect(orders.slice(1, n - 2).every((o) => o === 2)).toBe(true);
      // without lowerOrderFinal only the first and the last are first-order
      const plain = Array.from({ length: n }, (_, i) => (isSecondOrder(i, n, false) ? 2 : 1));
      expect(plain).toEqual(Array.from({ length: n }, (_, i) => (i === 0 || i === n - 1 ? 1 : 2)));
    }));
  });
});
