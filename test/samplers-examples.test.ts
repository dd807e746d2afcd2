/**
 * Samplers, objectives and guidance on numbers worked by hand. The schedule is built so every
 * square root is a short decimal: ᾱ = [0.64, 0.36, 0.0784], i.e. (α, σ) = (√ᾱ, √(1 − ᾱ)) =
 * (0.8, 0.6), (0.6, 0.8), (0.28, 0.96) at t = 0, 1, 2 (β = 0.36, 0.4375, 1 − 0.0784/0.36).
 */
import { describe, expect, it } from 'vitest';
import * as O from '../src/ops/index.ts';
import { getBackend } from '../src/tensor/engine.ts';
import * as R from '../src/tensor/random.ts';
import { ShapeError } from '../src/tensor/shape.ts';
import { dispose, type Tensor, tidy, toArray } from '../src/tensor/tensor.ts';
import { linearBetas, makeSchedule } from '../src/ddpm/schedule.ts';
import { sampleLoop } from '../src/ddpm/sample.ts';
import { spacedTimesteps } from '../src/ddpm/scheduler.ts';
import { minSnrTable, minSnrWeights, objectiveLossAt, snr, targetFor, toEpsAndX0 } from '../src/ddpm/objectives.ts';
import { combineGuidance, guidedModel } from '../src/ddpm/guidance.ts';
import {
  ddimCoefficients, ddimSampler, ddimTimesteps, ddpmSampler, dpmpp2mSampler, dpmSolverTimesteps, nextTimestep, runSampler, sampleStep,
} from '../src/ddpm/samplers/index.ts';

const nice = makeSchedule([0.36, 1 - 0.36 / 0.64, 1 - 0.0784 / 0.36]);
const f32 = (x: number): number => Math.fround(x);
const scalar = (v: number): Tensor => O.tensor([v], [1, 1]);
const value = (x: Tensor): number => toArray(x)[0];

describe('timesteps', () => {
  it('DDIM: τ_i = i·⌊T/S⌋, visited from the largest', () => {
    expect(ddimTimesteps(10, 3)).toEqual([6, 3, 0]); // ⌊10/3⌋ = 3
    expect(ddimTimesteps(50, 7)).toEqual([42, 35, 28, 21, 14, 7, 0]); // ⌊50/7⌋ = 7: starts below T − 1 = 49
    expect(ddimTimesteps(5, 5)).toEqual([4, 3, 2, 1, 0]);
    expect(ddimTimesteps(5, 1)).toEqual([0]);
    expect(() => ddimTimesteps(5, 6)).toThrow(/steps must be an integer in \[1, 5\]/);
  });

  it('DPM-Solver++: round(linspace(T − 1, 0, S))', () => {
    expect(dpmSolverTimesteps(10, 4)).toEqual([9, 6, 3, 0]);
    expect(dpmSolverTimesteps(10, 3)).toEqual([9, 5, 0]); // 4.5 rounds up
    expect(dpmSolverTimesteps(10, 1)).toEqual([9]);
    // one spacing rule for DDPM and DPM-Solver++: 21·34/28 = 25.5 is a tie, rounded up in exact arithmetic
    expect(spacedTimesteps(35, 29)[28 - 21]).toBe(26);
    expect(spacedTimesteps(35, 29)).toEqual(dpmSolverTimesteps(35, 29));
    expect(dpmpp2mSampler.setTimesteps(nice, 3)).toEqual([2, 1, 0]);
  });
});

