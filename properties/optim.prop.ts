/**
 * The fused Adam step (OptimKernels.adam) against the optimizer's composition of ordinary ops: on
 * every backend that has the kernel, the two give the same parameters and moments bit for bit, for
 * plain Adam, L2 decay and decoupled (AdamW) decay, at any step, including sizes the fast backend
 * splits over two threads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/tensor/backend.ts';
import { createFastBackend } from '../src/tensor/fast/index.ts';
import { createPlainBackend } from '../src/tensor/plain/index.ts';
import { withBackend } from '../src/tensor/engine.ts';
import { tidy, toFloat32 } from '../src/tensor/tensor.ts';
import { tensor } from '../src/ops/create.ts';
import { adam, type AdamConfig } from '../src/grad/optim.ts';

const backends: Backend[] = [createPlainBackend(), createPlainBackend({ precision: 64 }), createFastBackend({ threads: 1 }),
  createFastBackend({ threads: 2 })];

/** The same backend without its fused optimizer kernels, so the optimizer composes ops. */
const composedOnly = (b: Backend): Backend => ({ ...b, optim: undefined });

/** Values spanning many magnitudes and both signs, from a seed. */
const values = (n: number, seed: number, positive = false): Float32Array => Float32Array.from({ length: n }, (_, i) => {
  const x = Math.sin(i * 12.9898 + seed) * 43758.5453;
  const u = x - Math.floor(x);
  const magnitude = 10 ** (8 * u - 5);
  return positive ? magnitude : (i % 3 === 0 ? -magnitude : magnitude);
});

const step = (be: Backend, cfg: AdamConfig, t: number, n: number, seed: number): Float32Array[] => withBackend(be, () => tidy(() => {
  const opt = adam(cfg);
  const p = { w: tensor(values(n, seed), [n], be) };
  const g = { w: tensor(values(n, seed + 1), [n], be) };
  const state = { step: t - 1, m: { w: tensor(values(n, seed + 2), [n], be) }, v: { w: tensor(values(n, seed + 3, true), [n], be) } };
  const r = opt.update(g, state, p);
  const s = r.state as { m: { w: Parameters<typeof toFloat32>[0] }; v: { w: Parameters<typeof toFloat32>[0] } };
  return [toFloat32(r.params.w), toFloat32(s.m.w), toFloat32(s.v.w)];
}));

describe('fused Adam', () => {
  it('equals the composed update bit for bit (Adam, L2 decay, AdamW; 1 and 2 threads)', () => {
    for (const be of backends) expect(be.optim, `${be.name} has the fused kernel`).toBeDefined();
    const arb = fc.record({
      n: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 70000, max: 90000 })),
      t: fc.integer({ min: 1, max: 2000 }), seed: fc.integer({ min: 0, max: 1000 }),
      lr: fc.double({ min: 1e-5, max: 0.5, noNaN: true }), beta1: fc.constantFrom(0.9, 0.5, 0),
      beta2: fc.constantFrom(0.999, 0.99), eps: fc.constantFrom(1e-8, 1e-6),
      decay: fc.constantFrom<'none' | 'l2' | 'decoupled'>('none', 'l2', 'decoupled'), wd: fc.double({ min: 1e-4, max: 0.1, noNaN: true }),
    });
    fc.assert(fc.property(arb, (a) => {
      const cfg: AdamConfig = {
        lr: a.lr, beta1: a.beta1, beta2: a.beta2, eps: a.eps,
        ...(a.decay === 'none' ? {} : { weightDecay: a.wd, decoupled: a.decay === 'decoupled' }),
      };
      for (const be of backends) {
        const got = step(be, cfg, a.t, a.n, a.seed);
        const want = step(composedOnly(be), cfg, a.t, a.n, a.seed);
        got.forEach((x, k) => {
          const at = x.findIndex((v, i) => !Object.is(v, want[k][i]));
          if (at >= 0) expect.fail(`${be.name}, output ${['p', 'm', 'v'][k]}[${at}]: fused ${x[at]}, composed ${want[k][at]}`);
        });
      }
    }), { numRuns: 25 });
  });
});
