/**
 * Source-text building blocks for GPU.js kernels. Kernels are generated as strings (GPU.js parses
 * them itself), specialised per op and shape, so every size, stride and rank is a compile-time
 * constant and no loop is ever bounded by a kernel argument (GPU.js silently stops those after
 * 1000 iterations).
 *
 * Two precision rules for the GL modes, where all index math runs in float32:
 * - every index stays below 2^24 (checked by the backend), so integer products and sums are exact;
 * - a shader's division is not correctly rounded, so `floor(i / d)` can land one off; `exact`
 *   unravelling corrects the quotient with an exact remainder test.
 */
import type { BinaryOp, UnaryOp } from '../backend.ts';

/** Constants handed to `createKernel`; every entry is a plain number. */
export type Constants = Record<string, number>;

/** Writes a JS number as a literal GPU.js (and GLSL) accepts: always with a decimal point. */
export const lit = (x: number): string => {
  if (!Number.isFinite(x)) throw new Error(`gpujs codegen: non-finite literal ${x}`);
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
};

/** `this.constants.<name>`, for a name registered in `c` with `value`. */
export const constant = (c: Constants, name: string, value: number): string => {
  c[name] = value;
  return `this.constants.${name}`;
};

/**
 * Declares `${p}0 … ${p}{r-1}`, the row-major multi-index of the flat index expression `index`
 * over dims given as constant expressions. With `exact`, each quotient is corrected so that
 * 0 ≤ remainder < dim holds exactly even when the hardware division is off by an ulp.
 */
export const unravel = (index: string, dims: readonly string[], p: string, exact: boolean): string => {
  const r = dims.length;
  if (r === 0) return '';
  const lines = [`let ${p}q${r - 1} = ${index};`];
  for (let d = r - 1; d >= 1; d--) {
    const rem = `${p}q${d}`, q = `${p}q${d - 1}`, D = dims[d];
    lines.push(`let ${q} = Math.floor(${rem} / ${D});`, `let ${p}${d} = ${rem} - ${q} * ${D};`);
    if (exact) {
      lines.push(
        `if (${p}${d} < 0) { ${q} = ${q} - 1; ${p}${d} = ${p}${d} + ${D}; }`,
        `if (${p}${d} >= ${D}) { ${q} = ${q} + 1; ${p}${d} = ${p}${d} - ${D}; }`);
    }
  }
  lines.push(`let ${p}0 = ${p}q0;`);
  return lines.join('\n');
};

/** Σ idx_d·stride_d as source, skipping zero strides; `base` is added first. */
export const dot = (idx: readonly string[], strides: readonly string[], zero: readonly boolean[],
  base = '0'): string => {
  const terms = [base];
  idx.forEach((v, d) => { if (!zero[d]) terms.push(`${v} * ${strides[d]}`); });
  return terms.join(' + ');
};

/**
 * Merges adjacent dimensions that every stride list walks contiguously, and drops size-1
 * dimensions, so e.g. a same-shape add becomes rank 1. Returns at least rank 1.
 */
export const collapseDims = (shape: readonly number[], stridesList: readonly (readonly number[])[]):
  { shape: number[]; strides: number[][] } => {
  const dims: number[] = [];
  const strides: number[][] = stridesList.map(() => []);
  shape.forEach((n, d) => {
    if (n === 1) return;
    const last = dims.length - 1;
    const mergeable = last >= 0 && stridesList.every((s, j) => strides[j][last] === s[d] * n);
    if (mergeable) {
      dims[last] *= n;
      stridesList.forEach((s, j) => { strides[j][last] = s[d]; });
    } else {
      dims.push(n);
      stridesList.forEach((s, j) => strides[j].push(s[d]));
    }
  });
  if (dims.length === 0) return { shape: [1], strides: stridesList.map(() => [0]) };
  return { shape: dims, strides };
};

/** Horner form of Σ coeffs[i]·x^i as source. */
const horner = (x: string, coeffs: readonly number[]): string =>
  coeffs.reduceRight((acc, c, i) => (i === coeffs.length - 1 ? lit(c) : `(${lit(c)} + ${x} * ${acc})`), '');

/** tanh x = x·Σ c_n x^{2n} for |x| < 1/4 (error < 1e-8), else (1 − e^{−2|x|}) / (1 + e^{−2|x|}). */
const tanhSeries = [1, -1 / 3, 2 / 15, -17 / 315, 62 / 2835, -1382 / 155925];

