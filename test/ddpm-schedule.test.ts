/**
 * Schedules with numbers checked by hand. Timesteps are 0-based: index t is the paper's step t+1.
 */
import { describe, expect, it } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import {
  cosineBetas, decodeScheduleConfig, linearBetas, linspace, makeSchedule, scheduleFromConfig, scheduleFromJSON,
  sigmoidBetas,
} from '../src/ddpm/schedule.ts';

describe('linearBetas (the walk-through: T = 200, 1e-4 to 0.02)', () => {
  const betas = linearBetas(200);

  it('includes both endpoints, as torch.linspace', () => {
    expect(betas.length).toBe(200);
    expect(betas[0]).toBe(1e-4);
    expect(betas[199]).toBe(0.02);
  });

  it('steps by 0.0199/199 = 1e-4, so β_t = (t + 1)·1e-4 for this schedule', () => {
    expect(betas[1]).toBeCloseTo(1e-4 + 0.0199 / 199, 15);
    expect(betas[1]).toBeCloseTo(2e-4, 15);
    expect(betas[99]).toBeCloseTo(0.01, 15);
    expect(betas[100]).toBeCloseTo(0.0101, 15);
  });

  it('gives one value for T = 1, and counts down when start > end', () => {
    expect(Array.from(linearBetas(1))).toEqual([1e-4]);
    expect(Array.from(linspace(1, 0, 5))).toEqual([1, 0.75, 0.5, 0.25, 0]);
  });
});

describe('makeSchedule of the walk-through schedule', () => {
  const s = makeSchedule(linearBetas(200));

  it('ᾱ_0 = 1 − 1e-4 and ᾱ_1 = 0.9999·0.9998', () => {
    expect(s.alphasCumprod[0]).toBeCloseTo(0.9999, 15);
    expect(s.alphasCumprod[1]).toBeCloseTo(0.99970002, 15);
    expect(s.alphasCumprodPrev[0]).toBe(1);
    expect(s.alphasCumprodPrev[1]).toBe(s.alphasCumprod[0]);
  });

  it('ᾱ_199 ≈ 0.1322: the last step of the walk-through still keeps √0.132 ≈ 0.36 of the image', () => {
    // log ᾱ_199 = Σ log(1 − k·1e-4), k = 1..200
    //   = −Σβ − Σβ²/2 − Σβ³/3 − …
    //   = −2.01 − (1e-8·200·201·401/6)/2 − (1e-12·(200·201/2)²)/3 − ≈1.6e-6
    //   = −2.01 − 0.0134335 − 0.0001347 − 0.0000016 = −2.0235698
    // e^−2.0235698 = e^−2 · e^−0.0235698 = 0.1353353 · 0.9767058 = 0.132183
    expect(s.alphasCumprod[199]).toBeCloseTo(0.132183, 6);
    expect(s.sqrtAlphasCumprod[199]).toBeCloseTo(0.36357, 5);
  });

  it('the posterior at t = 0 is a point mass on x_0: β̃_0 = 0, μ̃_0 = 1·x_0 + 0·x_1', () => {
    expect(s.posteriorVariance[0]).toBe(0);
    expect(s.posteriorMeanCoef1[0]).toBeCloseTo(1, 12);
    expect(s.posteriorMeanCoef2[0]).toBe(0);
    // clipped log variance borrows β̃_1 at t = 0
    expect(s.posteriorLogVarianceClipped[0]).toBe(Math.log(s.posteriorVariance[1]));
  });

  it('β̃_1 = β_1·(1 − ᾱ_0)/(1 − ᾱ_1) = 2e-4·1e-4/2.9998e-4', () => {
    expect(s.posteriorVariance[1]).toBeCloseTo(2e-8 / 2.9998e-4, 15); // 6.66711e-5
    expect(s.posteriorVariance[1]).toBeCloseTo(6.66711e-5, 10);
  });

  it('1/√α_0 = 1/√0.9999 and √(1/ᾱ_0 − 1) = √(1e-4/0.9999)', () => {
    expect(s.sqrtRecipAlphas[0]).toBeCloseTo(1.0000500037503126, 14);
    expect(s.sqrtRecipm1AlphasCumprod[0]).toBeCloseTo(0.010000500037503126, 14);
    expect(s.sqrtOneMinusAlphasCumprod[0]).toBeCloseTo(0.01, 14);
  });
});

