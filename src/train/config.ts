/**
 * The training configuration: one io-ts codec for the whole run, named presets, and the checks
 * across fields. scripts/train.ts's flags override any field (src/cli/train.ts); everything is
 * validated before any work starts, and a bad value is refused with its path and the reason
 * (`train config: "batch": expected a positive integer, got 0`).
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { decodeWith, numberWhere, oneOf } from '../codec/codec.ts';
import { FormatError } from '../codec/errors.ts';
import { ScheduleConfig } from '../ddpm/schedule.ts';
import { namedNetworks, NetworkConfig, networkChannels } from './network.ts';
import { NonNegativeInt, PositiveInt } from '../layers/config.ts';
import type { UnetConfig } from '../layers/unet.ts';
import { samplerNames } from './generate.ts';
import { checkGuideInterval, WHOLE_TRAJECTORY } from './guide-file.ts';

const PositiveNumber = numberWhere('PositiveNumber', 'a finite number > 0', (n) => Number.isFinite(n) && n > 0);
const UnitInterval = numberWhere('UnitInterval', 'a number in [0, 1)', (n) => n >= 0 && n < 1);

/** `folder`: the user's own images from `imageFolder` (see src/io/image-folder.ts) */
export const datasets = ['mnist', 'fashion-mnist', 'folder'] as const;

export const TrainConfig = t.exact(t.type({
  /** the preset this config started from (informational) */
  preset: t.string,
  network: NetworkConfig,
  dataset: oneOf('a dataset', datasets),
  /** folder with the dataset's IDX files (default: the installed package or Debian's folder) */
  dataDir: t.union([t.string, t.null]),
  /** the `folder` dataset's images: files directly in it, or one subfolder per class (null for the IDX datasets) */
  imageFolder: t.union([t.string, t.null]),
  /** images are resized to imageSize × imageSize (28 keeps MNIST as it is; the seed network needs 32) */
  imageSize: PositiveInt,
  schedule: ScheduleConfig,
  /** number of passes over the data; ignored when `steps` is set */
  epochs: PositiveInt,
  /** optimizer steps in total (null: epochs × batches per epoch) */
  steps: t.union([PositiveInt, t.null]),
  batch: PositiveInt,
  lr: PositiveNumber,
  /** optimizer steps of linear learning-rate warm-up (0: none) */
  warmup: NonNegativeInt,
  /** after warm-up: a constant rate, or a half-cosine decay to lr/20 at the last step */
  lrDecay: oneOf('learning-rate decay', ['constant', 'cosine'] as const),
  /** what the network predicts: the noise ε, the clean image x0, or v = √ᾱ·ε − √(1−ᾱ)·x0 */
  objective: oneOf('objective', ['eps', 'x0', 'v'] as const),
  /** min-SNR-γ loss weighting with this γ (0: off, the plain MSE) */
  minSnr: numberWhere('NonNegativeNumber', 'a finite number ≥ 0', (n) => Number.isFinite(n) && n >= 0),
  /** for class-conditional networks: probability of training a sample with the null label (classifier-free guidance) */
  condDrop: UnitInterval,
  /** decay of the exponential moving average of the weights (0: no EMA) */
  ema: UnitInterval,
  seed: NonNegativeInt,
  /**
   * start from this checkpoint's weights and EMA instead of a random init (a warm restart or a
   * fine-tune): the optimizer, the step count and the learning-rate schedule start afresh (null: random init)
   */
  initFrom: t.union([t.string, t.null]),
  /**
   * autoguidance (Karras et al. 2024): after this fraction of the run's steps, the EMA weights are
   * frozen as the run's guide, a weaker model of the same data that sampling extrapolates away from
   * (0: no guide)
   */
  guideAt: UnitInterval,
  /** the autoguidance scale w of guide + w·(model − guide) that the grids use and the run recommends (1: the model alone) */
  guideScale: numberWhere('NonNegativeNumber', 'a finite number ≥ 0', (n) => Number.isFinite(n) && n >= 0),
  /**
   * the diffusion times t/T in [lo, hi) at which the guide acts in the grids and the run's
   * recommendation (0 clean, 1 pure noise; [0, 1]: every step)
   */
  guideInterval: t.readonly(t.tuple([t.number, t.number])),
  backend: t.string,
  /** output folder for checkpoints, metrics, pictures */
  out: t.string,
  /** write metrics.jsonl every N steps */
  logEvery: PositiveInt,
  /** save a checkpoint every N steps (0: only at the end and on Ctrl-C) */
  checkpointEvery: NonNegativeInt,
  /** save a sample grid every N steps (0: only at the end) */
  sampleEvery: NonNegativeInt,
  /** images in each sample grid (0: no grids, not even the final one) */
  sampleCount: NonNegativeInt,
  /** the sampler that draws the grids */
  sampler: oneOf('sampler', samplerNames),
  /** sampling steps used for the grids (≤ T; fewer is faster, evenly respaced) */
  sampleSteps: PositiveInt,
  /** the grids' pictures: each pixel drawn as a sampleScale × sampleScale block (1: as sampled) */
  sampleScale: PositiveInt,
}), 'TrainConfig');
export type TrainConfig = t.TypeOf<typeof TrainConfig>;

