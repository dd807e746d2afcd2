/**
 * Sampling benchmarks: the wall time of drawing a batch of images with each sampler at a list of
 * step counts, on a named network (linear schedule, T = 1000). The weights are a random
 * initialisation: the cost of a pass does not depend on the weights' values. Each figure is one
 * timed run (the sample is read back at the end), after one warm-up step per network and backend.
 */
import type { Backend } from '../../src/tensor/backend.ts';
import { withBackend } from '../../src/tensor/engine.ts';
import { type Tensor, tidy, toFloat32 } from '../../src/tensor/tensor.ts';
import * as R from '../../src/tensor/random.ts';
import { scheduleFromConfig } from '../../src/ddpm/schedule.ts';
import { ddimSampler, ddpmSampler, dpmpp2mSampler, runSampler } from '../../src/ddpm/samplers/index.ts';
import { namedNetworks, network } from '../../src/train/network.ts';
import type { BenchResult } from './harness.ts';

export const samplerNames = ['ddpm', 'ddim', 'dpmpp2m'] as const;
export type SamplerName = (typeof samplerNames)[number];

export interface SampleBenchOptions {
  readonly networkName: string;
  /** images drawn at once */
  readonly batch: number;
  readonly samplers: readonly SamplerName[];
  readonly steps: readonly number[];
  /** called after each figure (a 1000-step run takes a while) */
  readonly onResult?: (r: BenchResult) => void;
}

/** The row name: `sample mnist32 64 images ddim 50 steps` (the renderer parses it back). */
export const sampleCaseName = (networkName: string, batch: number, sampler: string, steps: number): string =>
  `sample ${networkName} ${batch} images ${sampler} ${steps} steps`;

export const parseSampleCaseName = (name: string): { network: string; batch: number; sampler: string; steps: number } | null => {
  const m = /^sample (\S+) (\d+) images (\S+) (\d+) steps$/.exec(name);
  return m ? { network: m[1], batch: Number(m[2]), sampler: m[3], steps: Number(m[4]) } : null;
};

const describe: Record<SamplerName, string> = { ddpm: 'ancestral DDPM', ddim: 'DDIM, η = 0', dpmpp2m: 'DPM-Solver++(2M)' };

export const sampleBenchmarks = (backend: Backend, threads: number, o: SampleBenchOptions): BenchResult[] => withBackend(backend, () => {
  const config = namedNetworks[o.networkName];
  if (!config) throw new Error(`unknown network "${o.networkName}": expected one of ${Object.keys(namedNetworks).join(', ')}`);
  const net = network(config);
  const size = net.config.kind === 'simple' ? 32 : 28;
  const weights = net.init(R.key(0));
  const schedule = scheduleFromConfig({ kind: 'linear', T: 1000 });
  const model = (x: Tensor, t: Tensor): Tensor => net.apply(weights, x, t, { training: false }).y;
  const shape = [o.batch, net.channels, size, size];
  const draw = (sampler: SamplerName, steps: number, key: R.Key): void => tidy(() => {
    const opts = { steps };
    const x0 = sampler === 'ddim' ? runSampler(ddimSampler, model, schedule, shape, key, { ...opts, eta: 0 })
      : sampler === 'dpmpp2m' ? runSampler(dpmpp2mSampler, model, schedule, shape, key, opts)
      : runSampler(ddpmSampler, model, schedule, shape, key, opts);
    toFloat32(x0);
  });
  // warm-up: one step, so the kernels, buffers and workers of this batch size exist
  draw('ddim', 1, R.key(1));
  const out: BenchResult[] = [];
  for (const sampler of o.samplers) {
    for (const steps of o.steps) {
      const t0 = performance.now();
      draw(sampler, steps, R.key(2));
      const s = (performance.now() - t0) / 1000;
      const r: BenchResult = {
        name: sampleCaseName(o.networkName, o.batch, sampler, steps), backend: backend.name, threads,
        value: +s.toPrecision(4), unit: 's', seconds: +s.toPrecision(4),
        note: `${describe[sampler]}: ${(1000 * s / steps).toFixed(1)} ms per step, ${(o.batch * steps / s).toFixed(1)} image-steps/s; linear schedule T = 1000, random weights (the cost does not depend on them), one run`,
      };
      out.push(r);
      o.onResult?.(r);
    }
  }
  return out;
});
