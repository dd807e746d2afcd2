/**
 * The op benchmarks of the engine issue: matmul 256×1152·1152×784 (an im2col conv) and 512³, and
 * conv2d 3×3 [64, 32, 28, 28] → 32 channels, forward and backward (input and weight gradients),
 * in GFLOP/s, on one backend. Every run reads its result back, so GL backends are timed to completion.
 */
import type { Backend } from '../../src/tensor/backend.ts';
import { withBackend } from '../../src/tensor/engine.ts';
import { type Tensor, tidy, toFloat32 } from '../../src/tensor/tensor.ts';
import * as O from '../../src/ops/index.ts';
import * as R from '../../src/tensor/random.ts';
import { valueAndGrad } from '../../src/grad/value-and-grad.ts';
import { type BenchResult, timeMedian } from './harness.ts';

const gflops = (flops: number, seconds: number): number => flops / seconds / 1e9;

export const opBenchmarks = (backend: Backend, threads = 1, minSeconds = 1): BenchResult[] => withBackend(backend, () => {
  const out: BenchResult[] = [];
  const record = (name: string, flops: number, fn: () => Tensor | Tensor[]) => {
    const s = timeMedian(() => tidy(() => {
      const r = fn();
      for (const t of Array.isArray(r) ? r : [r]) toFloat32(t);
    }), { minSeconds });
    out.push({ name, backend: backend.name, threads, value: +gflops(flops, s).toFixed(3), unit: 'GFLOP/s', seconds: +s.toFixed(5) });
  };
  const [k1, k2, k3, k4, k5, k6] = R.split(R.key(0), 6);

  const a = O.normal(k1, [256, 1152]);
  const b = O.normal(k2, [1152, 784]);
  record('matmul 256x1152·1152x784', 2 * 256 * 1152 * 784, () => O.matmul(a, b));
  const c = O.normal(k3, [512, 512]);
  record('matmul 512³', 2 * 512 ** 3, () => O.matmul(c, c));
  // A scaling probe: 500 products of 64×64 matrices, each in cache, split by batch entries, summed
  // so that only a scalar is read back. It bounds what a second thread adds on this machine when
  // memory is not the limit.
  const [k7, k8] = R.split(k3, 2);
  const small = O.normal(k7, [64, 64]);
  const stack = O.normal(k8, [500, 64, 64]);
  record('matmul 500×(64×64·64×64), in cache', 2 * 500 * 64 ** 3, () => O.sum(O.matmul(small, stack)));

  const x = O.normal(k4, [64, 32, 28, 28]);
  const w = O.normal(k5, [32, 32, 3, 3], 0, 0.1);
  const g = O.normal(k6, [64, 32, 28, 28]);
  const convFlops = 2 * 64 * 32 * 28 * 28 * 32 * 9;
  // The default algorithm (Winograd F(4×4, 3×3) where the backend has it), and im2col + matmul as
  // well on such backends. FLOPs are the direct convolution's either way.
  const algorithms: ('auto' | 'im2col')[] = backend.winograd ? ['auto', 'im2col'] : ['auto'];
  for (const algorithm of algorithms) {
    const suffix = algorithm === 'auto' ? '' : ' (im2col)';
    const opts = { padding: 1, algorithm };
    record(`conv2d 3x3 [64,32,28,28]→32 forward${suffix}`, convFlops, () => O.conv2d(x, w, null, opts));
    const fwd = out[out.length - 1].seconds as number;
    // forward + both gradients, then the forward's share is taken out
    const both = timeMedian(() => tidy(() => {
      const { grads } = valueAndGrad((p: { x: Tensor; w: Tensor }) => O.sum(O.mul(O.conv2d(p.x, p.w, null, opts), g)))({ x, w });
      toFloat32(grads.x);
      toFloat32(grads.w);
    }), { minSeconds });
    const bwd = Math.max(both - fwd, 1e-9);
    out.push({ name: `conv2d 3x3 [64,32,28,28]→32 backward (input+weight)${suffix}`, backend: backend.name, threads, value: +gflops(2 * convFlops, bwd).toFixed(3), unit: 'GFLOP/s', seconds: +bwd.toFixed(5) });
  }
  return out;
});
