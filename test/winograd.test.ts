/**
 * conv2d's Winograd F(2×2, 3×3) path: it is taken where it should be, gives im2col's values and
 * gradients (in doubles, to rounding), and its four transforms are two adjoint pairs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as O from '../src/ops/index.ts';
import { type WinogradKernels, type WinogradSpec, winogradTiles } from '../src/tensor/backend.ts';
import { backendByName } from '../src/tensor/engine.ts';
import { createPlainBackend } from '../src/tensor/plain/index.ts';
import { profiled } from '../src/tensor/profile.ts';
import * as R from '../src/tensor/random.ts';
import { type Tensor, tidy, toArray } from '../src/tensor/tensor.ts';
import { valueAndGrad } from '../src/grad/value-and-grad.ts';

const plain64 = createPlainBackend({ precision: 64 });

const maxDiff = (a: number[], b: number[]): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** Value and gradients of Σ conv2d(x, w, b)² with the given algorithm, and the kernels it called. */
type Algorithm = 'auto' | 'im2col' | 'winograd2' | 'winograd4';
const run = (shape: { n: number; c: number; o: number; h: number; w: number; pad: number }, algorithm: Algorithm, seed: number) => {
  const be = profiled(plain64);
  return tidy(() => {
    const { n, c, o, h, w, pad } = shape;
    const x = O.tensor(R.normal(R.key(seed), n * c * h * w), [n, c, h, w], be);
    const wt = O.tensor(R.normal(R.key(seed + 1), o * c * 9), [o, c, 3, 3], be);
    const b = O.tensor(R.normal(R.key(seed + 2), o), [o], be);
    const r = valueAndGrad((p: { x: Tensor; wt: Tensor; b: Tensor }) => {
      const y = O.conv2d(p.x, p.wt, p.b, { padding: pad, algorithm });
      return O.sum(O.mul(y, y));
    })({ x, wt, b });
    return {
      value: toArray(r.value)[0], x: toArray(r.grads.x), wt: toArray(r.grads.wt), b: toArray(r.grads.b),
      kernels: be.stats().map((s) => s.kernel),
    };
  });
};

describe('conv2d through Winograd F(2×2, 3×3) and F(4×4, 3×3)', () => {
  it('gives im2col\'s value and gradients on odd and even sizes and paddings 0–2', () => {
    fc.assert(fc.property(fc.constantFrom<Algorithm>('auto', 'winograd2', 'winograd4'), fc.record({
      n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: O.winogradMinChannels, max: 12 }), o: fc.integer({ min: 1, max: 5 }),
      h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 9 }), pad: fc.integer({ min: 0, max: 2 }),
    }).filter((s) => s.h + 2 * s.pad >= 3 && s.w + 2 * s.pad >= 3), fc.nat(1000), (algorithm, shape, seed) => {
      const a = run(shape, algorithm, seed);
      const b = run(shape, 'im2col', seed);
      expect(a.kernels).toContain('winograd:input');
      expect(b.kernels).not.toContain('winograd:input');
      const tol = 1e-9 * Math.max(1, Math.abs(b.value));
      expect(Math.abs(a.value - b.value)).toBeLessThanOrEqual(tol);
      expect(maxDiff(a.x, b.x)).toBeLessThanOrEqual(tol);
      expect(maxDiff(a.wt, b.wt)).toBeLessThanOrEqual(tol);
      expect(maxDiff(a.b, b.b)).toBeLessThanOrEqual(tol);
    }), { numRuns: 25 });
  });

  it('is not used for strides, other kernel sizes, few channels, or backends without the transforms', () => {
    const shape = { n: 1, c: O.winogradMinChannels - 1, o: 2, h: 5, w: 5, pad: 1 };
    expect(run(shape, 'auto', 1).kernels).not.toContain('winograd:input');
    const be = profiled(plain64);
    tidy(() => {
      const x = O.tensor(R.normal(R.key(3), 2 * 8 * 6 * 6), [2, 8, 6, 6], be);
      O.conv2d(x, O.tensor(R.normal(R.key(4), 8 * 8 * 9), [8, 8, 3, 3], be), null, { stride: 2, padding: 1 });
      O.conv2d(x, O.tensor(R.normal(R.key(5), 8 * 8 * 25), [8, 8, 5, 5], be), null, { padding: 2 });
    });
    expect(be.stats().map((s) => s.kernel)).not.toContain('winograd:input');
    const gpu = backendByName('gpujs-cpu');
    expect(gpu.winograd).toBeUndefined();
    const y = tidy(() => toArray(O.conv2d(O.ones([1, 8, 4, 4], gpu), O.ones([1, 8, 3, 3], gpu), null, { padding: 1 })));
    // Corners see 2×2 of the 3×3 window, edges 2×3, the centre all 9; times 8 channels.
    expect(y).toEqual([32, 48, 48, 32, 48, 72, 72, 48, 48, 72, 72, 48, 32, 48, 48, 32]);
  });

  it('its transforms are adjoint pairs: ⟨input(x), v⟩ = ⟨x, inputAdjoint(v)⟩ and ⟨output(m), g⟩ = ⟨m, outputAdjoint(g)⟩', () => {
    const k = plain64.winograd as WinogradKernels;
    fc.assert(fc.property(fc.record({
      n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 8 }),
      w: fc.integer({ min: 1, max: 8 }), padH: fc.integer({ min: 0, max: 2 }), padW: fc.integer({ min: 0, max: 2 }),
    }).filter((p) => p.h + 2 * p.padH >= 3 && p.w + 2 * p.padW >= 3), fc.constantFrom<2 | 4>(2, 4), fc.nat(1000), (p, tile, seed) => {
      const s: WinogradSpec = { ...p, oh: p.h + 2 * p.padH - 2, ow: p.w + 2 * p.padW - 2, tile };
      const { tiles, stride } = winogradTiles(s);
      const img = R.normal(R.key(seed), s.n * s.c * s.h * s.w);
      const out = R.normal(R.key(seed + 1), s.n * s.c * s.oh * s.ow);
      // Transformed tensors with zero stride padding, as the producing kernels leave it.
      const tr = R.normal(R.key(seed + 2), (tile + 2) ** 2 * s.c * stride).map((v, i) => (i % stride < tiles ? v : 0));
      const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((acc, v, i) => acc + v * b[i], 0);
      const apply = (f: keyof WinogradKernels, data: Float32Array | Float64Array, size: number): Float64Array => {
        const h = plain64.write(Float64Array.from(data));
        const o = k[f](h, s);
        const r = plain64.read(o, size) as Float64Array;
        plain64.dispose(h);
        plain64.dispose(o);
        return r;
      };
      const vIn = apply('input', img, tr.length);
      const xBack = apply('inputAdjoint', tr, img.length);
      expect(dot(vIn, tr)).toBeCloseTo(dot(img, xBack), 8);
      const yOut = apply('output', tr, out.length);
      const mBack = apply('outputAdjoint', out, tr.length);
      expect(dot(yOut, out)).toBeCloseTo(dot(tr, mBack), 8);
      // The producing kernels leave the stride padding zero.
      for (const t of [vIn, mBack]) {
        for (let i = 0; i < t.length; i++) if (i % stride >= tiles) expect(t[i]).toBe(0);
      }
    }), { numRuns: 50 });
  });
});
