/**
 * Gradient checks on the float64 plain backend: for f(x₁…xₖ) and a random cotangent c, the
 * directional derivative of ⟨f(x), c⟩ along random directions t (central differences) must equal
 * Σ ⟨∇ᵢ, tᵢ⟩ from reverse mode. One scalar comparison covers the whole Jacobian in expectation.
 */
import { expect } from 'vitest';
import { createPlainBackend } from '../../src/tensor/plain/index.ts';
import { withBackend } from '../../src/tensor/engine.ts';
import { type Tensor, tidy, toRaw } from '../../src/tensor/tensor.ts';
import { tensor } from '../../src/ops/create.ts';
import { mul } from '../../src/ops/elementwise.ts';
import { sum } from '../../src/ops/reduce.ts';
import { valueAndGrad } from '../../src/grad/value-and-grad.ts';
import * as R from '../../src/tensor/random.ts';
import { sizeOf, type Shape } from '../../src/tensor/shape.ts';

export const plain64 = createPlainBackend({ precision: 64 });

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

export interface GradCheckOptions {
  /** finite-difference step */
  readonly h?: number;
  readonly rtol?: number;
  readonly atol?: number;
}

/**
 * Checks reverse mode against central differences for `f` at the given inputs (host arrays with
 * shapes). `seed` fixes the cotangent and directions.
 */
export const checkGrad = (
  f: (xs: Tensor[]) => Tensor,
  inputs: readonly { readonly data: ArrayLike<number>; readonly shape: Shape; readonly constant?: boolean }[],
  seed: number,
  opts: GradCheckOptions = {},
): void => {
  const h = opts.h ?? 1e-6;
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-7;
  withBackend(plain64, () => tidy(() => {
    const [kc, ...kdirs] = R.split(R.key(seed), inputs.length + 1);
    const xs = inputs.map((x) => tensor(x.data, x.shape));
    const outShape = f(xs).shape;
    const c = tensor(R.normal(kc, sizeOf(outShape)), outShape);
    const dirs = inputs.map((x, i) => (x.constant ? new Float64Array(sizeOf(x.shape)) : Float64Array.from(R.normal(kdirs[i], sizeOf(x.shape)))));
    const F = (ys: Tensor[]): Tensor => sum(mul(f(ys), c));
    const { grads } = valueAndGrad(F)(xs);
    const analytic = grads.reduce((s, g, i) => s + dot(toRaw(g), dirs[i]), 0);
    const shifted = (sgn: number): number => {
      const ys = inputs.map((x, i) => tensor(Float64Array.from(x.data, (v, j) => v + sgn * h * dirs[i][j]), x.shape));
      return toRaw(F(ys))[0];
    };
    const numeric = (shifted(1) - shifted(-1)) / (2 * h);
    const tol = atol + rtol * Math.max(Math.abs(numeric), Math.abs(analytic), 1);
    expect(Math.abs(analytic - numeric), `analytic ${analytic} vs numeric ${numeric}`).toBeLessThanOrEqual(tol);
  }));
};
