/**
 * Laws of the Fréchet distance and of the eigen-decomposition under it, in float64: fd(x, x) = 0,
 * symmetry, a translation of one set by v adds |v|², the decomposition reconstructs its matrix
 * with orthonormal vectors, and the distance agrees with an independent float64 reference (the
 * trace of sqrtm(Σ₁Σ₂) by the Denman–Beavers iteration, not by eigenvalues) on small cases.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { frechetDistance, gaussianStats, type GaussianStats, psdSqrt, symmetricEigen } from '../src/eval/frechet.ts';
import { classHistogram, confidentShare, coverage } from '../src/eval/quality.ts';

/** n feature vectors of dimension d, drawn as correlated values (a random linear map of uniforms) so covariances are full. */
const arbFeatures = (minD = 1, maxD = 6) => fc.record({
  d: fc.integer({ min: minD, max: maxD }),
  n: fc.integer({ min: 2, max: 40 }),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  scale: fc.double({ min: 0.01, max: 100, noNaN: true }),
}).map(({ d, n, seed, scale }) => {
  let s = seed;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const mix = Array.from({ length: d * d }, next);
  const raw = Array.from({ length: n * d }, next);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) x[i * d + j] += scale * mix[j * d + k] * raw[i * d + k];
  return { d, n, x };
});

const traceOf = (s: GaussianStats) => Array.from({ length: s.d }, (_, i) => s.cov[i * s.d + i]).reduce((a, b) => a + b, 0);

/** Denman–Beavers: Y → sqrt(A), Z → sqrt(A)⁻¹, for a matrix with positive real eigenvalues. */
const sqrtmDenmanBeavers = (a: Float64Array, d: number): Float64Array => {
  const inverse = (m: Float64Array) => {
    const w = 2 * d;
    const g = new Float64Array(d * w);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) g[i * w + j] = m[i * d + j];
      g[i * w + d + i] = 1;
    }
    for (let c = 0; c < d; c++) {
      let p = c;
      for (let r = c + 1; r < d; r++) if (Math.abs(g[r * w + c]) > Math.abs(g[p * w + c])) p = r;
      for (let j = 0; j < w; j++) [g[c * w + j], g[p * w + j]] = [g[p * w + j], g[c * w + j]];
      const piv = g[c * w + c];
      for (let j = 0; j < w; j++) g[c * w + j] /= piv;
      for (let r = 0; r < d; r++) {
        if (r === c) continue;
        const f = g[r * w + c];
        for (let j = 0; j < w; j++) g[r * w + j] -= f * g[c * w + j];
      }
    }
    const o = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) o[i * d + j] = g[i * w + d + j];
    return o;
  };
  let y = Float64Array.from(a);
  let z = new Float64Array(d * d);
  for (let i = 0; i < d; i++) z[i * d + i] = 1;
  for (let it = 0; it < 100; it++) {
    const yi = inverse(y);
    const zi = inverse(z);
    const ny = y.map((v, i) => (v + zi[i]) / 2);
    const nz = z.map((v, i) => (v + yi[i]) / 2);
    const change = ny.reduce((s, v, i) => s + Math.abs(v - y[i]), 0);
    y = ny;
    z = nz;
    if (change < 1e-15 * d * d) break;
  }
  return y;
};

/** The textbook formula with sqrtm(Σ₁Σ₂) from Denman–Beavers (Σ₁Σ₂ has positive eigenvalues for positive-definite Σs). */
const referenceFd = (s1: GaussianStats, s2: GaussianStats): number => {
  const d = s1.d;
  const prod = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) prod[i * d + j] += s1.cov[i * d + k] * s2.cov[k * d + j];
  const root = sqrtmDenmanBeavers(prod, d);
  let tr = 0;
  for (let i = 0; i < d; i++) tr += root[i * d + i];
  let mean = 0;
  for (let j = 0; j < d; j++) mean += (s1.mean[j] - s2.mean[j]) ** 2;
  return mean + traceOf(s1) + traceOf(s2) - 2 * tr;
};

describe('symmetric eigen-decomposition', () => {
  it('reconstructs the matrix with orthonormal eigenvectors', () => {
    fc.assert(fc.property(arbFeatures(1, 8), ({ d, x }) => {
      const { cov } = gaussianStats(x, d);
      const { values, vectors } = symmetricEigen(cov, d);
      const norm = Math.max(...Array.from(cov, Math.abs), 1e-300);
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          let back = 0;
          let gram = 0;
          for (let k = 0; k < d; k++) {
            back += vectors[i * d + k] * values[k] * vectors[j * d + k];
            gram += vectors[k * d + i] * vectors[k * d + j];
          }
          expect(Math.abs(back - cov[i * d + j])).toBeLessThan(1e-10 * norm);
          expect(Math.abs(gram - (i === j ? 1 : 0))).toBeLessThan(1e-12);
        }
      }
    }));
  });

  it('psdSqrt squares back to the matrix', () => {
    fc.assert(fc.property(arbFeatures(1, 8), ({ d, n, x }) => {
      const { cov } = gaussianStats(x, d);
      const r = psdSqrt(cov, d);
      const norm = Math.max(...Array.from(cov, Math.abs));
      // a rank-deficient Σ (n ≤ d) has tiny negative eigenvalues from rounding, clamped to 0: compare with a looser bound
      const tol = (n > d ? 1e-9 : 1e-7) * norm;
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
        let sq = 0;
        for (let k = 0; k < d; k++) sq += r[i * d + k] * r[k * d + j];
        expect(Math.abs(sq - cov[i * d + j])).toBeLessThan(tol);
      }
    }));
  });
});

