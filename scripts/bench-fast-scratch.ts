// Throwaway timing script for the fast backend (not part of the library).
// usage: tsx scripts/bench-fast-scratch.ts "mr nr unroll mc kc nc" ... (configs interleaved over rounds)
import { WasmHeap } from '../src/tensor/fast/memory.ts';
import { Gemm } from '../src/tensor/fast/matmul.ts';
import type { MatmulSpec } from '../src/tensor/backend.ts';

const configs = (process.argv.length > 2 ? process.argv.slice(2) : ['5 8 4 120 256 1024']).map((s) => {
  const [mr, nr, unroll, mc = 120, kc = 256, nc = 1024] = s.split(/\s+/).map(Number);
  return { mr, nr, unroll, mc, kc, nc };
});
const heap = new WasmHeap();
const gemms = configs.map((c) => new Gemm(heap, c, c));
const shapes = [[512, 512, 512], [256, 1152, 784]];
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
    const t = times[gi][si].slice(2).sort((x, y) => x - y);
    const gf = (ms: number): string => (2 * m * n * k / ms / 1e6).toFixed(1);
    return `${m}x${k}x${n}: med ${gf(t[t.length >> 1])} best ${gf(t[0])}`;
  }).join(' | ');
  console.log(`${cfg.mr}x${cfg.nr}u${cfg.unroll} ${cfg.mc}/${cfg.kc}/${cfg.nc}  ${line}  GFLOP/s`);
});
