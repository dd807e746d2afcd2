// Throwaway timing script for the fast backend (not part of the library).
// usage: tsx scripts/bench-fast-scratch.ts gemm "mr nr unroll mc kc nc" ...   (square + conv-sized GEMMs)
//        tsx scripts/bench-fast-scratch.ts conv                               (mnist32 conv matmuls via the backend)
import { WasmHeap } from '../src/tensor/fast/memory.ts';
import { Gemm } from '../src/tensor/fast/matmul.ts';
import { createFastBackend } from '../src/tensor/fast/index.ts';
import type { MatmulSpec } from '../src/tensor/backend.ts';

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const best = (xs: number[]): number => Math.min(...xs);

const gemmBench = (cfgs: string[]): void => {
  const configs = (cfgs.length ? cfgs : ['4 16 4 120 256 1024']).map((s) => {
    const [mr, nr, unroll, mc = 120, kc = 256, nc = 1024] = s.split(/\s+/).map(Number);
    return { mr, nr, unroll, mc, kc, nc };
  });
  const heap = new WasmHeap();
  const gemms = configs.map((c) => new Gemm(heap, c, c));
  const shapes = (process.env.SHAPES ?? '512x512x512,256x1152x784').split(',').map((s) => s.split('x').map(Number));
  const bufs = shapes.map(([m, k, n]) => {
    const a = heap.alloc(m * k), b = heap.alloc(k * n), c = heap.alloc(m * n);
    const f = heap.f32;
    for (let i = 0; i < m * k; i++) f[a.index + i] = Math.sin(i);
    for (let i = 0; i < k * n; i++) f[b.index + i] = Math.cos(i);
    return { a, b, c, spec: { batch: 1, m, k, n, transA: false, transB: false, strideA: 0, strideB: 0 } as MatmulSpec };
  });
  const times = configs.map(() => shapes.map(() => [] as number[]));
  for (let round = 0; round < 12; round++) {
    gemms.forEach((g, gi) => bufs.forEach(({ a, b, c, spec }, si) => {
      g.run(a.offset, b.offset, c.offset, spec);
      const t0 = performance.now();
      g.run(a.offset, b.offset, c.offset, spec);
      g.run(a.offset, b.offset, c.offset, spec);
      times[gi][si].push((performance.now() - t0) / 2);
    }));
  }
  configs.forEach((cfg, gi) => {
    const line = shapes.map(([m, k, n], si) => {
      const t = times[gi][si].slice(2);
      const gf = (ms: number): string => (2 * m * n * k / ms / 1e6).toFixed(1);
      return `${m}x${k}x${n}: med ${gf(median(t))} best ${gf(best(t))}`;
    }).join(' | ');
    console.log(`${cfg.mr}x${cfg.nr}u${cfg.unroll} ${cfg.mc}/${cfg.kc}/${cfg.nc}  ${line}  GFLOP/s`);
  });
};

/** mnist32's conv matmuls (batch 64) through the backend; shapes "mr nr unroll" compared interleaved. */
const convBench = (cfgs: string[]): void => {
  const shapes = (cfgs.length ? cfgs : ['4 16 4']).map((s) => {
    const [mr, nr, unroll] = s.split(/\s+/).map(Number);
    return { mr, nr, unroll };
  });
  const bes = shapes.map((gemmShape) => createFastBackend({ gemmShape }));
  const batch = 64;
  const layers = [[32, 32, 784], [64, 64, 196], [128, 128, 49]];
  for (const [o, c, hw] of layers) {
    const k9 = c * 9;
    const flops = 2 * batch * o * k9 * hw;
    const specs: [string, MatmulSpec, number, number][] = [
      ['fwd W·cols   ', { batch, m: o, k: k9, n: hw, transA: false, transB: false, strideA: 0, strideB: k9 * hw }, 0, 1],
      ['dX  Wᵀ·dY    ', { batch, m: k9, k: o, n: hw, transA: true, transB: false, strideA: 0, strideB: o * hw }, 0, 2],
      ['dW  dY·colsᵀ ', { batch, m: o, k: hw, n: k9, transA: false, transB: true, strideA: o * hw, strideB: k9 * hw }, 2, 1],
    ];
    const data = [o * k9, batch * k9 * hw, batch * o * hw].map((n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)));
    const hs = bes.map((be) => data.map((d) => be.write(d)));
    for (const [name, spec, ai, bi] of specs) {
      const ts = bes.map(() => [] as number[]);
      for (let r = 0; r < 6; r++) {
        bes.forEach((be, j) => {
          const t0 = performance.now();
          const out = be.matmul(hs[j][ai], hs[j][bi], spec);
          ts[j].push(performance.now() - t0);
          be.dispose(out);
        });
      }
      const line = shapes.map((sh, j) => `${sh.mr}x${sh.nr}: ${(flops / median(ts[j].slice(1)) / 1e6).toFixed(1)}/${(flops / best(ts[j]) / 1e6).toFixed(1)}`).join('  ');
      console.log(`${o}x${c}@${hw} ${name} med/best GFLOP/s  ${line}`);
    }
    bes.forEach((be, j) => hs[j].forEach((h) => be.dispose(h)));
  }
};

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'conv') convBench(rest);
else gemmBench(rest);