/** erf x = 2/√π Σ (−1)^n x^{2n+1} / (n!(2n+1)) for |x| < 1 (12 terms, error < 2e-9). */
const erfSeries = Array.from({ length: 12 }, (_, n) => {
  let fact = 1;
  for (let i = 2; i <= n; i++) fact *= i;
  return (2 / Math.sqrt(Math.PI)) * (n % 2 ? -1 : 1) / (fact * (2 * n + 1));
});

/** Numerical Recipes' erfc Chebyshev fit (fractional error < 1.2e-7), used for |x| ≥ 1. */
const erfcFit = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
  -1.13520398, 1.48851587, -0.82215223, 0.17087277];

/** Statements computing `op` of `v` and returning it. Shared by every mode. */
export const unaryBody = (op: UnaryOp, v: string): string => {
  const ret = (e: string) => `return ${e};`;
  switch (op) {
    case 'neg': return ret(`-${v}`);
    case 'exp': return ret(`Math.exp(${v})`);
    case 'log': return ret(`Math.log(${v})`);
    case 'sqrt': return ret(`Math.sqrt(${v})`);
    case 'rsqrt': return ret(`1.0 / Math.sqrt(${v})`);
    case 'square': return ret(`${v} * ${v}`);
    case 'abs': return ret(`Math.abs(${v})`);
    case 'sign': return ret(`Math.sign(${v})`);
    case 'sin': return ret(`Math.sin(${v})`);
    case 'cos': return ret(`Math.cos(${v})`);
    case 'sigmoid': return ret(`1.0 / (1.0 + Math.exp(-${v}))`);
    case 'relu': return ret(`Math.max(${v}, 0.0)`);
    case 'reciprocal': return ret(`1.0 / ${v}`);
    case 'tanh': return [
      // GPU.js's own GL tanh is (e^{2x} − 1)/(e^{2x} + 1): NaN past |x| ≈ 44 and inexact near 0.
      `let ax = Math.abs(${v});`,
      `let small = ${v} * ${horner(`${v} * ${v}`, tanhSeries)};`,
      `let e = Math.exp(-2.0 * ax);`,
      `let big = (1.0 - e) / (1.0 + e);`,
      ret(`ax < 0.25 ? small : (${v} < 0.0 ? -big : big)`),
    ].join('\n');
    case 'erf': return [
      `let ax = Math.abs(${v});`,
      `let small = ${v} * ${horner(`${v} * ${v}`, erfSeries)};`,
      `let t = 1.0 / (1.0 + 0.5 * ax);`,
      `let big = 1.0 - t * Math.exp(-ax * ax + ${horner('t', erfcFit)});`,
      ret(`ax < 1.0 ? small : (${v} < 0.0 ? -big : big)`),
    ].join('\n');
  }
};

/**
 * Statements computing `a op b` and returning it. `gl` selects a pow that is defined for
 * negative bases (GLSL's pow is undefined there; JS gives ±|a|^b for integer b, else NaN).
 */
export const binaryBody = (op: BinaryOp, a: string, b: string, gl: boolean): string => {
  const ret = (e: string) => `return ${e};`;
  switch (op) {
    case 'add': return ret(`${a} + ${b}`);
    case 'sub': return ret(`${a} - ${b}`);
    case 'mul': return ret(`${a} * ${b}`);
    case 'div': return ret(`${a} / ${b}`);
    case 'maximum': return ret(`Math.max(${a}, ${b})`);
    case 'minimum': return ret(`Math.min(${a}, ${b})`);
    case 'greater': return ret(`(${a} > ${b} ? 1.0 : 0.0)`);
    case 'greaterEqual': return ret(`(${a} >= ${b} ? 1.0 : 0.0)`);
    case 'less': return ret(`(${a} < ${b} ? 1.0 : 0.0)`);
    case 'lessEqual': return ret(`(${a} <= ${b} ? 1.0 : 0.0)`);
    case 'equal': return ret(`(${a} === ${b} ? 1.0 : 0.0)`);
    case 'notEqual': return ret(`(${a} !== ${b} ? 1.0 : 0.0)`);
    case 'pow':
      if (!gl) return ret(`Math.pow(${a}, ${b})`);
      return [
        `let p = Math.pow(Math.abs(${a}), ${b});`,
        `let whole = Math.floor(${b}) === ${b} ? 1.0 : 0.0;`,
        `let odd = ${b} - 2.0 * Math.floor(0.5 * ${b});`,
        `let neg = whole > 0.5 ? (odd > 0.5 ? -p : p) : Math.sqrt(-1.0 - p);`,
        ret(`${a} < 0.0 ? neg : p`),
      ].join('\n');
  }
};
