/** Drawing images from a trained network: the ancestral loop with the network in eval mode. */
import type { Key } from '../tensor/random.ts';
import { dispose, type Tensor, tidy, toFloat32 } from '../tensor/tensor.ts';
import { ddpmSampler, runSampler } from '../ddpm/samplers/index.ts';
import type { Objective } from '../ddpm/objectives.ts';
import { guidedModel } from '../ddpm/guidance.ts';
import { tensor } from '../ops/create.ts';
import type { Schedule } from '../ddpm/schedule.ts';
import type { Network, Weights } from './network.ts';

export interface Generated {
  /** [n, channels, size, size] in (about) [-1, 1] */
  readonly images: Float32Array;
  /** x_t at the requested timesteps, as host arrays */
  readonly trajectory: ReadonlyMap<number, Float32Array>;
}

export interface GenerateOptions {
  /** ancestral steps (default T; fewer are respaced) */
  readonly numSteps?: number;
  readonly clip?: boolean;
  /** what the network predicts (default eps) */
  readonly prediction?: Objective;
  /** timesteps whose x_t to return */
  readonly keepTrajectory?: readonly number[];
  /** class labels [n] for a class-conditional network, with the guidance scale (1: none; see guidedModel) */
  readonly labels?: Float32Array;
  readonly guidance?: number;
}

/** Ancestral DDPM sampling of n images (the sampler contract of src/ddpm/samplers). */
export const generate = (
  net: Network, weights: Weights, schedule: Schedule, n: number, size: number, key: Key,
  opts: GenerateOptions = {},
): Generated => {
  const plain = (x: Tensor, t: Tensor): Tensor => net.apply(weights, x, t, { training: false }).y;
  const model = opts.labels
    ? guidedModel((x, t, labels) => net.apply(weights, x, t, { training: false, labels }).y, tensor(opts.labels), net.numClasses, opts.guidance ?? 1)
    : plain;
  const wanted = new Set(opts.keepTrajectory ?? []);
  const trajectory = new Map<number, Float32Array>();
  const x0 = runSampler(ddpmSampler, model, schedule, [n, net.channels, size, size], key, {
    steps: opts.numSteps, clip: opts.clip, prediction: opts.prediction,
    onStep: (t, xt) => {
      if (wanted.has(t)) trajectory.set(t, toFloat32(xt));
    },
  });
  const images = toFloat32(x0);
  dispose(x0);
  return { images, trajectory };
};

/** `generate` in a scope, so nothing it makes on the backend outlives it. */
export const generateTidy = (...args: Parameters<typeof generate>): Generated => tidy(() => generate(...args));
