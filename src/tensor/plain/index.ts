/**
 * The plain TypeScript reference backend: every kernel a readable loop over typed arrays, with the
 * few optimisations that pay for themselves (a packed, register-tiled matmul; merged strided runs).
 * Other backends are checked against this one.
 *
 * A handle is the typed array itself. Buffers are Float32Array by default, or Float64Array with
 * `precision: 64` (backend name `plain64`) for finite-difference gradient checks. Kernels compute in
 * doubles and round once when they store.
 */
import { type Backend, type FloatArray, type Handle, matmulOutputSize } from '../backend.ts';
import { im2col, im2colSize, col2im, imageSize } from './conv.ts';
import { binary, reduceAxis, reduceLast, unary, where } from './elementwise.ts';
import { checkLength, sizeOf } from './indexing.ts';
import { concat, gather, pad, scatterAdd, strided } from './layout.ts';
import { matmul } from './matmul.ts';
import { adamStep } from './optim.ts';
import { checkRows, rowAffineAct, rowAffineActGradInput, rowAffineActGradSums, rowMoments } from './rows.ts';
import {
  checkWinogradSpec, winogradImageSize, winogradInput, winogradInputAdjoint, winogradOutput,
  winogradOutputAdjoint, winogradOutSize, winogradTransformedSize,
} from './winograd.ts';

export interface PlainBackendOptions {
  readonly precision?: 32 | 64;
}

