/**
 * The Fréchet distance between two Gaussians fitted to feature sets, as FID computes it for
 * Inception features and as "MNIST-FD" computes it here for the yardstick classifier's features:
 *
 *   d² = |μ₁ − μ₂|² + tr(Σ₁ + Σ₂ − 2·(Σ₁^½ Σ₂ Σ₁^½)^½)
 *
 * All in float64. The trace of the matrix square root is taken from the eigenvalues of the
 * symmetric product Σ₁^½ Σ₂ Σ₁^½ (it has the eigenvalues of Σ₁Σ₂, but stays symmetric, so a
 * Jacobi eigen-decomposition is exact to rounding and needs no complex arithmetic); Σ₁^½ comes
 * from Σ₁'s own decomposition. Tiny negative eigenvalues from rounding are clamped to 0.
 */

/** Mean and covariance of n feature vectors of dimension d (the covariance with n − 1, as numpy's cov). */
export interface GaussianStats {
  readonly n: number;
  readonly d: number;
  /** [d] */
  readonly mean: Float64Array;
  /** [d, d], row-major, symmetric */
  readonly cov: Float64Array;
}

/** Stats of `features` [n, d] (row-major). Needs n ≥ 2. */
export const gaussianStats = (features: ArrayLike<number>, d: number): GaussianStats => {
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`gaussianStats: dimension must be a positive integer, got ${d}`);
  const n = features.length / d;
  if (!Number.isInteger(n)) throw new RangeError(`gaussianStats: ${features.length} values are not a whole number of ${d}-vectors`);
  if (n < 2) throw new RangeError(`gaussianStats: a covariance needs at least 2 vectors, got ${n}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += features[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) centred[j] = features[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ca = centred[a];
      if (ca === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ca * centred[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b] / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  return { n, d, mean, cov };
};

/**
 * Eigen-decomposition of a symmetric matrix [d, d] by cyclic Jacobi rotations:
 * a = V·diag(values)·Vᵀ, the eigenvectors as V's columns.
 */
export const symmetricEigen = (a: ArrayLike<number>, d: number): { readonly values: Float64Array; readonly vectors: Float64Array } => {
  if (a.length !== d * d) throw new RangeError(`symmetricEigen: ${a.length} values are not a ${d}×${d} matrix`);
  const m = Float64Array.from(a);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  const offNorm = () => {
    let s = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) s += m[p * d + q] ** 2;
    return s;
  };
  let scale = 0;
  for (let i = 0; i < d * d; i++) scale += m[i] ** 2;
  for (let sweep = 0; sweep < 100 && offNorm() > 1e-30 * scale; sweep++) {
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q];
        if (apq === 0) continue;
        // the rotation that zeroes m[p, q]: tan(2θ) = 2·apq / (aqq − app), taking the smaller root
        const theta = (m[q * d + q] - m[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          // columns p and q of m·R
          const mkp = m[k * d + p];
          const mkq = m[k * d + q];
          m[k * d + p] = c * mkp - s * mkq;
          m[k * d + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < d; k++) {
          // rows p and q of Rᵀ·m
          const mpk = m[p * d + k];
          const mqk = m[q * d + k];
          m[p * d + k] = c * mpk - s * mqk;
          m[q * d + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p];
          const vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = m[i * d + i];
  return { values, vectors: v };
};

/** The symmetric square root V·diag(√max(λ, 0))·Vᵀ of a symmetric positive semi-definite matrix. */
export const psdSqrt = (a: ArrayLike<number>, d: number): Float64Array => {
  const { values, vectors } = symmetricEigen(a, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const r = Math.sqrt(Math.max(values[k], 0));
    if (r === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = vectors[i * d + k] * r;
      for (let j = 0; j < d; j++) out[i * d + j] += vik * vectors[j * d + k];
    }
  }
  return out;
};

const matmulSquare = (a: Float64Array, b: ArrayLike<number>, d: number): Float64Array => {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += aik * b[k * d + j];
    }
  }
  return out;
};

/** The squared Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂); 0 for identical stats, never negative. */
export const frechetDistance = (s1: GaussianStats, s2: GaussianStats): number => {
  if (s1.d !== s2.d) throw new RangeError(`frechetDistance: feature dimensions differ (${s1.d} vs ${s2.d})`);
  const d = s1.d;
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (s1.mean[j] - s2.mean[j]) ** 2;
  const root1 = psdSqrt(s1.cov, d);
  const product = matmulSquare(matmulSquare(root1, s2.cov, d), root1, d);
  // symmetrise against rounding before the decomposition
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const v = (product[i * d + j] + product[j * d + i]) / 2;
      product[i * d + j] = v;
      product[j * d + i] = v;
    }
  }
  const { values } = symmetricEigen(product, d);
  let traceRoot = 0;
  for (const v of values) traceRoot += Math.sqrt(Math.max(v, 0));
  let traces = 0;
  for (let i = 0; i < d; i++) traces += s1.cov[i * d + i] + s2.cov[i * d + i];
  return Math.max(0, meanTerm + traces - 2 * traceRoot);
};
