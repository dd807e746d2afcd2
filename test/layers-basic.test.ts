/** The building-block layers: PyTorch initialisation, layouts, hand-checked values. */
import { describe, expect, it } from 'vitest';
import * as O from '../src/ops/index.ts';
import * as R from '../src/tensor/random.ts';
import { toArray } from '../src/tensor/tensor.ts';
import { flattenTree } from '../src/grad/tree.ts';
import * as L from '../src/layers/index.ts';

const expectClose = (actual: number[], expected: number[], tol = 1e-6): void => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]), `element ${i}: ${v} vs ${expected[i]}`).toBeLessThanOrEqual(tol));
};

const maxAbs = (xs: number[]): number => xs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * Every value inside (−bound, bound) and, for 64 or more draws, the largest near the bound (so it is
 * not a narrower range: all of 64 draws below 0.8·bound has probability 0.8⁶⁴ ≈ 6·10⁻⁷).
 */
const expectUniformWithin = (xs: number[], bound: number): void => {
  expect(maxAbs(xs)).toBeLessThanOrEqual(bound);
  if (xs.length >= 64) expect(maxAbs(xs)).toBeGreaterThan(0.8 * bound);
};

describe('linear', () => {
  it('has PyTorch layout [out, in] and U(±1/√in) for weight and bias', () => {
    const p = L.initLinear(R.key(1), { inFeatures: 16, outFeatures: 40 });
    expect(p.weight.shape).toEqual([40, 16]);
    expect(p.bias?.shape).toEqual([40]);
    expectUniformWithin(toArray(p.weight), 1 / 4);
    expectUniformWithin(toArray(p.bias!), 1 / 4);
  });

  it('computes x·Wᵀ + b', () => {
    // W = [[1, 2], [3, 4], [5, 6]], b = [1, 0, −1]; x = [1, 1] → [3 + 1, 7, 11 − 1]
    const p = { weight: O.tensor([1, 2, 3, 4, 5, 6], [3, 2]), bias: O.tensor([1, 0, -1]) };
    expectClose(toArray(L.linear(p, { inFeatures: 2, outFeatures: 3 }, O.tensor([1, 1], [1, 2]))), [4, 7, 10]);
  });

  it('can leave out the bias', () => {
    const p = L.initLinear(R.key(1), { inFeatures: 3, outFeatures: 2, bias: false });
    expect(flattenTree(p).map(([n]) => n)).toEqual(['weight']);
  });

  it('the same key gives the same params; another key others', () => {
    const cfg = { inFeatures: 5, outFeatures: 5 };
    expect(toArray(L.initLinear(R.key(3), cfg).weight)).toEqual(toArray(L.initLinear(R.key(3), cfg).weight));
    expect(toArray(L.initLinear(R.key(4), cfg).weight)).not.toEqual(toArray(L.initLinear(R.key(3), cfg).weight));
  });
});

describe('conv layers', () => {
  it('conv2d: weight [out, in, k, k], fan_in = in·k·k', () => {
    const p = L.initConv2d(R.key(2), { inChannels: 4, outChannels: 8, kernel: 3 });
    expect(p.weight.shape).toEqual([8, 4, 3, 3]);
    expectUniformWithin(toArray(p.weight), 1 / 6); // 1/√36
    expectUniformWithin(toArray(p.bias!), 1 / 6);
  });

  it('convTranspose2d: weight [in, out, k, k], fan_in from weight.shape[1] = out·k·k as PyTorch computes it', () => {
    const p = L.initConvTranspose2d(R.key(2), { inChannels: 9, outChannels: 4, kernel: 4 });
    expect(p.weight.shape).toEqual([9, 4, 4, 4]);
    expect(p.bias?.shape).toEqual([4]);
    expectUniformWithin(toArray(p.weight), 1 / 8); // 1/√(4·16)
  });

  it('conv2d uses stride and padding from the config', () => {
    const p = L.initConv2d(R.key(0), { inChannels: 1, outChannels: 2, kernel: 3, stride: 2, padding: 1 });
    expect(L.conv2d(p, { inChannels: 1, outChannels: 2, kernel: 3, stride: 2, padding: 1 }, O.zeros([1, 1, 28, 28])).shape)
      .toEqual([1, 2, 14, 14]);
  });

  it('convTranspose2d 4×4 stride 2 padding 1 doubles the size (the seed up-transform)', () => {
    const cfg = { inChannels: 3, outChannels: 2, kernel: 4, stride: 2, padding: 1 };
    const p = L.initConvTranspose2d(R.key(0), cfg);
    expect(L.convTranspose2d(p, cfg, O.zeros([2, 3, 5, 5])).shape).toEqual([2, 2, 10, 10]);
  });
});