export const createPlainBackend = (opts: PlainBackendOptions = {}): Backend => {
  const precision = opts.precision ?? 32;
  if (precision !== 32 && precision !== 64) {
    throw new RangeError(`plain backend: precision must be 32 or 64, got ${String(precision)}`);
  }
  const name = precision === 64 ? 'plain64' : 'plain';
  const alloc = precision === 64
    ? (size: number): FloatArray => new Float64Array(size)
    : (size: number): FloatArray => new Float32Array(size);

  // Weak sets, so a handle that leaks is still collected; `live` counts what the sets cannot.
  const owned = new WeakSet<FloatArray>();
  const disposed = new WeakSet<FloatArray>();
  let live = 0;

  const own = (x: FloatArray): Handle => {
    owned.add(x);
    live++;
    return x as unknown as Handle;
  };

  const buffer = (h: Handle): FloatArray => {
    const x = h as unknown as FloatArray;
    if (owned.has(x)) return x;
    throw new Error(disposed.has(x)
      ? `${name} backend: buffer used after dispose`
      : `${name} backend: handle does not belong to this backend`);
  };

  /** Allocates the output, runs the kernel on it, and hands it out as a new handle. */
  const fresh = (size: number, kernel: (out: FloatArray) => void): Handle => {
    const out = alloc(size);
    kernel(out);
    return own(out);
  };

  return {
    name,

    write: (data) => {
      const x = alloc(data.length);
      x.set(data);
      return own(x);
    },

    read: (h, size) => {
      const x = buffer(h);
      checkLength('read', 'buffer', x, size);
      return x.slice(0, size);
    },

    dispose: (h) => {
      const x = h as unknown as FloatArray;
      if (!owned.has(x)) {
        throw new Error(disposed.has(x)
          ? `${name} backend: dispose of a buffer that was already disposed`
          : `${name} backend: dispose of a handle that does not belong to this backend`);
      }
      owned.delete(x);
      disposed.add(x);
      live--;
    },

    liveBuffers: () => live,

    unary: (op, x, size) => fresh(size, (out) => unary(op, buffer(x), out)),

    binary: (op, a, b, outShape, aStrides, bStrides) => fresh(sizeOf(outShape),
      (out) => binary(op, buffer(a), buffer(b), out, outShape, aStrides, bStrides)),

    where: (cond, a, b, size) => fresh(size,
      (out) => where(buffer(cond), buffer(a), buffer(b), out)),

    reduceLast: (op, x, outer, inner) => fresh(outer,
      (out) => reduceLast(op, buffer(x), out, inner)),

    reduceAxis: (op, x, outer, size, inner) => fresh(outer * inner,
      (out) => reduceAxis(op, buffer(x), out, outer, size, inner)),

    matmul: (a, b, spec) => fresh(matmulOutputSize(spec),
      (out) => matmul(buffer(a), buffer(b), out, spec)),

    strided: (x, outShape, strides, offset) => fresh(sizeOf(outShape),
      (out) => strided(buffer(x), out, outShape, strides, offset)),

    pad: (x, shape, before, after, value) => fresh(
      sizeOf(shape.map((d, i) => d + before[i] + after[i])),
      (out) => pad(buffer(x), out, shape, before, after, value)),

    concat: (xs, outer, inners) => fresh(outer * inners.reduce((s, w) => s + w, 0),
      (out) => concat(xs.map(buffer), out, outer, inners)),

    gather: (x, indices, outer, axisSize, inner, nIdx) => fresh(outer * nIdx * inner,
      (out) => gather(buffer(x), buffer(indices), out, outer, axisSize, inner, nIdx)),

    scatterAdd: (g, indices, outer, nIdx, inner, axisSize) => fresh(outer * axisSize * inner,
      (out) => scatterAdd(buffer(g), buffer(indices), out, outer, nIdx, inner, axisSize)),

    im2col: (x, spec, padValue) => fresh(im2colSize(spec),
      (out) => im2col(buffer(x), out, spec, padValue)),

    col2im: (cols, spec) => fresh(imageSize(spec),
      (out) => col2im(buffer(cols), out, spec)),

    winograd: {
      input: (x, s) => (checkWinogradSpec('winogradInput', s),
        fresh(winogradTransformedSize(s), (out) => winogradInput(buffer(x), out, s))),
      inputAdjoint: (v, s) => (checkWinogradSpec('winogradInputAdjoint', s),
        fresh(winogradImageSize(s), (out) => winogradInputAdjoint(buffer(v), out, s))),
      output: (m, s, bias) => (checkWinogradSpec('winogradOutput', s),
        fresh(winogradOutSize(s), (out) => winogradOutput(buffer(m), out, s, bias ? buffer(bias) : null))),
      outputAdjoint: (g, s) => (checkWinogradSpec('winogradOutputAdjoint', s),
        fresh(winogradTransformedSize(s), (out) => winogradOutputAdjoint(buffer(g), out, s))),
    },

    optim: {
      adam: (p, g, m, v, n, c) => {
        const outs = [alloc(n), alloc(n), alloc(n)] as const;
        adamStep(buffer(p), buffer(g), buffer(m), buffer(v), ...outs, n, c, precision === 32 ? Math.fround : (x) => x);
        return [own(outs[0]), own(outs[1]), own(outs[2])] as const;
      },
    },

    rows: {
      moments: (x, rows, len) => (checkRows('rowMoments', rows, len),
        fresh(2 * rows, (out) => rowMoments(buffer(x), out, rows, len))),
      affineAct: (x, a, b, rows, len, act) => (checkRows('rowAffineAct', rows, len, act),
        fresh(rows * len, (out) => rowAffineAct(buffer(x), buffer(a), buffer(b), out, rows, len, act))),
      affineActGradSums: (x, gy, a, b, rows, len, act) => (checkRows('rowAffineActGradSums', rows, len, act),
        fresh(2 * rows, (out) => rowAffineActGradSums(buffer(x), buffer(gy), buffer(a), buffer(b), out, rows, len, act))),
      affineActGradInput: (x, gy, a, b, p, q, s, rows, len, act) => (checkRows('rowAffineActGradInput', rows, len, act),
        fresh(rows * len, (out) => rowAffineActGradInput(buffer(x), buffer(gy), buffer(a), buffer(b), buffer(p), buffer(q),
          buffer(s), out, rows, len, act))),
    },
  };
};
