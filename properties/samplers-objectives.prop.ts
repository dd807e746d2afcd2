/**
 * Laws of the prediction objectives, the min-SNR-γ weights, classifier-free guidance and autoguidance.
 *
 * Round trips: for random x_0, ε and one timestep per sample, x_t = qSample(x_0, t, ε) and the
 * target of each objective, read back with `toEpsAndX0`, give (ε, x_0) again, to a few float32
 * ulps of the terms (the ε from an x_0-target divides by √(1/ᾱ_t − 1), so its tolerance does too).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as O from '../src/ops/index.ts';

import * as R from '../src/tensor/random.ts';
import { type Tensor, tidy, toArray } from '../src/tensor/tensor.ts';
import { linearBetas, makeSchedule } from '../src/ddpm/schedule.ts';
import { qSample } from '../src/ddpm/forward.ts';
import { minSnrTable, minSnrWeight, minSnrWeights, type Objective, snr, targetFor, toEpsAndX0 } from '../src/ddpm/objectives.ts';
import { autoguidedModel, combineGuidance, guidedModel } from '../src/ddpm/guidance.ts';
import { arbKind, arbSeed, build, fail, usePlainBackend, values } from './support/schedules.ts';

usePlainBackend();

const u = 2 ** -24;
const FLOOR = 1e-37;

const closeTo = (what: string, actual: readonly number[], expected: readonly number[], tol: (i: number) => number): void => {
  actual.forEach((v, i) => {
    if (!(Math.abs(v - expected[i]) <= tol(i) + FLOOR)) fail(what, { i, actual: v, expected: expected[i], tol: tol(i) });
  });
};

describe('objectives round-trip', () => {
  it('toEpsAndX0(objective, targetFor(objective, x_0, ε), x_t) = (ε, x_0) for eps, x0 and v', () => {
    const B = 4;
    const D = 3;
    fc.assert(fc.property(
      arbKind, fc.integer({ min: 2, max: 1000 }).chain((T) => fc.tuple(fc.constant(T), fc.array(fc.integer({ min: 0, max: T - 1 }), { minLength: B, maxLength: B }))),
      arbSeed, values(B * D), fc.constantFrom<Objective>('eps', 'x0', 'v'),
      (kind, [T, ts], seed, x0Data, objective) => tidy(() => {
        const s = build(kind, T);
        const t = O.tensor(ts, [B]);
        const x0 = O.tensor(x0Data, [B, D]);
        const eps = O.normal(R.key(seed), [B, D]);
        const xt = qSample(s, x0, t, eps);
        const target = targetFor(objective, x0, eps, s, t);
        const back = toEpsAndX0(objective, target, xt, t, s);
        const [h0, he, ht, hy] = [x0, eps, xt, target].map(toArray);
        const at = (i: number) => ts[Math.floor(i / D)];
        const a = (i: number) => s.sqrtAlphasCumprod[at(i)];
        const b = (i: number) => s.sqrtOneMinusAlphasCumprod[at(i)];
        const ra = (i: number) => s.sqrtRecipAlphasCumprod[at(i)];
        const rm1 = (i: number) => s.sqrtRecipm1AlphasCumprod[at(i)];
        // x_t's own rounding, which every inverse sees
        const delta = (i: number) => 2 * u * (a(i) * Math.abs(h0[i]) + b(i) * Math.abs(he[i]));
        const x0Tol = (i: number) => 8 * u * (ra(i) * Math.abs(ht[i]) + rm1(i) * Math.abs(he[i])) + ra(i) * delta(i);
        const epsTol = (i: number) => (8 * u * (ra(i) * Math.abs(ht[i]) + Math.abs(h0[i])) + ra(i) * delta(i)) / rm1(i);
        const rotTol = (i: number) => 8 * u * (Math.abs(h0[i]) + Math.abs(he[i]) + Math.abs(ht[i]) + Math.abs(hy[i]));
        switch (objective) {
          case 'eps':
            expect(back.eps).toBe(target);
            closeTo('x̂_0 from ε', toArray(back.x0), h0, x0Tol);
            break;
          case 'x0':
            expect(back.x0).toBe(target);
            closeTo('ε̂ from x_0', toArray(back.eps), he, epsTol);
            break;
          case 'v':
            closeTo('x̂_0 from v', toArray(back.x0), h0, rotTol);
            closeTo('ε̂ from v', toArray(back.eps), he, rotTol);
            break;
        }
      })), { numRuns: 100 });
  });
});

describe('min-SNR-γ weights', () => {
  it('eps = x0/SNR, v = x0/(SNR + 1), x0 = min(SNR, γ); eps is 1 exactly where SNR ≤ γ', () => {
    fc.assert(fc.property(arbKind, fc.integer({ min: 1, max: 1000 }), fc.double({ min: 0.1, max: 20, noNaN: true }), (kind, T, gamma) => {
      const s = build(kind, T);
      const q = snr(s);
      const [we, wx, wv] = (['eps', 'x0', 'v'] as const).map((o) => minSnrTable(o, s, gamma));
      for (let t = 0; t < T; t++) {
        const r = q[t];
        expect(r).toBeCloseTo(s.alphasCumprod[t] / s.oneMinusAlphasCumprod[t], 12);
        if (wx[t] !== Math.min(r, gamma)) fail('x0 weight', { t, r, gamma, w: wx[t] });
        if (!(Math.abs(we[t] * r - wx[t]) <= 1e-12 * wx[t])) fail('eps·SNR = x0', { t, r, we: we[t], wx: wx[t] });
        if (!(Math.abs(wv[t] * (r + 1) - wx[t]) <= 1e-12 * wx[t])) fail('v·(SNR + 1) = x0', { t, r, wv: wv[t], wx: wx[t] });
        if ((we[t] === 1) !== (r <= gamma)) fail('eps weight is 1 iff SNR ≤ γ', { t, r, gamma, w: we[t] });
        if (!(we[t] <= 1 && wv[t] < 1 && wx[t] <= gamma)) fail('bounds', { t, we: we[t], wv: wv[t], wx: wx[t] });
        expect(minSnrWeight('v', r, gamma)).toBe(wv[t]);
      }
    }), { numRuns: 60 });
  });

  it('minSnrWeights gathers the table per sample, shaped [B, 1, 1, 1]', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 200 }).chain((T) => fc.tuple(fc.constant(T), fc.array(fc.integer({ min: 0, max: T - 1 }), { minLength: 1, maxLength: 6 }))),
      fc.constantFrom<Objective>('eps', 'x0', 'v'), ([T, ts], objective) => tidy(() => {
        const s = makeSchedule(linearBetas(T));
        const w = minSnrWeights(objective, s, O.tensor(ts), 5);
        expect(w.shape).toEqual([ts.length, 1, 1, 1]);
        const table = minSnrTable(objective, s, 5);
        expect(toArray(w)).toEqual(ts.map((t) => Math.fround(table[t])));
      })), { numRuns: 40 });
  });
});

describe('classifier-free guidance', () => {
  const arbPair = fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(values(n, 5), values(n, 5)));

  it('w = 1 is the conditional prediction and w = 0 the unconditional, exactly; in between, uncond + w·(cond − uncond)', () => {
    fc.assert(fc.property(arbPair, fc.double({ min: -2, max: 10, noNaN: true }), ([c, n], w) => tidy(() => {
      const [cond, uncond] = [O.tensor(c), O.tensor(n)];
      // equal as numbers (x + 0 identifies −0 with +0: 0·c + (−0) is +0)
      const num = (x: Tensor) => toArray(x).map((v) => v + 0);
      expect(num(combineGuidance(cond, uncond, 1))).toEqual(num(cond));
      expect(num(combineGuidance(cond, uncond, 0))).toEqual(num(uncond));
      const [hc, hn] = [toArray(cond), toArray(uncond)];
      closeTo('uncond + w·(cond − uncond)', toArray(combineGuidance(cond, uncond, w)), hn.map((x, i) => x + w * (hc[i] - x)),
        (i) => 4 * u * (Math.abs(w * hc[i]) + Math.abs((1 - w) * hn[i])));
    })), { numRuns: 100 });
  });

  it('guidedModel is one pass on the doubled batch, equal to combining two separate passes', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }).chain((B) => fc.tuple(values(B * 3, 2), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: B, maxLength: B }))),
      fc.double({ min: 0, max: 8, noNaN: true }), fc.integer({ min: 0, max: 50 }), ([xData, labelData], w, t) => tidy(() => {
        const B = labelData.length;
        let calls = 0;
        // a nonlinear model in x, t and the label, row by row
        const model = (x: Tensor, tt: Tensor, labels: Tensor): Tensor => {
          calls++;
          return O.tanh(O.add(O.mul(x, O.reshape(O.add(labels, 1), [-1, 1])), O.reshape(O.div(tt, 50), [-1, 1])));
        };
        const x = O.tensor(xData, [B, 3]);
        const ts = O.full([B], t);
        const labels = O.tensor(labelData);
        const guided = guidedModel(model, labels, 10, w)(x, ts);
        expect(calls).toBe(1);
        const expected = combineGuidance(model(x, ts, labels), model(x, ts, O.full([B], 10)), w);
        expect(toArray(guided)).toEqual(toArray(expected));
      })), { numRuns: 60 });
  });

  it('autoguidedModel is guide + w·(model − guide) of one pass of each; w = 1 is the model itself', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }).chain((B) => values(B * 3, 2)), fc.double({ min: 0, max: 8, noNaN: true }), fc.integer({ min: 0, max: 50 }),
      (xData, w, t) => tidy(() => {
        const calls = { model: 0, guide: 0 };
        const model = (x: Tensor, tt: Tensor): Tensor => (calls.model++, O.tanh(O.add(O.mul(x, 1.5), O.reshape(O.div(tt, 50), [-1, 1]))));
        const guide = (x: Tensor, tt: Tensor): Tensor => (calls.guide++, O.sin(O.sub(x, O.reshape(O.div(tt, 30), [-1, 1]))));
        expect(autoguidedModel(model, guide, 1)).toBe(model);
        const B = xData.length / 3;
        const x = O.tensor(xData, [B, 3]);
        const ts = O.full([B], t);
        const guided = toArray(autoguidedModel(model, guide, w)(x, ts));
        expect(calls).toEqual({ model: 1, guide: 1 });
        expect(guided).toEqual(toArray(combineGuidance(model(x, ts), guide(x, ts), w)));
      })), { numRuns: 60 });
  });

  it('autoguidedModel with an interval [from, to): rows with t inside are guided, rows outside are the model alone; one pass when none is inside', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }).chain((B) => fc.tuple(values(B * 3, 2), fc.array(fc.integer({ min: 0, max: 99 }), { minLength: B, maxLength: B }))),
      fc.double({ min: 0, max: 8, noNaN: true }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 100 }),
      ([xData, tData], w, a, len) => tidy(() => {
        const [from, to] = [a, Math.min(100, a + len)];
        const calls = { model: 0, guide: 0 };
        const model = (x: Tensor, tt: Tensor): Tensor => (calls.model++, O.tanh(O.add(O.mul(x, 1.5), O.reshape(O.div(tt, 50), [-1, 1]))));
        const guide = (x: Tensor, tt: Tensor): Tensor => (calls.guide++, O.sin(O.sub(x, O.reshape(O.div(tt, 30), [-1, 1]))));
        const B = tData.length;
        const x = O.tensor(xData, [B, 3]);
        const t = O.tensor(tData, [B]);
        const got = toArray(autoguidedModel(model, guide, w, [from, to])(x, t));
        const inside = tData.map((s) => s >= from && s < to);
        expect(calls).toEqual({ model: 1, guide: inside.some(Boolean) && w !== 1 ? 1 : 0 });
        const m = toArray(model(x, t));
        const g = toArray(guide(x, t));
        const whole = toArray(combineGuidance(model(x, t), guide(x, t), w));
        got.forEach((v, i) => {
          const row = Math.floor(i / 3);
          const want = !inside[row] ? m[i] : whole[i];
          const tol = inside[row] && !inside.every(Boolean) ? 4 * u * (1 + w) * Math.max(1, Math.abs(m[i]), Math.abs(g[i])) : 0;
          if (!(Math.abs(v - want) <= tol)) fail('interval-guided row', { row, t: tData[row], from, to, actual: v, expected: want, tol });
        });
      })), { numRuns: 100 });
    expect(() => autoguidedModel((x) => x, (x) => x, 2, [5, 5])).toThrow(/from < to/);
  });

  it('autoguidance commutes with reading a prediction as (ε, x̂₀): guiding v or ε predictions guides x̂₀ alike', () => {
    const B = 3;
    const D = 4;
    fc.assert(fc.property(arbKind, fc.integer({ min: 2, max: 1000 }).chain((T) => fc.tuple(fc.constant(T), fc.array(fc.integer({ min: 0, max: T - 1 }), { minLength: B, maxLength: B }))),
      values(3 * B * D), fc.double({ min: 0, max: 4, noNaN: true }), fc.constantFrom<Objective>('eps', 'x0', 'v'),
      (kind, [T, ts], data, w, objective) => tidy(() => {
        const s = build(kind, T);
        const t = O.tensor(ts, [B]);
        const [xt, m, g] = [0, 1, 2].map((k) => O.tensor(data.slice(k * B * D, (k + 1) * B * D), [B, D]));
        const read = (y: Tensor) => toEpsAndX0(objective, y, xt, t, s);
        const guided = read(combineGuidance(m, g, w));
        const [rm, rg] = [read(m), read(g)];
        for (const part of ['eps', 'x0'] as const) {
          const [hm, hg] = [toArray(rm[part]), toArray(rg[part])];
          const scale = Math.max(1, ...hm.map(Math.abs), ...hg.map(Math.abs));
          closeTo(`guided ${part}`, toArray(guided[part]), hg.map((x, i) => x + w * (hm[i] - x)), () => 1e-4 * (1 + w) * scale);
        }
      })), { numRuns: 100 });
  });
});
