/**
 * Laws of the counter-based generator. Statistical laws use tolerances of at least 6 standard
 * errors (two-sided tail ≈ 2·10⁻⁹ per check), so they hold for every key fast-check draws.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import {
  bernoulli, fold, type Key, keyEquals, keyFromJSON, keyToJSON, normal, permutation, philox4x32,
  randint, randomBits, split, uniform,
} from '../src/tensor/random.ts';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const arbKey: fc.Arbitrary<Key> = fc.record({ k0: u32, k1: u32 });
const SIGMAS = 6;

// --- a BigInt reference Philox, written straight from the paper, to check the exact one ---------

const philoxReference = (ctr: readonly number[], k: readonly number[]): number[] => {
  const mask = 0xffffffffn;
  let [c0, c1, c2, c3] = ctr.map(BigInt);
  let [k0, k1] = k.map(BigInt);
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + 0x9e3779b9n) & mask;
      k1 = (k1 + 0xbb67ae85n) & mask;
    }
    const p0 = 0xd2511f53n * c0;
    const p1 = 0xcd9e8d57n * c2;
    [c0, c1, c2, c3] = [(p1 >> 32n) ^ c1 ^ k0, p1 & mask, (p0 >> 32n) ^ c3 ^ k1, p0 & mask];
  }
  return [c0, c1, c2, c3].map(Number);
};

// --- sample statistics ------------------------------------------------------------------------

const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
};

const variance = (xs: ArrayLike<number>): number => {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return s / (xs.length - 1);
};

const correlation = (xs: ArrayLike<number>, ys: ArrayLike<number>): number => {
  const mx = mean(xs), my = mean(ys);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
};

/** Pearson's statistic of observed counts against equal expected counts. */
const chiSquare = (counts: ArrayLike<number>, total: number): number => {
  const expected = total / counts.length;
  let s = 0;
  for (let i = 0; i < counts.length; i++) s += (counts[i] - expected) ** 2 / expected;
  return s;
};

/**
 * The χ² value that df degrees of freedom exceed with probability about that of a `SIGMAS` normal
 * tail (Wilson–Hilferty); it errs high for small df, which is the safe side here.
 */
const chiSquareBound = (df: number): number =>
  df * (1 - 2 / (9 * df) + SIGMAS * Math.sqrt(2 / (9 * df))) ** 3;

// --- laws -------------------------------------------------------------------------------------

describe('philox4x32', () => {
  it('matches a BigInt reference on any counter and key', () => {
    fc.assert(
      fc.property(fc.tuple(u32, u32, u32, u32), fc.tuple(u32, u32), (ctr, k) => {
        expect(philox4x32(ctr, k)).toEqual(philoxReference(ctr, k));
      }),
      { numRuns: 500 },
    );
  });
});

describe('determinism', () => {
  it('the same key gives the same numbers, and a shorter draw is a prefix', () => {
    fc.assert(
      fc.property(arbKey, fc.nat(300), fc.nat(20), (k, n, more) => {
        const copy = { k0: k.k0, k1: k.k1 };
        expect(randomBits(copy, n)).toEqual(randomBits(k, n));
        expect(randomBits(k, n + more).subarray(0, n)).toEqual(randomBits(k, n));
        expect(uniform(copy, n)).toEqual(uniform(k, n));
        expect(normal(copy, n)).toEqual(normal(k, n));
        expect(randint(copy, n, -3, 1000)).toEqual(randint(k, n, -3, 1000));
        expect(permutation(copy, n)).toEqual(permutation(k, n));
      }),
      { numRuns: 100 },
    );
  });
});

