/**
 * Laws of the schedule tables, for every kind and T in [2, 1000], in float64 (host arithmetic).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import {
  cosineBetas, decodeScheduleConfig, linearBetas, makeSchedule, type Schedule, ScheduleConfig, scheduleFromConfig,
  respace, scheduleFromJSON, sigmoidBetas,
} from '../src/ddpm/schedule.ts';

const EPS64 = 2 ** -52;

type Spec =
  | { readonly kind: 'linear'; readonly T: number; readonly start?: number; readonly end?: number }
  | { readonly kind: 'cosine'; readonly T: number; readonly s?: number }
  | { readonly kind: 'sigmoid'; readonly T: number };

const build = (spec: Spec): Schedule =>
  makeSchedule(spec.kind === 'linear' ? linearBetas(spec.T, spec.start, spec.end)
    : spec.kind === 'cosine' ? cosineBetas(spec.T, spec.s)
    : sigmoidBetas(spec.T));

const steps = fc.integer({ min: 2, max: 1000 });

/** Each kind with default parameters, plus linear and cosine with drawn ones (fast-check prints the spec, not the tables). */
const arbSpec: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({ kind: fc.constantFrom('linear' as const, 'cosine' as const, 'sigmoid' as const), T: steps }).map((r): Spec => r),
  fc.record({ kind: fc.constant('linear' as const), T: steps, start: fc.double({ min: 1e-5, max: 1e-2, noNaN: true }), end: fc.double({ min: 1e-3, max: 0.05, noNaN: true }) }),
  fc.record({ kind: fc.constant('cosine' as const), T: steps, s: fc.double({ min: 0, max: 0.1, noNaN: true }) }),
);

/**
 * Cheap checks for the per-timestep laws (vitest's expect costs microseconds, and these run
 * ~10⁵ times): `at most` and `exactly` throw with the numbers when they fail.
 */
const atMost = (what: string, x: number, bound: number): void => {
  if (!(x <= bound)) throw new Error(`${what}: ${x} > ${bound}`);
};
const holds = (what: string, ok: boolean, detail: () => unknown = () => ''): void => {
  if (!ok) throw new Error(`${what} ${String(detail())}`);
};

/** A law over every timestep of a drawn schedule. */
const forAllSchedules = (law: (s: Schedule, t: number) => void): void =>
  fc.assert(fc.property(arbSpec, (spec) => {
    const s = build(spec);
    for (let t = 0; t < s.T; t++) law(s, t);
  }));

/** Π xs by a balanced tree: a different rounding path from the running product under test. */
const pairwiseProduct = (xs: ArrayLike<number>, lo = 0, hi = xs.length): number =>
  hi - lo === 1 ? xs[lo] : pairwiseProduct(xs, lo, (lo + hi) >> 1) * pairwiseProduct(xs, (lo + hi) >> 1, hi);

