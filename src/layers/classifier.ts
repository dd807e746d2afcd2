/**
 * A small CNN image classifier, the yardstick for class-conditional samples: each stage is a 3×3
 * conv (padding 1), ReLU and 2×2 max pooling; then flatten, a hidden linear layer with ReLU, and a
 * linear layer to the class logits. The PyTorch module it mirrors (same state-dict names):
 *
 *   class Classifier(nn.Module):
 *       def __init__(self, c=[16, 32], hidden=32, classes=10):
 *           self.convs = nn.ModuleList([nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1)])
 *           self.fc = nn.Linear(32 * 7 * 7, hidden)
 *           self.head = nn.Linear(hidden, classes)
 *
 * Inputs are images in [−1, 1], scaled as the diffusion models' training data (scaleImages).
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { FormatError } from '../codec/errors.ts';
import type { Key } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { ShapeError } from '../tensor/shape.ts';
import * as ops from '../ops/index.ts';
import { decodeConfig, offending, PositiveInt, strictConfig } from './config.ts';
import { type Conv2dConfig, conv2d, conv2dSpec, type ConvParams } from './conv.ts';
import { linear, type LinearConfig, type LinearParams, linearSpec } from './linear.ts';
import { materialize, type Spec } from './spec.ts';
import { loadStateDict, type StateDictEntry, type StateDictError } from './state-dict.ts';

// ---- config -----------------------------------------------------------------------------------

export const ClassifierConfig = strictConfig('ClassifierConfig', {
  inChannels: PositiveInt,
  /** square input size; each stage halves it (floor), as max pooling does */
  imageSize: PositiveInt,
  /** output channels of each conv stage */
  channels: t.readonlyArray(PositiveInt),
  /** width of the hidden linear layer */
  hidden: PositiveInt,
  numClasses: PositiveInt,
}, (cfg) => [
  ...(cfg.channels.length < 1 ? ['channels must list at least one conv stage'] : []),
  ...offending(`imageSize must stay at least 1 after ${cfg.channels.length} halvings`, cfg.imageSize >> cfg.channels.length < 1 ? [cfg.imageSize] : []),
  ...offending('numClasses must be at least 2', cfg.numClasses < 2 ? [cfg.numClasses] : []),
]);
export type ClassifierConfig = t.TypeOf<typeof ClassifierConfig>;

/** The shipped MNIST / Fashion-MNIST classifier: 55,338 parameters. */
export const mnistClassifier: ClassifierConfig = { inChannels: 1, imageSize: 28, channels: [16, 32], hidden: 32, numClasses: 10 };

/** A config from JSON-like input: full, or overrides of mnistClassifier's fields. */
export const decodeClassifierConfig: (u: unknown) => E.Either<FormatError, ClassifierConfig> = decodeConfig(ClassifierConfig, mnistClassifier);

// ---- layout -----------------------------------------------------------------------------------

const plan = (cfg: ClassifierConfig) => {
  const ins = [cfg.inChannels, ...cfg.channels.slice(0, -1)];
  const side = cfg.imageSize >> cfg.channels.length;
  const last = cfg.channels[cfg.channels.length - 1];
  return {
    convs: cfg.channels.map((outChannels, i): Conv2dConfig => ({ inChannels: ins[i], outChannels, kernel: 3, padding: 1 })),
    fc: { inFeatures: last * side * side, outFeatures: cfg.hidden } satisfies LinearConfig,
    head: { inFeatures: cfg.hidden, outFeatures: cfg.numClasses } satisfies LinearConfig,
  };
};

// ---- params -----------------------------------------------------------------------------------

export interface ClassifierParams {
  readonly convs: readonly ConvParams[];
  readonly fc: LinearParams;
  readonly head: LinearParams;
}

export const classifierSpec = (cfg: ClassifierConfig): Spec<ClassifierParams> => {
  const l = plan(cfg);
  return { convs: l.convs.map(conv2dSpec), fc: linearSpec(l.fc), head: linearSpec(l.head) };
};

/** Fresh params with PyTorch's default initialisation, the key split per layer. */
export const initClassifier = (key: Key, cfg: ClassifierConfig): ClassifierParams =>
  materialize<ClassifierParams>(key, classifierSpec(cfg));

/** Params from checkpoint entries (every name and shape checked). */
export const loadClassifierStateDict = (
  entries: readonly StateDictEntry[], cfg: ClassifierConfig,
): E.Either<StateDictError, ClassifierParams> =>
  E.map((r: { readonly params: ClassifierParams }) => r.params)(loadStateDict<ClassifierParams, object>(entries, { params: classifierSpec(cfg), state: {} }));

// ---- forward ----------------------------------------------------------------------------------

/**
 * x [B, inChannels, imageSize, imageSize] in [−1, 1] → the penultimate layer [B, hidden] (after its
 * ReLU): the features the Fréchet distance of src/eval compares.
 */
export const classifierFeatures = (p: ClassifierParams, cfg: ClassifierConfig, x: Tensor): Tensor => {
  const [, c, h, w] = x.shape;
  if (x.shape.length !== 4 || c !== cfg.inChannels || h !== cfg.imageSize || w !== cfg.imageSize) {
    throw new ShapeError('classifier', [x.shape], `expected images [B, ${cfg.inChannels}, ${cfg.imageSize}, ${cfg.imageSize}]`);
  }
  const l = plan(cfg);
  const maps = l.convs.reduce((h, conv, i) => ops.maxPool2d(ops.relu(conv2d(p.convs[i], conv, h)), { kernel: 2 }), x);
  return ops.relu(linear(p.fc, l.fc, ops.flatten(maps)));
};

/** Penultimate features [B, hidden] → logits [B, numClasses]. */
export const classifierHead = (p: ClassifierParams, cfg: ClassifierConfig, features: Tensor): Tensor =>
  linear(p.head, plan(cfg).head, features);

/** x [B, inChannels, imageSize, imageSize] in [−1, 1] → logits [B, numClasses]. */
export const classifier = (p: ClassifierParams, cfg: ClassifierConfig, x: Tensor): Tensor =>
  classifierHead(p, cfg, classifierFeatures(p, cfg, x));
