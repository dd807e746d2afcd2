/**
 * The fast backend's row kernels (the fused group norm's moments, affine map and gradients) and its
 * fused Adam step, split by rows (or elements) over the worker threads when large.
 */
import type { Backend } from '../backend.ts';
import { checkRows } from '../plain/rows.ts';
import type { Handles } from './handles.ts';
import type { FastKernels } from './kernels.ts';
import { adamCoefficientNames } from './optim-wasm.ts';
import { runSplit } from './parallel.ts';

export const rowOps = ({ ew, workers }: FastKernels, { fresh, freshMany, inputs }: Handles): Required<Pick<Backend, 'rows' | 'optim'>> => {
  /**
   * A row kernel over `rows` rows of `len`, split by rows over threads when large: `ptrs(from)` gives
   * the call's pointers for a range starting at row `from`.
   */
  const overRows = (name: string, rows: number, len: number, ptrs: (from: number) => number[]): void => {
    const fn = ew[name as `rows_affine_${string}`];
    runSplit(workers, 1, name, rows, 1, (from, to) => [...ptrs(from), to - from, len], (p) => fn(...p), rows * len);
  };
  return {
    optim: {
      adam: (p, g, m, v, n, co) => {
        if (!Number.isInteger(n) || n < 0) throw new RangeError(`fast adam: n (${n}) must be an integer ≥ 0`);
        const [hp, hm, hv] = freshMany([n, n, n], ([op, om, ov]) => {
          const ins = inputs('adam', [['p', p, n], ['g', g, n], ['m', m, n], ['v', v, n]]);
          const coefficients = adamCoefficientNames.map((k) => co[k] ?? 0);
          runSplit(workers, 1, 'adam', n, 4, (from, to) => [...ins.map((b) => b.offset), op.offset, om.offset, ov.offset, from, to,
            ...coefficients, co.l2 === null ? 0 : 1, co.decay === null ? 0 : 1], (q) => ew.adam(...q));
        });
        return [hp, hm, hv] as const;
      },
    },

    rows: {
      moments: (x, rows, len) => (checkRows('rowMoments', rows, len), fresh(2 * rows, (out) => {
        const [xb] = inputs('rowMoments', [['x', x, rows * len]]);
        overRows('rows_moments', rows, len, (f) => [xb.offset + 4 * f * len, out.offset + 8 * f]);
      })),
      affineAct: (x, a, b, rows, len, act) => (checkRows('rowAffineAct', rows, len, act), fresh(rows * len, (out) => {
        const [xb, ab, bb] = inputs('rowAffineAct', [['x', x, rows * len], ['a', a, rows], ['b', b, rows]]);
        overRows(`rows_affine_${act}`, rows, len, (f) => [xb.offset + 4 * f * len, ab.offset + 4 * f, bb.offset + 4 * f, out.offset + 4 * f * len]);
      })),
      affineActGradSums: (x, gy, a, b, rows, len, act) => (checkRows('rowAffineActGradSums', rows, len, act), fresh(2 * rows, (out) => {
        const [xb, gb, ab, bb] = inputs('rowAffineActGradSums', [['x', x, rows * len], ['gy', gy, rows * len], ['a', a, rows], ['b', b, rows]]);
        overRows(`rows_gradsums_${act}`, rows, len, (f) => [xb.offset + 4 * f * len, gb.offset + 4 * f * len, ab.offset + 4 * f,
          bb.offset + 4 * f, out.offset + 8 * f]);
      })),
      affineActGradInput: (x, gy, a, b, p, q, s, rows, len, act) => (checkRows('rowAffineActGradInput', rows, len, act), fresh(rows * len, (out) => {
        const bs = inputs('rowAffineActGradInput', [['x', x, rows * len], ['gy', gy, rows * len], ['a', a, rows], ['b', b, rows],
          ['p', p, rows], ['q', q, rows], ['s', s, rows]]);
        overRows(`rows_gradinput_${act}`, rows, len, (f) => [...bs.map((blk, i) => blk.offset + 4 * f * (i < 2 ? len : 1)),
          out.offset + 4 * f * len]);
      })),
    },
  };
};
