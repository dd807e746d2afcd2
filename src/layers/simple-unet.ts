/**
 * The seed notebook's SimpleUnet (reference-unet.md, `seed`: 62,437,601 parameters): four down
 * Blocks (conv, batch norm, stride-2 conv), four up Blocks on [x, residual] (conv-transpose), a
 * ReLU time MLP and a 1×1 output conv. Batch norm makes it stateful: the running statistics are a
 * separate state tree, threaded through the forward pass.
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
import { sinusoidalEmbedding } from './embedding.ts';
import { linear, type LinearConfig, type LinearParams, linearSpec } from './linear.ts';
import type { ForwardMode } from './norm.ts';
import {
  seedBlock, type SeedBlockConfig, type SeedBlockParams, seedBlockSpec, type SeedBlockState, seedBlockStateSpec,
} from './seed-block.ts';
import { materialize, materializeConstants, type Spec } from './spec.ts';
import { loadStateDict, type StateDictEntry, type StateDictError } from './state-dict.ts';

// ---- config -----------------------------------------------------------------------------------

export const SimpleUnetConfig = strictConfig('SimpleUnetConfig', {
  inChannels: PositiveInt,
  outChannels: PositiveInt,
  /** conv0's width, then each down block's; the up path runs them in reverse */
  downChannels: t.readonlyArray(PositiveInt),
  /** width of the sinusoidal embedding and the time MLP */
  timeDim: PositiveInt,
}, (cfg) => [
  ...(cfg.downChannels.length < 2 ? [`downChannels must list at least two widths (got ${cfg.downChannels.length})`] : []),
  ...offending('timeDim must be even and at least 4', cfg.timeDim % 2 !== 0 || cfg.timeDim < 4 ? [cfg.timeDim] : []),
]);
export type SimpleUnetConfig = t.TypeOf<typeof SimpleUnetConfig>;

/** The seed notebook's network: 62,437,601 trainable parameters. */
export const seed: SimpleUnetConfig = { inChannels: 1, outChannels: 1, downChannels: [64, 128, 256, 512, 1024], timeDim: 32 };
/** seed's shape at 1/8 of its width, for tests. */
export const seedTiny: SimpleUnetConfig = { ...seed, downChannels: [8, 16, 32, 64, 128] };

/** A config from JSON-like input: full, or overrides of seed's fields. */
export const decodeSimpleUnetConfig: (u: unknown) => E.Either<FormatError, SimpleUnetConfig> = decodeConfig(SimpleUnetConfig, seed);

// ---- layout -----------------------------------------------------------------------------------

const plan = (cfg: SimpleUnetConfig) => {
  const down = cfg.downChannels;
  const up = [...down].reverse();
  const pairs = (cs: readonly number[]) => cs.slice(0, -1).map((c, i) => [c, cs[i + 1]] as const);
  const block = (up: boolean) => ([inChannels, outChannels]: readonly [number, number]): SeedBlockConfig =>
    ({ inChannels, outChannels, timeDim: cfg.timeDim, up });
  return {
    time: { inFeatures: cfg.timeDim, outFeatures: cfg.timeDim } satisfies LinearConfig,
    conv0: { inChannels: cfg.inChannels, outChannels: down[0], kernel: 3, padding: 1 } satisfies Conv2dConfig,
    downs: pairs(down).map(block(false)),
    ups: pairs(up).map(block(true)),
    output: { inChannels: up[up.length - 1], outChannels: cfg.outChannels, kernel: 1 } satisfies Conv2dConfig,
  };
};

// ---- params and state -------------------------------------------------------------------------

export interface SimpleUnetParams {
  /** index 1: the notebook's Sequential(SinusoidalPositionEmbeddings, Linear, ReLU) */
  readonly time_mlp: { readonly '1': LinearParams };
  readonly conv0: ConvParams;
  readonly downs: readonly SeedBlockParams[];
  readonly ups: readonly SeedBlockParams[];
  readonly output: ConvParams;
}

/** Batch-norm running statistics of every block: not trainable, updated by training-mode passes. */
export interface SimpleUnetState {
  readonly downs: readonly SeedBlockState[];
  readonly ups: readonly SeedBlockState[];
}

export const simpleUnetSpec = (cfg: SimpleUnetConfig): Spec<SimpleUnetParams> => {
  const l = plan(cfg);
  return {
    time_mlp: { '1': linearSpec(l.time) },
    conv0: conv2dSpec(l.conv0),
    downs: l.downs.map(seedBlockSpec),
    ups: l.ups.map(seedBlockSpec),
    output: conv2dSpec(l.output),
  };
};

export const simpleUnetStateSpec = (cfg: SimpleUnetConfig): Spec<SimpleUnetState> => {
  const l = plan(cfg);
  return { downs: l.downs.map(seedBlockStateSpec), ups: l.ups.map(seedBlockStateSpec) };
};

/** Fresh params with PyTorch's default initialisation, the key split per layer. */
export const initSimpleUnet = (key: Key, cfg: SimpleUnetConfig): SimpleUnetParams =>
  materialize<SimpleUnetParams>(key, simpleUnetSpec(cfg));

/** Running means 0, variances 1, counters 0. */
export const initSimpleUnetState = (cfg: SimpleUnetConfig): SimpleUnetState =>
  materializeConstants<SimpleUnetState>(simpleUnetStateSpec(cfg));

/** Params and state from checkpoint entries (names, shapes, int64 counters checked). */
export const loadSimpleUnetStateDict = (
  entries: readonly StateDictEntry[], cfg: SimpleUnetConfig,
): E.Either<StateDictError, { readonly params: SimpleUnetParams; readonly state: SimpleUnetState }> =>
  loadStateDict<SimpleUnetParams, SimpleUnetState>(entries, { params: simpleUnetSpec(cfg), state: simpleUnetStateSpec(cfg) });

// ---- forward ----------------------------------------------------------------------------------

/**
 * x [B, inChannels, H, W] (H, W divisible by 2^downs), t [B] float timesteps → the predicted noise
 * [B, outChannels, H, W] and the state: updated running statistics in training mode, else unchanged.
 */
export const simpleUnet = (
  p: SimpleUnetParams, state: SimpleUnetState, cfg: SimpleUnetConfig, x: Tensor, t: Tensor, mode: ForwardMode,
): { readonly y: Tensor; readonly state: SimpleUnetState } => {
  if (x.shape.length !== 4 || x.shape[1] !== cfg.inChannels || t.shape.length !== 1 || t.shape[0] !== x.shape[0]) {
    throw new ShapeError('simpleUnet', [x.shape, t.shape], `expected x [B, ${cfg.inChannels}, H, W] and t [B]`);
  }
  const l = plan(cfg);
  const temb = ops.relu(linear(p.time_mlp['1'], l.time, sinusoidalEmbedding(t, cfg.timeDim)));
  let h = conv2d(p.conv0, l.conv0, x);
  const residuals: Tensor[] = [];
  const downs = l.downs.map((bc, i) => {
    const r = seedBlock(p.downs[i], state.downs[i], bc, h, temb, mode);
    h = r.y;
    residuals.push(h);
    return r.state;
  });
  const ups = l.ups.map((bc, i) => {
    const r = seedBlock(p.ups[i], state.ups[i], bc, ops.concat([h, residuals.pop() as Tensor], 1), temb, mode);
    h = r.y;
    return r.state;
  });
  return { y: conv2d(p.output, l.output, h), state: mode.training ? { downs, ups } : state };
};
