/**
 * Law: checkpointing changes memory, never results. For every differentiable op case, f checkpointed
 * (whole, and nested inside a larger function with a closed-over constant) gives bit-identical
 * values and gradients to f itself; and the recomputation leaves no tensors behind.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkpoint } from '../src/grad/checkpoint.ts';
import { valueAndGrad } from '../src/grad/value-and-grad.ts';
import { tensor } from '../src/ops/create.ts';
import { add, mul, tanh } from '../src/ops/elementwise.ts';
import { sum } from '../src/ops/reduce.ts';
import { withBackend } from '../src/tensor/engine.ts';
import { createPlainBackend } from '../src/tensor/plain/index.ts';
import { type Tensor, tidy, toRaw } from '../src/tensor/tensor.ts';
import { opCases } from './support/op-cases.ts';

const be = createPlainBackend({ precision: 64 });

describe('checkpoint(f) = f, in value and gradient', () => {
  for (const c of opCases.filter((o) => o.differentiable !== false)) {
    it(c.name, () => {
      fc.assert(fc.property(c.inputs, (inputs) => withBackend(be, () => tidy(() => {
        const xs = inputs.map((x) => tensor(x.data, x.shape));
        const outer = (inner: (ys: Tensor[]) => Tensor) => (ys: Tensor[]): Tensor => {
          const y = inner(ys);
          const weight = tensor(Float64Array.from({ length: y.size }, (_, i) => Math.cos(i)), y.shape);
          // tanh after the segment, so the cotangent reaching it is not constant
          return sum(mul(tanh(add(y, 0.1)), weight));
        };
        const direct = valueAndGrad(outer(c.f))(xs);
        const live = be.liveBuffers();
        const [value, grads] = tidy(() => {
          const r = valueAndGrad(outer((ys) => checkpoint((zs) => c.f([...zs]), ys)))(xs);
          return [toRaw(r.value), r.grads.map(toRaw)];
        });
        expect(value).toEqual(toRaw(direct.value));
        grads.forEach((g, i) => expect(g, `input ${i}`).toEqual(toRaw(direct.grads[i])));
        // the recomputation leaves nothing behind
        expect(be.liveBuffers()).toBe(live);
      }))), { numRuns: 10 });
    });
  }
});
