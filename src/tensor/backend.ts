/**
 * The backend contract: storage (write/read/dispose) and the handful of kernels the primitives in
 * `src/ops` need. Every backend implements all of it and passes the same conformance properties
 * (`properties/backends.prop.ts`) against the plain reference backend.
 *
 * Conventions shared by every kernel:
 * - buffers are flat, row-major, float; a handle is opaque to everyone but its backend;
 * - a kernel never mutates its inputs and always returns a fresh handle the caller owns;
 * - shapes, strides and sizes are plain numbers computed by the ops layer, so kernels stay simple
 *   and can be specialised (cached) per shape.
 */

/** An opaque buffer owned by one backend. */
export type Handle = { readonly __handle: unique symbol };

export type FloatArray = Float32Array | Float64Array;

export const unaryOps = [
  'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'square', 'abs', 'sign', 'sin', 'cos', 'tanh', 'sigmoid',
  'relu', 'erf', 'reciprocal',
] as const;
export type UnaryOp = (typeof unaryOps)[number];

/** Arithmetic, then comparisons: comparisons return a 0/1 float mask. */
export const binaryOps = [
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum',
  'greater', 'greaterEqual', 'less', 'lessEqual', 'equal', 'notEqual',
] as const;
export type BinaryOp = (typeof binaryOps)[number];

export type ReduceOp = 'sum' | 'max';

/**
 * out[b] = opA(A[b]) · opB(B[b]) with A[b] at a + b·strideA (strideA = 0 broadcasts A); with
 * `sumBatch`, out is one [m, n] matrix Σ_b opA(A[b]) · opB(B[b]) (the gradient of a shared operand).
 */
export interface MatmulSpec {
  readonly batch: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  /** A is stored [k, m] instead of [m, k]. */
  readonly transA: boolean;
  /** B is stored [n, k] instead of [k, n]. */
  readonly transB: boolean;
  /** elements between consecutive batch matrices of A: m·k, or 0 to reuse one A. */
  readonly strideA: number;
  readonly strideB: number;
  /** Sum the batch's products into one [m, n] output instead of stacking them. */
  readonly sumBatch?: boolean;
}

/** Elements of a matmul's output. */
export const matmulOutputSize = (s: MatmulSpec): number => (s.sumBatch ? 1 : s.batch) * s.m * s.n;

/**
 * Patches of an NCHW image as columns: input [n, c, h, w] → output [n, c·kh·kw, oh·ow], row index
 * (ci·kh + ki)·kw + kj, column index oy·ow + ox; positions outside the image read `padValue`.
 */
export interface Im2colSpec {
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly kh: number;
  readonly kw: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padH: number;
  readonly padW: number;
  readonly oh: number;
  readonly ow: number;
}

export interface Backend {
  /** e.g. `plain`, `gpujs-cpu`, `gpujs-headlessgl`. */
  readonly name: string;
  /** Copies `data` into a new buffer. */
  write(data: FloatArray): Handle;
  /** A fresh copy of the buffer's `size` elements (the buffer is never exposed). */
  read(h: Handle, size: number): FloatArray;
  /** Frees a buffer; the handle must not be used again. */
  dispose(h: Handle): void;
  /** Number of buffers allocated and not disposed (for leak tests). */
  liveBuffers(): number;

  unary(op: UnaryOp, x: Handle, size: number): Handle;
  /**
   * out[i] = a[Σ idx_d·aStrides_d] op b[Σ idx_d·bStrides_d] over the multi-index idx of i in
   * `outShape` (a broadcast dimension has stride 0).
   */
  binary(op: BinaryOp, a: Handle, b: Handle, outShape: readonly number[],
    aStrides: readonly number[], bStrides: readonly number[]): Handle;
  /** out[i] = cond[i] != 0 ? a[i] : b[i]; all three of `size` elements. */
  where(cond: Handle, a: Handle, b: Handle, size: number): Handle;
  /** x viewed as [outer, inner] reduced over inner → [outer]. */
  reduceLast(op: ReduceOp, x: Handle, outer: number, inner: number): Handle;
  /**
   * x viewed as [outer, size, inner] reduced over the middle axis → [outer, inner] (sum or max), so
   * reducing a leading or middle axis needs no transposed copy. size ≥ 1.
   */
  reduceAxis(op: ReduceOp, x: Handle, outer: number, size: number, inner: number): Handle;
  matmul(a: Handle, b: Handle, spec: MatmulSpec): Handle;
  /**
   * Materialises a strided view: out[i] = x[offset + Σ idx_d·strides_d] for idx the multi-index of
   * i in `outShape`. Covers permute (strides permuted), broadcast (stride 0) and slice (offset).
   */
  strided(x: Handle, outShape: readonly number[], strides: readonly number[], offset: number): Handle;
  /** Constant padding: out has shape[d] + before[d] + after[d] in dimension d (before/after ≥ 0). */
  pad(x: Handle, shape: readonly number[], before: readonly number[], after: readonly number[],
    value: number): Handle;
  /** Each input viewed as [outer, inners[j]]; output [outer, Σ inners] with inputs side by side. */
  concat(xs: readonly Handle[], outer: number, inners: readonly number[]): Handle;
  /**
   * x viewed as [outer, axisSize, inner]; indices holds nIdx integer-valued floats in [0, axisSize);
   * output [outer, nIdx, inner] with out[o, j, i] = x[o, indices[j], i].
   */
  gather(x: Handle, indices: Handle, outer: number, axisSize: number, inner: number,
    nIdx: number): Handle;
  /** The adjoint of gather: g [outer, nIdx, inner] summed into [outer, axisSize, inner]. */
  scatterAdd(g: Handle, indices: Handle, outer: number, nIdx: number, inner: number,
    axisSize: number): Handle;
  /** See {@link Im2colSpec}. */
  im2col(x: Handle, spec: Im2colSpec, padValue: number): Handle;
  /** The adjoint of im2col (overlapping patches add up): [n, c·kh·kw, oh·ow] → [n, c, h, w]. */
  col2im(cols: Handle, spec: Im2colSpec): Handle;
}
