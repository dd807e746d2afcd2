/**
 * The seed notebook's SimpleUnet `Block`:
 *   h = bn1(ReLU(conv1(x)))                  conv1 takes 2·in channels in an up block ([x, residual])
 *   h = h + ReLU(time_mlp(temb))             broadcast over H, W
 *   h = bn2(ReLU(conv2(h)))
 *   out = transform(h)                       4×4 stride-2 conv (down) or conv-transpose (up)
 */
import type { Key } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import * as ops from '../ops/index.ts';
import {
  type Conv2dConfig, conv2d, conv2dSpec, type ConvParams, type ConvTranspose2dConfig, convTranspose2d, convTranspose2dSpec,
} from './conv.ts';
import { linear, type LinearConfig, type LinearParams, linearSpec } from './linear.ts';
import {
  batchNorm, type BatchNormConfig, batchNormSpec, type BatchNormState, batchNormStateSpec, type ForwardMode, type NormParams,
} from './norm.ts';
import { materialize, materializeConstants, type Spec } from './spec.ts';

export interface SeedBlockConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly timeDim: number;
  /** an up block: conv1 reads the concatenation [x, residual], transform upsamples */
  readonly up: boolean;
}

/** Members in the notebook's registration order (the state-dict order). */
export interface SeedBlockParams {
  readonly time_mlp: LinearParams;
  readonly conv1: ConvParams;
  readonly transform: ConvParams;
  readonly conv2: ConvParams;
  readonly bn1: NormParams;
  readonly bn2: NormParams;
}

export interface SeedBlockState {
  readonly bn1: BatchNormState;
  readonly bn2: BatchNormState;
}

const parts = (cfg: SeedBlockConfig) => {
  const c = cfg.outChannels;
  return {
    time_mlp: { inFeatures: cfg.timeDim, outFeatures: c } satisfies LinearConfig,
    conv1: { inChannels: (cfg.up ? 2 : 1) * cfg.inChannels, outChannels: c, kernel: 3, padding: 1 } satisfies Conv2dConfig,
    transform: { inChannels: c, outChannels: c, kernel: 4, stride: 2, padding: 1 } satisfies ConvTranspose2dConfig,
    conv2: { inChannels: c, outChannels: c, kernel: 3, padding: 1 } satisfies Conv2dConfig,
    bn: { channels: c } satisfies BatchNormConfig,
  };
};

export const seedBlockSpec = (cfg: SeedBlockConfig): Spec<SeedBlockParams> => {
  const l = parts(cfg);
  return {
    time_mlp: linearSpec(l.time_mlp),
    conv1: conv2dSpec(l.conv1),
    transform: cfg.up ? convTranspose2dSpec(l.transform) : conv2dSpec(l.transform),
    conv2: conv2dSpec(l.conv2),
    bn1: batchNormSpec(l.bn),
    bn2: batchNormSpec(l.bn),
  };
};

export const seedBlockStateSpec = (cfg: SeedBlockConfig): Spec<SeedBlockState> => {
  const l = parts(cfg);
  return { bn1: batchNormStateSpec(l.bn), bn2: batchNormStateSpec(l.bn) };
};

export const initSeedBlock = (key: Key, cfg: SeedBlockConfig): SeedBlockParams => materialize<SeedBlockParams>(key, seedBlockSpec(cfg));
export const initSeedBlockState = (cfg: SeedBlockConfig): SeedBlockState =>
  materializeConstants<SeedBlockState>(seedBlockStateSpec(cfg));

/** x [B, in (2·in when up), H, W], temb [B, timeDim] → [B, out, H/2, W/2] (down) or [B, out, 2H, 2W] (up) */
export const seedBlock = (
  p: SeedBlockParams, state: SeedBlockState, cfg: SeedBlockConfig, x: Tensor, temb: Tensor, mode: ForwardMode,
): { readonly y: Tensor; readonly state: SeedBlockState } => {
  const l = parts(cfg);
  const [b, c] = [x.shape[0], cfg.outChannels];
  const n1 = batchNorm(p.bn1, state.bn1, l.bn, ops.relu(conv2d(p.conv1, l.conv1, x)), mode);
  const h = ops.add(n1.y, ops.reshape(ops.relu(linear(p.time_mlp, l.time_mlp, temb)), [b, c, 1, 1]));
  const n2 = batchNorm(p.bn2, state.bn2, l.bn, ops.relu(conv2d(p.conv2, l.conv2, h)), mode);
  const y = cfg.up ? convTranspose2d(p.transform, l.transform, n2.y) : conv2d(p.transform, l.transform, n2.y);
  return { y, state: { bn1: n1.state, bn2: n2.state } };
};