describe('schedule tables', () => {
  it('ᾱ is strictly decreasing and stays in (0, 1)', () => {
    forAllSchedules((s, t) => {
      const a = s.alphasCumprod[t];
      holds(`ᾱ_${t} in (0, 1)`, a > 0 && a < 1, () => a);
      if (t > 0) holds(`ᾱ_${t} < ᾱ_${t - 1}`, a < s.alphasCumprod[t - 1]);
    });
  });

  it('ᾱ_t = Π_{s≤t} (1 − β_s) within 1e-12 relative, and ᾱ_{t−1} is the shifted table', () => {
    forAllSchedules((s, t) => {
      const expected = pairwiseProduct(s.alphas, 0, t + 1);
      atMost(`|ᾱ_${t} − Π|`, Math.abs(s.alphasCumprod[t] - expected), 1e-12 * expected);
      holds(`α_${t} = 1 − β_${t}`, s.alphas[t] === 1 - s.betas[t]);
      holds(`ᾱ_prev at ${t}`, s.alphasCumprodPrev[t] === (t === 0 ? 1 : s.alphasCumprod[t - 1]));
    });
  });

  it('the posterior variance β̃_t lies in [0, β_t], and is 0 only at t = 0', () => {
    forAllSchedules((s, t) => {
      const v = s.posteriorVariance[t];
      holds(`0 ≤ β̃_${t} ≤ β_${t}`, v >= 0 && v <= s.betas[t], () => [v, s.betas[t]]);
      holds(`β̃_${t} > 0 iff t > 0`, v > 0 === t > 0, () => v);
      holds(`log β̃ clipped at ${t}`, s.posteriorLogVarianceClipped[t] === Math.log(s.posteriorVariance[t === 0 ? 1 : t]));
    });
  });

  it('√ᾱ² + √(1 − ᾱ)² = 1, and the reciprocal tables invert theirs', () => {
    // ᾱ and 1 − ᾱ are each accurate to ~t ulps relative (1 − ᾱ is summed, not cancelled, near ᾱ = 1),
    // so their sum is 1 within ~2·T·2⁻⁵³ ≤ 1e-12 for T ≤ 1000.
    forAllSchedules((s, t) => {
      atMost(`√ᾱ² + √(1 − ᾱ)² − 1 at ${t}`, Math.abs(s.sqrtAlphasCumprod[t] ** 2 + s.sqrtOneMinusAlphasCumprod[t] ** 2 - 1), 1e-12);
      atMost(`√ᾱ·(1/√ᾱ) − 1 at ${t}`, Math.abs(s.sqrtRecipAlphasCumprod[t] * s.sqrtAlphasCumprod[t] - 1), 4 * EPS64);
      atMost(`α·(1/√α)² − 1 at ${t}`, Math.abs(s.sqrtRecipAlphas[t] ** 2 * s.alphas[t] - 1), 4 * EPS64);
      // √(1/ᾱ − 1)·√ᾱ = √(1 − ᾱ), relative
      atMost(`√(1/ᾱ − 1)·√ᾱ/√(1 − ᾱ) − 1 at ${t}`,
        Math.abs((s.sqrtRecipm1AlphasCumprod[t] * s.sqrtAlphasCumprod[t]) / s.sqrtOneMinusAlphasCumprod[t] - 1), 8 * EPS64);
    });
  });

  it('1 − ᾱ is accurate where ᾱ ≈ 1: 1 − ᾱ_0 = β_0 exactly, so μ̃_0 = x_0 exactly', () => {
    fc.assert(fc.property(arbSpec, (spec) => {
      const s = build(spec);
      expect(s.oneMinusAlphasCumprod[0]).toBe(s.betas[0]);
      expect(s.sqrtOneMinusAlphasCumprod[0]).toBe(Math.sqrt(s.betas[0]));
      expect(s.posteriorMeanCoef1[0]).toBe(1);
      expect(s.posteriorMeanCoef2[0]).toBe(0);
    }));
  });

  it('the posterior mean coefficients are eq. 7, and q(x_{t−1} | x_t, x_0) agrees with q(x_{t−1} | x_0)', () => {
    forAllSchedules((s, t) => {
      const [b, a, ab, abPrev] = [s.betas[t], s.alphas[t], s.alphasCumprod[t], s.alphasCumprodPrev[t]];
      const c1 = s.posteriorMeanCoef1[t];
      const c2 = s.posteriorMeanCoef2[t];
      const oneMinus = s.sqrtOneMinusAlphasCumprod[t] ** 2;
      const oneMinusPrev = t === 0 ? 0 : s.sqrtOneMinusAlphasCumprod[t - 1] ** 2;
      atMost(`coef1 at ${t}`, Math.abs(c1 - (b * Math.sqrt(abPrev)) / oneMinus), 1e-12 * c1);
      atMost(`coef2 at ${t}`, Math.abs(c2 - (oneMinusPrev * Math.sqrt(a)) / oneMinus), 1e-12 * c2);
      // Averaging x_t ~ q(x_t | x_0) out of the posterior must give the marginal q(x_{t−1} | x_0):
      //   mean  c1·x_0 + c2·√ᾱ_t·x_0 = √ᾱ_{t−1}·x_0
      //   var   c2²·(1 − ᾱ_t) + β̃_t = 1 − ᾱ_{t−1}
      atMost(`c1 + c2·√ᾱ_t − √ᾱ_{t−1} at ${t}`, Math.abs(c1 + c2 * s.sqrtAlphasCumprod[t] - Math.sqrt(abPrev)), 1e-12);
      atMost(`c2²·(1 − ᾱ_t) + β̃_t − (1 − ᾱ_{t−1}) at ${t}`, Math.abs(c2 ** 2 * (1 - ab) + s.posteriorVariance[t] - (1 - abPrev)), 1e-12);
    });
  });

  it('eq. 11 and the posterior mean agree: c1·x̂_0(x_t, ε) + c2·x_t = 1/√α_t·(x_t − β_t/√(1 − ᾱ_t)·ε)', () => {
    const value = fc.double({ min: -3, max: 3, noNaN: true });
    fc.assert(fc.property(arbSpec, value, value, (spec, xt, eps) => {
      const s = build(spec);
      for (let t = 0; t < s.T; t++) {
        const x0 = s.sqrtRecipAlphasCumprod[t] * xt - s.sqrtRecipm1AlphasCumprod[t] * eps;
        const posterior = s.posteriorMeanCoef1[t] * x0 + s.posteriorMeanCoef2[t] * xt;
        const eq11 = s.sqrtRecipAlphas[t] * (xt - (s.betas[t] / s.sqrtOneMinusAlphasCumprod[t]) * eps);
        const scale = s.sqrtRecipAlphas[t] * (Math.abs(xt) + Math.abs(eps)) + s.posteriorMeanCoef1[t] * Math.abs(x0) + Math.abs(xt);
        atMost(`eq. 11 − posterior mean at ${t}`, Math.abs(posterior - eq11), 64 * EPS64 * scale + 1e-300);
      }
    }));
  });
});

