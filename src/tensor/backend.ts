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

/**
 * A stride-1 3×3 convolution as Winograd F(m×m, 3×3) (Lavin & Gray, 2016), m = 2 or 4: the output
 * is cut into m×m tiles, tile t = (ni·th + a)·tw + b covering output rows m·a … m·a + m − 1 and the
 * same columns from m·b; it reads the α×α input patch (α = m + 2) at rows m·a − padH + r and
 * columns m·b − padW + s (zero outside). Transformed tensors are [α², channels, S] with ξ = α·i + j
 * the transform-domain position, T = n·th·tw tiles and S ≥ T the row stride ({@link winogradTiles}),
 * so the convolution is α² independent matmuls U_ξ [o, c] · V_ξ [c, S]. Columns T … S − 1 are
 * padding: the kernels that produce a transformed tensor write zeros there, those that read one
 * ignore them. F(4×4, 3×3) does 4× fewer multiply-adds than the direct convolution, F(2×2, 3×3)
 * 2.25×; F(4×4, 3×3)'s transforms have larger coefficients, so its float32 rounding error is larger.
 */
export interface WinogradSpec {
  readonly n: number;
  /** Channels of the image side: input channels for `winogradInput`, output ones for `winogradOutput`. */
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly padH: number;
  readonly padW: number;
  /** Output size h + 2·padH − 2 by w + 2·padW − 2 (≥ 1). */
  readonly oh: number;
  readonly ow: number;
  /** Output tile size m (default 2). */
  readonly tile?: 2 | 4;
}

/** Output tile size m and input tile size α = m + 2 of a spec. */
export const winogradTile = (s: WinogradSpec): { m: 2 | 4; alpha: number } => {
  const m = s.tile ?? 2;
  return { m, alpha: m + 2 };
};

/**
 * Tile rows and columns, T = n·th·tw, and the row stride S of a Winograd spec: the smallest 4·k ≥ T
 * with k odd, so rows stay 16-byte aligned while the ξ planes (c·S floats apart) do not all fall
 * on the same cache sets, as they would when c·T is a multiple of 1024 (every batch of 64).
 */
export const winogradTiles = (s: WinogradSpec): { th: number; tw: number; tiles: number; stride: number } => {
  const { m } = winogradTile(s);
  const th = Math.ceil(s.oh / m);
  const tw = Math.ceil(s.ow / m);
  const tiles = s.n * th * tw;
  const k = Math.ceil(tiles / 4);
  return { th, tw, tiles, stride: 4 * (k % 2 === 1 ? k : k + 1) };
};

type Matrix = readonly (readonly number[])[];

/**
 * The transform matrices of F(m×m, 3×3): V = Bᵀ·d·B for an α×α patch d, U = G·g·Gᵀ for a 3×3
 * filter g, and the m×m output tile Aᵀ·(U ⊙ V)·A. F(4×4, 3×3) interpolates at 0, ±1, ±2 and ∞.
 */
export const winogradMatrices = (m: 2 | 4): { BT: Matrix; G: Matrix; AT: Matrix } => (m === 2 ? {
  BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
} : {
  BT: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
  G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
  AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
});

/**
 * The four linear maps of a Winograd convolution, each with its adjoint (a backend may leave them
 * out; conv2d then uses im2col). With S the tile stride (see {@link WinogradSpec}):
 * - `input`: image [n, c, h, w] → V [α², c, S], V_ξ = (Bᵀ·d·B)_ij of each tile's patch d;
 * - `inputAdjoint`: V-shaped [α², c, S] → [n, c, h, w], Σ over tiles of B·v·Bᵀ added at the patch;
 * - `output`: M [α², c, S] → [n, c, oh, ow], each tile Aᵀ·m·A (cropped at the edge), plus bias[c]
 *   when a bias [c] is given (the convolution's bias, with no pass of its own);
 * - `outputAdjoint`: [n, c, oh, ow] → [α², c, S], A·g·Aᵀ of each (zero-padded) m×m tile.
 */
export interface WinogradKernels {
  input(x: Handle, spec: WinogradSpec): Handle;
  inputAdjoint(v: Handle, spec: WinogradSpec): Handle;
  output(m: Handle, spec: WinogradSpec, bias?: Handle | null): Handle;
  outputAdjoint(g: Handle, spec: WinogradSpec): Handle;
}

/** The activation of the fused row kernels. */
export type RowAct = 'identity' | 'silu';

/**
 * Row kernels for a fused normalisation + affine + activation (group norm → scale/shift → SiLU):
 * x is viewed as [rows, len] (a row is one channel of one image) and every row has its own
 * coefficients a, b, p, q, s ([rows] each). A backend may leave them out; groupNormAct then
 * composes ordinary ops. With z = a[r]·x + b[r] and gz = gy·act′(z):
 * - `moments`: [rows, 2] = (Σ x, Σ (x − mean)²) of each row, accumulated in doubles;
 * - `affineAct`: act(z);
 * - `affineActGradSums`: [rows, 2] = (Σ gz, Σ gz·x) of each row;
 * - `affineActGradInput`: p[r]·gz + q[r]·x + s[r].
 */
export interface RowKernels {
  moments(x: Handle, rows: number, len: number): Handle;
  affineAct(x: Handle, a: Handle, b: Handle, rows: number, len: number, act: RowAct): Handle;
  affineActGradSums(x: Handle, gy: Handle, a: Handle, b: Handle, rows: number, len: number, act: RowAct): Handle;
  affineActGradInput(x: Handle, gy: Handle, a: Handle, b: Handle, p: Handle, q: Handle, s: Handle,
    rows: number, len: number, act: RowAct): Handle;
}

/**
 * The scalars of one Adam step (PyTorch's algorithm, as `adam` in src/grad/optim.ts composes it).
 * A backend rounds them as it would store them (float32 on a float32 backend), exactly as the
 * composed ops' scalar operands are rounded.
 */
export interface AdamCoefficients {
  readonly beta1: number;
  /** 1 − β1 */
  readonly oneMinusBeta1: number;
  readonly beta2: number;
  /** 1 − β2 */
  readonly oneMinusBeta2: number;
  readonly eps: number;
  /** lr / (1 − β1ᵗ) */
  readonly stepSize: number;
  /** √(1 − β2ᵗ) */
  readonly sqrtC2: number;
  /** Coupled (L2) weight decay: the gradient becomes g + l2·p. Null: none. */
  readonly l2: number | null;
  /** Decoupled (AdamW) weight decay: the parameter is first multiplied by this (1 − lr·wd). Null: none. */
  readonly decay: number | null;
}

/**
 * Fused optimizer kernels (a backend may leave them out; the optimizer then composes ordinary ops).
 * `adam` runs one step over n elements and returns [p′, m′, v′]:
 *   g′ = g + l2·p;  m′ = β1·m + (1 − β1)·g′;  v′ = β2·v + (1 − β2)·(g′·g′);
 *   p′ = decay·p − (m′ / (√v′ / √c2 + eps))·stepSize,
 * each operation rounded to the storage precision in that order, so the result equals the
 * composition bit for bit.
 */
export interface OptimKernels {
  adam(p: Handle, g: Handle, m: Handle, v: Handle, n: number, c: AdamCoefficients): readonly [Handle, Handle, Handle];
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
  /** Optional: Winograd F(2×2, 3×3) transforms, used by conv2d where present. */
  readonly winograd?: WinogradKernels;
  /** Optional: fused row kernels, used by groupNormAct where present. */
  readonly rows?: RowKernels;
  /** Optional: fused optimizer steps, used by the optimizers where present. */
  readonly optim?: OptimKernels;
}
