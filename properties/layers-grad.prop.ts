/**
 * Laws for the composite layers, in float64: reverse mode agrees with finite differences for the
 * ResBlock, attention, the seed Block (batch norm in training mode) and a whole small U-Net; and
 * attention equals a loop-by-loop reading of its specification (the [B, 3, heads, d, n] view).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkGrad, plain64 } from './support/gradcheck.ts';
import { withBackend } from '../src/tensor/engine.ts';
import { type Tensor, toArray } from '../src/tensor/tensor.ts';
import * as O from '../src/ops/index.ts';
import * as R from '../src/tensor/random.ts';
import * as L from '../src/layers/index.ts';

const host = (t: Tensor) => ({ data: toArray(t), shape: t.shape });
const on64 = <T>(f: () => T): T => withBackend(plain64, f);
const runs = { numRuns: 4 };

describe('ResBlock: vjp = finite differences', () => {
  for (const [inChannels, outChannels] of [[2, 4], [4, 4]] as const) {
    it(`${inChannels} → ${outChannels} channels${inChannels !== outChannels ? ' (1×1 skip conv)' : ' (identity skip)'}`, () => {
      fc.assert(fc.property(fc.nat(), (seed) => {
        const cfg = { inChannels, outChannels, timeDim: 6, groups: 2 };
        const [kp, kx, kt] = R.split(R.key(seed), 3);
        const p = on64(() => L.initResBlock(kp, cfg));
        const x = on64(() => O.normal(kx, [2, inChannels, 3, 3]));
        const temb = on64(() => O.normal(kt, [2, 6]));
        const inputs = [x, temb, p.conv1.weight, p.mlp.weight, p.norm2.weight, ...(p.skip ? [p.skip.weight] : [])];
        checkGrad(([xx, tt, w1, wm, g2, ws]) => L.resBlock({
          ...p, conv1: { ...p.conv1, weight: w1 }, mlp: { ...p.mlp, weight: wm }, norm2: { ...p.norm2, weight: g2 },
          ...(ws ? { skip: { ...p.skip, weight: ws } } : {}),
        }, cfg, xx, tt), inputs.map(host), seed);
      }), runs);
    });
  }
});

describe('attention', () => {
  const cfg = { channels: 4, heads: 2, groups: 2 };

  /** Random affine and bias params too, so every term of the formula shows in the output. */
  const randomParams = (key: R.Key): L.AttentionParams => {
    const [a, b, c, d, e] = R.split(key, 5);
    return {
      norm: { weight: O.normal(a, [4]), bias: O.normal(b, [4]) },
      qkv: { weight: O.normal(c, [12, 4, 1, 1]) },
      out: { weight: O.normal(d, [4, 4, 1, 1]), bias: O.normal(e, [4]) },
    };
  };

  /** The specification, loop by loop, in doubles. */
  const reference = (p: L.AttentionParams, x: Tensor): number[] => {
    const [B, C, H, W] = x.shape;
    const n = H * W;
    const heads = cfg.heads;
    const d = C / heads;
    const G = cfg.groups;
    const [xs, gw, gb, wq, wo, bo] = [x, p.norm.weight, p.norm.bias, p.qkv.weight, p.out.weight, p.out.bias!].map(toArray);
    const out: number[] = [];
    for (let b = 0; b < B; b++) {
      const at = (c: number, i: number) => xs[(b * C + c) * n + i];
      // group norm
      const xn: number[][] = [];
      for (let g = 0; g < G; g++) {
        const cs = Array.from({ length: C / G }, (_, k) => g * (C / G) + k);
        const vals = cs.flatMap((c) => Array.from({ length: n }, (_, i) => at(c, i)));
        const mu = vals.reduce((s, v) => s + v, 0) / vals.length;
        const v = vals.reduce((s, u) => s + (u - mu) ** 2, 0) / vals.length;
        for (const c of cs) xn[c] = Array.from({ length: n }, (_, i) => ((at(c, i) - mu) / Math.sqrt(v + 1e-5)) * gw[c] + gb[c]);
      }
      // qkv = 1×1 conv without bias; channel o of [3C] is (s, head, dd) with o = s·C + head·d + dd
      const qkv = Array.from({ length: 3 * C }, (_, o) => Array.from({ length: n }, (_, i) => {
        let s = 0;
        for (let c = 0; c < C; c++) s += wq[o * C + c] * xn[c][i];
        return s;
      }));
      const o: number[][] = Array.from({ length: C }, () => new Array<number>(n).fill(0));
      for (let h = 0; h < heads; h++) {
        const q = (dd: number, i: number) => qkv[0 * C + h * d + dd][i];
        const k = (dd: number, j: number) => qkv[1 * C + h * d + dd][j];
        const v = (dd: number, j: number) => qkv[2 * C + h * d + dd][j];
        for (let i = 0; i < n; i++) {
          const scores = Array.from({ length: n }, (_, j) => {
            let s = 0;
            for (let dd = 0; dd < d; dd++) s += q(dd, i) * k(dd, j);
            return s / Math.sqrt(d);
          });
          const m = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - m));
          const z = e.reduce((s, u) => s + u, 0);
          for (let dd = 0; dd < d; dd++) o[h * d + dd][i] = e.reduce((s, a, j) => s + (a / z) * v(dd, j), 0);
        }
      }
      for (let co = 0; co < C; co++) {
        for (let i = 0; i < n; i++) {
          let s = bo[co];
          for (let c = 0; c < C; c++) s += wo[co * C + c] * o[c][i];
          out.push(at(co, i) + s);
        }
      }
    }
    return out;
  };

  it('equals its specification computed loop by loop', () => {
    fc.assert(fc.property(fc.nat(), (seed) => on64(() => {
      const [kp, kx] = R.split(R.key(seed), 2);
      const p = randomParams(kp);
      const x = O.normal(kx, [2, 4, 3, 2]);
      const got = toArray(L.attention(p, cfg, x));
      const want = reference(p, x);
      got.forEach((g, i) => expect(Math.abs(g - want[i]), `element ${i}`).toBeLessThan(1e-10));
    })), { numRuns: 10 });
  });

  it('vjp = finite differences (input, qkv and out weights, norm weight)', () => {
    fc.assert(fc.property(fc.nat(), (seed) => {
      const [kp, kx] = R.split(R.key(seed), 2);
      const p = on64(() => randomParams(kp));
      const x = on64(() => O.normal(kx, [1, 4, 2, 3]));
      checkGrad(([xx, wq, wo, gw]) => L.attention({
        norm: { ...p.norm, weight: gw }, qkv: { weight: wq }, out: { ...p.out, weight: wo },
      }, cfg, xx), [x, p.qkv.weight, p.out.weight, p.norm.weight].map(host), seed);
    }), runs);
  });

  it('refuses a channel count the heads do not divide', () => {
    const p = L.initAttention(R.key(0), { channels: 6, heads: 4, groups: 2 });
    expect(() => L.attention(p, { channels: 6, heads: 4, groups: 2 }, O.zeros([1, 6, 2, 2]))).toThrow(/divisible by 4 heads/);
  });
});

