/**
 * scripts/train.ts's flags → a validated TrainConfig. One table says, for each flag, which config
 * field it sets; the help shows the default preset's values, since a run's defaults come from its
 * preset. A config is the preset's fields (or a resumed run's), every flag on top, then the io-ts
 * codec and the checks across fields (src/train/config.ts).
 *
 * `--n`, `--steps` and `--sampler` mean what they mean in sample.ts: the grids' number of images,
 * sampling steps and sampler. The number of optimizer steps is `--train-steps`. The saved field
 * names stay as they were (`steps`, `sampleCount`, `sampleSteps`), so old runs still load.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { decodeWith } from '../codec/codec.ts';
import { FormatError } from '../codec/errors.ts';
import { namedNetworks, type NetworkConfig, withChannels } from '../train/network.ts';
import { samplerNames } from '../train/generate.ts';
import { parseGuideInterval } from '../train/guide-file.ts';
import { checkConsistency, datasets, defaultPreset, presets, TrainConfig } from '../train/config.ts';
import { command, type Flag, type Invocation, parseCommand, UsageError, type Values } from './flags.ts';

const quick = presets[defaultPreset];

/** The name of a network config: a named network, one with classes added, or "custom". */
export const networkName = (net: NetworkConfig): string => {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const named = Object.entries(namedNetworks).find(([, n]) => same(n, net));
  if (named) return named[0];
  if (net.kind === 'unet' && net.unet.numClasses > 0) {
    const base = Object.entries(namedNetworks).find(([, n]) => same(n, { ...net, unet: { ...net.unet, numClasses: 0 } }));
    if (base) return `${base[0]} with ${net.unet.numClasses} classes`;
  }
  return 'custom';
};

/** A field's value as the help shows it. */
const shown = (v: unknown): string => (v === null ? 'none' : typeof v === 'number' && !Number.isInteger(v) ? String(+v.toPrecision(4)) : String(v));

/** A flag that sets a top-level config field, its help default the default preset's value. */
const field = <const F extends Flag & { readonly field: keyof TrainConfig }>(f: F) =>
  ({ ...f, shownDefault: f.shownDefault ?? shown((quick as Record<string, unknown>)[f.field]) }) as F & { readonly shownDefault: string };

