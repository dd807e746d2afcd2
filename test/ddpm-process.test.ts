/**
 * Examples for the forward process, the loss, the reverse step, the scheduler and the sampling loop,
 * with numbers worked by hand on the walk-through's schedule (linear, T = 200): β_t = (t + 1)·1e-4.
 */
import { describe, expect, it } from 'vitest';
import * as O from '../src/ops/index.ts';
import { backendByName, getBackend, withBackend } from '../src/tensor/engine.ts';
import * as R from '../src/tensor/random.ts';
import { ShapeError } from '../src/tensor/shape.ts';
import { dispose, disposeTree, type Tensor, tidy, toArray } from '../src/tensor/tensor.ts';
import { valueAndGrad } from '../src/grad/value-and-grad.ts';
import { linearBetas, makeSchedule } from '../src/ddpm/schedule.ts';
import { extract } from '../src/ddpm/extract.ts';
import { predictStartFromNoise, qSample } from '../src/ddpm/forward.ts';
import { drawTimestepsAndNoise, epsilonLoss, epsilonLossAt } from '../src/ddpm/loss.ts';
import { ddpmStep, pMeanVariance } from '../src/ddpm/reverse.ts';
import { ddpmScheduler } from '../src/ddpm/scheduler.ts';
import { sampleLoop } from '../src/ddpm/sample.ts';

const walkThrough = makeSchedule(linearBetas(200));
const f32 = (xs: number[]): number[] => Array.from(Float32Array.from(xs));

describe('extract', () => {
  it('gathers one coefficient per sample and shapes it [B, 1, 1, 1]', () => tidy(() => {
    const out = extract([10, 20, 30, 40, 50], O.tensor([4, 0, 2]), 4);
    expect(out.shape).toEqual([3, 1, 1, 1]);
    expect(toArray(out)).toEqual([50, 10, 30]);
    expect(extract([10, 20], O.tensor([1]), 1).shape).toEqual([1]);
  }));

  it("puts the table on t's backend, at its precision", () => withBackend(backendByName('plain64'), () => tidy(() => {
    const out = extract(walkThrough.sqrtAlphasCumprod, O.tensor([199]), 2);
    expect(out.backend.name).toBe('plain64');
    expect(toArray(out)).toEqual([walkThrough.sqrtAlphasCumprod[199]]);
  })));

  it('leaves no buffers behind but its result', () => {
    const t = O.tensor([1, 2]);
    const before = getBackend().liveBuffers();
    const out = extract(walkThrough.betas, t, 4);
    expect(getBackend().liveBuffers()).toBe(before + 1);
    disposeTree([out, t]);
  });

  it('refuses timesteps that are not a 1-D tensor of indices in range', () => tidy(() => {
    expect(() => extract([1, 2], O.tensor([0, 1], [1, 2]), 4)).toThrow(ShapeError);
    expect(() => extract([1, 2], O.tensor([2]), 4)).toThrow(/index 2 at position 0 is not an integer in \[0, 2\)/);
    expect(() => qSample(walkThrough, O.ones([1, 1]), 200, O.ones([1, 1]))).toThrow('timestep 200 is not an integer in [0, 200)');
  }));
});

describe('qSample on the walk-through schedule', () => {
  it('at t = 0: √0.9999·x_0 + 0.01·ε', () => tidy(() => {
    const x = qSample(walkThrough, O.tensor([1, -1, 0]), O.tensor([0, 0, 0]), O.tensor([1, 1, 1]));
    // √0.9999 = 0.99994999875
    expect(toArray(x)).toEqual(f32([0.99994999875 + 0.01, -0.99994999875 + 0.01, 0.01]));
  }));

  it('one timestep per sample: rows at t = 0 and t = 199', () => tidy(() => {
    const x = qSample(walkThrough, O.ones([2, 2]), O.tensor([0, 199]), O.zeros([2, 2]));
    const [a, b] = [walkThrough.sqrtAlphasCumprod[0], walkThrough.sqrtAlphasCumprod[199]];
    expect(toArray(x)).toEqual(f32([a, a, b, b]));
    expect(b).toBeCloseTo(0.36357, 5); // √0.132183: what is left of the image at the last step
  }));
});

