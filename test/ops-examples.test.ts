/** Examples with hand-checked numbers (worked in the comments), on the default (plain) backend. */
import { describe, expect, it } from 'vitest';
import * as O from '../src/ops/index.ts';
import { toArray } from '../src/tensor/tensor.ts';
import { valueAndGrad } from '../src/grad/value-and-grad.ts';

const expectClose = (actual: number[], expected: number[], tol = 1e-5): void => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(v, `element ${i}`).toBeCloseTo(expected[i], -Math.log10(tol)));
};

const img3 = () => O.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);

describe('conv2d', () => {
  it('2×2 kernel, stride 1, no padding', () => {
    // out[0,0] = 1·1 + 2·2 + 4·3 + 5·4 = 37, then 47, 67, 77; plus bias 0.5
    const y = O.conv2d(img3(), O.tensor([1, 2, 3, 4], [1, 1, 2, 2]), O.tensor([0.5], [1]));
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expectClose(toArray(y), [37.5, 47.5, 67.5, 77.5]);
  });

  it('2×2 kernel, stride 2, padding 1', () => {
    // windows start at (−1,−1), (−1,1), (1,−1), (1,1): 1·4 = 4; 2·3 + 3·4 = 18; 4·2 + 7·4 = 36; 5+12+24+36 = 77
    const y = O.conv2d(img3(), O.tensor([1, 2, 3, 4], [1, 1, 2, 2]), null, { stride: 2, padding: 1 });
    expectClose(toArray(y), [4, 18, 36, 77]);
  });

  it('two output channels from two input channels', () => {
    // weight [2,2,1,1]: out0 = x0 + x1, out1 = x0 − x1 (a 1×1 conv is a per-pixel matrix product)
    const x = O.tensor([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]);
    const y = O.conv2d(x, O.tensor([1, 1, 1, -1], [2, 2, 1, 1]));
    expectClose(toArray(y), [11, 22, 33, 44, -9, -18, -27, -36]);
  });
});

