/**
 * Training-step benchmarks: forward + MSE + backward + Adam of a named network at a batch size,
 * in images per second (median of timed steps after a warm-up step), with a per-kernel breakdown.
 */
import type { Backend } from '../../src/tensor/backend.ts';
import { withBackend } from '../../src/tensor/engine.ts';
import { profiled } from '../../src/tensor/profile.ts';
import { tidy, toFloat32 } from '../../src/tensor/tensor.ts';
import * as O from '../../src/ops/index.ts';
import * as R from '../../src/tensor/random.ts';
import { adam } from '../../src/grad/optim.ts';
import { scheduleFromConfig } from '../../src/ddpm/schedule.ts';
import { namedNetworks, network } from '../../src/train/network.ts';
import { trainStep } from '../../src/train/step.ts';
import { type BenchResult, timeMedian } from './harness.ts';

export interface TrainBenchOptions {
  readonly networkName: string;
  readonly batch: number;
  readonly minRuns?: number;
}

export const trainBenchmark = (backend: Backend, o: TrainBenchOptions): { result: BenchResult; breakdown: { kernel: string; share: number; calls: number }[] } => {
  const p = profiled(backend);
  return withBackend(p, () => {
    const net = network(namedNetworks[o.networkName]);
    const size = net.config.kind === 'simple' ? 32 : 28;
    const weights = net.init(R.key(0));
    const opt = adam({ lr: 1e-4 });
    const state = opt.init(weights.params);
    const schedule = scheduleFromConfig({ kind: 'linear', T: 1000 });
    const x0 = O.uniform(R.key(1), [o.batch, net.channels, size, size], -1, 1);
    let i = 0;
    const step = () => tidy(() => {
      const r = trainStep(net, schedule, opt, weights, state, x0, R.key(i++));
      toFloat32(r.loss);
    });
    step();
    p.reset();
    const s = timeMedian(step, { minRuns: o.minRuns ?? 3, minSeconds: 0, maxRuns: o.minRuns ?? 3 });
    const stats = p.stats();
    const total = stats.reduce((a, b) => a + b.seconds, 0);
    return {
      result: { name: `train step ${o.networkName} batch ${o.batch}`, backend: backend.name, threads: 1, value: +(o.batch / s).toFixed(2), unit: 'images/s', seconds: +s.toFixed(3) },
      breakdown: stats.map((k) => ({ kernel: k.kernel, share: +(k.seconds / total).toFixed(4), calls: Math.round(k.calls / (i - 1)) })),
    };
  });
};