describe('ddpmStep: the walk-through\'s p_sample', () => {
  // t = 1: ᾱ_1 = 0.9999·0.9998 = 0.99970002, √(1 − ᾱ_1) = 0.0173199307, β_1/√(1 − ᾱ_1) = 0.0115473903
  // mean = (1 − 0.0115473903)/√0.9998 = 0.9885514698 for x_t = ε̂ = 1
  // β̃_1 = 2e-4·1e-4/2.9998e-4 = 6.66711e-5, √β̃_1 = 0.0081652380; √β_1 = 0.0141421356
  const xt = () => O.ones([1, 1, 1, 1]);
  it('mean = 1/√α_t·(x_t − β_t/√(1 − ᾱ_t)·ε̂), plus √β̃_t·z', () => tidy(() => {
    const noNoise = ddpmStep(walkThrough, O.ones([1, 1, 1, 1]), 1, xt(), O.zeros([1, 1, 1, 1]));
    expect(toArray(noNoise.prevSample)[0]).toBeCloseTo(0.9885514698, 6);
    const withNoise = ddpmStep(walkThrough, O.ones([1, 1, 1, 1]), 1, xt(), O.ones([1, 1, 1, 1]));
    expect(toArray(withNoise.prevSample)[0]).toBeCloseTo(0.9885514698 + 0.008165238, 6);
    const beta = ddpmStep(walkThrough, O.ones([1, 1, 1, 1]), 1, xt(), O.ones([1, 1, 1, 1]), { variance: 'beta' });
    expect(toArray(beta.prevSample)[0]).toBeCloseTo(0.9885514698 + 0.0141421356, 6);
  }));

  it('adds no noise at t = 0 and needs none; needs noise for t > 0', () => tidy(() => {
    const out = ddpmStep(walkThrough, O.zeros([1, 1]), 0, O.ones([1, 1]), null);
    expect(toArray(out.prevSample)).toEqual(f32([1 / Math.sqrt(0.9999)]));
    expect(toArray(out.predX0)).toEqual(toArray(out.prevSample)); // at t = 0 the mean is x̂_0
    expect(() => ddpmStep(walkThrough, O.zeros([1, 1]), 5, O.ones([1, 1]), null)).toThrow(/t = 5 > 0 needs noise/);
  }));

  it('refuses a model output that only broadcasts against x_t', () => tidy(() => {
    expect(() => ddpmStep(walkThrough, O.zeros([1, 3]), 5, O.ones([2, 3]), O.ones([2, 3])))
      .toThrow('pMeanVariance: the model output must have the shape of x_t (shapes [1, 3], [2, 3])');
    expect(() => epsilonLossAt((x) => O.sum(x, 0, true), walkThrough, O.ones([2, 3]), O.tensor([1, 2]), O.ones([2, 3])))
      .toThrow(ShapeError);
  }));

  it('clips x̂_0 to [−1, 1] only when asked', () => tidy(() => {
    // x_t = 1, ε̂ = −50 at t = 199: x̂_0 = (1 + 50·√(1 − ᾱ))/√ᾱ ≫ 1
    const eps = O.full([1, 1], -50);
    const raw = pMeanVariance(walkThrough, eps, O.ones([1, 1]), 199, { clip: false, variance: 'posterior' });
    const clipped = pMeanVariance(walkThrough, eps, O.ones([1, 1]), 199, { clip: true, variance: 'posterior' });
    expect(toArray(raw.predX0)[0]).toBeGreaterThan(100);
    expect(toArray(clipped.predX0)).toEqual([1]);
    const c1 = walkThrough.posteriorMeanCoef1[199];
    const c2 = walkThrough.posteriorMeanCoef2[199];
    expect(toArray(clipped.mean)[0]).toBeCloseTo(c1 + c2, 6);
    expect(clipped.variance).toBe(walkThrough.posteriorVariance[199]);
    expect(clipped.logVariance).toBe(walkThrough.posteriorLogVarianceClipped[199]);
  }));
});