describe('DDIM, one step by hand', () => {
  // t = 1 → 0: α_t = 0.6, σ_t = 0.8, α_prev = 0.8, σ_prev = 0.6. x_t = 1, ε̂ = 0.25:
  // x̂_0 = (1 − 0.8·0.25)/0.6 = 4/3.
  // η = 0: x_prev = 0.8·4/3 + 0.6·0.25 = 1.2166667.
  // η = 1: σ_1 = √(0.36/0.64)·√(1 − 0.36/0.64) = 0.75·√0.4375 = 0.4960784, σ² = 0.24609375 = β̃_1;
  //        direction √(0.36 − 0.24609375) = 0.3375; x_prev = 1.0666667 + 0.084375 + 0.4960784·z.
  //        DDPM's mean for the same x̂_0: c1 = 0.4375·0.8/0.64 = 0.546875, c2 = 0.36·0.75/0.64 = 0.421875,
  //        0.546875·4/3 + 0.421875 = 1.1510417 = 1.0666667 + 0.084375. ✓
  const stepAt = (eta: number, clip: boolean, z: number) => tidy(() => {
    const state = ddimSampler.initState(nice, [1, 0], { eta, clip });
    const r = ddimSampler.step(state, scalar(0.25), 1, scalar(1), scalar(z));
    return { prev: value(r.prevSample), x0: value(r.predX0), index: r.state.index };
  });

  it('η = 0 is deterministic', () => {
    const r = stepAt(0, false, 123);
    expect(r.x0).toBeCloseTo(4 / 3, 6);
    expect(r.prev).toBeCloseTo(1.2166667, 6);
    expect(r.index).toBe(1);
  });

  it('η = 1 has σ² = β̃ and the DDPM mean', () => {
    const c = ddimCoefficients(nice, 1, 0, 1);
    expect(c.sigma ** 2).toBeCloseTo(0.24609375, 14);
    expect(c.sigma ** 2).toBeCloseTo(nice.posteriorVariance[1], 14);
    expect(c.direction).toBeCloseTo(0.3375, 14);
    expect(c.sqrtAlphaBarPrev).toBeCloseTo(0.8, 14);
    expect(stepAt(1, false, 0).prev).toBeCloseTo(1.1510417, 6);
    expect(stepAt(1, false, 1).prev).toBeCloseTo(1.1510417 + 0.4960784, 6);
  });

  it('with clipping, x̂_0 = 1 and ε̂ is re-derived: (1 − 0.6·1)/0.8 = 0.5, so x_prev = 0.8 + 0.6·0.5 = 1.1', () => {
    const r = stepAt(0, true, 0);
    expect(r.x0).toBe(1);
    expect(r.prev).toBeCloseTo(1.1, 6);
  });

  it('the last step lands on x̂_0: at t = 0, (1 − 0.6·0.5)/0.8 = 0.875', () => tidy(() => {
    const s0 = ddimSampler.initState(nice, [0], { eta: 1 });
    expect(ddimSampler.needsNoise(s0)).toBe(false);
    const r = ddimSampler.step(s0, scalar(0.5), 0, scalar(1));
    expect(value(r.prevSample)).toBeCloseTo(0.875, 6);
    expect(value(r.predX0)).toBeCloseTo(0.875, 6);
    expect(r.prevSample).not.toBe(r.predX0); // a separate tensor: the caller may dispose either
  }));

  it('x_0- and v-predictions step exactly like the ε they imply', () => tidy(() => {
    // ε̂ = 0.25 at x_t = 1, t = 1 means x̂_0 = 4/3 and v = 0.6·0.25 − 0.8·4/3 = −0.9166667
    const outputs = { eps: 0.25, x0: 4 / 3, v: -0.9166667 } as const;
    for (const prediction of ['eps', 'x0', 'v'] as const) {
      const state = ddimSampler.initState(nice, [1, 0], { clip: false, prediction });
      expect(value(ddimSampler.step(state, scalar(outputs[prediction]), 1, scalar(1)).prevSample)).toBeCloseTo(1.2166667, 5);
    }
  }));
});

describe('DPM-Solver++(2M), three steps by hand', () => {
  // λ = log(α/σ): λ_2 = log(7/24), λ_1 = log(3/4), λ_0 = log(4/3). The model is ε̂(x) = x, so x̂_0 = x·(1 − σ)/α.
  // step 2 → 1 (first order): h = log(18/7), e^{−h} = 7/18; x̂_0 = 0.04/0.28 = 1/7;
  //   x_1 = (0.8/0.96)·1 + 0.6·(11/18)·(1/7) = 5/6 + 11/210 = 31/35 = 0.8857143
  // step 1 → 0 (second order): h = log(16/9), r = log(18/7)/log(16/9) = 1.6415024, 1/(2r) = 0.3045990;
  //   x̂_0 = x_1·0.2/0.6 = 31/105; D = 1.3045990·31/105 − 0.3045990/7 = 0.3416532;
  //   x_0 = 0.75·x_1 + 0.8·(7/16)·D = 0.6642857 + 0.35·D = 0.7838643
  // step 0 → data (first order, lands on x̂_0): x̂_0 = x_0·0.4/0.8 = 0.3919322
  // With lowerOrderFinal (the default; 3 < 15 steps) the middle step is first-order:
  //   x_0 = 0.75·x_1 + 0.35·31/105 = 0.7676190, and the sample x_0/2 = 0.3838095
  const run = (lowerOrderFinal: boolean) => tidy(() => {
    const xs: number[] = [];
    let state = dpmpp2mSampler.initState(nice, dpmpp2mSampler.setTimesteps(nice, 3), { clip: false, lowerOrderFinal });
    let x = scalar(1);
    for (const t of state.timesteps) {
      const r = dpmpp2mSampler.step(state, x, t, x);
      x = r.prevSample;
      state = r.state;
      xs.push(value(x));
    }
    expect(state.index).toBe(3);
    expect(value(state.prevX0 as Tensor)).toBeCloseTo(xs[2], 6);
    return xs;
  });

  it('first step first-order, then the multistep correction, then x̂_0', () => {
    const xs = run(false);
    expect(xs[0]).toBeCloseTo(31 / 35, 6);
    expect(xs[1]).toBeCloseTo(0.7838643, 6);
    expect(xs[2]).toBeCloseTo(0.3919322, 6);
  });

  it('below 15 steps the second-to-last step is first-order by default', () => {
    const xs = run(true);
    expect(xs[0]).toBeCloseTo(31 / 35, 6);
    expect(xs[1]).toBeCloseTo(0.7676190, 6);
    expect(xs[2]).toBeCloseTo(0.3838095, 6);
  });

  it('its first step is DDIM with η = 0: x_1 = 0.75·x_2 + 0.35·x̂_0 on t = 1 → 0', () => tidy(() => {
    const dpm = dpmpp2mSampler.step(dpmpp2mSampler.initState(nice, [1, 0], { clip: false }), scalar(0.25), 1, scalar(1));
    expect(value(dpm.prevSample)).toBeCloseTo(0.75 + 0.35 * (4 / 3), 6);
    expect(value(dpm.prevSample)).toBeCloseTo(1.2166667, 6);
  }));
});

