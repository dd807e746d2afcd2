/**
 * The high-level API, after diffusers' pipelines: a loaded model with a `sample` that picks sensible
 * defaults, for people who want digits rather than a sampling loop. Everything underneath stays
 * public (`drawImages`, the samplers, the schedulers) for those who want the loop.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Tensor } from '../tensor/tensor.ts';
import { key as makeKey } from '../tensor/random.ts';
import { scheduleFromConfig, type Schedule } from '../ddpm/schedule.ts';
import type { Network, Weights } from '../train/network.ts';
import { type Autoguide, drawImages, samplerNames, type SamplerName } from '../train/generate.ts';
import { checkGuideInterval, type GuideInterval } from '../train/guide-file.ts';
import { decodeModelFiles, modelConfig, type DiffusionModel, type ModelConfig, type ModelFiles, type ModelGuide } from './model.ts';

export interface SampleOptions {
  /** how many images */
  readonly n: number;
  /** ddpm (ancestral), ddim or dpmpp2m (DPM-Solver++ 2M); default ddim */
  readonly sampler?: SamplerName;
  /** sampling steps, evenly respaced over the model's T; default min(50, T) */
  readonly steps?: number;
  /** PRNG seed: the same seed gives the same images on every backend; default 0 */
  readonly seed?: number;
  /**
   * Class-conditional models: one class for every image, or one per image (length n). Without
   * labels a class-conditional model draws unconditionally (its null class, `numClasses`).
   */
  readonly classLabels?: number | readonly number[];
  /** classifier-free guidance w with class labels: uncond + w·(cond − uncond); default 3 (1 = the conditional model alone) */
  readonly guidance?: number;
  /**
   * autoguidance w with the model's guide (a weaker model shipped beside it): guide + w·(model − guide);
   * default the scale the model recommends when it has a guide, else 1 (off, the model alone)
   */
  readonly autoguidance?: number;
  /**
   * where along the trajectory autoguidance acts: the diffusion times t/T in [lo, hi), 0 clean and
   * 1 pure noise; default the interval the model recommends with its guide ([0, 1]: every step)
   */
  readonly autoguidanceInterval?: GuideInterval;
  /** DDIM's η (0: deterministic, the default; 1: ancestral-like); only with sampler ddim */
  readonly eta?: number;
  /** clip the predicted x̂₀ to [−1, 1] at each step; default true */
  readonly clip?: boolean;
  /** images per network batch (default all n at once); bounds memory for large n */
  readonly batch?: number;
  /**
   * called at each step with the timestep, the batch index, and the batch's x_t and x̂_0 (a progress
   * bar, or a live preview: read the tensors inside the call with `toFloat32`, they are freed after it)
   */
  readonly onStep?: (t: number, batch: number, xt: Tensor, predX0: Tensor) => void;
}

/** Sampled images, row-major [n, channels, size, size], in the model's data range [−1, 1] (0.5·(x + 1) maps to [0, 1]). */
export interface Samples {
  readonly images: Float32Array;
  readonly shape: readonly [n: number, channels: number, height: number, width: number];
}

/** A model ready to sample: the network and weights, its settings, its noise schedule's tables. */
export interface Pipeline {
  readonly net: Network;
  readonly weights: Weights;
  readonly config: ModelConfig;
  readonly schedule: Schedule;
  /** the weaker model the pipeline autoguides with by default, when the model came with one */
  readonly guide?: ModelGuide;
  /** Draws images; throws RangeError on options that do not fit the model. */
  sample(opts: SampleOptions): Samples;
}

const isIntIn = (x: number, lo: number, hi: number): boolean => Number.isInteger(x) && x >= lo && x <= hi;

/** One label per image as the float tensor data the network takes; null class for a conditional model given none. */
const labelsFor = (net: Network, n: number, given: SampleOptions['classLabels']): Float32Array | undefined => {
  if (given === undefined) return net.numClasses > 0 ? new Float32Array(n).fill(net.numClasses) : undefined;
  if (net.numClasses === 0) throw new RangeError('sample: classLabels given, but the model is not class-conditional');
  const labels = typeof given === 'number' ? new Array<number>(n).fill(given) : given;
  if (labels.length !== n) throw new RangeError(`sample: ${labels.length} classLabels for n = ${n} images`);
  const bad = labels.find((c) => !isIntIn(c, 0, net.numClasses - 1));
  if (bad !== undefined) throw new RangeError(`sample: class ${bad} is not a class of this model (0 … ${net.numClasses - 1})`);
  return Float32Array.from(labels);
};