describe('seed Block (batch norm in training mode): vjp = finite differences', () => {
  for (const up of [false, true]) {
    it(up ? 'up block (conv-transpose)' : 'down block (stride-2 conv)', () => {
      fc.assert(fc.property(fc.nat(), (seed) => {
        const cfg = { inChannels: 2, outChannels: 3, timeDim: 4, up };
        const [kp, kx, kt] = R.split(R.key(seed), 3);
        const p = on64(() => L.initSeedBlock(kp, cfg));
        const s = on64(() => L.initSeedBlockState(cfg));
        const x = on64(() => O.normal(kx, [2, up ? 4 : 2, 4, 4]));
        const temb = on64(() => O.normal(kt, [2, 4]));
        checkGrad(([xx, tt, w1, wt, g1]) => L.seedBlock({
          ...p, conv1: { ...p.conv1, weight: w1 }, transform: { ...p.transform, weight: wt }, bn1: { ...p.bn1, weight: g1 },
        }, s, cfg, xx, tt, { training: true }).y, [x, temb, p.conv1.weight, p.transform.weight, p.bn1.weight].map(host), seed);
      }), runs);
    });
  }
});

describe('a whole small U-Net: vjp = finite differences', () => {
  it('with respect to the image and the first time-MLP weight', () => {
    const cfg: L.UnetConfig = {
      ...L.tiny, baseChannels: 4, channelMults: [1, 2], groups: 2, heads: 2, sinusoidalDim: 8, timeDim: 8, attentionLevels: [1],
    };
    fc.assert(fc.property(fc.nat(), (seed) => {
      const [kp, kx] = R.split(R.key(seed), 2);
      const p = on64(() => L.initUnet(kp, cfg));
      const x = on64(() => O.normal(kx, [1, 1, 4, 4]));
      const t = on64(() => O.tensor([17]));
      checkGrad(([xx, w]) => L.unet({ ...p, time_mlp: { ...p.time_mlp, '0': { ...p.time_mlp['0'], weight: w } } }, cfg, xx, t),
        [x, p.time_mlp['0'].weight].map(host), seed);
    }), { numRuns: 2 });
  });
});
