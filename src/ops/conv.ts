/**
 * Convolutions and pooling. conv2d is, per shape, either Winograd F(m×m, 3×3) (stride-1 3×3 kernels
 * on backends with the transforms: filter transform, input transform, α² small matmuls, output
 * transform) or im2col (image → patch columns) and a matmul with the weights; conv-transpose is
 * the adjoint: a matmul with the transposed weights, then col2im. Each is one `customVjp` with its
 * gradient beside it: the patch products keep nothing and rebuild their columns in the backward
 * pass, the Winograd path keeps its transformed input. Pooling reduces im2col's columns.
 */
import { type Im2colSpec, winogradMatrices, type WinogradSpec, winogradTile, winogradTiles } from '../tensor/backend.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { ShapeError } from '../tensor/shape.ts';
import { customVjp, emit } from './core.ts';
import { tensor } from './create.ts';
import { add } from './elementwise.ts';
import { matmul, matmulSumBatch } from './matmul.ts';
import { max, mean, sum } from './reduce.ts';
import { broadcastTo, permute, reshape } from './shape.ts';

export type Pair = number | readonly [number, number];
const pair = (p: Pair): [number, number] => (typeof p === 'number' ? [p, p] : [p[0], p[1]]);

export interface ConvOptions {
  readonly stride?: Pair;
  readonly padding?: Pair;
  /**
   * How a convolution is computed. `auto` (the default) uses Winograd F(4×4, 3×3) for stride-1 3×3
   * kernels with at least {@link winogradMinChannels} input channels on backends that have its
   * transforms, and im2col + matmul otherwise; `winograd2` and `winograd4` ask for F(2×2, 3×3) or
   * F(4×4, 3×3) where it applies, `im2col` always uses the latter. All give the same result up to
   * float32 rounding.
   */
  readonly algorithm?: 'auto' | 'im2col' | 'winograd2' | 'winograd4';
}

/** Below this many input channels a 3×3 convolution stays on im2col (the transforms would dominate). */
export const winogradMinChannels = 8;

const specFor = (op: string, n: number, c: number, h: number, w: number, k: [number, number], o: ConvOptions): Im2colSpec => {
  const [strideH, strideW] = pair(o.stride ?? 1);
  const [padH, padW] = pair(o.padding ?? 0);
  const oh = Math.floor((h + 2 * padH - k[0]) / strideH) + 1;
  const ow = Math.floor((w + 2 * padW - k[1]) / strideW) + 1;
  if (oh <= 0 || ow <= 0) throw new ShapeError(op, [[n, c, h, w], k], `a ${k[0]}×${k[1]} window does not fit (padding ${padH}, ${padW})`);
  return { n, c, h, w, kh: k[0], kw: k[1], strideH, strideW, padH, padW, oh, ow };
};

const assertRank4 = (op: string, x: Tensor): void => {
  if (x.shape.length !== 4) throw new ShapeError(op, [x.shape], 'expected an NCHW tensor of rank 4');
};

/** Patch columns [n, c·kh·kw, oh·ow]; positions outside the image read `padValue`. */
export const im2col = (x: Tensor, spec: Im2colSpec, padValue = 0): Tensor =>
  emit('im2col', [x], [spec.n, spec.c * spec.kh * spec.kw, spec.oh * spec.ow], (b, [h]) => b.im2col(h, spec, padValue),
    (g) => [col2im(g, spec)]);

/** The adjoint of im2col: overlapping patch entries add up into [n, c, h, w]. */
export const col2im = (cols: Tensor, spec: Im2colSpec): Tensor =>
  emit('col2im', [cols], [spec.n, spec.c, spec.h, spec.w], (b, [h]) => b.col2im(h, spec),
    (g) => [im2col(g, spec, 0)]);