describe('Fréchet distance', () => {
  it('is 0 between a set and itself', () => {
    fc.assert(fc.property(arbFeatures(), ({ d, x }) => {
      const s = gaussianStats(x, d);
      expect(frechetDistance(s, s)).toBeLessThanOrEqual(1e-6 * traceOf(s));
    }));
  });

  it('is symmetric', () => {
    fc.assert(fc.property(arbFeatures(3, 3), arbFeatures(3, 3), (a, b) => {
      const s1 = gaussianStats(a.x, 3);
      const s2 = gaussianStats(b.x, 3);
      const f12 = frechetDistance(s1, s2);
      const f21 = frechetDistance(s2, s1);
      // √ of near-zero eigenvalues amplifies rounding: agreement to 1e-6 of the scale is what float64 gives here
      expect(Math.abs(f12 - f21)).toBeLessThanOrEqual(1e-6 * (traceOf(s1) + traceOf(s2)));
    }));
  });

  it('grows by |v|² when one set is translated by v', () => {
    fc.assert(fc.property(arbFeatures(), fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 8, maxLength: 8 }), ({ d, n, x }, v) => {
      const moved = x.map((value, i) => value + v[i % d]);
      const s = gaussianStats(x, d);
      const shifted = frechetDistance(s, gaussianStats(moved, d));
      const norm2 = v.slice(0, d).reduce((acc, c) => acc + c * c, 0);
      expect(Math.abs(shifted - norm2)).toBeLessThanOrEqual(1e-12 * norm2 + 1e-6 * traceOf(s));
      expect(n).toBeGreaterThanOrEqual(2);
    }));
  });

  it('agrees with a float64 reference that takes sqrtm(Σ₁Σ₂) by the Denman–Beavers iteration', () => {
    // n > d + 1 keeps both covariances positive definite, so Σ₁Σ₂ has positive eigenvalues
    fc.assert(fc.property(arbFeatures(1, 5), arbFeatures(1, 5), (a, b) => {
      const d = Math.min(a.d, b.d);
      const take = (f: { d: number; x: Float64Array }) => Float64Array.from({ length: (f.x.length / f.d) * d }, (_, i) => f.x[Math.floor(i / d) * f.d + (i % d)]);
      fc.pre(a.n > d + 2 && b.n > d + 2);
      const s1 = gaussianStats(take(a), d);
      const s2 = gaussianStats(take(b), d);
      const ref = referenceFd(s1, s2);
      const got = frechetDistance(s1, s2);
      expect(Math.abs(got - Math.max(ref, 0))).toBeLessThanOrEqual(1e-6 * (traceOf(s1) + traceOf(s2)) + 1e-9 * ref);
    }));
  });

  it('matches the closed form in one dimension: (μ₁ − μ₂)² + (σ₁ − σ₂)²', () => {
    fc.assert(fc.property(arbFeatures(1, 1), arbFeatures(1, 1), (a, b) => {
      const s1 = gaussianStats(a.x, 1);
      const s2 = gaussianStats(b.x, 1);
      const want = (s1.mean[0] - s2.mean[0]) ** 2 + (Math.sqrt(s1.cov[0]) - Math.sqrt(s2.cov[0])) ** 2;
      expect(Math.abs(frechetDistance(s1, s2) - want)).toBeLessThanOrEqual(1e-9 * (want + s1.cov[0] + s2.cov[0]));
    }));
  });
});

describe('classifier-read figures', () => {
  it('confidentShare counts rows whose top probability reaches the threshold', () => {
    fc.assert(fc.property(fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 30 }), fc.double({ min: 0.05, max: 1, noNaN: true }), (rows, th) => {
      const want = rows.filter((r) => Math.max(...r) >= th).length / rows.length;
      expect(confidentShare(rows.flat(), 3, th)).toBe(want);
    }));
  });

  it('coverage is 1 for a uniform histogram, 0 for one class, and does not depend on class order', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 200 }), (labels) => {
      const h = classHistogram(labels, 10);
      expect(h.reduce((a, b) => a + b, 0)).toBe(labels.length);
      const c = coverage(h);
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThanOrEqual(1 + 1e-12);
      expect(Math.abs(coverage([...h].reverse()) - c)).toBeLessThan(1e-12);
    }));
    expect(coverage([5, 5, 5, 5])).toBeCloseTo(1, 12);
    expect(coverage([0, 7, 0, 0])).toBe(0);
  });
});