export const trainFlags = [
  { name: 'preset', type: 'string', value: 'NAME', choices: Object.keys(presets), shownDefault: defaultPreset, description: 'the recipe the other flags change (the presets are listed below)' },
  { name: 'network', type: 'string', value: 'NAME', choices: Object.keys(namedNetworks), shownDefault: networkName(quick.network), description: 'a named network' },
  { name: 'network-json', type: 'string', value: 'JSON', description: 'fields of the network config to override, e.g. \'{"baseChannels":24}\'' },
  field({ name: 'dataset', field: 'dataset', type: 'string', value: 'NAME', choices: datasets, description: datasets.join(' | ') }),
  field({ name: 'data-dir', field: 'dataDir', type: 'string', value: 'DIR', shownDefault: 'the installed package or Debian\'s folder', description: 'folder with the dataset\'s IDX files' }),
  field({ name: 'image-folder', field: 'imageFolder', type: 'string', value: 'DIR', description: 'train on your own .png/.jpg images: in DIR, or one subfolder per class (sets --dataset folder)' }),
  { name: 'channels', type: 'string', value: '1|3', choices: ['1', '3'], shownDefault: '1, or 3 with --image-folder', description: 'image channels: 1 gray, 3 RGB' },
  field({ name: 'image-size', field: 'imageSize', type: 'number', value: 'N', description: 'resize images to N×N' }),
  { name: 'schedule', type: 'string', value: 'KIND', choices: ['linear', 'cosine', 'sigmoid'], shownDefault: quick.schedule.kind, description: 'the noise schedule: linear | cosine | sigmoid' },
  { name: 'timesteps', type: 'number', value: 'T', shownDefault: String(quick.schedule.T), description: 'number of diffusion steps' },
  { name: 'beta-start', type: 'number', value: 'B', shownDefault: '0.0001', description: 'linear schedule: the first β' },
  { name: 'beta-end', type: 'number', value: 'B', shownDefault: '0.02', description: 'linear schedule: the last β' },
  field({ name: 'train-steps', field: 'steps', type: 'string', value: 'N|none', description: 'optimizer steps in total (none: --epochs passes over the data)' }),
  field({ name: 'epochs', field: 'epochs', type: 'number', value: 'N', description: 'passes over the data, when --train-steps is none' }),
  field({ name: 'batch', field: 'batch', type: 'number', value: 'N', description: 'batch size' }),
  field({ name: 'lr', field: 'lr', type: 'number', value: 'X', description: 'Adam learning rate' }),
  field({ name: 'warmup', field: 'warmup', type: 'number', value: 'N', description: 'optimizer steps of linear learning-rate warm-up (0: none)' }),
  field({ name: 'lr-decay', field: 'lrDecay', type: 'string', value: 'KIND', choices: ['constant', 'cosine'], description: 'constant | cosine (to lr/20 at the last step)' }),
  field({ name: 'ema', field: 'ema', type: 'number', value: 'D', description: 'EMA decay of the weights (0: off)' }),
  field({ name: 'objective', field: 'objective', type: 'string', value: 'KIND', choices: ['eps', 'x0', 'v'], description: 'what the network predicts: eps | x0 | v' }),
  field({ name: 'min-snr', field: 'minSnr', type: 'number', value: 'G', description: 'min-SNR-γ loss weighting (0: off)' }),
  field({ name: 'cond-drop', field: 'condDrop', type: 'number', value: 'P', description: 'class-conditional nets: probability of the null label in training' }),
  field({ name: 'seed', field: 'seed', type: 'number', value: 'N', description: 'PRNG seed' }),
  field({ name: 'init-from', field: 'initFrom', type: 'string', value: 'DIR', shownDefault: 'none', description: 'start from the weights and EMA of the checkpoint in DIR (same network) instead of a random init; the optimizer, step count and learning-rate schedule start afresh' }),
  field({ name: 'guide-at', field: 'guideAt', type: 'number', value: 'F', description: 'autoguidance: freeze the EMA weights after this fraction of the steps as the run\'s guide, a weaker model that sampling extrapolates away from (0: none)' }),
  field({ name: 'guide-scale', field: 'guideScale', type: 'number', value: 'W', description: 'autoguidance scale of the grids, guide + W·(model − guide), saved as the run\'s recommendation (1: none)' }),
  field({ name: 'guide-interval', field: 'guideInterval', type: 'string', value: 'LO,HI', description: 'autoguidance acts only at diffusion times t/T in [LO, HI) (0 clean, 1 pure noise), in the grids and the run\'s recommendation' }),
  field({ name: 'backend', field: 'backend', type: 'string', value: 'NAME', description: 'engine backend: fast | plain | plain64 | gpujs-cpu | gpujs-webasm | gpujs-headlessgl | gpujs-gpu' }),
  field({ name: 'out', field: 'out', type: 'string', value: 'DIR', shownDefault: 'runs/<preset>', description: 'output folder' }),
  field({ name: 'log-every', field: 'logEvery', type: 'number', value: 'N', description: 'optimizer steps between metrics lines' }),
  field({ name: 'checkpoint-every', field: 'checkpointEvery', type: 'number', value: 'N', description: 'optimizer steps between checkpoints (0: at the end and on Ctrl-C only)' }),
  field({ name: 'sample-every', field: 'sampleEvery', type: 'number', value: 'N', description: 'optimizer steps between sample grids (0: at the end only)' }),
  field({ name: 'n', field: 'sampleCount', aliases: ['sample-count'], type: 'number', value: 'N', description: 'images per grid (0: no grids)' }),
  field({ name: 'sampler', field: 'sampler', type: 'string', value: 'NAME', choices: samplerNames, description: 'the grids\' sampler: ddpm | ddim | dpmpp2m' }),
  field({ name: 'steps', field: 'sampleSteps', aliases: ['sample-steps'], type: 'number', value: 'N', description: 'the grids\' sampling steps, at most T (fewer are evenly respaced)' }),
  field({ name: 'scale', field: 'sampleScale', type: 'number', value: 'N', description: 'the grids\' pictures: each pixel drawn as an N×N block (nearest neighbour)' }),
  { name: 'resume', type: 'string', value: 'DIR', description: 'continue the run saved in DIR exactly where it stopped; flags that would change what it computes are refused' },
] as const;

/** One line per preset: what `--preset NAME` starts from. */
const describePreset = (name: string): string => {
  const p = presets[name];
  const length = p.steps !== null ? `${p.steps} steps` : `${p.epochs} epochs`;
  const lr = `Adam ${p.lr}${p.warmup > 0 ? `, ${p.warmup} warm-up steps` : ''}${p.lrDecay === 'cosine' ? ', cosine decay' : ''}`;
  return `  ${name.padEnd(10)} net ${networkName(p.network)}, ${p.imageSize}×${p.imageSize}, ${p.schedule.kind} T = ${p.schedule.T}, ${p.objective}; ` +
    `${length} of batch ${p.batch}, ${lr}, EMA ${p.ema === 0 ? 'off' : p.ema}; grids of ${p.sampleCount} with ${p.sampleSteps} ${p.sampler} steps`;
};

export const trainCommand = command({
  name: 'train',
  usage: ['npx tsx scripts/train.ts [--preset NAME] [flags]', 'npx tsx scripts/train.ts --resume DIR [flags]'],
  about: 'Trains a denoising diffusion model on MNIST, Fashion-MNIST or a folder of images. Writes checkpoints, metrics.jsonl, sample grids and a loss curve to the output folder; Ctrl-C saves a checkpoint and exits.',
  flags: trainFlags,
  notes: [
    `The defaults shown are the ${defaultPreset} preset's; --preset NAME starts from another preset:`,
    ...Object.keys(presets).map(describePreset),
    '',
    '--n, --steps and --sampler are the grids\' number of images, sampling steps and sampler, as in sample.ts; the number of optimizer steps is --train-steps.',
  ].join('\n'),
});

