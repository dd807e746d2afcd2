/**
 * The vector algebra the Winograd kernels are written in: sums and differences of v128 locals,
 * linear combinations read off the transform matrices, and 4×4 transposes between rows of tiles
 * and tiles in lanes.
 *
 * Both tile sizes emit their transforms from the matrices of `winogradMatrices` (zero coefficients
 * skipped, ±1 as add/sub): for F(4×4, 3×3) a group of 4 tiles spans 16 image columns, lane L of a
 * vector is tile L, and tile columns are read and written as 4×4 transposes of the row's vectors;
 * F(2×2, 3×3)'s matrices hold only 0 and ±1, so its maps are sums and differences.
 */
import { type Code, v128 } from './emitter.ts';
import { winogradMatrices } from '../backend.ts';

export type Op = 'f32x4_add' | 'f32x4_sub';

/** c.set(dst) of a op b for v128 locals. */
export const bin = (c: Code, dst: number, a: number, op: Op, b: number): void => {
  c.get(a).get(b).simd(op).set(dst);
};

export const { BT: BT4, AT: AT4 } = winogradMatrices(4);
export const { BT: BT2, AT: AT2 } = winogradMatrices(2);

/** Row i of `m` as terms over the locals xs: Σ_k m[i][k]·xs[k]. */
export const rowTerms = (m: readonly (readonly number[])[], i: number, xs: readonly number[]): Terms => m[i].map((k, t) => [k, xs[t]] as const);

/** Column j of `m` as terms over the locals xs: Σ_k m[k][j]·xs[k] (the transpose's row j). */
export const columnTerms = (m: readonly (readonly number[])[], j: number, xs: readonly number[]): Terms => m.map((row, t) => [row[j], xs[t]] as const);

/** Terms [k, x] of a linear combination: coefficient k, v128 local x. */
export type Terms = readonly (readonly [number, number])[];

/** Emits dst = Σ k·x (see {@link linearCombination}). */
export type Lin = (dst: number, terms: Terms) => void;

/**
 * dst = Σ k·x over the terms with k ≠ 0 (a +1 term first when there is one). With `fma` (relaxed
 * SIMD available), each k·x + acc (k ≠ ±1) is one f32x4.relaxed_madd accumulating in dst.
 */
export const linearCombination = (c: Code, fma: boolean): Lin => (dst, terms) => {
  const nz = terms.filter(([k]) => k !== 0);
  const first = Math.max(0, nz.findIndex(([k]) => k === 1));
  const ordered = [nz[first], ...nz.filter((_, i) => i !== first)];
  const [k0, x0] = ordered[0];
  c.get(x0);
  if (k0 === -1) c.simd('f32x4_neg');
  else if (k0 !== 1) c.f32x4(k0).simd('f32x4_mul');
  if (fma) {
    if (nz.some(([, x]) => x === dst)) throw new Error('lin: dst must not be a term');
    c.set(dst);
    for (const [k, x] of ordered.slice(1)) {
      if (k === 1) c.get(dst).get(x).simd('f32x4_add');
      else if (k === -1) c.get(dst).get(x).simd('f32x4_sub');
      else c.get(x).f32x4(k).get(dst).simd('f32x4_relaxed_madd');
      c.set(dst);
    }
    return;
  }
  for (const [k, x] of ordered.slice(1)) {
    if (k === 1) c.get(x).simd('f32x4_add');
    else if (k === -1) c.get(x).simd('f32x4_sub');
    else if (k > 0) c.get(x).f32x4(k).simd('f32x4_mul').simd('f32x4_add');
    else c.get(x).f32x4(-k).simd('f32x4_mul').simd('f32x4_sub');
  }
  c.set(dst);
};

/** t = the 4×4 transpose of rows p (s: 4 scratch v128 locals). Only the first `count` of t are made. */
export const transpose = (c: Code, p: readonly number[], t: readonly number[], s: readonly number[], count = 4): void => {
  c.get(p[0]).get(p[1]).shuffle32(0, 4, 1, 5).set(s[0]);
  c.get(p[2]).get(p[3]).shuffle32(0, 4, 1, 5).set(s[1]);
  c.get(s[0]).get(s[1]).shuffle32(0, 1, 4, 5).set(t[0]);
  c.get(s[0]).get(s[1]).shuffle32(2, 3, 6, 7).set(t[1]);
  if (count <= 2) return;
  c.get(p[0]).get(p[1]).shuffle32(2, 6, 3, 7).set(s[2]);
  c.get(p[2]).get(p[3]).shuffle32(2, 6, 3, 7).set(s[3]);
  c.get(s[2]).get(s[3]).shuffle32(0, 1, 4, 5).set(t[2]);
  c.get(s[2]).get(s[3]).shuffle32(2, 3, 6, 7).set(t[3]);
};

export const vlocals = (c: Code, n: number): number[] => Array.from({ length: n }, () => c.local(v128));
