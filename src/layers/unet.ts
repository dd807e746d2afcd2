/**
 * The `mnist32` U-Net family (reference-unet.md): a time-conditioned U-Net of ResBlocks with
 * group norm, stride-2 conv downsampling, nearest ×2 upsampling + conv, and self-attention in the
 * middle (and optionally at chosen levels). `mnist32` holds 2,835,329 parameters, `mnist64`
 * 11,286,273; param names and layouts are exactly PyTorch's state-dict names (keys-mnist32.txt).
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { FormatError } from '../codec/errors.ts';
import type { Key } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { ShapeError } from '../tensor/shape.ts';
import * as ops from '../ops/index.ts';
import { attention, type AttentionConfig, type AttentionParams, attentionSpec } from './attention.ts';
import { type Conv2dConfig, conv2d, conv2dSpec, type ConvParams } from './conv.ts';
import { decodeConfig, NonNegativeInt, offending, PositiveInt, strictConfig } from './config.ts';
import {
  classEmbedding, type ClassEmbeddingConfig, classEmbeddingSpec, type EmbeddingParams, sinusoidalEmbedding,
} from './embedding.ts';
import { linear, type LinearConfig, type LinearParams, linearSpec } from './linear.ts';
import { type GroupNormConfig, groupNormSpec, type NormParams } from './norm.ts';
import { resBlock, type ResBlockConfig, type ResBlockParams, resBlockSpec } from './resblock.ts';
import { materialize, type Spec } from './spec.ts';
import { loadStateDict, type StateDictEntry, type StateDictError } from './state-dict.ts';

// ---- config -----------------------------------------------------------------------------------

export const UnetConfig = strictConfig('UnetConfig', {
  /** image channels in (and out) */
  inChannels: PositiveInt,
  /** init_conv's width; level i has baseChannels · channelMults[i] channels */
  baseChannels: PositiveInt,
  channelMults: t.readonlyArray(PositiveInt),
  /** ResBlocks per level on each path */
  blocksPerLevel: PositiveInt,
  /** levels that also get self-attention after each ResBlock (the middle always has it) */
  attentionLevels: t.readonlyArray(NonNegativeInt),
  /** width of the sinusoidal timestep embedding (time_mlp.0's input) */
  sinusoidalDim: PositiveInt,
  /** width of the time MLP and of the embedding every ResBlock reads */
  timeDim: PositiveInt,
  /** group-norm groups */
  groups: PositiveInt,
  /** attention heads */
  heads: PositiveInt,
  /** 0: unconditional; otherwise a class-embedding table added to the time embedding */
  numClasses: NonNegativeInt,
}, (cfg) => {
  const chs = cfg.channelMults.map((m) => m * cfg.baseChannels);
  const levels = chs.length;
  const attended = [chs[levels - 1], ...cfg.attentionLevels.filter((i) => i < levels).map((i) => chs[i])];
  return [
    ...(levels === 0 ? ['channelMults must list at least one level'] : []),
    ...offending('sinusoidalDim must be even and at least 4', cfg.sinusoidalDim % 2 !== 0 || cfg.sinusoidalDim < 4 ? [cfg.sinusoidalDim] : []),
    ...offending(`every channel count must be divisible by groups = ${cfg.groups}`,
      [...new Set([cfg.baseChannels, ...chs])].filter((c) => c % cfg.groups !== 0)),
    ...offending(`attended channel counts must be divisible by heads = ${cfg.heads}`,
      [...new Set(attended)].filter((c) => c % cfg.heads !== 0)),
    ...offending(`attentionLevels must be distinct levels in [0, ${levels})`,
      cfg.attentionLevels.filter((i, k) => i >= levels || cfg.attentionLevels.indexOf(i) !== k)),
  ];
});
export type UnetConfig = t.TypeOf<typeof UnetConfig>;

/** The reference network: 2,835,329 parameters. */
export const mnist32: UnetConfig = {
  inChannels: 1, baseChannels: 32, channelMults: [1, 2, 4], blocksPerLevel: 2, attentionLevels: [],
  sinusoidalDim: 128, timeDim: 128, groups: 8, heads: 4, numClasses: 0,
};
/**
 * Twice the width, time MLP included (4 × base = 256; the sinusoidal embedding stays 128 wide):
 * 11,286,273 parameters.
 */
export const mnist64: UnetConfig = { ...mnist32, baseChannels: 64, timeDim: 256 };
/** A small network of the same shape for tests and CI. */
export const tiny: UnetConfig = {
  ...mnist32, baseChannels: 16, channelMults: [1, 2], blocksPerLevel: 1, sinusoidalDim: 32, timeDim: 32,
};

