/**
 * The fused optimizer step (see OptimKernels), the reference: every operation of the composed
 * update, in its order, each rounded to the storage precision by `round`.
 */
import type { AdamCoefficients, FloatArray } from '../backend.ts';
import { checkLength } from './indexing.ts';

export const adamStep = (p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray,
  outP: FloatArray, outM: FloatArray, outV: FloatArray, n: number, c: AdamCoefficients,
  round: (x: number) => number): void => {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`adam: n (${n}) must be an integer ≥ 0`);
  for (const [what, x] of [['p', p], ['g', g], ['m', m], ['v', v]] as const) checkLength('adam', what, x, n);
  const [b1, ob1, b2, ob2, eps, step, sqrtC2] = [c.beta1, c.oneMinusBeta1, c.beta2, c.oneMinusBeta2, c.eps, c.stepSize, c.sqrtC2].map(round);
  const l2 = c.l2 === null ? null : round(c.l2);
  const decay = c.decay === null ? null : round(c.decay);
  for (let i = 0; i < n; i++) {
    const gi = l2 === null ? g[i] : round(g[i] + round(p[i] * l2));
    const mi = round(round(m[i] * b1) + round(gi * ob1));
    const vi = round(round(v[i] * b2) + round(round(gi * gi) * ob2));
    const pi = decay === null ? p[i] : round(p[i] * decay);
    const denom = round(round(round(Math.sqrt(vi)) / sqrtC2) + eps);
    outP[i] = round(pi - round(round(mi / denom) * step));
    outM[i] = mi;
    outV[i] = vi;
  }
};