export type TrainValues = Values<typeof trainCommand>;

export interface ParsedArgs {
  readonly config: TrainConfig;
  readonly resume: string | null;
}

/** Lines to tell the user before the run: `--steps` meant optimizer steps in older versions of train.ts. */
export const trainNotices = (inv: Extract<Invocation<typeof trainCommand>, { kind: 'run' }>): readonly string[] =>
  inv.spelled.has('steps') && !inv.given.has('train-steps')
    ? ['--steps sets the grids\' sampling steps; the number of optimizer steps is --train-steps']
    : [];

const fail = (path: string[], reason: string): E.Either<FormatError, never> => E.left(new FormatError('train config', path, reason));

/** `--train-steps N|none`: a number of steps, or null for "as many as the epochs make". */
const trainSteps = (raw: string): E.Either<UsageError, number | null> =>
  raw === 'none' || raw === 'null' ? E.right(null)
  : raw.trim() !== '' && Number.isFinite(Number(raw)) ? E.right(Number(raw))
  : E.left(new UsageError(`--train-steps: expected a number or none, got "${raw}"`));

/** The parsed flags on top of the preset's config (or the resumed run's `base`), validated. */
const configFromValues = (flags: TrainValues, base: TrainConfig | undefined): E.Either<FormatError | UsageError, ParsedArgs> => {
  const presetName = flags.preset ?? base?.preset ?? defaultPreset;
  const preset = base ?? presets[presetName];
  if (!preset) return fail(['preset'], `unknown preset "${presetName}": expected one of ${Object.keys(presets).join(', ')}`);
  const raw: Record<string, unknown> = { ...preset, out: base?.out ?? `runs/${presetName}` };
  for (const f of trainFlags) {
    const v = (flags as Record<string, unknown>)[f.name];
    if (!('field' in f) || v === undefined) continue;
    if (f.name === 'train-steps') {
      const steps = trainSteps(v as string);
      if (E.isLeft(steps)) return steps;
      raw.steps = steps.right;
    } else if (f.name === 'guide-interval') {
      const interval = parseGuideInterval(v as string);
      if (E.isLeft(interval)) return E.left(new UsageError(`--guide-interval: ${interval.left}`));
      raw.guideInterval = interval.right;
    } else {
      raw[f.field] = v;
    }
  }
  if (flags.network !== undefined) raw.network = namedNetworks[flags.network];
  let over: unknown;
  if (flags['network-json'] !== undefined) {
    try {
      over = JSON.parse(flags['network-json']);
    } catch (e) {
      return fail(['network-json'], `not JSON (${(e as Error).message})`);
    }
    const net = raw.network as NetworkConfig;
    raw.network = net.kind === 'unet' ? { ...net, unet: { ...net.unet, ...(over as object) } } : { ...net, simple: { ...net.simple, ...(over as object) } };
  }
  // a folder run is the folder dataset, in RGB unless the flags say otherwise (a resumed run keeps its network)
  if (flags['image-folder'] !== undefined && flags.dataset === undefined) raw.dataset = 'folder';
  if (flags.channels !== undefined) {
    raw.network = withChannels(raw.network as NetworkConfig, Number(flags.channels));
  } else if (base === undefined && raw.dataset === 'folder' && !(typeof over === 'object' && over !== null && 'inChannels' in over)) {
    raw.network = withChannels(raw.network as NetworkConfig, 3);
  }
  const schedule: Record<string, unknown> = { ...(raw.schedule as object) };
  if (flags.schedule !== undefined && flags.schedule !== schedule.kind) {
    for (const k of Object.keys(schedule)) if (k !== 'T') delete schedule[k];
    schedule.kind = flags.schedule;
  }
  if (flags.timesteps !== undefined) schedule.T = flags.timesteps;
  if (flags['beta-start'] !== undefined) schedule.betaStart = flags['beta-start'];
  if (flags['beta-end'] !== undefined) schedule.betaEnd = flags['beta-end'];
  raw.schedule = schedule;
  return pipe(
    decodeWith('train config')(TrainConfig, raw),
    E.chain(checkConsistency),
    E.map((config) => ({ config, resume: flags.resume ?? null })),
  );
};

/**
 * CLI flags → a validated config: the preset's fields, then every flag on top, then the codec.
 * `base` (a resumed run's saved config) replaces the preset when given. A mistake on the command
 * line is a `UsageError` (`--batch: expected a number, got "x"`); a bad value a `FormatError` with
 * the field's path. `--help` and `--version` are the script's to answer before it asks for a config.
 */
export const configFromArgs = (argv: readonly string[], base?: TrainConfig): E.Either<FormatError | UsageError, ParsedArgs> =>
  pipe(
    parseCommand(trainCommand)(argv),
    E.chainW((inv) => inv.kind === 'run'
      ? configFromValues(inv.values, base)
      : E.left(new UsageError(`--${inv.kind}: answered by the script, not a config`))),
  );
