/** Drawing images from a trained network: the ancestral loop with the network in eval mode. */
import type { Key } from '../tensor/random.ts';
import { dispose, type Tensor, tidy, toFloat32 } from '../tensor/tensor.ts';
import { sampleLoop, type SampleOptions } from '../ddpm/sample.ts';
import type { Schedule } from '../ddpm/schedule.ts';
import type { Network, Weights } from './network.ts';

export interface Generated {
  /** [n, channels, size, size] in (about) [-1, 1] */
  readonly images: Float32Array;
  /** x_t at the requested timesteps, as host arrays */
  readonly trajectory: ReadonlyMap<number, Float32Array>;
}

export const generate = (
  net: Network, weights: Weights, schedule: Schedule, n: number, size: number, key: Key,
  opts: SampleOptions = {},
): Generated => {
  const model = (x: Tensor, t: Tensor): Tensor => net.apply(weights, x, t, { training: false }).y;
  const { x0, trajectory } = sampleLoop(model, schedule, [n, net.channels, size, size], key, opts);
  const images = toFloat32(x0);
  dispose(x0);
  const host = new Map<number, Float32Array>();
  trajectory.forEach((t, step) => {
    host.set(step, toFloat32(t));
    dispose(t);
  });
  return { images, trajectory: host };
};

/** `generate` in a scope, so nothing it makes on the backend outlives it. */
export const generateTidy = (...args: Parameters<typeof generate>): Generated => tidy(() => generate(...args));
