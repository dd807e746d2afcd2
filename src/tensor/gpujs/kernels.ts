/**
 * One GPU.js kernel per (op, shape): each builder returns a cache key and, lazily, the kernel's
 * source and constants. Outputs are flat (1-D, `size` long); every kernel starts from the flat
 * thread index and unravels it with constant dims.
 *
 * Argument order is fixed per kernel: the input buffers first, then scalar arguments (pad values,
 * which may be ±Infinity and so cannot be shader literals).
 */
import { type BinaryOp, type Im2colSpec, matmulOutputSize, type MatmulSpec, type ReduceOp, type UnaryOp } from '../backend.ts';
import {
  binaryBody, collapseDims, constant, dot, unaryBody, unravel, type Constants,
} from './codegen.ts';

export interface KernelSource {
  readonly source: string;
  readonly constants: Constants;
}

export interface KernelSpec {
  /** Everything that determines source, constants and output size. */
  readonly key: string;
  /** Output length. */
  readonly size: number;
  readonly make: () => KernelSource;
}

/** What differs between modes: GL needs exact quotients and a pow defined for negative bases. */
export interface CodegenTarget {
  readonly gl: boolean;
}

const fn = (params: readonly string[], lines: readonly string[]): string =>
  `function (${params.join(', ')}) {\n${lines.filter((l) => l !== '').join('\n')}\n}`;

const product = (xs: readonly number[]): number => xs.reduce((p, x) => p * x, 1);

/** Registers dims as constants `${name}0…` and returns their source expressions. */
const dimConstants = (c: Constants, name: string, dims: readonly number[]): string[] =>
  dims.map((n, d) => constant(c, `${name}${d}`, n));

/** The most inputs one concat kernel takes; the backend chains longer lists. */
export const maxConcatInputs = 8;

export const kernels = (t: CodegenTarget) => ({
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

  strided: (outShape: readonly number[], strides: readonly number[], offset: number): KernelSpec => {
    const { shape, strides: [st] } = collapseDims(outShape, [strides]);
    return {
      key: `strided:${shape}:${st}:${offset}`, size: product(outShape),
      make: () => {
        const c: Constants = {};
        const dims = dimConstants(c, 'd', shape);
        const base = offset === 0 ? '0' : constant(c, 'offset', offset);
        const src = dot(shape.map((_, d) => `i${d}`), dimConstants(c, 's', st), st.map((x) => x === 0), base);
        const source = fn(['x'], ['let i = this.thread.x;', unravel('i', dims, 'i', t.gl), `return x[${src}];`]);
        return { source, constants: c };
      },
    };
  },

  /** Scalar argument: the pad value. */
  pad: (shape: readonly number[], before: readonly number[], after: readonly number[]): KernelSpec => {
    const outShape = shape.map((n, d) => n + before[d] + after[d]);
    return {
      key: `pad:${shape}:${before}:${after}`, size: product(outShape),
      make: () => {
        const c: Constants = {};
        const dims = dimConstants(c, 'o', outShape);
        const inDims = dimConstants(c, 'd', shape);
        const inStrides = shape.map((_, d) => constant(c, `s${d}`, product(shape.slice(d + 1))));
        const lines = ['let i = this.thread.x;', unravel('i', dims, 'i', t.gl), 'let outside = 0.0;'];
        shape.forEach((_, d) => {
          lines.push(`let j${d} = i${d}${before[d] ? ` - ${constant(c, `b${d}`, before[d])}` : ''};`);
          if (before[d]) lines.push(`outside += j${d} < 0.0 ? 1.0 : 0.0;`);
          if (after[d]) lines.push(`outside += j${d} >= ${inDims[d]} ? 1.0 : 0.0;`);
        });
        const src = dot(shape.map((_, d) => `j${d}`), inStrides, shape.map(() => false));
        lines.push(`let src = outside > 0.5 ? 0.0 : ${src};`, 'let v = x[src];',
          'return outside > 0.5 ? value : v;');
        return { source: fn(['x', 'value'], lines), constants: c };
      },
    };
  },

  /** Every inner ≥ 1 and at most maxConcatInputs inputs. */
  concat: (outer: number, inners: readonly number[]): KernelSpec => {
    const width = inners.reduce((s, w) => s + w, 0);
    return {
      key: `concat:${outer}:${inners}`, size: outer * width,
      make: () => {
        const c: Constants = {};
        const params = inners.map((_, j) => `x${j}`);
        const lines = ['let i = this.thread.x;'];
        if (outer > 1) lines.push(unravel('i', [constant(c, 'outer', outer), constant(c, 'width', width)], 'i', t.gl));
        else lines.push('let i0 = 0.0;', 'let i1 = i;');
        let start = 0;
        inners.forEach((w, j) => {
          const read = `x${j}[i0 * ${constant(c, `w${j}`, w)} + i1${start ? ` - ${constant(c, `o${j}`, start)}` : ''}]`;
          start += w;
          lines.push(j === inners.length - 1 ? `return ${read};`
            : `if (i1 < ${constant(c, `e${j}`, start)}) { return ${read}; }`);
        });
        return { source: fn(params, lines), constants: c };
      },
    };
  },

  gather: (outer: number, axisSize: number, inner: number, nIdx: number): KernelSpec => ({
    key: `gather:${outer}:${axisSize}:${inner}:${nIdx}`, size: outer * nIdx * inner,
    make: () => {
      const c: Constants = {};
      const [A, I] = [constant(c, 'axis', axisSize), constant(c, 'inner', inner)];
      const source = fn(['x', 'indices'], [
        'let i = this.thread.x;', unravel('i', [constant(c, 'outer', outer), constant(c, 'nIdx', nIdx), I], 'i', t.gl),
        'let j = Math.floor(indices[i1] + 0.5);',
        `j = Math.min(Math.max(j, 0.0), ${A} - 1.0);`,
        `return x[(i0 * ${A} + j) * ${I} + i2];`,
      ]);
      return { source, constants: c };
    },
  }),

  /** nIdx ≥ 1. Each output element loops over the indices and sums the matching rows of g. */
  scatterAdd: (outer: number, nIdx: number, inner: number, axisSize: number): KernelSpec => ({
    key: `scatterAdd:${outer}:${nIdx}:${inner}:${axisSize}`, size: outer * axisSize * inner,
    make: () => {
      const c: Constants = {};
      const [J, I] = [constant(c, 'nIdx', nIdx), constant(c, 'inner', inner)];
      const source = fn(['g', 'indices'], [
        'let i = this.thread.x;', unravel('i', [constant(c, 'outer', outer), constant(c, 'axis', axisSize), I], 'i', t.gl),
        'let acc = 0.0;',
        `for (let j = 0; j < ${J}; j++) {`,
        'let hit = Math.floor(indices[j] + 0.5) === i1 ? 1.0 : 0.0;',
        `let src = hit > 0.5 ? (i0 * ${J} + j) * ${I} + i2 : 0.0;`,
        'let v = g[src];',
        'acc += hit > 0.5 ? v : 0.0;',
        '}',
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

export type Kernels = ReturnType<typeof kernels>;
