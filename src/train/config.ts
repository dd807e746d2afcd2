/**
 * The training configuration: one io-ts codec for the whole run, named presets, and CLI flags that
 * override any field. Everything is validated before any work starts; a bad value is refused with
 * its path and the reason (`train config: "batch": expected a positive integer, got 0`).
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as t from 'io-ts';
import { decodeWith, numberWhere, oneOf } from '../io/codec.ts';
import { FormatError } from '../io/errors.ts';
import { ScheduleConfig } from '../ddpm/schedule.ts';
import { namedNetworks, NetworkConfig, networkChannels, withChannels } from './network.ts';
import { NonNegativeInt, PositiveInt } from '../layers/config.ts';
import type { UnetConfig } from '../layers/unet.ts';
import { samplerNames } from './generate.ts';

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
}), 'TrainConfig');
export type TrainConfig = t.TypeOf<typeof TrainConfig>;

const common = {
  dataset: 'mnist' as const, dataDir: null, imageFolder: null, seed: 0, backend: 'fast', logEvery: 10,
  checkpointEvery: 500, sampleEvery: 0, sampleCount: 64, steps: null, objective: 'eps' as const, minSnr: 0, condDrop: 0.1,
  warmup: 0, lrDecay: 'constant' as const, sampler: 'ddpm' as const,
};

/**
 * The default run's recipe, tuned with `npm run bench:quality` (docs/QUALITY.md) for the most
 * readable digits in about 10 minutes of training on a 2-core CPU: the `small` U-Net predicting v,
 * Adam 2e-3 with 200 warm-up steps and a cosine decay, EMA 0.999, 2,500 steps of batch 32, and a
 * final grid of 100 ancestral DDPM steps (which scored better than DDIM and DPM-Solver++ at 50).
 */
const quickRecipe = {
  ...common, imageSize: 28, schedule: { kind: 'cosine', T: 400 } as const, epochs: 1, steps: 2500, batch: 32, lr: 2e-3,
  warmup: 200, lrDecay: 'cosine' as const, ema: 0.999, objective: 'v' as const, minSnr: 0, sampleEvery: 0, sampler: 'ddpm' as const, sampleSteps: 100,
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
    ...quickRecipe, preset: 'cond', network: { kind: 'unet', unet: { ...(namedNetworks.small as { unet: UnetConfig }).unet, numClasses: 10 } },
    sampleCount: 80,
  },
};

export const defaultPreset = 'quick';

/** Documentation of every flag, for --help. */
export const flagHelp: readonly (readonly [string, string])[] = [
  ['--preset NAME', `one of ${Object.keys(presets).join(', ')} (default ${defaultPreset})`],
  ['--network NAME', `one of ${Object.keys(namedNetworks).join(', ')}`],
  ['--network-json JSON', 'fields of the network config to override, e.g. \'{"baseChannels":24}\''],
  ['--dataset NAME', datasets.join(' | ')],
  ['--data-dir DIR', 'folder with the dataset IDX files'],
  ['--image-folder DIR', 'train on your own .png/.jpg images: in DIR, or one subfolder per class (sets --dataset folder)'],
  ['--channels 1|3', 'image channels: 1 gray, 3 RGB (default 3 with --image-folder, 1 for MNIST)'],
  ['--image-size N', 'resize images to N×N'],
  ['--schedule KIND', 'linear | cosine | sigmoid'],
  ['--timesteps T', 'number of diffusion steps'],
  ['--beta-start B, --beta-end B', 'linear schedule endpoints'],
  ['--epochs N', 'passes over the data (when --steps is not set)'],
  ['--steps N', 'optimizer steps in total'],
  ['--batch N', 'batch size'],
  ['--lr X', 'Adam learning rate'],
  ['--warmup N', 'optimizer steps of linear learning-rate warm-up (0 = none)'],
  ['--lr-decay KIND', 'constant | cosine (to lr/20 at the last step)'],
  ['--ema D', 'EMA decay of the weights (0 = off)'],
  ['--objective eps|x0|v', 'what the network predicts (quick and cond: v; the other presets: eps)'],
  ['--min-snr G', 'min-SNR-γ loss weighting (0 = off)'],
  ['--cond-drop P', 'class-conditional nets: probability of the null label in training (default 0.1)'],
  ['--seed N', 'PRNG seed'],
  ['--backend NAME', 'plain | gpujs-cpu | gpujs-webasm | gpujs-headlessgl | …'],
  ['--out DIR', 'output folder (default runs/<preset>)'],
  ['--log-every N', 'steps between metrics lines'],
  ['--checkpoint-every N', 'steps between checkpoints (0: end and Ctrl-C only)'],
  ['--sample-every N', 'steps between sample grids (0: end only)'],
  ['--sample-count N', 'images per grid (0: no grids)'],
  ['--sampler NAME', `the grids' sampler: ${samplerNames.join(' | ')}`],
  ['--sample-steps N', 'sampling steps for the grids'],
  ['--resume DIR', 'continue the run saved in DIR exactly where it stopped'],
];

