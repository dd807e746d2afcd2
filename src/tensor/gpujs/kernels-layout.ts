/** GPU.js kernels that move data: strided views, padding, concatenation, gather and its adjoint scatter-add. */
import { collapseDims, constant, type Constants, dot, unravel } from './codegen.ts';
import { type CodegenTarget, dimConstants, fn, type KernelSpec, product } from './kernel-spec.ts';

export const layoutKernels = (t: CodegenTarget) => ({
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
});