describe('DDPM under the contract', () => {
  // t = 1 → 0 with σ² = β̃_1 = 0.24609375: the mean 1.1510417 (see DDIM η = 1) plus 0.4960784·z
  it('is the walk-through step, with β̃ or β noise', () => tidy(() => {
    const post = ddpmSampler.step(ddpmSampler.initState(nice, [1, 0], { clip: false }), scalar(0.25), 1, scalar(1), scalar(1));
    expect(value(post.prevSample)).toBeCloseTo(1.1510417 + 0.4960784, 6);
    const beta = ddpmSampler.step(ddpmSampler.initState(nice, [1, 0], { clip: false, variance: 'beta' }), scalar(0.25), 1, scalar(1), scalar(1));
    expect(value(beta.prevSample)).toBeCloseTo(1.1510417 + Math.sqrt(0.4375), 6);
  }));

  it('runSampler with every timestep and no clipping is sampleLoop, bit for bit', () => {
    const s = makeSchedule(linearBetas(20));
    const model = (x: Tensor, t: Tensor) => O.mul(O.tanh(x), O.reshape(O.div(O.add(t, 1), 20), [-1, 1, 1]));
    const key = R.key(11);
    const a = runSampler(ddpmSampler, model, s, [2, 1, 3], key, { clip: false });
    const b = sampleLoop(model, s, [2, 1, 3], key);
    expect(toArray(a)).toEqual(toArray(b.x0));
    dispose(a);
    dispose(b.x0);
  });
});

describe('sampleStep', () => {
  it('is the sampler\'s step at the state\'s next timestep; a hand-written loop of it is runSampler', () => {
    const s = makeSchedule(linearBetas(30));
    const model = (x: Tensor, t: Tensor) => O.mul(O.sin(x), O.reshape(O.div(t, 30), [-1, 1, 1]));
    const key = R.key(4);
    const viaRun = runSampler(dpmpp2mSampler, model, s, [2, 1, 3], key, { steps: 6, prediction: 'v' });
    // the loop runSampler folds, written out: start from split(key)[0], noise at t from fold(split(key)[1], t)
    const [startKey, stepKey] = R.split(key, 2);
    let x = O.normal(startKey, [2, 1, 3]);
    let state = dpmpp2mSampler.initState(s, dpmpp2mSampler.setTimesteps(s, 6), { prediction: 'v' });
    for (const t of state.timesteps) {
      expect(nextTimestep(state)).toBe(t);
      const noise = dpmpp2mSampler.needsNoise(state) ? O.normal(R.fold(stepKey, t), [2, 1, 3]) : null;
      ({ prevSample: x, state } = sampleStep(dpmpp2mSampler, state, model(x, O.full([2], t)), x, noise));
    }
    expect(toArray(x)).toEqual(toArray(viaRun));
    expect(() => nextTimestep(state)).toThrow(/the loop is done/);
    expect(() => sampleStep(dpmpp2mSampler, state, x, x)).toThrow(/the loop is done/);
  });
});

