/**
 * A trained diffusion model from its bytes: the network's weights (safetensors with PyTorch names)
 * and the config.json saved beside them. No file system here, so the same code serves a Node
 * loader, a `fetch` in a browser-like runtime, or bytes bundled into an app; the Node adapter that
 * reads folders is ./load.ts.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { ScheduleConfig } from '../ddpm/schedule.ts';
import type { Objective } from '../ddpm/objectives.ts';
import { namedNetworks, network, type Network, type NetworkConfig, type Weights } from '../train/network.ts';
import { decodeSavedConfig, presets, type TrainConfig } from '../train/config.ts';
import { loadWeights } from '../train/load-weights.ts';
import { decodeSafetensorsHeader, encodeSafetensors } from '../io/safetensors.ts';
import { entriesToSafetensors } from '../weights/safetensors.ts';

/**
 * The safetensors metadata key under which a self-contained weights file carries its training
 * config as JSON (PyTorch's loaders ignore metadata, so the file still loads with `load_state_dict`).
 */
export const CONFIG_METADATA_KEY = 'config';

/** Everything a sampler needs to know about a model besides its weights. */
export interface ModelConfig {
  readonly network: NetworkConfig;
  readonly schedule: ScheduleConfig;
  /** what the network predicts: eps, x0 or v */
  readonly objective: Objective;
  /** the image side the network was trained at */
  readonly imageSize: number;
  /** the dataset it was trained on, when its config says */
  readonly dataset?: string;
  /** the whole training config, when the model came with one (absent for bare weights and a named network) */
  readonly training?: TrainConfig;
}

/** A network, its weights and the settings it was trained with. */
export interface DiffusionModel {
  readonly net: Network;
  readonly weights: Weights;
  readonly schedule: ScheduleConfig;
  readonly objective: Objective;
  /** the image side the network was trained at */
  readonly size: number;
  /** whether `weights` are the EMA weights of a checkpoint (an exported model's weights are whatever it was exported with) */
  readonly ema: boolean;
  /** the dataset it was trained on, when its config says */
  readonly dataset?: string;
  /** the whole training config, when there was one */
  readonly training?: TrainConfig;
}

/**
 * A model's files, in memory: `model.safetensors` and `config.json` of a model folder
 * (scripts/export-model.ts) or a checkpoint. Weights without a config name their network instead,
 * and then the reference preset's diffusion settings apply (linear β, T = 1000, ε-prediction),
 * as for PyTorch weights of the reference U-Net. Weights with neither use the config in their own
 * metadata (`CONFIG_METADATA_KEY`), as {@link modelSafetensors} writes it.
 */
export interface ModelFiles {
  /** the safetensors bytes: a state dict with PyTorch names (float32, float16 or bfloat16) */
  readonly safetensors: Uint8Array;
  /** config.json: the parsed object or its text */
  readonly config?: object | string;
  /** instead of a config, for bare weights: one of `namedNetworks` (mnist32, small, tiny, seed…) */
  readonly network?: string;
}

/** The sampling settings of a model, as the pipeline reports them. */
export const modelConfig = (m: DiffusionModel): ModelConfig => ({
  network: m.net.config, schedule: m.schedule, objective: m.objective, imageSize: m.size,
  ...(m.dataset === undefined ? {} : { dataset: m.dataset }),
  ...(m.training === undefined ? {} : { training: m.training }),
});

const parseConfig = (config: object | string, what: string): E.Either<Error, unknown> =>
  typeof config !== 'string' ? E.right(config)
    : E.tryCatch(() => JSON.parse(config) as unknown, (e) => new Error(`${what}: config.json is not JSON: ${(e as Error).message}`));

type Settings = Omit<DiffusionModel, 'net' | 'weights' | 'ema'> & { readonly network: NetworkConfig };

/** The network and diffusion settings of a saved config, or of a named network with the reference preset's diffusion. */
const settings = (files: ModelFiles, what: string): E.Either<Error, Settings> => {
  const names = Object.keys(namedNetworks).join(', ');
  if (files.config !== undefined && files.network !== undefined) {
    return E.left(new Error(`${what}: give a config or a network name, not both`));
  }
  if (files.config !== undefined) {
    const decoded = E.flatMap(parseConfig(files.config, what), (u) => decodeSavedConfig(`${what}: config.json`, u));
    return E.map((c: TrainConfig): Settings => ({
      network: c.network, schedule: c.schedule, objective: c.objective, size: c.imageSize, dataset: c.dataset, training: c,
    }))(decoded);
  }
  if (files.network === undefined) {
    const carried = configInMetadata(files.safetensors);
    if (carried !== undefined) return settings({ safetensors: files.safetensors, config: carried }, `${what} (its metadata)`);
    return E.left(new Error(`${what}: no config: say which network the weights are for (${names})`));
  }
  const n = Object.hasOwn(namedNetworks, files.network) ? namedNetworks[files.network] : undefined;
  if (!n) return E.left(new Error(`${what}: unknown network "${files.network}": expected one of ${names}`));
  return E.right({ network: n, schedule: presets.reference.schedule, objective: 'eps', size: n.kind === 'simple' ? 32 : 28 });
};

/** The config JSON a weights file carries in its metadata, if any (undefined too when the header does not decode: the weights' own check reports that). */
export const configInMetadata = (safetensors: Uint8Array): string | undefined => {
  const h = decodeSafetensorsHeader(safetensors);
  return E.isRight(h) ? h.right.metadata.get(CONFIG_METADATA_KEY) : undefined;
};

/**
 * One self-contained file for a trained network: its state dict with PyTorch names (float32, as a
 * checkpoint's model.safetensors) and the training config in the metadata, so that
 * `decodeModelFiles({ safetensors })`, `loadPipeline(path)` and `sample --checkpoint FILE` need
 * nothing beside it.
 */
export const modelSafetensors = (net: Network, weights: Weights, config: TrainConfig): Uint8Array =>
  encodeSafetensors(entriesToSafetensors(net.stateDict(weights)), { format: 'pt', [CONFIG_METADATA_KEY]: JSON.stringify(config) });

/**
 * A model from its bytes, or why not (the message starts with `what`, e.g. the path the bytes came
 * from). The weights' names and shapes are checked against the network the config describes.
 */
export const decodeModelFiles = (files: ModelFiles, what = 'model'): E.Either<Error, DiffusionModel> => {
  const s = settings(files, what);
  if (E.isLeft(s)) return s;
  const { network: netConfig, ...rest } = s.right;
  const net = network(netConfig);
  return E.map((weights: Weights): DiffusionModel => ({ net, weights, ema: false, ...rest }))(loadWeights(net, files.safetensors, what));
};
