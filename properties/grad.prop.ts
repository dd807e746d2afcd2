/** Law: for every op, reverse mode agrees with central finite differences (float64, plain backend). */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { checkGrad } from './support/gradcheck.ts';
import { opCases } from './support/op-cases.ts';

describe('vjp = finite differences', () => {
  for (const c of opCases.filter((o) => o.differentiable !== false)) {
    it(c.name, () => {
      fc.assert(fc.property(c.inputs, fc.nat(), (inputs, seed) => {
        checkGrad(c.f, inputs, seed);
      }), { numRuns: 25 });
    });
  }
});