describe('cosineBetas (Nichol & Dhariwal)', () => {
  it('s = 0, T = 3: f = cos²(π/2·t/3) is 1, 3/4, 1/4, 0, so β = 1/4, 2/3, then the 0.999 clip', () => {
    const b = cosineBetas(3, 0);
    expect(b[0]).toBeCloseTo(1 / 4, 15);
    expect(b[1]).toBeCloseTo(2 / 3, 15);
    expect(b[2]).toBe(0.999);
  });

  it('s = 0, T = 2: cos²(π/4) = 1/2, so β_0 = 1/2', () => {
    const b = cosineBetas(2, 0);
    expect(b[0]).toBeCloseTo(0.5, 15);
    expect(b[1]).toBe(0.999);
  });

  it('the default s = 0.008, T = 1000: β_0 ≈ 4.1284e-5', () => {
    // θ_t = (t/1000 + 0.008)/1.008 · π/2: θ_0 = 0.0124666, θ_1 = 0.0140250
    // β_0 = 1 − cos²θ_1/cos²θ_0 = (sin²θ_1 − sin²θ_0)/cos²θ_0 = sin(θ_1 − θ_0)·sin(θ_1 + θ_0)/cos²θ_0
    //     = sin(0.0015583)·sin(0.0264916)/0.9998446 = 0.0015583 · 0.0264885 / 0.9998446 = 4.1284e-5
    const b = cosineBetas(1000);
    expect(b[0]).toBeCloseTo(4.1284e-5, 8);
    expect(b[999]).toBe(0.999);
  });

  it('ᾱ_t = f(t+1)/f(0) until the clip', () => {
    const T = 50;
    const s = makeSchedule(cosineBetas(T));
    const f = (t: number) => Math.cos(((t / T + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    for (const t of [0, 10, 25, 48]) expect(s.alphasCumprod[t]).toBeCloseTo(f(t + 1) / f(0), 12);
  });
});

describe('sigmoidBetas (Jabri et al., denoising-diffusion-pytorch)', () => {
  it('the symmetric default puts ᾱ(T/2) at 1/2: T = 2 gives β = 1/2, then the clip', () => {
    const b = sigmoidBetas(2);
    expect(b[0]).toBeCloseTo(0.5, 15);
    expect(b[1]).toBe(0.999);
    expect(makeSchedule(sigmoidBetas(1000)).alphasCumprod[499]).toBeCloseTo(0.5, 12);
  });

  it('T = 4: ᾱ(1/4) = (σ(3) − σ(−1.5))/(σ(3) − σ(−3))', () => {
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    // σ(3) = 0.9525741, σ(−1.5) = 0.1824255, σ(−3) = 0.0474259 → 0.7701486/0.9051483 = 0.8508535
    expect(1 - sigmoidBetas(4)[0]).toBeCloseTo((sig(3) - sig(-1.5)) / (sig(3) - sig(-3)), 14);
    expect(1 - sigmoidBetas(4)[0]).toBeCloseTo(0.8508535, 6);
  });

  it('refuses start ≥ end and tau ≤ 0', () => {
    expect(() => sigmoidBetas(10, 3, -3)).toThrow(/start < end/);
    expect(() => sigmoidBetas(10, -3, 3, 0)).toThrow(/tau/);
  });
});

describe('makeSchedule validation', () => {
  it('needs T ≥ 1', () => {
    expect(() => makeSchedule([])).toThrow(/T ≥ 1/);
    expect(() => linearBetas(0)).toThrow(/T must be an integer ≥ 1/);
    expect(() => cosineBetas(2.5)).toThrow(/T must be an integer ≥ 1/);
  });

  it('needs every β in (0, 1), naming the first bad one', () => {
    expect(() => makeSchedule([0.1, 0, 0.2])).toThrow('makeSchedule: betas[1] = 0 is not in (0, 1)');
    expect(() => makeSchedule([0.1, 1])).toThrow('betas[1] = 1 is not in (0, 1)');
    expect(() => makeSchedule([Number.NaN])).toThrow('betas[0] = NaN');
    expect(() => makeSchedule(linearBetas(10, 0.5, 1.5))).toThrow(/not in \(0, 1\)/);
  });

  it('copies the betas and handles T = 1', () => {
    const betas = [0.3];
    const s = makeSchedule(betas);
    betas[0] = 0.9;
    expect(s.betas[0]).toBe(0.3);
    expect(s.T).toBe(1);
    expect(s.posteriorVariance[0]).toBe(0);
    expect(s.posteriorLogVarianceClipped[0]).toBe(Math.log(0.3));
    expect(Object.isFrozen(s)).toBe(true);
  });
});

describe('ScheduleConfig', () => {
  it('decodes each kind and builds the same schedule as the functions', () => {
    const lin = decodeScheduleConfig({ kind: 'linear', T: 200 });
    expect(E.isRight(lin) && Array.from(scheduleFromConfig(lin.right).betas)).toEqual(Array.from(linearBetas(200)));
    const lin2 = decodeScheduleConfig({ kind: 'linear', T: 10, betaStart: 0.001, betaEnd: 0.05 });
    expect(E.isRight(lin2) && scheduleFromConfig(lin2.right).betas[9]).toBe(0.05);
    const cos = decodeScheduleConfig({ kind: 'cosine', T: 100, s: 0 });
    expect(E.isRight(cos) && Array.from(scheduleFromConfig(cos.right).betas)).toEqual(Array.from(cosineBetas(100, 0)));
    const sig = decodeScheduleConfig({ kind: 'sigmoid', T: 100, tau: 0.5 });
    expect(E.isRight(sig) && Array.from(scheduleFromConfig(sig.right).betas)).toEqual(Array.from(sigmoidBetas(100, -3, 3, 0.5)));
  });

  it('names the field at fault', () => {
    expect(decodeScheduleConfig({ kind: 'quadratic', T: 10 })).toEqual(E.left('kind: expected "linear", "cosine" or "sigmoid", got "quadratic"'));
    expect(decodeScheduleConfig({ kind: 'linear', T: 0 })).toEqual(E.left('T: expected an integer T ≥ 1, got 0'));
    expect(decodeScheduleConfig({ kind: 'linear', T: 10, betaEnd: 2 })).toEqual(E.left('betaEnd: expected a number in (0, 1), got 2'));
    expect(decodeScheduleConfig({ kind: 'cosine', T: 10, betaEnd: 0.02 })).toEqual(
      E.left('betaEnd: the cosine schedule takes no "betaEnd" (it reads kind, T, s)'));
    expect(decodeScheduleConfig(42)).toEqual(E.left('schedule config: expected a schedule config object, got 42'));
    expect(decodeScheduleConfig({ T: 10 })).toEqual(E.left('kind: expected "linear", "cosine" or "sigmoid", got undefined'));
  });

  it('scheduleFromJSON reports what only the builder can check', () => {
    expect(scheduleFromJSON({ kind: 'sigmoid', T: 10, start: 1, end: 0 })).toEqual(
      E.left('sigmoidBetas: need finite start < end, got start = 1, end = 0'));
    const ok = scheduleFromJSON({ kind: 'cosine', T: 4 });
    expect(E.isRight(ok) && ok.right.T).toBe(4);
  });
});