describe('the contract refuses misuse', () => {
  it('the wrong timestep, a finished loop, missing noise, bad options', () => tidy(() => {
    const state = ddimSampler.initState(nice, [2, 1, 0], { eta: 0.5 });
    expect(() => ddimSampler.step(state, scalar(0), 1, scalar(1), scalar(0))).toThrow('ddim: step 0 is at timestep 2, got t = 1');
    expect(() => ddimSampler.step(state, scalar(0), 2, scalar(1))).toThrow(/needs noise/);
    expect(() => ddimSampler.step(state, scalar(0), 2, scalar(1), O.zeros([2, 1]))).toThrow(ShapeError);
    expect(() => ddimSampler.step(state, O.zeros([1, 2]), 2, scalar(1), scalar(0))).toThrow(ShapeError);
    const done = dpmpp2mSampler.step(dpmpp2mSampler.initState(nice, [0]), scalar(0), 0, scalar(1)).state;
    expect(() => dpmpp2mSampler.step(done, scalar(0), 0, scalar(1))).toThrow(/the loop is done/);
    expect(() => ddpmSampler.step(ddpmSampler.initState(nice, [1, 0]), scalar(0), 1, scalar(1))).toThrow(/needs noise/);
    expect(() => ddimSampler.initState(nice, [0, 1])).toThrow(/strictly descending/);
    expect(() => ddimSampler.initState(nice, [3])).toThrow(/not an integer in \[0, 3\)/);
    expect(() => ddimSampler.initState(nice, [1], { eta: 1.5 })).toThrow(/η must be in \[0, 1\]/);
  }));

  it('options a sampler does not read are type errors', () => {
    const model = (x: Tensor) => O.mul(x, 0);
    // @ts-expect-error: η is DDIM's
    expect(() => runSampler(ddpmSampler, model, nice, [1, 1], R.key(0), { eta: 1, steps: 4 })).toThrow(/numSteps must be/);
  });
});

describe('runSampler', () => {
  const s = makeSchedule(linearBetas(30));
  const model = (x: Tensor, t: Tensor) => O.mul(O.sin(x), O.reshape(O.div(t, 30), [-1, 1, 1, 1]));
  const samplers = [
    ['ddpm', () => runSampler(ddpmSampler, model, s, [2, 1, 2, 2], R.key(3), { steps: 10 })],
    ['ddim η=0.5', () => runSampler(ddimSampler, model, s, [2, 1, 2, 2], R.key(3), { steps: 10, eta: 0.5 })],
    ['dpmpp2m', () => runSampler(dpmpp2mSampler, model, s, [2, 1, 2, 2], R.key(3), { steps: 10, prediction: 'v' })],
  ] as const;

  for (const [name, run] of samplers) {
    it(`${name}: leaves nothing behind but its result, and a key reproduces the run`, () => {
      const before = getBackend().liveBuffers();
      const a = run();
      expect(getBackend().liveBuffers()).toBe(before + 1);
      const b = run();
      expect(toArray(a)).toEqual(toArray(b));
      dispose(a);
      dispose(b);
      expect(getBackend().liveBuffers()).toBe(before);
    });
  }

  it('starts from the given x_T (leaving it to the caller) and reports every step', () => {
    const start = O.normal(R.key(9), [1, 1, 2, 2]);
    const seen: number[] = [];
    const x = runSampler(ddimSampler, model, s, [1, 1, 2, 2], R.key(1), {
      steps: 5, start, onStep: (t, xt, predX0) => {
        seen.push(t);
        expect(xt.shape).toEqual([1, 1, 2, 2]);
        expect(Math.max(...toArray(predX0).map(Math.abs))).toBeLessThanOrEqual(1);
      },
    });
    expect(seen).toEqual([24, 18, 12, 6, 0]);
    // η = 0: the key does not matter once the start is given
    const y = runSampler(ddimSampler, model, s, [1, 1, 2, 2], R.key(2), { steps: 5, start });
    expect(toArray(x)).toEqual(toArray(y));
    expect(start.disposed).toBe(false);
    [x, y, start].forEach(dispose);
  });
});

