/**
 * Models from disk (Node): a run folder, a checkpoint folder, a model folder (scripts/export-model.ts:
 * model.safetensors + config.json), or a bare `.safetensors` weights file, with a config.json beside
 * it, its config in its own metadata (`modelSafetensors`, what the browser page downloads), or a named network (then the reference preset's diffusion settings apply: linear β, T = 1000,
 * ε-prediction). The shipped models are found relative to this file: src/pipeline/load.ts (under
 * tsx) and dist/pipeline/load.js (the installed package) both sit two folders below the package
 * root, so `../../assets` is the package's assets/ either way.
 */
import { existsSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { namedNetworks, network } from '../train/network.ts';
import { loadCheckpoint } from '../train/checkpoint.ts';
import { configInMetadata, decodeModelFiles, type DiffusionModel, type ModelFiles } from './model.ts';
import { guideFileFor } from '../train/guide-file.ts';
import { pipelineFromFiles, pipelineFromModel, type Pipeline } from './pipeline.ts';

const asset = (rel: string): string => fileURLToPath(new URL(`../../assets/${rel}`, import.meta.url));

/** The models this package ships (folders written by scripts/export-model.ts), for sampling without training first. */
export const shippedModels = {
  /** unconditional MNIST (not trained yet in every copy: loading it says so when its folder is missing) */
  mnist: asset('ddpm-mnist/model.safetensors'),
  /** class-conditional MNIST (classifier-free guidance; w = 3 recommended) */
  'mnist-cond': asset('ddpm-mnist-cond/model.safetensors'),
  /** unconditional Fashion-MNIST, with its guide */
  'fashion-mnist': asset('ddpm-fashion-mnist/model.safetensors'),
} as const;

export type ShippedModelName = keyof typeof shippedModels;

const isShippedName = (s: string): s is ShippedModelName => Object.hasOwn(shippedModels, s);

export interface LoadOptions {
  /** for a bare weights file without config.json: one of namedNetworks */
  readonly network?: string;
  /** a checkpoint's raw weights even when it has EMA weights */
  readonly noEma?: boolean;
  /** leave out the guide.safetensors of a model or checkpoint folder (autoguidance) */
  readonly noGuide?: boolean;
}

const fromWeightsFile = (path: string, netName: string | undefined, noGuide = false): DiffusionModel => {
  const cfgPath = join(dirname(path), 'config.json');
  const hasConfig = existsSync(cfgPath);
  const safetensors = new Uint8Array(readFileSync(path));
  // without a config.json beside it, a file may carry its config in its metadata (the browser page's downloads do)
  const carried = !hasConfig && netName === undefined && configInMetadata(safetensors) !== undefined;
  if (!hasConfig && netName === undefined && !carried) {
    throw new Error(`${path} has no config.json beside it nor a config in its metadata: say which network it is with --network (${Object.keys(namedNetworks).join(', ')})`);
  }
  // a named network wins over a config.json beside the file, as scripts/sample.ts's --network does
  // a model folder's model.safetensors brings the guide.safetensors beside it, and any other X.safetensors its X.guide.safetensors
  const guidePath = join(dirname(path), guideFileFor(basename(path)));
  const guide = !noGuide && existsSync(guidePath) ? { guide: new Uint8Array(readFileSync(guidePath)) } : {};
  const files: ModelFiles = netName !== undefined ? { safetensors, network: netName, ...guide }
    : carried ? { safetensors, ...guide } : { safetensors, config: readFileSync(cfgPath, 'utf8'), ...guide };
  const m = decodeModelFiles(files, path);
  if (E.isLeft(m)) throw m.left;
  return m.right;
};

const isFile = (p: string): Promise<boolean> => stat(p).then((s) => s.isFile(), () => false);

/**
 * Loads a model from a path (throws an Error with the path in its message when something does not
 * fit). A folder with latest.json or state.json is a run or checkpoint (its EMA weights unless
 * `noEma`); a folder with just model.safetensors and config.json is an exported model.
 */
export const loadDiffusionModel = async (path: string, opts: LoadOptions = {}): Promise<DiffusionModel> => {
  const kind = await stat(path).then((s) => (s.isDirectory() ? 'folder' : 'file'), () => null);
  if (kind === null) throw new Error(`${path}: no such file or folder (a run folder, a checkpoint or model folder, or a .safetensors file)`);
  if (kind === 'file' && extname(path) !== '.safetensors') throw new Error(`${path}: not a .safetensors file nor a folder (a run folder, a checkpoint or model folder)`);
  if (extname(path) === '.safetensors') return fromWeightsFile(path, opts.network, opts.noGuide);
  const isCheckpoint = (await isFile(join(path, 'latest.json'))) || (await isFile(join(path, 'state.json')));
  if (!isCheckpoint && (await isFile(join(path, 'model.safetensors')))) return fromWeightsFile(join(path, 'model.safetensors'), opts.network, opts.noGuide);
  const ck = await loadCheckpoint(path, (c) => network(c.network));
  const useEma = !opts.noEma && ck.ema !== null;
  const net = network(ck.config.network);
  // a run that froze a guide (train --guide-at) keeps it, the same network, in each checkpoint after that step
  const guide = !opts.noGuide && ck.guide ? { guide: { net, weights: ck.guide, scale: ck.config.guideScale, interval: ck.config.guideInterval, training: ck.config } } : {};
  return {
    net, weights: useEma ? (ck.ema as NonNullable<typeof ck.ema>) : ck.weights,
    schedule: ck.config.schedule, size: ck.config.imageSize, objective: ck.config.objective, ema: useEma,
    dataset: ck.config.dataset, training: ck.config, ...guide,
  };
};

/** The weights path of a shipped model, or an Error that says what to do when this copy lacks it. */
const shippedPath = (name: ShippedModelName): string => {
  const path = shippedModels[name];
  if (!existsSync(path)) {
    const others = Object.keys(shippedModels).filter((k) => k !== name && existsSync(shippedModels[k as ShippedModelName]));
    throw new Error(`the shipped model "${name}" is not in this copy of diffusion-ts (${path} is missing)` +
      `${others.length > 0 ? `; shipped: ${others.join(', ')}` : ''}; or pass a path to a model or run folder`);
  }
  return path;
};

/**
 * A sampling pipeline, diffusers-style:
 *
 *     const pipe = await loadPipeline('mnist-cond');
 *     const { images, shape } = pipe.sample({ n: 8, classLabels: 7, steps: 50 });
 *
 * `source` is a shipped model's name (`mnist`, `mnist-cond`; a name wins over a folder of the same
 * name in the working directory, so write `./mnist` for that), a path (run folder, checkpoint
 * folder, model folder, or `.safetensors` file), or the model's bytes in memory
 * (`{ safetensors, config }`, as `pipelineFromFiles` of the main entry takes them; `opts` are for
 * paths only). Sampling runs on the current backend (`setBackend`, default `fast`).
 */
export const loadPipeline = async (source: string | ModelFiles, opts: LoadOptions = {}): Promise<Pipeline> => {
  if (typeof source !== 'string') return pipelineFromFiles(source);
  const path = isShippedName(source) ? shippedPath(source) : source;
  return pipelineFromModel(await loadDiffusionModel(path, opts));
};
