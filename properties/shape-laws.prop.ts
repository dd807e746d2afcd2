/** Laws of broadcasting and of the shape ops, on the plain backend. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as O from '../src/ops/index.ts';
import { tidy, toArray } from '../src/tensor/tensor.ts';
import { broadcastShapes } from '../src/tensor/shape.ts';
import { broadcastPair, dataFor, nonScalarShape, shapedData } from './support/arbitraries.ts';

const close = (a: number[], b: number[], tol = 1e-6): void => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]))));
};

const pairData = broadcastPair(4, 4).chain(([sa, sb]) => fc.tuple(dataFor(sa), dataFor(sb)).map(([a, b]) => ({ sa, sb, a, b })));

describe('broadcasting', () => {
  it('a ⊕ b = broadcast(a) ⊕ broadcast(b), for every binary op', () => {
    fc.assert(fc.property(pairData, fc.constantFrom(O.add, O.sub, O.mul, O.maximum, O.greater), ({ sa, sb, a, b }, op) => tidy(() => {
      const ta = O.tensor(a, sa);
      const tb = O.tensor(b, sb);
      const out = op(ta, tb);
      close(toArray(out), toArray(op(O.broadcastTo(ta, out.shape), O.broadcastTo(tb, out.shape))));
    })), { numRuns: 60 });
  });

  it('add and mul commute', () => {
    fc.assert(fc.property(pairData, ({ sa, sb, a, b }) => tidy(() => {
      const ta = O.tensor(a, sa);
      const tb = O.tensor(b, sb);
      expect(toArray(O.add(ta, tb))).toEqual(toArray(O.add(tb, ta)));
      expect(toArray(O.mul(ta, tb))).toEqual(toArray(O.mul(tb, ta)));
    })), { numRuns: 40 });
  });

  it('sumTo is the adjoint of broadcastTo: ⟨broadcast x, y⟩ = ⟨x, sumTo y⟩', () => {
    fc.assert(fc.property(broadcastPair(4, 4).map(([a, b]) => [a, broadcastShapes('test', a, b)]).chain(([s, big]) =>
      fc.tuple(dataFor(s), dataFor(big)).map(([x, y]) => ({ s, big, x, y }))), ({ s, big, x, y }) => tidy(() => {
      const bx = O.broadcastTo(O.tensor(x, s), big);
      const lhs = O.sum(O.mul(bx, O.tensor(y, big)));
      const rhs = O.sum(O.mul(O.tensor(x, s), O.sumTo(O.tensor(y, big), s)));
      close(toArray(lhs), toArray(rhs), 1e-4);
    })), { numRuns: 40 });
  });

  it('incompatible shapes throw a ShapeError naming the op and both shapes', () => {
    expect(() => O.add(O.zeros([2, 3]), O.zeros([4]))).toThrow(/add: .*\[2, 3\], \[4\]/);
  });
});

describe('shape round trips', () => {
  it('reshape to any factorisation and back is the identity', () => {
    fc.assert(fc.property(shapedData(nonScalarShape(4, 4)), ({ shape, data }) => tidy(() => {
      const x = O.tensor(data, shape);
      const back = O.reshape(O.reshape(x, [-1]), shape);
      expect(back.shape).toEqual(shape);
      expect(toArray(back)).toEqual(toArray(x));
    })));
  });

  it('permute by p then by p⁻¹ is the identity; transpose twice is the identity', () => {
    fc.assert(fc.property(shapedData(nonScalarShape(5, 3)).chain((x) => fc.tuple(fc.constant(x), fc.shuffledSubarray([...x.shape.keys()], { minLength: x.shape.length, maxLength: x.shape.length }))), ([{ shape, data }, p]) => tidy(() => {
      const x = O.tensor(data, shape);
      const inv = new Array<number>(p.length);
      p.forEach((a, i) => (inv[a] = i));
      const y = O.permute(x, p);
      expect(y.shape).toEqual(p.map((a) => shape[a]));
      expect(toArray(O.permute(y, inv))).toEqual(toArray(x));
      expect(toArray(O.transpose(O.transpose(x, 0, -1), 0, -1))).toEqual(toArray(x));
    })));
  });

  it('split then concat is the identity', () => {
    fc.assert(fc.property(shapedData(nonScalarShape(3, 5)), fc.nat(), ({ shape, data }, ax) => tidy(() => {
      const a = ax % shape.length;
      const x = O.tensor(data, shape);
      const cut = Math.floor(shape[a] / 2);
      const parts = cut > 0 ? O.split(x, [cut, shape[a] - cut], a) : [x];
      expect(toArray(O.concat(parts, a))).toEqual(toArray(x));
    })));
  });

  it('slice of pad is the original', () => {
    fc.assert(fc.property(shapedData(nonScalarShape(3, 4)), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 6, maxLength: 6 }), ({ shape, data }, p) => tidy(() => {
      const x = O.tensor(data, shape);
      const before = shape.map((_, i) => p[i]);
      const padded = O.pad(x, before, shape.map((_, i) => p[i + 3]), 7);
      expect(toArray(O.slice(padded, before, shape))).toEqual(toArray(x));
    })));
  });
});