describe('the ε-loss', () => {
  it('epsilonLoss draws t and ε from the key, and is epsilonLossAt of those draws', () => tidy(() => {
    const x0 = O.normal(R.key(1), [8, 1, 2, 2]);
    const model = (x: Tensor, t: Tensor) => O.mul(x, O.reshape(O.div(t, 200), [-1, 1, 1, 1]));
    const key = R.key(2);
    const { t, noise } = drawTimestepsAndNoise(walkThrough, x0, key);
    expect(t.shape).toEqual([8]);
    expect(noise.shape).toEqual(x0.shape);
    toArray(t).forEach((s) => expect(Number.isInteger(s) && s >= 0 && s < 200).toBe(true));
    expect(toArray(epsilonLoss(model, walkThrough, x0, key))).toEqual(toArray(epsilonLossAt(model, walkThrough, x0, t, noise)));
    expect(toArray(epsilonLoss(model, walkThrough, x0, R.key(3)))).not.toEqual(toArray(epsilonLoss(model, walkThrough, x0, key)));
  }));

  it('is ≈ 0 for the oracle that knows x_0, and mean(ε²) for the zero model', () => tidy(() => {
    const x0 = O.normal(R.key(1), [4, 3]);
    const t = O.tensor([0, 50, 100, 199]);
    const noise = O.normal(R.key(2), [4, 3]);
    const oracle = (x: Tensor, tt: Tensor) =>
      O.div(O.sub(x, O.mul(extract(walkThrough.sqrtAlphasCumprod, tt, 2), x0)), extract(walkThrough.sqrtOneMinusAlphasCumprod, tt, 2));
    expect(toArray(epsilonLossAt(oracle, walkThrough, x0, t, noise))[0]).toBeLessThan(1e-8);
    const zero = epsilonLossAt((x) => O.mul(x, 0), walkThrough, x0, t, noise);
    expect(toArray(zero)[0]).toBeCloseTo(toArray(noise).reduce((s, e) => s + e * e, 0) / 12, 6);
  }));

  it('is differentiable through the model: d/dw mean((w·x_t − ε)²) = 2·mean((w·x_t − ε)·x_t)', () => tidy(() => {
    const x0 = O.normal(R.key(1), [4, 3]);
    const t = O.tensor([3, 30, 90, 150]);
    const noise = O.normal(R.key(2), [4, 3]);
    const w = 0.7;
    const { value, grads } = valueAndGrad((p: { w: Tensor }) => epsilonLossAt((x) => O.mul(x, p.w), walkThrough, x0, t, noise))({ w: O.scalar(w) });
    const xt = toArray(qSample(walkThrough, x0, t, noise));
    const e = toArray(noise);
    const expectedLoss = xt.reduce((s, x, i) => s + (w * x - e[i]) ** 2, 0) / 12;
    const expectedGrad = xt.reduce((s, x, i) => s + 2 * (w * x - e[i]) * x, 0) / 12;
    expect(toArray(value)[0]).toBeCloseTo(expectedLoss, 5);
    expect(toArray(grads.w)[0]).toBeCloseTo(expectedGrad, 5);
  }));
});

describe('ddpmScheduler', () => {
  const sched = ddpmScheduler(walkThrough);

  it('visits T − 1 … 0 by default, or an evenly spaced subset', () => {
    expect(sched.setTimesteps()).toEqual(Array.from({ length: 200 }, (_, i) => 199 - i));
    expect(ddpmScheduler(makeSchedule(linearBetas(10))).setTimesteps(4)).toEqual([9, 6, 3, 0]);
    const fifty = ddpmScheduler(makeSchedule(linearBetas(1000))).setTimesteps(50);
    // stride 999/49 = 20.388: round(48·20.388) = 979, round(47·20.388) = 958, …, round(20.388) = 20
    expect(fifty.slice(0, 3)).toEqual([999, 979, 958]);
    expect(fifty.slice(-3)).toEqual([41, 20, 0]);
    expect(sched.setTimesteps(1)).toEqual([199]);
    expect(() => sched.setTimesteps(201)).toThrow('setTimesteps: numSteps must be an integer in [1, 200], got 201');
  });

  it('is pure: a frozen value whose calls do not change it', () => tidy(() => {
    expect(Object.isFrozen(sched)).toBe(true);
    expect(sched.options).toEqual({ clip: false, variance: 'posterior' });
    const x = O.normal(R.key(5), [2, 3]);
    const eps = O.normal(R.key(6), [2, 3]);
    const z = O.normal(R.key(7), [2, 3]);
    const a = toArray(sched.step(eps, 120, x, z).prevSample);
    const b = toArray(sched.step(eps, 120, x, z).prevSample);
    expect(a).toEqual(b);
    expect(a).toEqual(toArray(ddpmStep(walkThrough, eps, 120, x, z).prevSample));
    expect(() => sched.step(eps, 120, x, z, 120)).toThrow(/prevT must be an integer in \[−1, 120\)/);
  }));
});

