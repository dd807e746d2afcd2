/** Shared fast-check arbitraries: shapes, broadcast-compatible pairs, and host data for tensors. */
import fc from 'fast-check';
import type { Shape } from '../../src/tensor/shape.ts';

export const dim = (max = 4): fc.Arbitrary<number> => fc.integer({ min: 1, max });

export const shape = (maxRank = 4, maxDim = 4): fc.Arbitrary<number[]> =>
  fc.array(dim(maxDim), { minLength: 0, maxLength: maxRank });

export const nonScalarShape = (maxRank = 4, maxDim = 4): fc.Arbitrary<number[]> =>
  fc.array(dim(maxDim), { minLength: 1, maxLength: maxRank });

/** Two shapes that broadcast: the second is the first with some dims set to 1 and leading dims dropped. */
export const broadcastPair = (maxRank = 4, maxDim = 4): fc.Arbitrary<[number[], number[]]> =>
  nonScalarShape(maxRank, maxDim).chain((s) =>
    fc.tuple(fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.integer({ min: 0, max: s.length }), fc.boolean())
      .map(([ones, drop, swap]) => {
        const t = s.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
        return swap ? [t, s] : [s, t];
      }));

export const size = (s: Shape): number => s.reduce((a, b) => a * b, 1);

/** Float data in [lo, hi] for a shape (doubles; the backend rounds as it stores). */
export const dataFor = (s: Shape, lo = -2, hi = 2): fc.Arbitrary<number[]> =>
  fc.array(fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true }), { minLength: size(s), maxLength: size(s) });

export const shapedData = (shapeArb: fc.Arbitrary<number[]>, lo = -2, hi = 2): fc.Arbitrary<{ shape: number[]; data: number[] }> =>
  shapeArb.chain((s) => dataFor(s, lo, hi).map((data) => ({ shape: s, data })));
