/** Drawing images from a trained network with any of the samplers, the network in eval mode, a batch at a time. */
import { fold, type Key } from '../tensor/random.ts';
import { dispose, type Tensor, toFloat32 } from '../tensor/tensor.ts';
import { tensor } from '../ops/create.ts';
import { autoguidedModel, type GuidanceInterval, guidedModel } from '../ddpm/guidance.ts';
import type { Denoiser } from '../ddpm/loss.ts';
import type { Objective } from '../ddpm/objectives.ts';
import type { Schedule } from '../ddpm/schedule.ts';
import { runSampler, samplerNamed, samplersByName } from '../ddpm/samplers/index.ts';
import type { Network, Weights } from './network.ts';
import { type GuideInterval, isWholeTrajectory } from './guide-file.ts';

export const samplerNames = Object.keys(samplersByName) as readonly (keyof typeof samplersByName)[];
export type SamplerName = (typeof samplerNames)[number];

/** A guide network for autoguidance, its scale and where it acts (see `autoguidedModel`). */
export interface Autoguide {
  readonly net: Network;
  readonly weights: Weights;
  readonly scale: number;
  /** the diffusion times t/T in [lo, hi) the guide acts at (absent: every step) */
  readonly interval?: GuideInterval;
}

/** A guide interval (fractions of T) in the timesteps of a schedule of T steps; undefined when it spans the whole trajectory. */
const guideTimesteps = (interval: GuideInterval, T: number): GuidanceInterval | undefined =>
  isWholeTrajectory(interval) ? undefined : [interval[0] * T, interval[1] * T];

export interface DrawOptions {
  readonly n: number;
  /** images per sampling batch (default: all n at once); batch b draws with fold(key, b) unless there is one batch */
  readonly batch?: number;
  readonly sampler: SamplerName;
  /** sampling steps (default all T) */
  readonly steps?: number;
  /** DDIM's η (default 0) */
  readonly eta?: number;
  /** clip x̂_0 to [−1, 1] at each step (default true) */
  readonly clip?: boolean;
  /** what the network predicts (default eps) */
  readonly prediction?: Objective;
  /** class labels [n] for a class-conditional network */
  readonly labels?: Float32Array;
  /** classifier-free guidance scale w with labels (1: the conditional model alone; default 1) */
  readonly guidance?: number;
  /**
   * autoguidance: a weaker model of the same data (same objective and schedule, and the same
   * classes if conditional), the scale w of guide + w·(model − guide) and the timesteps it acts
   * at; w = 1 is the model alone
   */
  readonly guide?: Autoguide;
  /**
   * called at each sampling step with the timestep, the batch index, the batch's x_t and its x̂_0
   * (the loop frees both after the call: read them inside it, e.g. with `toFloat32`)
   */
  readonly onStep?: (t: number, batch: number, xt: Tensor, predX0: Tensor) => void;
}

/**
 * The denoiser a draw samples with: the network in eval mode; with labels and a classifier-free
 * guidance w ≠ 1, both predictions from one pass on the doubled batch (with w = 1 the conditional
 * prediction is the guided one exactly, see guidance.ts, so the plain batch is enough); with a
 * guide whose scale is not 1, autoguidance, the labels (if any) going to both networks.
 */
export const denoiserFor = (
  net: Network, weights: Weights, T: number, o: { readonly labels?: Tensor; readonly guidance?: number; readonly guide?: Autoguide },
): Denoiser => {
  const { labels } = o;
  const guidance = o.guidance ?? 1;
  const plain = (n: Network, w: Weights): Denoiser => (x, t) => n.apply(w, x, t, { training: false, ...(labels ? { labels } : {}) }).y;
  const guide = o.guide !== undefined && o.guide.scale !== 1 ? o.guide : undefined;
  if (guide !== undefined) {
    if (guide.net.numClasses !== net.numClasses) throw new Error(`drawImages: the guide network has ${guide.net.numClasses} classes, the model ${net.numClasses}`);
    if (labels !== undefined && guidance !== 1) throw new RangeError('drawImages: classifier-free guidance and autoguidance together: use one (set guidance or the guide\'s scale to 1)');
    return autoguidedModel(plain(net, weights), plain(guide.net, guide.weights), guide.scale, guide.interval && guideTimesteps(guide.interval, T));
  }
  if (labels === undefined || guidance === 1) return plain(net, weights);
  return guidedModel((x, t, l) => net.apply(weights, x, t, { training: false, labels: l }).y, labels, net.numClasses, guidance);
};

/**
 * n images [n, C, size, size] from a network with any sampler, `batch` at a time, with
 * `denoiserFor`'s guidance.
 */
export const drawImages = (net: Network, weights: Weights, schedule: Schedule, size: number, key: Key, opts: DrawOptions): Float32Array => {
  const { n } = opts;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`drawImages: n must be a positive integer, got ${n}`);
  if (opts.labels !== undefined && opts.labels.length !== n) throw new RangeError(`drawImages: ${opts.labels.length} labels for ${n} images`);
  if (opts.labels !== undefined && net.numClasses === 0) throw new Error('drawImages: labels given, but the network is not class-conditional');
  const batch = Math.min(n, opts.batch ?? n);
  const batches = Math.ceil(n / batch);
  const per = net.channels * size * size;
  const images = new Float32Array(n * per);
  for (let b = 0; b < batches; b++) {
    const from = b * batch;
    const count = Math.min(batch, n - from);
    const labelTensor = opts.labels && tensor(opts.labels.subarray(from, from + count));
    const model = denoiserFor(net, weights, schedule.T, { labels: labelTensor, guidance: opts.guidance, guide: opts.guide });
    const onStep = opts.onStep;
    const common = { clip: opts.clip ?? true, prediction: opts.prediction ?? 'eps', steps: opts.steps, onStep: onStep && ((t: number, xt: Tensor, predX0: Tensor) => onStep(t, b, xt, predX0)) };
    const shape = [count, net.channels, size, size];
    const k = batches === 1 ? key : fold(key, b);
    const x0 = runSampler(samplerNamed(opts.sampler), model, schedule, shape, k, opts.sampler === 'ddim' ? { ...common, eta: opts.eta ?? 0 } : common);
    images.set(toFloat32(x0), from * per);
    dispose(x0);
    if (labelTensor) dispose(labelTensor);
  }
  return images;
};