/**
 * The default preset's network, sized for the most readable digits per minute of CPU training:
 * base 24, three levels (28, 14, 7) with one ResBlock each, attention only in the 7×7 middle, where
 * 49 positions make it cheap: 464,257 parameters, faster per image than `tiny` (whose attention
 * sits at 14×14) though four times its size.
 */
export const small: UnetConfig = {
  ...mnist32, baseChannels: 24, channelMults: [1, 2, 2], blocksPerLevel: 1, sinusoidalDim: 32, timeDim: 96,
};

/** A config from JSON-like input: full, or overrides of mnist32's fields. */
export const decodeUnetConfig: (u: unknown) => E.Either<FormatError, UnetConfig> = decodeConfig(UnetConfig, mnist32);

// ---- layout -----------------------------------------------------------------------------------

/** Every layer's config, derived once from the network's: the spec and the forward pass both read it. */
const plan = (cfg: UnetConfig) => {
  const chs = cfg.channelMults.map((m) => m * cfg.baseChannels);
  const levels = chs.length;
  const mid = chs[levels - 1];
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const res = (inChannels: number, outChannels: number): ResBlockConfig =>
    ({ inChannels, outChannels, timeDim: cfg.timeDim, groups: cfg.groups });
  const attn = (channels: number): AttentionConfig => ({ channels, heads: cfg.heads, groups: cfg.groups });
  const conv3 = (inChannels: number, outChannels: number, stride = 1): Conv2dConfig =>
    ({ inChannels, outChannels, kernel: 3, stride, padding: 1 });
  const attnAt = (i: number) => (cfg.attentionLevels.includes(i) ? attn(chs[i]) : null);
  return {
    time0: { inFeatures: cfg.sinusoidalDim, outFeatures: cfg.timeDim } satisfies LinearConfig,
    time2: { inFeatures: cfg.timeDim, outFeatures: cfg.timeDim } satisfies LinearConfig,
    // one row per class and a last row for the null class (label numClasses), used by classifier-free guidance
    classEmb: cfg.numClasses > 0 ? ({ numClasses: cfg.numClasses + 1, dim: cfg.timeDim } satisfies ClassEmbeddingConfig) : null,
    initConv: conv3(cfg.inChannels, cfg.baseChannels),
    down: chs.map((c, i) => ({
      blocks: range(cfg.blocksPerLevel).map((j) => res(j > 0 ? c : i > 0 ? chs[i - 1] : cfg.baseChannels, c)),
      attn: attnAt(i),
      downsample: i < levels - 1 ? conv3(c, c, 2) : null,
    })),
    mid: res(mid, mid),
    midAttn: attn(mid),
    // up level k works at level i = levels − 1 − k; its input [h, skip_i] has 2·chs[i] channels
    up: range(levels).map((k) => {
      const i = levels - 1 - k;
      return {
        level: i,
        blocks: range(cfg.blocksPerLevel).map((j) => res(j > 0 ? chs[i] : 2 * chs[i], chs[i])),
        attn: attnAt(i),
        upsample: i > 0 ? conv3(chs[i], chs[i - 1]) : null,
      };
    }),
    outNorm: { channels: chs[0], groups: cfg.groups } satisfies GroupNormConfig,
    outConv: conv3(chs[0], cfg.inChannels),
  };
};

// ---- params -----------------------------------------------------------------------------------

type Levels<T> = readonly (readonly T[])[];

/** Members in PyTorch's registration order; arrays flatten to `.0`, `.1`, … */
export interface UnetParams {
  readonly time_mlp: { readonly '0': LinearParams; readonly '2': LinearParams };
  readonly class_emb?: EmbeddingParams;
  readonly init_conv: ConvParams;
  readonly down_blocks: Levels<ResBlockParams>;
  /** only with attentionLevels: one list per level, empty where a level has none */
  readonly down_attns?: Levels<AttentionParams>;
  readonly downsamples: readonly ConvParams[];
  readonly mid1: ResBlockParams;
  readonly mid_attn: AttentionParams;
  readonly mid2: ResBlockParams;
  readonly up_blocks: Levels<ResBlockParams>;
  readonly up_attns?: Levels<AttentionParams>;
  readonly upsamples: readonly ConvParams[];
  readonly out_norm: NormParams;
  readonly out_conv: ConvParams;
}

