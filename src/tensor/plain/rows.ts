/**
 * The fused row kernels (see RowKernels), the reference: loops in doubles, one rounding per output.
 */
import type { FloatArray, RowAct } from '../backend.ts';
import { checkLength } from './indexing.ts';

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** act(z) and act′(z). */
export const activation = (act: RowAct): { f: (z: number) => number; df: (z: number) => number } =>
  act === 'silu'
    ? { f: (z) => z * sigmoid(z), df: (z) => { const s = sigmoid(z); return s * (1 + z * (1 - s)); } }
    : { f: (z) => z, df: () => 1 };

export const checkRows = (kernel: string, rows: number, len: number, act?: RowAct): void => {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(len) || len < 1) {
    throw new RangeError(`${kernel}: rows (${rows}) must be an integer ≥ 0 and len (${len}) ≥ 1`);
  }
  if (act !== undefined && act !== 'identity' && act !== 'silu') throw new RangeError(`${kernel}: unknown activation ${String(act)}`);
};

export const rowMoments = (x: FloatArray, out: FloatArray, rows: number, len: number): void => {
  checkLength('rowMoments', 'x', x, rows * len);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = r * len; i < (r + 1) * len; i++) s += x[i];
    const mean = s / len;
    let q = 0;
    for (let i = r * len; i < (r + 1) * len; i++) q += (x[i] - mean) * (x[i] - mean);
    out[2 * r] = s;
    out[2 * r + 1] = q;
  }
};

export const rowAffineAct = (x: FloatArray, a: FloatArray, b: FloatArray, out: FloatArray, rows: number, len: number, act: RowAct): void => {
  checkLength('rowAffineAct', 'x', x, rows * len);
  checkLength('rowAffineAct', 'a', a, rows);
  checkLength('rowAffineAct', 'b', b, rows);
  const { f } = activation(act);
  for (let r = 0; r < rows; r++) {
    for (let i = r * len; i < (r + 1) * len; i++) out[i] = f(a[r] * x[i] + b[r]);
  }
};

export const rowAffineActGradSums = (x: FloatArray, gy: FloatArray, a: FloatArray, b: FloatArray, out: FloatArray,
  rows: number, len: number, act: RowAct): void => {
  checkLength('rowAffineActGradSums', 'x', x, rows * len);
  checkLength('rowAffineActGradSums', 'gy', gy, rows * len);
  checkLength('rowAffineActGradSums', 'a', a, rows);
  checkLength('rowAffineActGradSums', 'b', b, rows);
  const { df } = activation(act);
  for (let r = 0; r < rows; r++) {
    let s1 = 0;
    let s2 = 0;
    for (let i = r * len; i < (r + 1) * len; i++) {
      const gz = gy[i] * df(a[r] * x[i] + b[r]);
      s1 += gz;
      s2 += gz * x[i];
    }
    out[2 * r] = s1;
    out[2 * r + 1] = s2;
  }
};

export const rowAffineActGradInput = (x: FloatArray, gy: FloatArray, a: FloatArray, b: FloatArray, p: FloatArray,
  q: FloatArray, s: FloatArray, out: FloatArray, rows: number, len: number, act: RowAct): void => {
  for (const [what, t, n] of [['x', x, rows * len], ['gy', gy, rows * len], ['a', a, rows], ['b', b, rows], ['p', p, rows], ['q', q, rows], ['s', s, rows]] as const) {
    checkLength('rowAffineActGradInput', what, t, n);
  }
  const { df } = activation(act);
  for (let r = 0; r < rows; r++) {
    for (let i = r * len; i < (r + 1) * len; i++) {
      const gz = gy[i] * df(a[r] * x[i] + b[r]);
      out[i] = p[r] * gz + q[r] * x[i] + s[r];
    }
  }
};
