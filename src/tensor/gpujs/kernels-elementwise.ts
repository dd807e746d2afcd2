/** GPU.js kernels for elementwise maps and reductions: upload, unary, binary (strided), where, sums and maxima. */
import type { BinaryOp, ReduceOp, UnaryOp } from '../backend.ts';
import { binaryBody, collapseDims, constant, type Constants, dot, unaryBody, unravel } from './codegen.ts';
import { type CodegenTarget, dimConstants, fn, type KernelSpec, product } from './kernel-spec.ts';

export const elementwiseKernels = (t: CodegenTarget) => ({
  /** GL only: turns an uploaded Float32Array into a device texture once. */
  upload: (size: number): KernelSpec => ({
    key: `upload:${size}`, size,
    make: () => ({ source: fn(['x'], ['return x[this.thread.x];']), constants: {} }),
  }),

  unary: (op: UnaryOp, size: number): KernelSpec => ({
    key: `unary:${op}:${size}`, size,
    make: () => ({ source: fn(['x'], ['let v = x[this.thread.x];', unaryBody(op, 'v')]), constants: {} }),
  }),

  binary: (op: BinaryOp, outShape: readonly number[], aStrides: readonly number[],
    bStrides: readonly number[]): KernelSpec => {
    const { shape, strides: [as, bs] } = collapseDims(outShape, [aStrides, bStrides]);
    return {
      key: `binary:${op}:${shape}:${as}:${bs}`, size: product(outShape),
      make: () => {
        const c: Constants = {};
        const dims = dimConstants(c, 'd', shape);
        const idx = shape.map((_, d) => `i${d}`);
        const aIdx = dot(idx, dimConstants(c, 'as', as), as.map((s) => s === 0));
        const bIdx = dot(idx, dimConstants(c, 'bs', bs), bs.map((s) => s === 0));
        const source = fn(['xa', 'xb'], [
          'let i = this.thread.x;', unravel('i', dims, 'i', t.gl),
          `let av = xa[${aIdx}];`, `let bv = xb[${bIdx}];`, binaryBody(op, 'av', 'bv', t.gl),
        ]);
        return { source, constants: c };
      },
    };
  },

  where: (size: number): KernelSpec => ({
    key: `where:${size}`, size,
    make: () => ({
      source: fn(['xc', 'xa', 'xb'], [
        'let i = this.thread.x;', 'return xc[i] !== 0.0 ? xa[i] : xb[i];',
      ]),
      constants: {},
    }),
  }),

  /** size ≥ 1: x as [outer, size, inner], one thread per output element. */
  reduceAxis: (op: ReduceOp, outer: number, size: number, inner: number): KernelSpec => ({
    key: `reduceAxis:${op}:${outer}:${size}:${inner}`, size: outer * inner,
    make: () => {
      const c: Constants = {};
      const n = constant(c, 'size', size);
      const w = constant(c, 'inner', inner);
      const source = fn(['x'], [
        'let i = this.thread.x;',
        `let o = Math.floor(i / ${w});`,
        `let base = o * ${n} * ${w} + (i - o * ${w});`,
        'let acc = x[base];',
        `for (let k = 1; k < ${n}; k++) {`,
        op === 'max' ? `acc = Math.max(acc, x[base + k * ${w}]);` : `acc += x[base + k * ${w}];`,
        '}',
        'return acc;',
      ]);
      return { source, constants: c };
    },
  }),

  /** inner ≥ 1. */
  reduceLast: (op: ReduceOp, outer: number, inner: number): KernelSpec => ({
    key: `reduceLast:${op}:${outer}:${inner}`, size: outer,
    make: () => {
      const c: Constants = {};
      const n = constant(c, 'inner', inner);
      const source = fn(['x'], [
        `let base = this.thread.x * ${n};`,
        op === 'max' ? 'let acc = x[base];' : 'let acc = 0.0;',
        `for (let k = ${op === 'max' ? 1 : 0}; k < ${n}; k++) {`,
        op === 'max' ? 'acc = Math.max(acc, x[base + k]);' : 'acc += x[base + k];',
        '}',
        'return acc;',
      ]);
      return { source, constants: c };
    },
  }),
});
