/**
 * The mnist32 residual block, conditioned on the time embedding by scale and shift:
 *   (scale, shift) = split(mlp(SiLU(temb)))                      first half is the scale
 *   h = SiLU(GN(conv1(x)) · (1 + scale) + shift)
 *   h = SiLU(GN(conv2(h)))
 *   out = h + skip(x)                    skip: 1×1 conv when the channel count changes, else identity
 */
import type { Key } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import * as ops from '../ops/index.ts';
import { type Conv2dConfig, conv2d, conv2dSpec, type ConvParams } from './conv.ts';
import { linear, type LinearConfig, type LinearParams, linearSpec } from './linear.ts';
import { type GroupNormConfig, groupNormSpec, type NormParams } from './norm.ts';
import { materialize, type Spec } from './spec.ts';

export interface ResBlockConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  /** width of the time embedding */
  readonly timeDim: number;
  /** group-norm groups (8 in the reference) */
  readonly groups: number;
}

/** Members in PyTorch's registration order, so they flatten to its state-dict order. */
export interface ResBlockParams {
  readonly mlp: LinearParams;
  readonly conv1: ConvParams;
  readonly norm1: NormParams;
  readonly conv2: ConvParams;
  readonly norm2: NormParams;
  readonly skip?: ConvParams;
}

/** The configs of the block's layers, derived once from the block's config. */
const parts = (cfg: ResBlockConfig) => {
  const c = cfg.outChannels;
  return {
    mlp: { inFeatures: cfg.timeDim, outFeatures: 2 * c } satisfies LinearConfig,
    conv1: { inChannels: cfg.inChannels, outChannels: c, kernel: 3, padding: 1 } satisfies Conv2dConfig,
    conv2: { inChannels: c, outChannels: c, kernel: 3, padding: 1 } satisfies Conv2dConfig,
    norm: { channels: c, groups: cfg.groups } satisfies GroupNormConfig,
    skip: cfg.inChannels === c ? null : ({ inChannels: cfg.inChannels, outChannels: c, kernel: 1 } satisfies Conv2dConfig),
  };
};

export const resBlockSpec = (cfg: ResBlockConfig): Spec<ResBlockParams> => {
  const l = parts(cfg);
  return {
    mlp: linearSpec(l.mlp),
    conv1: conv2dSpec(l.conv1),
    norm1: groupNormSpec(l.norm),
    conv2: conv2dSpec(l.conv2),
    norm2: groupNormSpec(l.norm),
    ...(l.skip ? { skip: conv2dSpec(l.skip) } : {}),
  };
};

export const initResBlock = (key: Key, cfg: ResBlockConfig): ResBlockParams => materialize<ResBlockParams>(key, resBlockSpec(cfg));

/** x [B, in, H, W], temb [B, timeDim] → [B, out, H, W] */
export const resBlock = (p: ResBlockParams, cfg: ResBlockConfig, x: Tensor, temb: Tensor): Tensor => {
  const l = parts(cfg);
  const c = cfg.outChannels;
  const [scale, shift] = ops.split(linear(p.mlp, l.mlp, ops.silu(temb)), [c, c], 1);
  // The norm → modulation → SiLU chains are one fused op each (only their input is kept for the
  // backward pass).
  const eps = (l.norm as GroupNormConfig).eps ?? 1e-5;
  let h = ops.groupNormAct(conv2d(p.conv1, l.conv1, x), l.norm.groups, p.norm1.weight, p.norm1.bias, { eps, scale, shift });
  h = ops.groupNormAct(conv2d(p.conv2, l.conv2, h), l.norm.groups, p.norm2.weight, p.norm2.bias, { eps });
  const skip = p.skip && l.skip ? conv2d(p.skip, l.skip, x) : x;
  return ops.add(h, skip);
};