export const unetSpec = (cfg: UnetConfig): Spec<UnetParams> => {
  const l = plan(cfg);
  const levelAttns = (ls: typeof l.down | typeof l.up) =>
    ls.map(({ attn, blocks }) => (attn ? blocks.map(() => attentionSpec(attn)) : []));
  const withLevelAttention = cfg.attentionLevels.length > 0;
  return {
    time_mlp: { '0': linearSpec(l.time0), '2': linearSpec(l.time2) },
    ...(l.classEmb ? { class_emb: classEmbeddingSpec(l.classEmb) } : {}),
    init_conv: conv2dSpec(l.initConv),
    down_blocks: l.down.map((d) => d.blocks.map(resBlockSpec)),
    ...(withLevelAttention ? { down_attns: levelAttns(l.down) } : {}),
    downsamples: l.down.flatMap((d) => (d.downsample ? [conv2dSpec(d.downsample)] : [])),
    mid1: resBlockSpec(l.mid),
    mid_attn: attentionSpec(l.midAttn),
    mid2: resBlockSpec(l.mid),
    up_blocks: l.up.map((u) => u.blocks.map(resBlockSpec)),
    ...(withLevelAttention ? { up_attns: levelAttns(l.up) } : {}),
    upsamples: l.up.flatMap((u) => (u.upsample ? [conv2dSpec(u.upsample)] : [])),
    out_norm: groupNormSpec(l.outNorm),
    out_conv: conv2dSpec(l.outConv),
  };
};

/** Fresh params with PyTorch's default initialisation, the key split per layer. */
export const initUnet = (key: Key, cfg: UnetConfig): UnetParams => materialize<UnetParams>(key, unetSpec(cfg));

/** Params from checkpoint entries (names, shapes checked); the U-Net has no non-trainable state. */
export const loadUnetStateDict = (
  entries: readonly StateDictEntry[], cfg: UnetConfig,
): E.Either<StateDictError, { readonly params: UnetParams; readonly state: Record<string, never> }> =>
  loadStateDict<UnetParams, Record<string, never>>(entries, { params: unetSpec(cfg), state: {} });

// ---- forward ----------------------------------------------------------------------------------

export interface UnetOptions {
  /** class labels [B] (integers as floats, numClasses = the null class); only for a config with numClasses > 0 */
  readonly labels?: Tensor;
}

/**
 * The predicted noise: x [B, inChannels, H, W] (H, W divisible by 2^(levels−1), e.g. 28 for three
 * levels), t [B] float timesteps → [B, inChannels, H, W].
 */
export const unet = (p: UnetParams, cfg: UnetConfig, x: Tensor, t: Tensor, opts: UnetOptions = {}): Tensor => {
  if (x.shape.length !== 4 || x.shape[1] !== cfg.inChannels || t.shape.length !== 1 || t.shape[0] !== x.shape[0]) {
    throw new ShapeError('unet', [x.shape, t.shape], `expected x [B, ${cfg.inChannels}, H, W] and t [B]`);
  }
  const l = plan(cfg);
  const sinusoid = sinusoidalEmbedding(t, cfg.sinusoidalDim);
  let temb = linear(p.time_mlp['2'], l.time2, ops.silu(linear(p.time_mlp['0'], l.time0, sinusoid)));
  if (opts.labels) {
    if (!p.class_emb || !l.classEmb) throw new Error('unet: class labels were given to a network without classes (numClasses = 0)');
    temb = ops.add(temb, classEmbedding(p.class_emb, l.classEmb, opts.labels));
  }
  /** A level's ResBlocks, each followed by attention where the level has it. */
  const level = (
    h: Tensor, blocks: readonly ResBlockParams[], attns: readonly AttentionParams[] | undefined,
    lv: { readonly blocks: readonly ResBlockConfig[]; readonly attn: AttentionConfig | null },
  ): Tensor =>
    lv.blocks.reduce((acc, bc, j) => {
      const r = resBlock(blocks[j], bc, acc, temb);
      return lv.attn && attns ? attention(attns[j], lv.attn, r) : r;
    }, h);

  let h = conv2d(p.init_conv, l.initConv, x);
  const skips: Tensor[] = [];
  l.down.forEach((d, i) => {
    h = level(h, p.down_blocks[i], p.down_attns?.[i], d);
    skips.push(h);
    if (d.downsample) h = conv2d(p.downsamples[i], d.downsample, h);
  });
  h = resBlock(p.mid1, l.mid, h, temb);
  h = attention(p.mid_attn, l.midAttn, h);
  h = resBlock(p.mid2, l.mid, h, temb);
  l.up.forEach((u, k) => {
    h = level(ops.concat([h, skips[u.level]], 1), p.up_blocks[k], p.up_attns?.[k], u);
    if (u.upsample) h = conv2d(p.upsamples[k], u.upsample, ops.upsampleNearest(h, 2));
  });
  return conv2d(p.out_conv, l.outConv, ops.groupNormAct(h, l.outNorm.groups, p.out_norm.weight, p.out_norm.bias, { eps: (l.outNorm as GroupNormConfig).eps ?? 1e-5 }));
};