describe('sampleLoop', () => {
  /** The exact ε for data that is always `c`: ε̂ = (x_t − √ᾱ_t·c)/√(1 − ᾱ_t). */
  const pointMassModel = (c: Tensor) => (x: Tensor, t: Tensor) =>
    O.div(O.sub(x, O.mul(extract(walkThrough.sqrtAlphasCumprod, t, x.shape.length), c)), extract(walkThrough.sqrtOneMinusAlphasCumprod, t, x.shape.length));

  it('with the exact ε for a point mass, every run lands on it (both variances, full and strided)', () => {
    const c = O.tensor([0.5, -0.25, 1, 0], [1, 1, 2, 2]);
    for (const variance of ['posterior', 'beta'] as const) {
      for (const numSteps of [undefined, 20, 1]) {
        const { x0 } = sampleLoop(pointMassModel(c), walkThrough, [3, 1, 2, 2], R.key(9), { variance, numSteps });
        const got = toArray(x0);
        got.forEach((v, i) => expect(v).toBeCloseTo(toArray(c)[i % 4], 5));
        dispose(x0);
      }
    }
    dispose(c);
  });

  it('is reproducible from the key, reports each step, and records the asked-for x_t', () => {
    const c = O.zeros([1, 2]);
    const steps: number[] = [];
    const run = (key: R.Key) => sampleLoop(pointMassModel(c), walkThrough, [2, 2], key, {
      keepTrajectory: [199, 100, 0],
      onStep: (t, xt, predX0) => {
        steps.push(t);
        expect(xt.shape).toEqual([2, 2]);
        expect(predX0.shape).toEqual([2, 2]);
      },
    });
    const a = run(R.key(1));
    expect(steps).toEqual(Array.from({ length: 200 }, (_, i) => 199 - i));
    const b = run(R.key(1));
    expect(toArray(a.trajectory.get(100) as Tensor)).toEqual(toArray(b.trajectory.get(100) as Tensor));
    expect([...a.trajectory.keys()]).toEqual([199, 100, 0]);
    // x_199 is the starting noise: the first half of the key
    expect(toArray(a.trajectory.get(199) as Tensor)).toEqual(toArray(O.normal(R.split(R.key(1), 2)[0], [2, 2])));
    const other = run(R.key(2));
    expect(toArray(other.trajectory.get(100) as Tensor)).not.toEqual(toArray(a.trajectory.get(100) as Tensor));
    disposeTree([a.x0, b.x0, other.x0, c, ...a.trajectory.values(), ...b.trajectory.values(), ...other.trajectory.values()]);
  });

  it('keeps only what it returns: live buffers grow by x_0 and the recorded steps', () => {
    const c = O.zeros([1, 3]);
    const before = getBackend().liveBuffers();
    const { x0, trajectory } = sampleLoop(pointMassModel(c), walkThrough, [2, 3], R.key(4), { keepTrajectory: [150, 7] });
    expect(getBackend().liveBuffers()).toBe(before + 1 + trajectory.size);
    disposeTree([x0, ...trajectory.values()]);
    expect(getBackend().liveBuffers()).toBe(before);
    dispose(c);
  });

  it('trajectory tensors survive an enclosing tidy (a Map is invisible to it); x0 follows tidy\'s rules', () => {
    const c = O.zeros([1, 3]);
    const before = getBackend().liveBuffers();
    const { x0, trajectory } = tidy(() => sampleLoop(pointMassModel(c), walkThrough, [2, 3], R.key(4), { keepTrajectory: [3] }));
    expect(toArray(trajectory.get(3) as Tensor)).toHaveLength(6);
    expect(toArray(x0)).toHaveLength(6);
    disposeTree([x0, ...trajectory.values()]);
    expect(getBackend().liveBuffers()).toBe(before);
    dispose(c);
  });

  it('frees everything when the model throws, and refuses timesteps it will not visit', () => {
    const before = getBackend().liveBuffers();
    let calls = 0;
    const flaky = (x: Tensor) => {
      if (++calls === 50) throw new Error('model failed');
      return O.mul(x, 0.1);
    };
    expect(() => sampleLoop(flaky, walkThrough, [2, 2], R.key(0), { keepTrajectory: [199, 180] })).toThrow('model failed');
    expect(getBackend().liveBuffers()).toBe(before);
    expect(() => sampleLoop(flaky, walkThrough, [2, 2], R.key(0), { numSteps: 10, keepTrajectory: [5] }))
      .toThrow('sampleLoop: keepTrajectory asks for timesteps 5, which this run does not visit');
  });
});

describe('predictStartFromNoise', () => {
  it('undoes qSample at the walk-through\'s last step', () => tidy(() => {
    const x0 = O.tensor([0.5, -0.5]);
    const eps = O.tensor([1, -2]);
    const t = O.tensor([199, 199]);
    toArray(predictStartFromNoise(walkThrough, qSample(walkThrough, x0, t, eps), t, eps)).forEach((v, i) => expect(v).toBeCloseTo([0.5, -0.5][i], 6));
  }));
});
