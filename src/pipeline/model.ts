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

import {
  checkGuideInterval, CONFIG_METADATA_KEY, GUIDE_INTERVAL_METADATA_KEY, GUIDE_SCALE_METADATA_KEY, type GuideInterval, parseGuideInterval, WHOLE_TRAJECTORY,
} from '../train/guide-file.ts';

export {
  CONFIG_METADATA_KEY, GUIDE_FILE, GUIDE_INTERVAL_METADATA_KEY, GUIDE_SCALE_METADATA_KEY, type GuideInterval, guideSafetensors, WHOLE_TRAJECTORY,
} from '../train/guide-file.ts';

/** A weaker model kept beside a model for autoguidance (`autoguidedModel`), and the scale and interval it is recommended at. */
export interface ModelGuide {
  readonly net: Network;
  readonly weights: Weights;
  /** the recommended scale w of guide + w·(model − guide) */
  readonly scale: number;
  /** the diffusion times t/T in [lo, hi) the guide acts at, 0 clean and 1 pure noise ([0, 1]: every step) */
  readonly interval: GuideInterval;
  /** the guide's training config, when it carried one */
  readonly training?: TrainConfig;
}

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
  /** the recommended autoguidance scale, when the model has a guide */
  readonly guideScale?: number;
  /** the recommended autoguidance interval (fractions of T), when the model has a guide */
  readonly guideInterval?: GuideInterval;
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
  /** a weaker model for autoguidance, when the model came with one (`guide.safetensors`) */
  readonly guide?: ModelGuide;
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
  /** `guide.safetensors` of a model folder: a guide for autoguidance with its config and scale in its metadata ({@link guideSafetensors}) */
  readonly guide?: Uint8Array;
}

/** The sampling settings of a model, as the pipeline reports them (a guide adds its scale and interval). */
export const modelConfig = (m: DiffusionModel): ModelConfig => ({
  network: m.net.config, schedule: m.schedule, objective: m.objective, imageSize: m.size,
  ...(m.dataset === undefined ? {} : { dataset: m.dataset }),
  ...(m.training === undefined ? {} : { training: m.training }),
  ...(m.guide === undefined ? {} : { guideScale: m.guide.scale, guideInterval: m.guide.interval }),
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

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * `model` with `guide` as its autoguidance guide at `scale` in `interval`, or why the two do not
 * fit: the guide must predict the same quantity under the same noise schedule, at the same image
 * size, channels and classes.
 */
export const attachGuide = (
  model: DiffusionModel, guide: DiffusionModel, scale: number, what = 'guide', interval: GuideInterval = WHOLE_TRAJECTORY,
): E.Either<Error, DiffusionModel> => {
  const badInterval = checkGuideInterval(interval);
  const differs = guide.objective !== model.objective ? `predicts ${guide.objective}, the model ${model.objective}`
    : !sameJson(guide.schedule, model.schedule) ? `has the noise schedule ${JSON.stringify(guide.schedule)}, the model ${JSON.stringify(model.schedule)}`
    : guide.size !== model.size ? `draws ${guide.size}×${guide.size} images, the model ${model.size}×${model.size}`
    : guide.net.channels !== model.net.channels ? `has ${guide.net.channels} channels, the model ${model.net.channels}`
    : guide.net.numClasses !== model.net.numClasses ? `has ${guide.net.numClasses} classes, the model ${model.net.numClasses}`
    : !(Number.isFinite(scale) && scale >= 0) ? `scale must be a finite number ≥ 0, got ${scale}`
    : E.isLeft(badInterval) ? `interval is wrong: ${badInterval.left}`
    : undefined;
  if (differs !== undefined) return E.left(new Error(`${what}: cannot guide this model: it ${differs}`));
  return E.right({ ...model, guide: { net: guide.net, weights: guide.weights, scale, interval, ...(guide.training ? { training: guide.training } : {}) } });
};

/** The guide a `guide.safetensors` holds, attached to `model` at the scale and interval in its metadata (no interval: every step). */
const attachGuideFile = (model: DiffusionModel, bytes: Uint8Array, what: string): E.Either<Error, DiffusionModel> => {
  const h = decodeSafetensorsHeader(bytes);
  const scaleText = E.isRight(h) ? h.right.metadata.get(GUIDE_SCALE_METADATA_KEY) : undefined;
  if (E.isRight(h) && scaleText === undefined) return E.left(new Error(`${what}: no "${GUIDE_SCALE_METADATA_KEY}" in its metadata: not a guide file (write one with guideSafetensors)`));
  const scale = Number(scaleText);
  const intervalText = E.isRight(h) ? h.right.metadata.get(GUIDE_INTERVAL_METADATA_KEY) : undefined;
  const interval = intervalText === undefined ? E.right(WHOLE_TRAJECTORY) : parseGuideInterval(intervalText);
  if (E.isLeft(interval)) return E.left(new Error(`${what}: "${GUIDE_INTERVAL_METADATA_KEY}" in its metadata: ${interval.left}`));
  return E.flatMap((g: DiffusionModel) => attachGuide(model, g, scale, what, interval.right))(decodeModelFiles({ safetensors: bytes }, what));
};

/**
 * A model from its bytes, or why not (the message starts with `what`, e.g. the path the bytes came
 * from). The weights' names and shapes are checked against the network the config describes.
 */
export const decodeModelFiles = (files: ModelFiles, what = 'model'): E.Either<Error, DiffusionModel> => {
  const s = settings(files, what);
  if (E.isLeft(s)) return s;
  const { network: netConfig, ...rest } = s.right;
  const net = network(netConfig);
  const m = E.map((weights: Weights): DiffusionModel => ({ net, weights, ema: false, ...rest }))(loadWeights(net, files.safetensors, what));
  const { guide } = files;
  return guide === undefined ? m : E.flatMap((model: DiffusionModel) => attachGuideFile(model, guide, `${what} (guide.safetensors)`))(m);
};