describe('objectives', () => {
  it('targets and conversions at t = 1 (α = 0.6, σ = 0.8) for x_0 = 1, ε = 0.5', () => tidy(() => {
    // x_t = 0.6 + 0.4 = 1; v = 0.6·0.5 − 0.8·1 = −0.5
    const [x0, eps] = [scalar(1), scalar(0.5)];
    expect(value(targetFor('eps', x0, eps, nice, 1))).toBe(0.5);
    expect(value(targetFor('x0', x0, eps, nice, 1))).toBe(1);
    expect(value(targetFor('v', x0, eps, nice, 1))).toBeCloseTo(-0.5, 6);
    const back = toEpsAndX0('v', scalar(-0.5), scalar(1), 1, nice);
    expect(value(back.eps)).toBeCloseTo(0.5, 6); // 0.8·1 + 0.6·(−0.5)
    expect(value(back.x0)).toBeCloseTo(1, 6); // 0.6·1 − 0.8·(−0.5)
    expect(() => toEpsAndX0('eps', O.zeros([2, 1]), scalar(1), 1, nice)).toThrow(ShapeError);
  }));

  it('min-SNR-γ weights with γ = 1: SNR = [16/9, 9/16, 0.0784/0.9216]', () => tidy(() => {
    const q = [16 / 9, 9 / 16, 0.0784 / 0.9216];
    Array.from(snr(nice)).forEach((v, i) => expect(v).toBeCloseTo(q[i], 12));
    // eps: min(SNR, 1)/SNR; x0: min(SNR, 1); v: min(SNR, 1)/(SNR + 1), which is ᾱ where SNR ≤ γ and 1/(SNR + 1) = 1 − ᾱ above
    const expected = { eps: [9 / 16, 1, 1], x0: [1, 9 / 16, q[2]], v: [0.36, 0.36, 0.0784] };
    for (const objective of ['eps', 'x0', 'v'] as const) {
      Array.from(minSnrTable(objective, nice, 1)).forEach((v, i) => expect(v).toBeCloseTo(expected[objective][i], 12));
    }
    const w = minSnrWeights('x0', nice, O.tensor([2, 0, 1]), 1);
    expect(w.shape).toEqual([3, 1, 1, 1]);
    expect(toArray(w)).toEqual([q[2], 1, 9 / 16].map(f32));
  }));

  it('the weighted loss: a model that predicts 0 at x_0 = 1, ε = 0.5, t = [0, 1], x0-objective, γ = 1', () => tidy(() => {
    // squared errors 1 (target x_0 = 1) for both samples, weights min(SNR, 1) = 1 and 9/16
    const loss = objectiveLossAt((x) => O.mul(x, 0), 'x0', nice, O.ones([2, 1, 1, 1]), O.tensor([0, 1]), O.full([2, 1, 1, 1], 0.5), { minSnrGamma: 1 });
    expect(value(loss)).toBeCloseTo((1 + 9 / 16) / 2, 6);
    const plain = objectiveLossAt((x) => O.mul(x, 0), 'eps', nice, O.ones([2, 1, 1, 1]), O.tensor([0, 1]), O.full([2, 1, 1, 1], 0.5));
    expect(value(plain)).toBeCloseTo(0.25, 6);
  }));
});

describe('classifier-free guidance', () => {
  it('uncond + w·(cond − uncond): w = 3 on cond [1, 2], uncond [0, 1] gives [3, 4]', () => tidy(() => {
    const [cond, uncond] = [O.tensor([1, 2]), O.tensor([0, 1])];
    expect(toArray(combineGuidance(cond, uncond, 3))).toEqual([3, 4]);
    expect(toArray(combineGuidance(cond, uncond, 1))).toEqual([1, 2]);
    expect(toArray(combineGuidance(cond, uncond, 0))).toEqual([0, 1]);
    expect(() => combineGuidance(cond, O.zeros([3]), 2)).toThrow(ShapeError);
  }));

  it('guidedModel makes one forward pass on [x; x] with labels [labels; null]', () => tidy(() => {
    const calls: number[][] = [];
    // "ε" = x·(label + 1) + t: the conditional and unconditional halves differ only through the label
    const model = (x: Tensor, t: Tensor, labels: Tensor) => {
      calls.push([...x.shape, ...toArray(labels)]);
      return O.add(O.mul(x, O.reshape(O.add(labels, 1), [-1, 1])), O.reshape(t, [-1, 1]));
    };
    const guided = guidedModel(model, O.tensor([2, 5]), 9, 2);
    const out = guided(O.tensor([1, 1, 2, 2], [2, 2]), O.tensor([7, 7]));
    expect(calls).toEqual([[4, 2, 2, 5, 9, 9]]);
    // row 0: cond 1·3 + 7 = 10, uncond 1·10 + 7 = 17, 2·10 − 17 = 3; row 1: cond 2·6 + 7 = 19, uncond 2·10 + 7 = 27, 38 − 27 = 11
    expect(toArray(out)).toEqual([3, 3, 11, 11]);
  }));
});