/** PyTorch's conv2d: x [n, c, h, w], weight [o, c, kh, kw], bias [o] → [n, o, oh, ow]. */
export const conv2d = (x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvOptions = {}): Tensor => {
  assertRank4('conv2d', x);
  assertRank4('conv2d', weight);
  const [n, c, h, w] = x.shape;
  const [o, ci, kh, kw] = weight.shape;
  if (ci !== c) throw new ShapeError('conv2d', [x.shape, weight.shape], `input has ${c} channels, weight expects ${ci}`);
  const spec = specFor('conv2d', n, c, h, w, [kh, kw], opts);
  const pointwise = kh === 1 && kw === 1 && spec.strideH === 1 && spec.strideW === 1 && spec.padH === 0 && spec.padW === 0;
  const algorithm = opts.algorithm ?? 'auto';
  if (kh === 3 && kw === 3 && spec.strideH === 1 && spec.strideW === 1 && c >= winogradMinChannels
    && algorithm !== 'im2col' && x.backend.winograd) {
    const tile = algorithm === 'winograd2' ? 2 : 4;
    if (bias && bias.size !== o) throw new ShapeError('conv2d', [weight.shape, bias.shape], `bias must have ${o} elements`);
    return winogradConv(x, weight, bias, { n, c, h, w, padH: spec.padH, padW: spec.padW, oh: spec.oh, ow: spec.ow, tile });
  }
  const w2 = reshape(weight, [o, c * kh * kw]);
  const y = reshape(pointwise ? matmul(w2, reshape(x, [n, c, h * w])) : patchProduct(x, w2, spec), [n, o, spec.oh, spec.ow]);
  return bias ? add(y, reshape(bias, [1, o, 1, 1])) : y;
};

/**
 * w2 [o, c·kh·kw] times the patch columns of x → [n, o, oh·ow]. The columns are kh·kw times the
 * image, so they are not kept for the backward pass: it builds them again from x (a fraction of the
 * matmul's cost) for the weight gradient, Σ_b g_b·cols_bᵀ, while x's gradient is col2im(w2ᵀ·g).
 */
const patchProduct = (x: Tensor, w2: Tensor, spec: Im2colSpec): Tensor => {
  const [o, ck] = w2.shape;
  const p = spec.oh * spec.ow;
  if (p < foldBelow && spec.n > 1) return foldedPatchProduct(x, w2, spec);
  return customVjp({
    inputs: { x, w2 },
    forward: () => ({ output: matmul(w2, im2col(x, spec)), residuals: null }),
    vjp: (g, _none, needs) => ({
      x: needs.x ? col2im(matmul(w2, g, true, false), spec) : null,
      w2: needs.w2 ? matmulSumBatch(g, im2col(x, spec), spec.n, o, p, ck, false, true) : null,
    }),
  });
};

/** Outputs of fewer positions than this per image go through {@link foldedPatchProduct}. */
const foldBelow = 32;

/**
 * patchProduct for small outputs (a 4×4-kernel stride-2 conv down to 2×2, say): per-image products
 * with n = oh·ow of 4 columns would fill a quarter of the matmul's register tile, so the batch is
 * folded into the columns — cols [n, ck, p] → [ck, n·p], one product W·cols → [o, n·p], then back to
 * [n, o, p]. The backward pass folds g the same way: dW = g·colsᵀ and dcols = Wᵀ·g are single
 * products too. The permutations are copies of a few percent of the product's cost.
 */
const foldedPatchProduct = (x: Tensor, w2: Tensor, spec: Im2colSpec): Tensor => {
  const [o, ck] = w2.shape;
  const { n } = spec;
  const p = spec.oh * spec.ow;
  return customVjp({
    inputs: { x, w2 },
    forward: () => ({ output: unfold(matmul(w2, fold(im2col(x, spec), n, ck, p)), n, o, p), residuals: null }),
    vjp: (g, _none, needs) => {
      const gf = fold(g, n, o, p); // [o, n·p]
      return {
        x: needs.x ? col2im(unfold(matmul(w2, gf, true, false), n, ck, p), spec) : null,
        w2: needs.w2 ? matmul(gf, fold(im2col(x, spec), n, ck, p), false, true) : null,
      };
    },
  });
};

/** [a, b, p] → [b, a·p]: the batch moved next to the positions. */
const fold = (t: Tensor, a: number, b: number, p: number): Tensor => reshape(permute(reshape(t, [a, b, p]), [1, 0, 2]), [b, a * p]);
/** [b, a·p] → [a, b, p]. */
const unfold = (t: Tensor, a: number, b: number, p: number): Tensor => permute(reshape(t, [b, a, p]), [1, 0, 2]);

const noWinograd = (op: string): never => {
  throw new Error(`${op}: this backend has no Winograd transforms`);
};

/** Winograd input transform: image [n, c, h, w] → [16, c, S] (see WinogradSpec). */
export const winogradInput = (x: Tensor, s: WinogradSpec): Tensor =>
  emit('winogradInput', [x], [winogradTile(s).alpha ** 2, s.c, winogradTiles(s).stride],
    (b, [h]) => (b.winograd ?? noWinograd('winogradInput')).input(h, s), (g) => [winogradInputAdjoint(g, s)]);