describe('respace (Nichol & Dhariwal §4)', () => {
  const TABLES = [
    'betas', 'alphas', 'alphasCumprod', 'alphasCumprodPrev', 'oneMinusAlphasCumprod', 'sqrtAlphasCumprod', 'sqrtOneMinusAlphasCumprod',
    'sqrtRecipAlphas', 'sqrtRecipAlphasCumprod', 'sqrtRecipm1AlphasCumprod', 'posteriorVariance', 'posteriorLogVarianceClipped',
    'posteriorMeanCoef1', 'posteriorMeanCoef2',
  ] as const;

  it('respacing with every timestep gives the schedule back', () => {
    fc.assert(fc.property(arbSpec, (spec) => {
      const s = build(spec);
      const r = respace(s, Array.from({ length: s.T }, (_, t) => s.T - 1 - t));
      expect(r.T).toBe(s.T);
      for (const name of TABLES) {
        for (let t = 0; t < s.T; t++) {
          const [a, b] = [r[name][t], s[name][t]];
          atMost(`${name}[${t}]`, Math.abs(a - b), 1e-12 * Math.abs(b) + (name === 'posteriorLogVarianceClipped' ? 1e-12 : 0));
        }
      }
    }));
  });

  it('a subset keeps ᾱ at its timesteps exactly, and its betas make a valid chain to them', () => {
    fc.assert(fc.property(arbSpec.chain((spec) => fc.tuple(fc.constant(spec),
      fc.uniqueArray(fc.integer({ min: 0, max: spec.T - 1 }), { minLength: 1, maxLength: spec.T }))), ([spec, taus]) => {
      const s = build(spec);
      const r = respace(s, taus);
      const sorted = [...taus].sort((a, b) => a - b);
      expect(Array.from(r.alphasCumprod)).toEqual(sorted.map((tau) => s.alphasCumprod[tau]));
      // The betas alone must lead to the same ᾱ. Going through 1 − β' costs ~ε/α' relative per step
      // where a jump is long (β' ≈ 1), which is why respace keeps ᾱ itself.
      const rebuilt = makeSchedule(r.betas);
      let drift = 0;
      for (let i = 0; i < r.T; i++) {
        drift += 4 * EPS64 / r.alphas[i];
        atMost(`ᾱ'[${i}] from β'`, Math.abs(rebuilt.alphasCumprod[i] - r.alphasCumprod[i]), (1e-12 + drift) * r.alphasCumprod[i]);
        holds(`β̃'[${i}] in [0, β']`, r.posteriorVariance[i] >= 0 && r.posteriorVariance[i] <= r.betas[i] * (1 + 1e-15));
      }
    }));
  });

  it('refuses repeated and out-of-range timesteps', () => {
    const s = makeSchedule(linearBetas(10));
    expect(() => respace(s, [3, 3])).toThrow('respace: timestep 3 appears twice');
    expect(() => respace(s, [10])).toThrow('respace: timestep 10 is not an integer in [0, 10)');
    expect(() => respace(s, [])).toThrow(/at least one/);
  });
});