/** Flags that map one-to-one onto top-level config fields, with how to parse their value. */
const simpleFlags: Readonly<Record<string, readonly [keyof TrainConfig, 'number' | 'string' | 'nullableNumber']>> = {
  dataset: ['dataset', 'string'], 'data-dir': ['dataDir', 'string'], 'image-folder': ['imageFolder', 'string'], 'image-size': ['imageSize', 'number'],
  epochs: ['epochs', 'number'], steps: ['steps', 'nullableNumber'], batch: ['batch', 'number'], lr: ['lr', 'number'],
  warmup: ['warmup', 'number'], 'lr-decay': ['lrDecay', 'string'],
  ema: ['ema', 'number'], objective: ['objective', 'string'], 'min-snr': ['minSnr', 'number'], 'cond-drop': ['condDrop', 'number'], seed: ['seed', 'number'], backend: ['backend', 'string'], out: ['out', 'string'],
  'log-every': ['logEvery', 'number'], 'checkpoint-every': ['checkpointEvery', 'number'], 'sample-every': ['sampleEvery', 'number'],
  'sample-count': ['sampleCount', 'number'], 'sample-steps': ['sampleSteps', 'number'], sampler: ['sampler', 'string'],
};

export interface ParsedArgs {
  readonly config: TrainConfig;
  readonly resume: string | null;
  readonly help: boolean;
}

const fail = (path: string[], reason: string): E.Either<FormatError, never> => E.left(new FormatError('train config', path, reason));

/** A flag's text as a number when it looks like one (so the codec reports "expected …, got "abc""). */
const parseValue = (raw: string, kind: 'number' | 'string' | 'nullableNumber'): unknown => {
  if (kind === 'string') return raw;
  if (kind === 'nullableNumber' && (raw === 'null' || raw === 'none')) return null;
  const n = Number(raw);
  return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
};

/** `--name value` / `--name=value` pairs; a flag without a value is an error unless it is boolean. */
const tokenize = (argv: readonly string[]): E.Either<FormatError, Map<string, string>> => {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) return fail([a], 'unexpected argument (flags start with --)');
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (name === 'help') {
      out.set('help', 'true');
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) return fail([name], 'missing value');
    out.set(name, value);
  }
  return E.right(out);
};

const knownFlags = new Set([...Object.keys(simpleFlags), 'channels', 'preset', 'network', 'network-json', 'schedule', 'timesteps', 'beta-start', 'beta-end', 'resume', 'help']);

/**
 * CLI flags → a validated config: the preset's fields, then every flag on top, then the codec.
 * `base` (a resumed run's saved config) replaces the preset when given.
 */