/** The adjoint of winogradInput: [16, c, S] → [n, c, h, w], overlapping patches adding up. */
export const winogradInputAdjoint = (v: Tensor, s: WinogradSpec): Tensor =>
  emit('winogradInputAdjoint', [v], [s.n, s.c, s.h, s.w],
    (b, [h]) => (b.winograd ?? noWinograd('winogradInputAdjoint')).inputAdjoint(h, s), (g) => [winogradInput(g, s)]);

/** Σ over images and positions of g [n, c, oh, ow] → [c]: the gradient of a per-channel bias. */
const channelSums = (g: Tensor): Tensor => sum(reshape(g, [g.shape[0], g.shape[1], -1]), [0, 2]);

/** Winograd output transform: [16, c, S] → [n, c, oh, ow], plus bias [c] when given. */
export const winogradOutput = (m: Tensor, s: WinogradSpec, bias: Tensor | null = null): Tensor =>
  emit('winogradOutput', bias ? [m, bias] : [m], [s.n, s.c, s.oh, s.ow],
    (b, [h, hb]) => (b.winograd ?? noWinograd('winogradOutput')).output(h, s, hb ?? null),
    (g) => (bias ? [winogradOutputAdjoint(g, s), channelSums(g)] : [winogradOutputAdjoint(g, s)]));

/** The adjoint of winogradOutput: [n, c, oh, ow] → [16, c, S]. */
export const winogradOutputAdjoint = (g: Tensor, s: WinogradSpec): Tensor =>
  emit('winogradOutputAdjoint', [g], [winogradTile(s).alpha ** 2, s.c, winogradTiles(s).stride],
    (b, [h]) => (b.winograd ?? noWinograd('winogradOutputAdjoint')).outputAdjoint(h, s), (gg) => [winogradOutput(gg, s)]);

/** Kᵀ [α², 9] with U_ξ = Σ_rs Kᵀ[ξ, 3r + s]·g[r, s], i.e. U = G·g·Gᵀ flattened. */
const filterTransform = (m: 2 | 4): number[] => {
  const { G } = winogradMatrices(m);
  const alpha = m + 2;
  return Array.from({ length: alpha * alpha * 9 }, (_, q) => {
    const xi = Math.floor(q / 9);
    const rs = q % 9;
    return G[Math.floor(xi / alpha)][Math.floor(rs / 3)] * G[xi % alpha][rs % 3];
  });
};

/**
 * U = Kᵀ·Wᵀ [α², o·c] for the flattened filters w9 [o·c, 9]. Its gradient, dU·Kᵀ, would be an
 * [o·c, α²]·[α², 9] product with 9 columns (a thin fraction of the register tile), so it is computed
 * as the transpose of K-side product [9, α²]·[α², o·c], then transposed.
 */
const filterProduct = (kt: Tensor, w9: Tensor): Tensor =>
  customVjp({
    inputs: { w9 },
    forward: () => ({ output: matmul(kt, w9, false, true), residuals: null }),
    vjp: (g) => ({ w9: permute(matmul(kt, g, true, false), [1, 0]) }),
  });

/**
 * A stride-1 3×3 convolution as Winograd F(m×m, 3×3): U = G·W·Gᵀ per filter (one small matmul, so
 * W's gradient follows from U's), V = the input transform, the α² products U_ξ·V_ξ, and the output
 * transform, which also adds the bias — 4× (m = 4) or 2.25× (m = 2) fewer multiply-adds than
 * im2col. V (2.25× the image for m = 4) is kept for the backward pass, which needs it for U's
 * gradient dM·Vᵀ; the product M is not. x's gradient goes through the adjoints:
 * inputAdjoint(Uᵀ·dM) with dM = outputAdjoint(g); the bias's is g summed over images and positions.
 */
const winogradConv = (x: Tensor, weight: Tensor, bias: Tensor | null, s: WinogradSpec): Tensor => {
  const [o, c] = weight.shape;
  const a2 = winogradTile(s).alpha ** 2;
  const kt = tensor(filterTransform(winogradTile(s).m), [a2, 9], x.backend);
  const u = reshape(filterProduct(kt, reshape(weight, [o * c, 9])), [a2, o, c]);
  const out: WinogradSpec = { ...s, c: o };
  const b = bias ? reshape(bias, [o]) : null;
  return customVjp({
    inputs: { x, u, b },
    forward: () => {
      const vt = winogradInput(x, s);
      return { output: winogradOutput(matmul(u, vt), out, b), residuals: vt };
    },
    vjp: (g, v, needs) => {
      const dm = winogradOutputAdjoint(g, out);
      return {
        x: needs.x ? winogradInputAdjoint(matmul(u, dm, true, false), s) : null,
        u: needs.u ? matmul(dm, v, false, true) : null,
        b: needs.b ? channelSums(g) : null,
      };
    },
  });
};