const common = {
  dataset: 'mnist' as const, dataDir: null, imageFolder: null, seed: 0, initFrom: null, backend: 'fast', logEvery: 10,
  checkpointEvery: 500, sampleEvery: 0, sampleCount: 64, steps: null, objective: 'eps' as const, minSnr: 0, condDrop: 0.1,
  warmup: 0, lrDecay: 'constant' as const, sampler: 'ddpm' as const, sampleScale: 1, guideAt: 0, guideScale: 1, guideInterval: WHOLE_TRAJECTORY,
};

/**
 * The default run's recipe, tuned with `npm run bench:quality` (docs/QUALITY.md) for the most
 * readable digits in about 13 minutes of training on a 2-core CPU: the `small` U-Net predicting v,
 * Adam 2.8e-3 with 200 warm-up steps and a cosine decay, EMA 0.999, 2,000 steps of batch 64 (whole
 * runs train about a seventh more images per second at batch 64 than at 32 here), and a final grid of 100
 * ancestral DDPM steps (which scored better than DDIM and DPM-Solver++ at 50, and as well as 200),
 * autoguided (w = 3.75) by the run's own EMA weights frozen at two thirds of the run (step 1,333).
 */
const quickRecipe = {
  ...common, imageSize: 28, schedule: { kind: 'cosine', T: 400 } as const, epochs: 1, steps: 2000, batch: 64, lr: 2.8e-3,
  warmup: 200, lrDecay: 'cosine' as const, ema: 0.999, objective: 'v' as const, minSnr: 0, sampleEvery: 0, sampler: 'ddpm' as const, sampleSteps: 100,
  guideAt: 2 / 3, guideScale: 3.75,
};

/**
 * Presets. `seed` is the walk-through exactly; `reference` the mnist32 setup (the reference U-Net of the PyTorch walk-through family);
 * `tiny` a CI-sized run; `quick` (the default) the recipe above; `cond` the same net and recipe
 * conditioned on the digit's class (a learned class embedding with a null class, for
 * classifier-free guidance).
 */
