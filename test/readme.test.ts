/** The README's code examples, run as written (the model in the loop is a stand-in denoiser). */
import { describe, expect, it } from 'vitest';
import * as O from '../src/ops/index.ts';
import { adam, dispose, keep, random, tidy, toArray, valueAndGrad, type Tensor } from '../src/index.ts';
import { cosineBetas, ddimSampler, ddpmScheduler, makeSchedule, sampleStep } from '../src/ddpm/index.ts';

describe('README examples', () => {
  it('valueAndGrad fits y = 3x + 1', () => {
    const [k1, k2] = random.split(random.key(0), 2);
    const x = O.normal(k1, [64, 1]);
    const y = O.add(O.mul(x, 3), 1);
    let params = { w: O.normal(k2, [1, 1]), b: O.zeros([1]) };
    const opt = adam({ lr: 0.05 });
    let state = opt.init(params);
    const loss = (p: typeof params) => O.mseLoss(O.linear(x, p.w, p.b), y);
    for (let i = 0; i < 500; i++) {
      ({ params, state } = tidy(() => opt.update(valueAndGrad(loss)(params).grads, state, params)));
    }
    expect(toArray(params.w)[0]).toBeCloseTo(3, 3);
    expect(toArray(params.b)[0]).toBeCloseTo(1, 3);
  });

  it('the sampleStep loop lands on the data for an exact ε-oracle', () => {
    // point-mass data at x* = 0.5: the exact ε for x_t is (x_t − √ᾱ_t·x*)/√(1 − ᾱ_t)
    const schedule = makeSchedule(cosineBetas(400));
    const model = (xt: Tensor, t: Tensor): Tensor => {
      const ab = schedule.alphasCumprod[toArray(t)[0]];
      return O.div(O.sub(xt, Math.sqrt(ab) * 0.5), Math.sqrt(1 - ab));
    };
    let state = ddimSampler.initState(schedule, ddimSampler.setTimesteps(schedule, 50), { eta: 0, clip: true });
    const key = random.key(0);
    let x = O.normal(key, [16, 1, 28, 28]);
    for (const t of state.timesteps) {
      const next = tidy(() => {
        const out = model(x, O.full([16], t));
        const noise = ddimSampler.needsNoise(state) ? O.normal(random.fold(key, t), x.shape) : null;
        const r = sampleStep(ddimSampler, state, out, x, noise);
        state = r.state;
        return keep(r.prevSample);
      });
      dispose(x);
      x = next;
    }
    for (const v of toArray(x)) expect(v).toBeCloseTo(0.5, 4);
  });

  it('the diffusers-style scheduler loop lands on the data too', () => {
    const schedule = makeSchedule(cosineBetas(400));
    const model = (xt: Tensor, t: Tensor): Tensor => {
      const ab = schedule.alphasCumprod[toArray(t)[0]];
      return O.div(O.sub(xt, Math.sqrt(ab) * 0.5), Math.sqrt(1 - ab));
    };
    const scheduler = ddpmScheduler(schedule, { variance: 'posterior', clip: true });
    const timesteps = scheduler.setTimesteps(50);
    const key = random.key(0);
    let x = O.normal(key, [16, 1, 28, 28]);
    timesteps.forEach((t, i) => {
      const prevT = timesteps[i + 1] ?? -1;
      const next = tidy(() => {
        const eps = model(x, O.full([16], t));
        const noise = prevT >= 0 ? O.normal(random.fold(key, t), x.shape) : null;
        return scheduler.step(eps, t, x, noise, prevT).prevSample;
      });
      dispose(x);
      x = next;
    });
    for (const v of toArray(x)) expect(v).toBeCloseTo(0.5, 4);
  });
});