/**
 * The guide, scale and interval to draw with (undefined: none) from the asked ones and the model's
 * own guide, or why they do not go together (the CLIs name the flag, `sample` the function).
 */
export const autoguide = (
  model: DiffusionModel, scale: number | undefined, classifierFree = 1, asked?: GuideInterval,
): E.Either<string, (Autoguide & { readonly interval: GuideInterval }) | undefined> => {
  if (scale !== undefined && !(Number.isFinite(scale) && scale >= 0)) return E.left(`autoguidance must be a finite number ≥ 0, got ${scale}`);
  const checked = asked === undefined ? E.right(undefined) : checkGuideInterval(asked);
  if (E.isLeft(checked)) return checked;
  const { guide } = model;
  if (guide === undefined) {
    return (scale !== undefined && scale !== 1) || asked !== undefined ? E.left('autoguidance needs a guide, and this model has none (guide.safetensors)') : E.right(undefined);
  }
  const w = scale ?? (classifierFree !== 1 ? 1 : guide.scale);
  if (w !== 1 && classifierFree !== 1) return E.left('classifier-free guidance and autoguidance together: use one (set the other to 1)');
  return E.right(w === 1 ? undefined : { net: guide.net, weights: guide.weights, scale: w, interval: asked ?? guide.interval });
};

/** Settles the defaults and checks the options against the model before any work is done. */
const drawOptions = (model: DiffusionModel, schedule: Schedule, opts: SampleOptions) => {
  const { n } = opts;
  const { net } = model;
  if (!isIntIn(n, 1, Number.MAX_SAFE_INTEGER)) throw new RangeError(`sample: n must be a positive integer, got ${n}`);
  const sampler = opts.sampler ?? 'ddim';
  if (!samplerNames.includes(sampler)) throw new RangeError(`sample: unknown sampler "${sampler}": expected one of ${samplerNames.join(', ')}`);
  const steps = opts.steps ?? Math.min(50, schedule.T);
  if (!isIntIn(steps, 1, schedule.T)) throw new RangeError(`sample: steps must be an integer in [1, ${schedule.T}], got ${steps}`);
  if (opts.eta !== undefined && sampler !== 'ddim') throw new RangeError('sample: eta is a DDIM setting: use sampler "ddim"');
  const labels = labelsFor(net, n, opts.classLabels);
  // the null class drawn alone is the unconditional model: guidance would only double the work
  const guidance = opts.classLabels === undefined ? 1 : opts.guidance ?? 3;
  const guide = autoguide(model, opts.autoguidance, guidance, opts.autoguidanceInterval);
  if (E.isLeft(guide)) throw new RangeError(`sample: ${guide.left}`);
  return { n, sampler, steps, labels, guidance, guide: guide.right, eta: opts.eta, clip: opts.clip, batch: opts.batch, onStep: opts.onStep };
};

/** A pipeline around a loaded model. Sampling runs on the current backend (`setBackend`, default `fast`). */
export const pipelineFromModel = (model: DiffusionModel): Pipeline => {
  const { net, weights, size, objective } = model;
  const schedule = scheduleFromConfig(model.schedule);
  return {
    net, weights, schedule, config: modelConfig(model), ...(model.guide ? { guide: model.guide } : {}),
    sample: (opts) => {
      const d = drawOptions(model, schedule, opts);
      const images = drawImages(net, weights, schedule, size, makeKey(opts.seed ?? 0), { ...d, prediction: objective });
      return { images, shape: [d.n, net.channels, size, size] };
    },
  };
};

/**
 * A pipeline from a model's bytes, with no file system: `{ safetensors, config }` as read from a
 * model folder (or `{ safetensors, network }` for bare weights). Throws an Error naming `what` when
 * the bytes or the config do not fit. Node users can pass paths to `loadPipeline` of
 * `diffusion-ts/node` instead.
 */
export const pipelineFromFiles = (files: ModelFiles, what = 'model'): Pipeline => {
  const m = decodeModelFiles(files, what);
  if (E.isLeft(m)) throw m.left;
  return pipelineFromModel(m.right);
};