describe('uniform', () => {
  const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e30, max: 1e30 });

  it('stays in [lo, hi) (as float32s) for any bounds', () => {
    fc.assert(
      fc.property(arbKey, finite, finite, (k, a, b) => {
        const lo = Math.fround(Math.min(a, b)), hi = Math.fround(Math.max(a, b));
        fc.pre(lo < hi);
        for (const v of uniform(k, 256, lo, hi)) {
          expect(v).toBeGreaterThanOrEqual(lo);
          expect(v).toBeLessThan(hi);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('has mean 1/2 and variance 1/12 on [0, 1)', () => {
    const n = 100_000;
    fc.assert(
      fc.property(arbKey, (k) => {
        const u = uniform(k, n);
        // SE(mean) = √(1/12 / n); SE(variance) = √((μ₄ − σ⁴) / n) with μ₄ − σ⁴ = 1/80 − 1/144 = 1/180.
        expect(Math.abs(mean(u) - 0.5)).toBeLessThan(SIGMAS * Math.sqrt(1 / 12 / n));
        expect(Math.abs(variance(u) - 1 / 12)).toBeLessThan(SIGMAS * Math.sqrt(1 / 180 / n));
      }),
      { numRuns: 8 },
    );
  });
});

describe('normal', () => {
  it('has mean 0, variance 1 and P(|z| < 1) = 0.6827', () => {
    const n = 100_000;
    const inside = 0.6826894921370859;
    fc.assert(
      fc.property(arbKey, (k) => {
        const z = normal(k, n);
        expect(z.every(Number.isFinite)).toBe(true);
        // SE(mean) = 1/√n; SE(variance) = √(2/n) since E z⁴ − 1 = 2.
        expect(Math.abs(mean(z))).toBeLessThan(SIGMAS / Math.sqrt(n));
        expect(Math.abs(variance(z) - 1)).toBeLessThan(SIGMAS * Math.sqrt(2 / n));
        const frac = z.filter((v) => Math.abs(v) < 1).length / n;
        expect(Math.abs(frac - inside)).toBeLessThan(SIGMAS * Math.sqrt((inside * (1 - inside)) / n));
      }),
      { numRuns: 8 },
    );
  });

  it('its even and odd outputs (cos and sin of one pair) are uncorrelated', () => {
    const n = 40_000;
    fc.assert(
      fc.property(arbKey, (k) => {
        const z = normal(k, 2 * n);
        const even = z.filter((_, i) => i % 2 === 0), odd = z.filter((_, i) => i % 2 === 1);
        expect(Math.abs(correlation(even, odd))).toBeLessThan(SIGMAS / Math.sqrt(n));
      }),
      { numRuns: 5 },
    );
  });
});

describe('split and fold', () => {
  const n = 20_000;
  const uncorrelated = (streams: Float32Array[]): void => {
    for (let i = 0; i < streams.length; i++) {
      for (let j = i + 1; j < streams.length; j++) {
        expect(Math.abs(correlation(streams[i], streams[j]))).toBeLessThan(SIGMAS / Math.sqrt(n));
      }
    }
  };

  it('children differ from each other and from the parent, and their streams are uncorrelated', () => {
    fc.assert(
      fc.property(arbKey, (k) => {
        const children = split(k, 4);
        const all = [k, ...children];
        for (let i = 0; i < all.length; i++) {
          for (let j = i + 1; j < all.length; j++) expect(keyEquals(all[i], all[j])).toBe(false);
        }
        uncorrelated(all.map((c) => uniform(c, n)));
      }),
      { numRuns: 10 },
    );
  });

  it('folding in distinct data gives distinct, uncorrelated keys, apart from split children', () => {
    fc.assert(
      fc.property(arbKey, fc.uniqueArray(fc.maxSafeNat(), { minLength: 3, maxLength: 3 }), (k, data) => {
        const folded = data.map((d) => fold(k, d));
        const keys = [k, ...folded, ...split(k, 3)];
        const seen = new Set(keys.map((c) => `${c.k0}:${c.k1}`));
        expect(seen.size).toBe(keys.length);
        uncorrelated([k, ...folded].map((c) => uniform(c, n)));
      }),
      { numRuns: 10 },
    );
  });

  it('adjacent seeds’ streams are uncorrelated too (Philox mixes nearby keys)', () => {
    fc.assert(
      fc.property(u32, u32, (k0, k1) => {
        const next = { k0, k1: (k1 + 1) >>> 0 };
        uncorrelated([uniform({ k0, k1 }, n), uniform(next, n)]);
      }),
      { numRuns: 10 },
    );
  });
});

describe('randint', () => {
  it('stays in [lo, hi) for any int32 bounds', () => {
    const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 });
    fc.assert(
      fc.property(arbKey, int32, int32, (k, a, b) => {
        fc.pre(a !== b);
        const lo = Math.min(a, b), hi = Math.max(a, b);
        for (const v of randint(k, 200, lo, hi)) {
          expect(v).toBeGreaterThanOrEqual(lo);
          expect(v).toBeLessThan(hi);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('covers [lo, hi) uniformly (χ² test)', () => {
    fc.assert(
      fc.property(arbKey, fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 2, max: 60 }), (k, lo, range) => {
        const n = 60_000;
        const counts = new Float64Array(range);
        for (const v of randint(k, n, lo, lo + range)) counts[v - lo]++;
        expect(chiSquare(counts, n)).toBeLessThan(chiSquareBound(range - 1));
      }),
      { numRuns: 20 },
    );
  });

  it('has no modulo bias where 2^32 mod range is large (range 3·2^30)', () => {
    // Modulo reduction would put half the mass in the lowest third of the range.
    fc.assert(
      fc.property(arbKey, (k) => {
        const n = 30_000;
        const counts = new Float64Array(3);
        for (const v of randint(k, n, -(2 ** 31), 2 ** 30)) counts[Math.floor((v + 2 ** 31) / 2 ** 30)]++;
        expect(chiSquare(counts, n)).toBeLessThan(chiSquareBound(2));
      }),
      { numRuns: 10 },
    );
  });
});

describe('permutation', () => {
  it('is a permutation of 0..n−1', () => {
    fc.assert(
      fc.property(arbKey, fc.nat(2000), (k, n) => {
        const p = Array.from(permutation(k, n)).sort((a, b) => a - b);
        expect(p).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
      { numRuns: 100 },
    );
  });

  it('draws each of the 24 orders of 4 items equally often (χ² test)', () => {
    fc.assert(
      fc.property(arbKey, (k) => {
        const n = 24_000;
        const counts = new Map<string, number>();
        for (let i = 0; i < n; i++) {
          const order = permutation(fold(k, i), 4).join('');
          counts.set(order, (counts.get(order) ?? 0) + 1);
        }
        expect(counts.size).toBe(24);
        expect(chiSquare([...counts.values()], n)).toBeLessThan(chiSquareBound(23));
      }),
      { numRuns: 3 },
    );
  });
});

describe('bernoulli', () => {
  it('gives 0/1 with mean p', () => {
    fc.assert(
      fc.property(arbKey, fc.double({ min: 0, max: 1, noNaN: true }), (k, p) => {
        const n = 20_000;
        const b = bernoulli(k, n, p);
        expect(b.every((x) => x === 0 || x === 1)).toBe(true);
        // 6/n slack covers p so close to 0 or 1 that the count is Poisson, not normal.
        expect(Math.abs(mean(b) - p)).toBeLessThanOrEqual(SIGMAS * Math.sqrt((p * (1 - p)) / n) + SIGMAS / n);
      }),
      { numRuns: 30 },
    );
  });
});

describe('checkpoint JSON', () => {
  it('round trips exactly, and the restored key gives the same stream', () => {
    fc.assert(
      fc.property(arbKey, (k) => {
        const back = keyFromJSON(JSON.parse(JSON.stringify(keyToJSON(k))));
        expect(back).toEqual(E.right({ k0: k.k0, k1: k.k1 }));
        if (E.isRight(back)) expect(randomBits(back.right, 9)).toEqual(randomBits(k, 9));
      }),
    );
  });
});