describe('ScheduleConfig', () => {
  const configSteps = fc.integer({ min: 1, max: 2000 });
  const unit = fc.double({ min: 1e-6, max: 0.5, noNaN: true });
  const arbConfig: fc.Arbitrary<ScheduleConfig> = fc.oneof(
    fc.record({ kind: fc.constant('linear' as const), T: configSteps, betaStart: unit, betaEnd: unit }, { requiredKeys: ['kind', 'T'] }),
    fc.record({ kind: fc.constant('cosine' as const), T: configSteps, s: fc.double({ min: 0, max: 0.1, noNaN: true }) }, { requiredKeys: ['kind', 'T'] }),
    fc.record({
      kind: fc.constant('sigmoid' as const), T: configSteps,
      start: fc.double({ min: -6, max: -0.5, noNaN: true }), end: fc.double({ min: 0.5, max: 6, noNaN: true }),
      tau: fc.double({ min: 0.5, max: 2, noNaN: true }),
    }, { requiredKeys: ['kind', 'T'] }),
  );

  it('decode ∘ encode is the identity, and every decoded config builds a valid schedule', () => {
    fc.assert(fc.property(arbConfig, (config) => {
      const back = decodeScheduleConfig(JSON.parse(JSON.stringify(ScheduleConfig.encode(config))));
      expect(back).toEqual(E.right(config));
      expect(scheduleFromConfig(config).T).toBe(config.T);
    }), { numRuns: 50 });
  });

  it('scheduleFromJSON never throws: a config too steep for float64 is a Left, not an exception', () => {
    fc.assert(fc.property(
      fc.record({ kind: fc.constant('sigmoid'), T: steps, start: fc.double({ min: -100, max: 0, noNaN: true }), end: fc.double({ min: 0, max: 100, noNaN: true }), tau: fc.double({ min: 0.01, max: 10, noNaN: true }) }),
      (u) => {
        const r = scheduleFromJSON(u);
        if (E.isLeft(r)) expect(r.left).toMatch(/^sigmoidBetas: /);
      }), { numRuns: 50 });
  });

  it('a wrong T is a Left naming T', () => {
    fc.assert(fc.property(
      fc.constantFrom('linear', 'cosine', 'sigmoid'),
      fc.oneof(fc.integer({ max: 0 }), fc.double({ min: 0.01, max: 100, noNaN: true }).filter((x) => !Number.isInteger(x)), fc.string()),
      (kind, T) => {
        const r = decodeScheduleConfig({ kind, T });
        expect(E.isLeft(r) && r.left.startsWith('T: expected an integer T ≥ 1')).toBe(true);
      }));
  });
});