export const configFromArgs = (argv: readonly string[], base?: TrainConfig): E.Either<FormatError, ParsedArgs> =>
  pipe(tokenize(argv), E.chain((flags) => {
    const unknown = [...flags.keys()].find((k) => !knownFlags.has(k));
    if (unknown) return fail([`--${unknown}`], `unknown flag (see --help)`);
    const presetName = flags.get('preset') ?? base?.preset ?? defaultPreset;
    const preset = base ?? presets[presetName];
    if (!preset) return fail(['preset'], `unknown preset "${presetName}": expected one of ${Object.keys(presets).join(', ')}`);
    const raw: Record<string, unknown> = { ...preset, out: base?.out ?? `runs/${presetName}` };
    for (const [flag, [field, kind]] of Object.entries(simpleFlags)) {
      const v = flags.get(flag);
      if (v !== undefined) raw[field] = parseValue(v, kind);
    }
    const netName = flags.get('network');
    if (netName !== undefined) {
      const net = namedNetworks[netName];
      if (!net) return fail(['network'], `unknown network "${netName}": expected one of ${Object.keys(namedNetworks).join(', ')}`);
      raw.network = net;
    }
    const netJson = flags.get('network-json');
    let over: unknown;
    if (netJson !== undefined) {
      try {
        over = JSON.parse(netJson);
      } catch (e) {
        return fail(['network-json'], `not JSON (${(e as Error).message})`);
      }
      const net = raw.network as NetworkConfig;
      raw.network = net.kind === 'unet' ? { ...net, unet: { ...net.unet, ...(over as object) } } : { ...net, simple: { ...net.simple, ...(over as object) } };
    }
    // a folder run is the folder dataset, in RGB unless the flags say otherwise (a resumed run keeps its network)
    if (flags.has('image-folder') && !flags.has('dataset')) raw.dataset = 'folder';
    const channels = flags.get('channels');
    if (channels !== undefined) {
      if (channels !== '1' && channels !== '3') return fail(['channels'], `expected 1 (gray) or 3 (RGB), got "${channels}"`);
      raw.network = withChannels(raw.network as NetworkConfig, Number(channels));
    } else if (base === undefined && raw.dataset === 'folder' && !(typeof over === 'object' && over !== null && 'inChannels' in over)) {
      raw.network = withChannels(raw.network as NetworkConfig, 3);
    }
    const kind = flags.get('schedule');
    const T = flags.get('timesteps');
    const schedule: Record<string, unknown> = { ...(raw.schedule as object) };
    if (kind !== undefined && kind !== schedule.kind) {
      for (const k of Object.keys(schedule)) if (k !== 'T') delete schedule[k];
      schedule.kind = kind;
    }
    if (T !== undefined) schedule.T = parseValue(T, 'number');
    const bs = flags.get('beta-start');
    const be = flags.get('beta-end');
    if (bs !== undefined) schedule.betaStart = parseValue(bs, 'number');
    if (be !== undefined) schedule.betaEnd = parseValue(be, 'number');
    raw.schedule = schedule;
    return pipe(
      decodeWith('train config')(TrainConfig, raw),
      E.chain((config) => checkConsistency(config)),
      E.map((config) => ({ config, resume: flags.get('resume') ?? null, help: flags.has('help') })),
    );
  }));

/** Checks across fields that the field codecs cannot make. */
const checkConsistency = (c: TrainConfig): E.Either<FormatError, TrainConfig> => {
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
  if (c.network.kind === 'unet') {
    const f = 2 ** (c.network.unet.channelMults.length - 1);
    if (c.imageSize % f !== 0) return fail(['imageSize'], `${c.network.unet.channelMults.length} levels need a size divisible by ${f}, got ${c.imageSize}`);
  }
  return E.right(c);
};

/** Fields added after a config format was first written, with the value older runs implicitly had. */
export const laterFields = { objective: 'eps', minSnr: 0, condDrop: 0.1, imageFolder: null, warmup: 0, lrDecay: 'constant', sampler: 'ddpm' } as const;

/** A saved config (config.json) with any field it predates filled in, then validated. */
export const decodeSavedConfig = (what: string, u: unknown): E.Either<FormatError, TrainConfig> =>
  decodeWith(what)(TrainConfig, typeof u === 'object' && u !== null && !Array.isArray(u) ? { ...laterFields, ...u } : u);
