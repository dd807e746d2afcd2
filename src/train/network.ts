/**
 * The denoising networks behind one interface, so training, sampling and checkpoints do not care
 * whether the net has batch-norm state (`seed`) or not (`mnist32` family).
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import type { Key } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import * as L from '../layers/index.ts';

/** Which network, and its config: a U-Net of the mnist32 family or the walk-through's SimpleUnet. */
export const NetworkConfig = t.union([
  t.type({ kind: t.literal('unet'), unet: L.UnetConfig }),
  t.type({ kind: t.literal('simple'), simple: L.SimpleUnetConfig }),
], 'NetworkConfig');
export type NetworkConfig = t.TypeOf<typeof NetworkConfig>;

/** The named networks of reference-unet.md, plus small ones for tests and CI. */
export const namedNetworks: Readonly<Record<string, NetworkConfig>> = {
  mnist32: { kind: 'unet', unet: L.mnist32 },
  mnist64: { kind: 'unet', unet: L.mnist64 },
  small: { kind: 'unet', unet: L.small },
  tiny: { kind: 'unet', unet: L.tiny },
  seed: { kind: 'simple', simple: L.seed },
  seedTiny: { kind: 'simple', simple: L.seedTiny },
};

/** Image channels the network takes (and predicts): 1 for gray, 3 for RGB. */
export const networkChannels = (config: NetworkConfig): number =>
  config.kind === 'unet' ? config.unet.inChannels : config.simple.inChannels;

/** The same network for images of `channels` channels: the U-Net's inChannels (its output follows), the seed net's in and out. */
export const withChannels = (config: NetworkConfig, channels: number): NetworkConfig =>
  config.kind === 'unet'
    ? { ...config, unet: { ...config.unet, inChannels: channels } }
    : { ...config, simple: { ...config.simple, inChannels: channels, outChannels: channels } };

export interface ApplyOptions {
  readonly training: boolean;
  /** class labels [B] for class-conditional nets (the null class is numClasses) */
  readonly labels?: Tensor;
}

/** Trainable params and non-trainable state (batch-norm statistics) of a network. */
export interface Weights {
  readonly params: unknown;
  readonly state: unknown;
}

export interface Network {
  readonly config: NetworkConfig;
  readonly channels: number;
  /** classes of a class-conditional network (0: unconditional); label `numClasses` is the null class */
  readonly numClasses: number;
  init(key: Key): Weights;
  /** The prediction for x_t at timesteps t, and the state after the pass (changed only in training mode). */
  apply(w: Weights, x: Tensor, t: Tensor, opts: ApplyOptions): { readonly y: Tensor; readonly state: unknown };
  stateDict(w: Weights): L.StateDictEntry[];
  load(entries: readonly L.StateDictEntry[]): E.Either<L.StateDictError, Weights>;
}

export const network = (config: NetworkConfig): Network => {
  if (config.kind === 'unet') {
    const cfg = config.unet;
    return {
      config,
      channels: networkChannels(config),
      numClasses: cfg.numClasses,
      init: (key) => ({ params: L.initUnet(key, cfg), state: {} }),
      apply: (w, x, t, o) => ({ y: L.unet(w.params as L.UnetParams, cfg, x, t, { labels: o.labels }), state: w.state }),
      stateDict: (w) => L.stateDict(w.params),
      load: (entries) => L.loadUnetStateDict(entries, cfg),
    };
  }
  const cfg = config.simple;
  return {
    config,
    channels: networkChannels(config),
    numClasses: 0,
    init: (key) => ({ params: L.initSimpleUnet(key, cfg), state: L.initSimpleUnetState(cfg) }),
    apply: (w, x, t, o) => {
      if (o.labels) throw new Error('the seed SimpleUnet has no class conditioning');
      return L.simpleUnet(w.params as L.SimpleUnetParams, w.state as L.SimpleUnetState, cfg, x, t, { training: o.training });
    },
    stateDict: (w) => L.stateDict(w.params, w.state),
    load: (entries) => L.loadSimpleUnetStateDict(entries, cfg),
  };
};