describe('norms', () => {
  it('group norm starts at weight 1, bias 0', () => {
    const p = L.initGroupNorm({ channels: 4, groups: 2 });
    expect(toArray(p.weight)).toEqual([1, 1, 1, 1]);
    expect(toArray(p.bias)).toEqual([0, 0, 0, 0]);
  });

  it('batch norm state starts at mean 0, var 1, counter 0', () => {
    const s = L.initBatchNormState({ channels: 3 });
    expect(toArray(s.running_mean)).toEqual([0, 0, 0]);
    expect(toArray(s.running_var)).toEqual([1, 1, 1]);
    expect(s.num_batches_tracked).toBe(0);
  });

  it('batch norm in training: batch statistics, running statistics updated with momentum 0.1 (unbiased var)', () => {
    // one channel, values 1, 2, 3, 4: mean 2.5, biased var 1.25, unbiased 5/3
    const cfg = { channels: 1 };
    const x = O.tensor([1, 2, 3, 4], [2, 1, 1, 2]);
    const r = L.batchNorm(L.initBatchNorm(cfg), L.initBatchNormState(cfg), cfg, x, { training: true });
    const s = Math.sqrt(1.25 + 1e-5);
    expectClose(toArray(r.y), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], 1e-5);
    expectClose(toArray(r.state.running_mean), [0.25]); // 0.9·0 + 0.1·2.5
    expectClose(toArray(r.state.running_var), [0.9 + 0.1 * (5 / 3)]);
    expect(r.state.num_batches_tracked).toBe(1);
  });

  it('batch norm in eval: running statistics, state returned unchanged', () => {
    const cfg = { channels: 1 };
    const state = { running_mean: O.tensor([1]), running_var: O.tensor([4]), num_batches_tracked: 7 };
    const r = L.batchNorm(L.initBatchNorm(cfg), state, cfg, O.tensor([1, 3, 5, 7], [1, 1, 2, 2]), { training: false });
    const s = Math.sqrt(4 + 1e-5);
    expectClose(toArray(r.y), [0, 2 / s, 4 / s, 6 / s], 1e-5);
    expect(r.state).toBe(state);
  });
});

describe('sinusoidal timestep embedding', () => {
  it('t = 0 gives sin 0 = 0 in the first half and cos 0 = 1 in the second', () => {
    expect(toArray(L.sinusoidalEmbedding(O.tensor([0]), 8))).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
  });

  it('t = 1, width 8: f_i = 10000^(−i/3) = 1, 10^(−4/3), 10^(−8/3), 10^(−4)', () => {
    // 10^(−4/3) = 0.0464158883, 10^(−8/3) = 0.0021544347.
    // sin x ≈ x − x³/6 (+ x⁵/120): sin 0.0464158883 = 0.0464158883 − 10⁻⁴/6 + 1.8·10⁻⁹ = 0.0463992234,
    //   sin 0.0021544347 = 0.0021544347 − 10⁻⁸/6 = 0.0021544330, sin 10⁻⁴ = 0.0001 (to 10⁻¹²);
    // cos x ≈ 1 − x²/2 + x⁴/24: cos 0.0464158883 = 1 − 0.0010772173 + 1.934·10⁻⁷ = 0.9989229761,
    //   cos 0.0021544347 = 1 − 2.3208·10⁻⁶ = 0.9999976792, cos 10⁻⁴ = 0.999999995;
    // sin 1 = 0.8414709848, cos 1 = 0.5403023059.
    expectClose(toArray(L.sinusoidalEmbedding(O.tensor([1]), 8)), [
      0.8414709848, 0.0463992234, 0.0021544330, 0.0001,
      0.5403023059, 0.9989229761, 0.9999976792, 0.999999995,
    ]);
  });

  it('embeds a batch row by row: [B] → [B, dim]', () => {
    const e = L.sinusoidalEmbedding(O.tensor([0, 1, 999]), 128);
    expect(e.shape).toEqual([3, 128]);
    expectClose(toArray(e).slice(128, 256), toArray(L.sinusoidalEmbedding(O.tensor([1]), 128)));
  });

  it('the frequencies run from 1 down to 1/10000', () => {
    const f = L.timestepFrequencies(128);
    expect(f.length).toBe(64);
    expect(f[0]).toBe(1);
    expect(f[63]).toBeCloseTo(1e-4, 15);
  });

  it('refuses odd or too small widths', () => {
    expect(() => L.sinusoidalEmbedding(O.tensor([1]), 7)).toThrow(/even/);
    expect(() => L.sinusoidalEmbedding(O.tensor([1]), 2)).toThrow(/≥ 4/);
  });
});

describe('class embedding', () => {
  it('looks rows up by label; the table starts from N(0, 1)', () => {
    const cfg = { numClasses: 10, dim: 6 };
    const p = L.initClassEmbedding(R.key(5), cfg);
    expect(p.weight.shape).toEqual([10, 6]);
    const rows = toArray(p.weight);
    const e = L.classEmbedding(p, cfg, O.tensor([3, 0, 3]));
    expect(e.shape).toEqual([3, 6]);
    expect(toArray(e)).toEqual([...rows.slice(18, 24), ...rows.slice(0, 6), ...rows.slice(18, 24)]);
  });
});
