// Throwaway timing script for the fast backend (not part of the library).
import { WasmHeap } from '../src/tensor/fast/memory.ts';
import { Gemm } from '../src/tensor/fast/matmul.ts';
import type { MatmulSpec } from '../src/tensor/backend.ts';

const args = process.argv.slice(2);
const mr = Number(args[0] ?? 5), nr = Number(args[1] ?? 8), unroll = Number(args[2] ?? 4);
const mc = Number(args[3] ?? 120), kc = Number(args[4] ?? 256), nc = Number(args[5] ?? 1024);
const heap = new WasmHeap();
const gemm = new Gemm(heap, { mr, nr, unroll }, { mc, kc, nc });

const bench = (m: number, k: number, n: number, reps: number): void => {
  const a = heap.alloc(m * k), b = heap.alloc(k * n), c = heap.alloc(m * n);
  const f = heap.f32;
  for (let i = 0; i < m * k; i++) f[a.index + i] = Math.sin(i);
  for (let i = 0; i < k * n; i++) f[b.index + i] = Math.cos(i);
  const spec: MatmulSpec = { batch: 1, m, k, n, transA: false, transB: false, strideA: 0, strideB: 0 };
  for (let i = 0; i < 5; i++) gemm.run(a.offset, b.offset, c.offset, spec);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    gemm.run(a.offset, b.offset, c.offset, spec);
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  const med = times[times.length >> 1];
  console.log(`${m}x${k}x${n} tile ${mr}x${nr}u${unroll} blk ${mc}/${kc}/${nc}: median ${med.toFixed(2)} ms, ${(2 * m * n * k / med / 1e6).toFixed(1)} GFLOP/s (best ${(2 * m * n * k / times[0] / 1e6).toFixed(1)})`);
};
bench(512, 512, 512, 15);
bench(256, 1152, 784, 15);
