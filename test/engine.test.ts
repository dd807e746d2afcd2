import { describe, expect, it } from 'vitest';
import * as O from '../src/ops/index.ts';
import { dispose, tidy, toArray, toFloat32 } from '../src/tensor/tensor.ts';
import { backendByName, getBackend, setBackend, withBackend } from '../src/tensor/engine.ts';
import { ShapeError } from '../src/tensor/shape.ts';
import { adam, sgd } from '../src/grad/optim.ts';
import { valueAndGrad } from '../src/grad/value-and-grad.ts';

describe('tensors are values', () => {
  it('ops never change their inputs, and reads are copies', () => {
    const a = O.tensor([1, 2, 3]);
    const before = toArray(a);
    O.add(a, 1);
    O.reshape(a, [3, 1]);
    const read = toFloat32(a);
    read[0] = 99;
    expect(toArray(a)).toEqual(before);
    expect(Object.isFrozen(a.shape)).toBe(true);
  });

  it('a reshape shares the buffer until both are disposed', () => {
    const b = getBackend();
    const start = b.liveBuffers();
    const a = O.tensor([1, 2, 3, 4]);
    const v = O.reshape(a, [2, 2]);
    expect(b.liveBuffers()).toBe(start + 1);
    dispose(a);
    expect(toArray(v)).toEqual([1, 2, 3, 4]);
    dispose(v);
    expect(b.liveBuffers()).toBe(start);
    expect(() => toArray(v)).toThrow(/disposed/);
  });

  it('tidy releases everything not returned, even when fn throws', () => {
    const b = getBackend();
    const start = b.liveBuffers();
    const kept = tidy(() => {
      const x = O.tensor([1, 2]);
      return O.mul(O.add(x, 1), 2);
    });
    expect(b.liveBuffers()).toBe(start + 1);
    expect(() => tidy(() => {
      O.tensor([1, 2]);
      throw new Error('boom');
    })).toThrow('boom');
    expect(b.liveBuffers()).toBe(start + 1);
    dispose(kept);
  });

  it('shape errors name the op and show both shapes', () => {
    expect(() => O.matmul(O.zeros([2, 3]), O.zeros([4, 5]))).toThrow(ShapeError);
    expect(() => O.matmul(O.zeros([2, 3]), O.zeros([4, 5]))).toThrow(/matmul: inner dimensions 3 and 4 differ \(shapes \[2, 3\], \[4, 5\]\)/);
    expect(() => O.conv2d(O.zeros([1, 2, 4, 4]), O.zeros([3, 1, 3, 3]))).toThrow(/conv2d: input has 2 channels, weight expects 1/);
  });

  it('mixing backends is refused', () => {
    const a = O.tensor([1]);
    const b = O.tensor([1], [1], backendByName('plain64'));
    expect(() => O.add(a, b)).toThrow(/different backends/);
  });
});

describe('backend selection', () => {
  it('by name, with unknown names listed', () => {
    expect(withBackend('plain64', () => getBackend().name)).toBe('plain64');
    expect(() => setBackend('cuda' as never)).toThrow(/unknown backend "cuda": expected one of fast, plain, plain64/);
  });
});

describe('optimizers', () => {
  it('Adam: the first step moves each weight by lr·sign(g) (bias correction)', () => {
    // m = 0.1·g, v = 0.001·g², m̂ = g, v̂ = g² → p −= lr·g/(|g| + eps)
    const opt = adam({ lr: 0.1 });
    const p = { w: O.tensor([1, -1]) };
    const { params } = opt.update({ w: O.tensor([2, -0.5]) }, opt.init(p), p);
    expect(toArray(params.w).map((v) => +v.toFixed(5))).toEqual([0.9, -0.9]);
  });

  it('AdamW decays the weights; Adam adds the decay to the gradient', () => {
    const p = { w: O.tensor([2]) };
    const g = { w: O.tensor([0]) };
    const w = adam({ lr: 0.1, weightDecay: 0.5, decoupled: true });
    expect(toArray(w.update(g, w.init(p), p).params.w)[0]).toBeCloseTo(2 * (1 - 0.05), 6);
    const l2 = adam({ lr: 0.1, weightDecay: 0.5 });
    expect(toArray(l2.update(g, l2.init(p), p).params.w)[0]).toBeCloseTo(1.9, 5);
  });

  it('SGD with momentum follows v ← μv + g, p ← p − lr·v', () => {
    const opt = sgd({ lr: 0.5, momentum: 0.9 });
    let p = { w: O.tensor([1]) };
    let s = opt.init(p);
    for (let i = 0; i < 2; i++) ({ params: p, state: s } = opt.update({ w: O.tensor([1]) }, s, p));
    // v1 = 1, p1 = 0.5; v2 = 1.9, p2 = 0.5 − 0.95 = −0.45
    expect(toArray(p.w)[0]).toBeCloseTo(-0.45, 6);
    expect(s.step).toBe(2);
  });

  it('Adam fits a line', () => {
    const xs = O.tensor([0, 1, 2, 3], [4, 1]);
    const ys = O.tensor([1, 3, 5, 7], [4, 1]);
    const opt = adam({ lr: 0.1 });
    let p = { w: O.zeros([1, 1]), b: O.zeros([1]) };
    let s = opt.init(p);
    for (let i = 0; i < 300; i++) {
      const { grads } = valueAndGrad((q: typeof p) => O.mseLoss(O.linear(xs, q.w, q.b), ys))(p);
      ({ params: p, state: s } = opt.update(grads, s, p));
    }
    expect(toArray(p.w)[0]).toBeCloseTo(2, 1);
    expect(toArray(p.b)[0]).toBeCloseTo(1, 1);
  });
});
