/**
 * The memory law, for any backend: 1,000 forward+backward+update steps of a small conv net keep
 * the number of live buffers flat (every intermediate is released by the scope).
 */
import { expect } from 'vitest';
import type { Backend } from '../../src/tensor/backend.ts';
import { withBackend } from '../../src/tensor/engine.ts';
import { disposeTree, tidy, toArray } from '../../src/tensor/tensor.ts';
import * as O from '../../src/ops/index.ts';
import * as R from '../../src/tensor/random.ts';
import { valueAndGrad } from '../../src/grad/value-and-grad.ts';
import { adam } from '../../src/grad/optim.ts';

export const checkFlatMemory = (backend: Backend, steps = 1000): void => withBackend(backend, () => {
  const [k1, k2, k3] = R.split(R.key(7), 3);
  let params = {
    c1: { w: O.normal(k1, [4, 1, 3, 3], 0, 0.3), b: O.zeros([4]) },
    c2: { w: O.normal(k2, [1, 4, 3, 3], 0, 0.3), b: O.zeros([1]) },
  };
  const x = O.normal(k3, [2, 1, 6, 6]);
  const target = O.mul(x, 0.5);
  const opt = adam({ lr: 1e-2 });
  let state = opt.init(params);
  const loss = (p: typeof params) => {
    const h = O.silu(O.groupNorm(O.conv2d(x, p.c1.w, p.c1.b, { padding: 1 }), 2, null, null));
    return O.mseLoss(O.conv2d(O.maxPool2d(O.upsampleNearest(h, 2), { kernel: 2 }), p.c2.w, p.c2.b, { padding: 1 }), target);
  };
  const counts: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const next = tidy(() => {
      const { value, grads } = valueAndGrad(loss)(params);
      const up = opt.update(grads, state, params);
      if (i % 100 === 0 || i === steps - 1) losses.push(toArray(value)[0]);
      return up;
    });
    disposeTree(params);
    disposeTree(state);
    params = next.params;
    state = next.state;
    counts.push(backend.liveBuffers());
  }
  // flat after the first step, and training did something
  expect(new Set(counts.slice(1)).size, `live buffers over time: ${counts.slice(0, 5).join(', ')} … ${counts.slice(-3).join(', ')}`).toBe(1);
  expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
  disposeTree([params, state, x, target]);
});