export const presets: Readonly<Record<string, Omit<TrainConfig, 'out'>>> = {
  seed: {
    ...common, preset: 'seed', network: namedNetworks.seed, imageSize: 32,
    schedule: { kind: 'linear', T: 200 }, epochs: 20, batch: 128, lr: 1e-3, ema: 0, sampleSteps: 200,
  },
  reference: {
    ...common, preset: 'reference', network: namedNetworks.mnist32, imageSize: 28,
    schedule: { kind: 'linear', T: 1000 }, epochs: 20, batch: 128, lr: 2e-4, ema: 0.999, sampleSteps: 1000,
  },
  tiny: {
    ...common, preset: 'tiny', network: namedNetworks.tiny, imageSize: 28, logEvery: 5,
    schedule: { kind: 'cosine', T: 200 }, epochs: 1, steps: 200, batch: 16, lr: 2e-3, ema: 0, checkpointEvery: 100,
    sampleCount: 16, sampleSteps: 50,
  },
  quick: { ...quickRecipe, preset: 'quick', network: namedNetworks.small, sampleCount: 64 },
  cond: {
    // the cond run as it shipped: 2,500 steps of batch 32 at Adam 2e-3, classifier-free guidance instead of a guide
    ...quickRecipe, steps: 2500, batch: 32, lr: 2e-3, guideAt: 0, guideScale: 1,
    preset: 'cond', network: { kind: 'unet', unet: { ...(namedNetworks.small as { unet: UnetConfig }).unet, numClasses: 10 } },
    sampleCount: 80,
  },
};

export const defaultPreset = 'quick';

const fail = (path: string[], reason: string): E.Either<FormatError, never> => E.left(new FormatError('train config', path, reason));

/** Checks across fields that the field codecs cannot make. */
export const checkConsistency = (c: TrainConfig): E.Either<FormatError, TrainConfig> => {
  if (c.sampleSteps > c.schedule.T) return fail(['sampleSteps'], `${c.sampleSteps} sampling steps exceed T = ${c.schedule.T}`);
  if (c.network.kind === 'simple' && c.imageSize % 16 !== 0) return fail(['imageSize'], `the seed network halves the image 4 times: ${c.imageSize} is not divisible by 16 (use 32)`);
  if ((c.dataset === 'folder') !== (c.imageFolder !== null)) {
    return c.imageFolder === null
      ? fail(['imageFolder'], 'the folder dataset needs --image-folder DIR')
      : fail(['imageFolder'], `an image folder is the folder dataset, but the dataset is "${c.dataset}" (leave out --dataset)`);
  }
  if (c.dataset === 'folder' && c.dataDir !== null) return fail(['dataDir'], 'is the IDX datasets\' folder; a folder run reads only --image-folder');
  const channels = networkChannels(c.network);
  if (c.dataset !== 'folder' && channels !== 1) return fail(['network'], `${c.dataset} is grayscale: the network must take 1 channel, not ${channels} (RGB needs --image-folder)`);
  if (channels !== 1 && channels !== 3) return fail(['network'], `images have 1 (gray) or 3 (RGB) channels; the network takes ${channels}`);
  if (c.network.kind === 'simple' && c.network.simple.outChannels !== channels) {
    return fail(['network', 'simple', 'outChannels'], `the seed network must predict as many channels as it takes (${channels}), got ${c.network.simple.outChannels}`);
  }
  const interval = checkGuideInterval(c.guideInterval);
  if (E.isLeft(interval)) return fail(['guideInterval'], interval.left);
  if (c.network.kind === 'unet') {
    const f = 2 ** (c.network.unet.channelMults.length - 1);
    if (c.imageSize % f !== 0) return fail(['imageSize'], `${c.network.unet.channelMults.length} levels need a size divisible by ${f}, got ${c.imageSize}`);
  }
  return E.right(c);
};

/** Fields added after a config format was first written, with the value older runs implicitly had. */
export const laterFields = { objective: 'eps', minSnr: 0, condDrop: 0.1, imageFolder: null, warmup: 0, lrDecay: 'constant', sampler: 'ddpm', sampleScale: 1, initFrom: null, guideAt: 0, guideScale: 1, guideInterval: [0, 1] } as const;

/** A saved config (config.json) with any field it predates filled in, then validated. */
export const decodeSavedConfig = (what: string, u: unknown): E.Either<FormatError, TrainConfig> =>
  decodeWith(what)(TrainConfig, typeof u === 'object' && u !== null && !Array.isArray(u) ? { ...laterFields, ...u } : u);