describe('convTranspose2d', () => {
  it('stride 2 with a ones kernel spreads each pixel into a 2×2 block', () => {
    const y = O.convTranspose2d(O.tensor([1, 2, 3, 4], [1, 1, 2, 2]), O.ones([1, 1, 2, 2]), null, { stride: 2 });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    expectClose(toArray(y), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });

  it('stride 1 overlaps: out = Σ x[i,j]·w shifted by (i,j)', () => {
    // [[1,1+2,2],[1+3,1+2+3+4,2+4],[3,3+4,4]]
    const y = O.convTranspose2d(O.tensor([1, 2, 3, 4], [1, 1, 2, 2]), O.ones([1, 1, 2, 2]));
    expectClose(toArray(y), [1, 3, 2, 4, 10, 6, 3, 7, 4]);
  });

  it("the seed network's 4×4 stride-2 padding-1 upsampling", () => {
    // scatter x[i,j]·w[a,b] into (2i+a−1, 2j+b−1), w = 1…16 row-major; e.g. out[0,0] = x[0,0]·w[1,1] = 6
    const y = O.convTranspose2d(O.tensor([1, 2, 3, 4], [1, 1, 2, 2]), O.tensor(Array.from({ length: 16 }, (_, i) => i + 1), [1, 1, 4, 4]), null, { stride: 2, padding: 1 });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    expectClose(toArray(y), [6, 17, 20, 14, 16, 42, 52, 34, 32, 82, 92, 58, 30, 69, 76, 44]);
  });
});

describe('normalisation', () => {
  const x = () => O.tensor([1, 3, 5, 7], [1, 2, 1, 2]);

  it('group norm with one group: mean 4, variance 5', () => {
    const s = Math.sqrt(5 + 1e-5);
    expectClose(toArray(O.groupNorm(x(), 1, null, null)), [-3 / s, -1 / s, 1 / s, 3 / s]);
  });

  it('group norm with a group per channel, then affine', () => {
    // each channel: mean ±1 around its centre, variance 1 → [−1, 1]; then ·[2, 3] + [0, 10]
    const s = Math.sqrt(1 + 1e-5);
    const y = O.groupNorm(x(), 2, O.tensor([2, 3]), O.tensor([0, 10]));
    expectClose(toArray(y), [-2 / s, 2 / s, 10 - 3 / s, 10 + 3 / s]);
  });

  it('batch norm, train mode: batch statistics, running stats updated with momentum 0.1 and the unbiased variance', () => {
    const state = { runningMean: O.zeros([1]), runningVar: O.ones([1]) };
    const { y, state: next } = O.batchNorm(O.tensor([1, 3], [2, 1, 1, 1]), null, null, state, { training: true });
    const s = Math.sqrt(1 + 1e-5);
    expectClose(toArray(y), [-1 / s, 1 / s]);
    expectClose(toArray(next.runningMean), [0.2]); // 0.9·0 + 0.1·2
    expectClose(toArray(next.runningVar), [1.1]); // 0.9·1 + 0.1·2 (unbiased variance of {1, 3})
  });

  it('batch norm, eval mode: running statistics', () => {
    const state = { runningMean: O.tensor([0.2]), runningVar: O.tensor([1.1]) };
    const { y } = O.batchNorm(O.tensor([1, 3], [2, 1, 1, 1]), O.tensor([2]), O.tensor([1]), state, { training: false });
    const s = Math.sqrt(1.1 + 1e-5);
    expectClose(toArray(y), [1 + (2 * 0.8) / s, 1 + (2 * 2.8) / s]);
  });

  it('layer norm over the last dimension', () => {
    // [0, 2] → mean 1, var 1 → [−1, 1]
    const s = Math.sqrt(1 + 1e-5);
    expectClose(toArray(O.layerNorm(O.tensor([0, 2], [1, 2]), null, null)), [-1 / s, 1 / s]);
  });
});

describe('softmax and attention', () => {
  it('softmax of logs is the normalised weights', () => {
    expectClose(toArray(O.softmax(O.tensor([0, Math.log(2), Math.log(3)]))), [1 / 6, 2 / 6, 3 / 6]);
  });

  it('softmax is shift invariant and stable for large inputs', () => {
    expectClose(toArray(O.softmax(O.tensor([1000, 1000 + Math.log(3)]))), [0.25, 0.75]);
  });

  it('attention of one query over two keys', () => {
    // scores = [1, 0]/√2; weights = [e^{1/√2}, 1]/(e^{1/√2} + 1); out = w0·[1,2] + w1·[3,4]
    const e = Math.exp(1 / Math.SQRT2);
    const w0 = e / (e + 1);
    const w1 = 1 / (e + 1);
    const y = O.scaledDotProductAttention(O.tensor([1, 0], [1, 1, 2]), O.tensor([1, 0, 0, 1], [1, 2, 2]), O.tensor([1, 2, 3, 4], [1, 2, 2]));
    expectClose(toArray(y), [w0 + 3 * w1, 2 * w0 + 4 * w1]);
  });

  it('cross-entropy of uniform logits is ln(classes)', () => {
    expectClose(toArray(O.crossEntropy(O.zeros([2, 4]), O.tensor([0, 3]))), [Math.log(4)]);
  });
});

describe('a two-layer net', () => {
  it('gradients of (W2·relu(W1·x + b1) + b2 − 1)²', () => {
    // z = W1·x + b1 = [1 − 2, 0.5 + 2 − 1] = [−1, 1.5]; h = [0, 1.5]; y = 1.5·(−1) + 0.5 = −1; loss = 4
    // dL/dy = −4: dW2 = −4·h = [0, −6]; db2 = −4; dh = −4·W2 = [−8, 4]; dz = [0, 4] (relu mask);
    // dW1 = dz ⊗ x = [[0, 0], [4, 8]]; db1 = [0, 4]
    const x = O.tensor([1, 2], [1, 2]);
    const params = {
      w1: O.tensor([1, -1, 0.5, 1], [2, 2]), b1: O.tensor([0, -1]),
      w2: O.tensor([2, -1], [1, 2]), b2: O.tensor([0.5]),
    };
    const loss = (p: typeof params) => O.mseLoss(O.linear(O.relu(O.linear(x, p.w1, p.b1)), p.w2, p.b2), O.ones([1, 1]));
    const { value, grads } = valueAndGrad(loss)(params);
    expectClose(toArray(value), [4]);
    expectClose(toArray(grads.w2), [0, -6]);
    expectClose(toArray(grads.b2), [-4]);
    expectClose(toArray(grads.w1), [0, 0, 4, 8]);
    expectClose(toArray(grads.b1), [0, 4]);
  });

  it('a value used twice collects both gradients; stopGradient blocks them', () => {
    // f(a) = a·a + stop(a)·a → f' = 2a + a = 3a at a = 2 → 6
    const { grads } = valueAndGrad((p: { a: ReturnType<typeof O.scalar> }) => O.add(O.mul(p.a, p.a), O.mul(O.stopGradient(p.a), p.a)))({ a: O.scalar(2) });
    expectClose(toArray(grads.a), [6]);
  });
});
