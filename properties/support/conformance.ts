/**
 * The conformance law for a backend: on the same random inputs, every op case gives the same
 * values and the same gradients as the plain reference backend, within a norm-wise relative error
 * ‖a − b‖∞ ≤ tol · max(1, ‖b‖∞) (summation order may differ between backends).
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { Backend } from '../../src/tensor/backend.ts';
import { backendByName } from '../../src/tensor/engine.ts';
import { type Tensor, tidy, toFloat32 } from '../../src/tensor/tensor.ts';
import { tensor } from '../../src/ops/create.ts';
import { mul } from '../../src/ops/elementwise.ts';
import { sum } from '../../src/ops/reduce.ts';
import { valueAndGrad } from '../../src/grad/value-and-grad.ts';
import * as R from '../../src/tensor/random.ts';
import { sizeOf } from '../../src/tensor/shape.ts';
import { type Input, opCases } from './op-cases.ts';

const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

export const expectSameValues = (what: string, got: Float32Array, want: Float32Array, tol: number): void => {
  expect(got.length, `${what}: length`).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  const bound = tol * Math.max(1, maxAbs(want));
  expect(worst, `${what}: element ${at} is ${got[at]}, reference ${want[at]}`).toBeLessThanOrEqual(bound);
};

/** Values and gradients of ⟨f(x), c⟩ on a backend, read back as float32. */
const evaluate = (b: Backend, f: (xs: Tensor[]) => Tensor, inputs: readonly Input[], seed: number) => tidy(() => {
  const xs = inputs.map((x) => tensor(x.data, x.shape, b));
  const y = f(xs);
  const c = tensor(R.normal(R.key(seed), sizeOf(y.shape)), y.shape, b);
  const { grads } = valueAndGrad((ps: Tensor[]) => sum(mul(f(ps), c)))(xs);
  return { y: toFloat32(y), grads: grads.map((g, i) => (inputs[i].constant ? null : toFloat32(g))) };
});

/** Registers one `it` per op case comparing `backend` to the plain backend. */
export const conformanceSuite = (makeBackend: () => Backend, tol: number, numRuns = 12): void => {
  const plain = backendByName('plain');
  for (const c of opCases) {
    it(c.name, () => {
      const b = makeBackend();
      fc.assert(fc.property(c.inputs, fc.nat(), (inputs, seed) => {
        const want = evaluate(plain, c.f, inputs, seed);
        const got = evaluate(b, c.f, inputs, seed);
        expectSameValues(`${c.name} value`, got.y, want.y, tol);
        if (c.differentiable === false) return;
        want.grads.forEach((g, i) => g && expectSameValues(`${c.name} gradient ${i}`, got.grads[i] as Float32Array, g, tol));
      }), { numRuns });
    });
  }
};