export interface ConvTransposeOptions extends ConvOptions {
  readonly outputPadding?: Pair;
}

/**
 * PyTorch's conv_transpose2d: x [n, cin, h, w], weight [cin, cout, kh, kw], bias [cout] →
 * [n, cout, (h−1)·s − 2p + kh + outputPadding, …]. It is the adjoint of conv2d with the same weight.
 */
export const convTranspose2d = (x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvTransposeOptions = {}): Tensor => {
  assertRank4('convTranspose2d', x);
  assertRank4('convTranspose2d', weight);
  const [n, cin, h, w] = x.shape;
  const [ci, cout, kh, kw] = weight.shape;
  if (ci !== cin) throw new ShapeError('convTranspose2d', [x.shape, weight.shape], `input has ${cin} channels, weight expects ${ci}`);
  const [sh, sw] = pair(opts.stride ?? 1);
  const [ph, pw] = pair(opts.padding ?? 0);
  const [oph, opw] = pair(opts.outputPadding ?? 0);
  const outH = (h - 1) * sh - 2 * ph + kh + oph;
  const outW = (w - 1) * sw - 2 * pw + kw + opw;
  const spec: Im2colSpec = { n, c: cout, h: outH, w: outW, kh, kw, strideH: sh, strideW: sw, padH: ph, padW: pw, oh: h, ow: w };
  const w2 = reshape(weight, [cin, cout * kh * kw]);
  const x3 = reshape(x, [n, cin, h * w]);
  const [ck, p] = [cout * kh * kw, h * w];
  // The columns (kh·kw times the output) are not kept: the backward pass needs only im2col(g).
  // Small inputs fold the batch into the columns, as foldedPatchProduct does.
  const y = p < foldBelow && n > 1
    ? customVjp({
      inputs: { x3, w2 },
      forward: () => ({ output: col2im(unfold(matmul(w2, fold(x3, n, cin, p), true, false), n, ck, p), spec), residuals: null }),
      vjp: (g, _none, needs) => {
        const gf = fold(im2col(g, spec), n, ck, p); // [ck, n·p]
        return {
          x3: needs.x3 ? unfold(matmul(w2, gf), n, cin, p) : null,
          w2: needs.w2 ? matmul(fold(x3, n, cin, p), gf, false, true) : null,
        };
      },
    })
    : customVjp({
      inputs: { x3, w2 },
      forward: () => ({ output: col2im(matmul(w2, x3, true, false), spec), residuals: null }),
      vjp: (g, _none, needs) => {
        const gcols = im2col(g, spec); // [n, cout·kh·kw, h·w]
        return {
          x3: needs.x3 ? matmul(w2, gcols) : null,
          w2: needs.w2 ? matmulSumBatch(x3, gcols, n, cin, p, ck, false, true) : null,
        };
      },
    });
  return bias ? add(y, reshape(bias, [1, cout, 1, 1])) : y;
};

export interface PoolOptions {
  readonly kernel: Pair;
  readonly stride?: Pair;
  readonly padding?: Pair;
}

const pooled = (op: string, x: Tensor, o: PoolOptions, padValue: number, reduce: (t: Tensor) => Tensor): Tensor => {
  assertRank4(op, x);
  const [n, c, h, w] = x.shape;
  const k = pair(o.kernel);
  const spec = specFor(op, n, c, h, w, k, { stride: o.stride ?? o.kernel, padding: o.padding ?? 0 });
  const cols = reshape(im2col(x, spec, padValue), [n, c, k[0] * k[1], spec.oh * spec.ow]);
  return reshape(reduce(cols), [n, c, spec.oh, spec.ow]);
};

/** Max pooling (padding reads −∞ in effect: the most negative float32). */
export const maxPool2d = (x: Tensor, o: PoolOptions): Tensor => pooled('maxPool2d', x, o, -3.4028234663852886e38, (t) => max(t, 2));
/** Average pooling; padded positions count as zeros (PyTorch's count_include_pad=True). */
export const avgPool2d = (x: Tensor, o: PoolOptions): Tensor => pooled('avgPool2d', x, o, 0, (t) => mean(t, 2));

/** Nearest-neighbour upsampling by an integer factor: each pixel becomes a factor×factor block. */
export const upsampleNearest = (x: Tensor, factor = 2): Tensor => {
  assertRank4('upsampleNearest', x);
  const [n, c, h, w] = x.shape;
  const wide = broadcastTo(reshape(x, [n, c, h, 1, w, 1]), [n, c, h, factor, w, factor]);
  return reshape(wide, [n, c, h * factor, w * factor]);
};
