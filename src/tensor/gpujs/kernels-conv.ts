/** GPU.js kernels for products and convolutions: batched matmul, im2col and its adjoint col2im. */
import { type Im2colSpec, matmulOutputSize, type MatmulSpec } from '../backend.ts';
import { constant, type Constants, unravel } from './codegen.ts';
import { type CodegenTarget, fn, type KernelSpec } from './kernel-spec.ts';

export const convKernels = (t: CodegenTarget) => ({
  /** k ≥ 1. One thread per output element, a constant-bounded loop over k (and the batch, when summed). */
  matmul: (s: MatmulSpec): KernelSpec => ({
    key: `matmul:${s.batch}:${s.m}:${s.k}:${s.n}:${s.transA}:${s.transB}:${s.strideA}:${s.strideB}:${s.sumBatch === true}`,
    size: matmulOutputSize(s),
    make: () => {
      const c: Constants = {};
      const [M, K, N] = [constant(c, 'm', s.m), constant(c, 'k', s.k), constant(c, 'n', s.n)];
      const summed = s.sumBatch === true && s.batch > 1;
      const batched = s.batch > 1 && !summed;
      const [row, col] = batched ? ['i1', 'i2'] : ['i0', 'i1'];
      const b = summed ? 'bi' : 'i0';
      const aBase = s.batch > 1 && s.strideA !== 0 ? `${b} * ${constant(c, 'strideA', s.strideA)} + ` : '';
      const bBase = s.batch > 1 && s.strideB !== 0 ? `${b} * ${constant(c, 'strideB', s.strideB)} + ` : '';
      const inner = [
        `let aOff = ${aBase}${s.transA ? row : `${row} * ${K}`};`,
        `let bOff = ${bBase}${s.transB ? `${col} * ${K}` : col};`,
        `for (let k = 0; k < ${K}; k++) {`,
        `acc += xa[aOff + ${s.transA ? `k * ${M}` : 'k'}] * xb[bOff + ${s.transB ? 'k' : `k * ${N}`}];`,
        '}',
      ];
      const source = fn(['xa', 'xb'], [
        'let i = this.thread.x;',
        unravel('i', batched ? [constant(c, 'batch', s.batch), M, N] : [M, N], 'i', t.gl),
        'let acc = 0.0;',
        ...(summed ? [`for (let bi = 0; bi < ${constant(c, 'batch', s.batch)}; bi++) {`, ...inner, '}'] : inner),
        'return acc;',
      ]);
      return { source, constants: c };
    },
  }),

  /** Scalar argument: the value read outside the image. */
  im2col: (s: Im2colSpec): KernelSpec => ({
    key: `im2col:${im2colKey(s)}`, size: s.n * s.c * s.kh * s.kw * s.oh * s.ow,
    make: () => {
      const c: Constants = {};
      const k = im2colConstants(c, s);
      const dims = [constant(c, 'n', s.n), k.C, k.KH, k.KW, k.OH, k.OW];
      const source = fn(['x', 'padValue'], [
        'let i = this.thread.x;', unravel('i', dims, 'i', t.gl),
        `let y = i4 * ${k.SH} - ${k.PH} + i2;`,
        `let xx = i5 * ${k.SW} - ${k.PW} + i3;`,
        'let outside = (y < 0.0 ? 1.0 : 0.0) + (xx < 0.0 ? 1.0 : 0.0)',
        `  + (y >= ${k.H} ? 1.0 : 0.0) + (xx >= ${k.W} ? 1.0 : 0.0);`,
        `let src = outside > 0.5 ? 0.0 : ((i0 * ${k.C} + i1) * ${k.H} + y) * ${k.W} + xx;`,
        'let v = x[src];',
        'return outside > 0.5 ? padValue : v;',
      ]);
      return { source, constants: c };
    },
  }),

  /** Each image pixel sums the kh·kw patch entries that read it (a constant-bounded double loop). */
  col2im: (s: Im2colSpec): KernelSpec => ({
    key: `col2im:${im2colKey(s)}`, size: s.n * s.c * s.h * s.w,
    make: () => {
      const c: Constants = {};
      const k = im2colConstants(c, s);
      const L = constant(c, 'l', s.oh * s.ow);
      const source = fn(['cols'], [
        'let i = this.thread.x;', unravel('i', [constant(c, 'n', s.n), k.C, k.H, k.W], 'i', t.gl),
        'let acc = 0.0;',
        `for (let ki = 0; ki < ${k.KH}; ki++) {`,
        `for (let kj = 0; kj < ${k.KW}; kj++) {`,
        `let ty = i2 + ${k.PH} - ki;`,
        `let tx = i3 + ${k.PW} - kj;`,
        // floor is exact whenever the division is: a wrong quotient only ever fails the test below.
        `let oy = Math.floor(ty / ${k.SH});`,
        `let ox = Math.floor(tx / ${k.SW});`,
        `let ok = (ty >= 0.0 ? 1.0 : 0.0) * (tx >= 0.0 ? 1.0 : 0.0) * (oy * ${k.SH} === ty ? 1.0 : 0.0)`,
        `  * (ox * ${k.SW} === tx ? 1.0 : 0.0) * (oy < ${k.OH} ? 1.0 : 0.0) * (ox < ${k.OW} ? 1.0 : 0.0);`,
        `let src = ok > 0.5 ? (((i0 * ${k.C} + i1) * ${k.KH} + ki) * ${k.KW} + kj) * ${L} + oy * ${k.OW} + ox : 0.0;`,
        'let v = cols[src];',
        'acc += ok > 0.5 ? v : 0.0;',
        '}',
        '}',
        'return acc;',
      ]);
      return { source, constants: c };
    },
  }),
});

const im2colFields = ['n', 'c', 'h', 'w', 'kh', 'kw', 'strideH', 'strideW', 'padH', 'padW', 'oh', 'ow'] as const;
const im2colKey = (s: Im2colSpec): string => im2colFields.map((f) => s[f]).join(',');

const im2colConstants = (c: Constants, s: Im2colSpec) => ({
  C: constant(c, 'c', s.c), H: constant(c, 'h', s.h), W: constant(c, 'w', s.w),
  KH: constant(c, 'kh', s.kh), KW: constant(c, 'kw', s.kw), SH: constant(c, 'sh', s.strideH),
  SW: constant(c, 'sw', s.strideW), PH: constant(c, 'ph', s.padH), PW: constant(c, 'pw', s.padW),
  OH: constant(c, 'oh', s.oh), OW: constant(c, 'ow', s.ow),
});

