/**
 * Pre-norm multi-head self-attention over the pixels of a feature map, with a residual (mnist32's
 * `mid_attn`):
 *   qkv = conv1×1(GN(x)) (no bias), viewed as [B, 3, heads, d, n] with n = H·W, d = C/heads
 *   attn_ij = softmax_j(q_i · k_j / √d);  o_i = Σ_j attn_ij v_j,  viewed back as [B, C, H, W]
 *   out = x + conv1×1(o)
 * q, k and v stay in their [d, n] layout: the matmuls read them transposed instead of permuting.
 */
import type { Key } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { ShapeError } from '../tensor/shape.ts';
import * as ops from '../ops/index.ts';
import { type Conv2dConfig, conv2d, conv2dSpec, type ConvParams } from './conv.ts';
import { type GroupNormConfig, groupNormSpec, type NormParams } from './norm.ts';
import { materialize, type Spec } from './spec.ts';

export interface AttentionConfig {
  readonly channels: number;
  /** 4 in the reference; channels must divide evenly */
  readonly heads: number;
  /** group-norm groups */
  readonly groups: number;
}

export interface AttentionParams {
  readonly norm: NormParams;
  /** weight [3C, C, 1, 1], no bias */
  readonly qkv: ConvParams;
  readonly out: ConvParams;
}

const parts = (cfg: AttentionConfig) => ({
  norm: { channels: cfg.channels, groups: cfg.groups } satisfies GroupNormConfig,
  qkv: { inChannels: cfg.channels, outChannels: 3 * cfg.channels, kernel: 1, bias: false } satisfies Conv2dConfig,
  out: { inChannels: cfg.channels, outChannels: cfg.channels, kernel: 1 } satisfies Conv2dConfig,
});

export const attentionSpec = (cfg: AttentionConfig): Spec<AttentionParams> => {
  const l = parts(cfg);
  return { norm: groupNormSpec(l.norm), qkv: conv2dSpec(l.qkv), out: conv2dSpec(l.out) };
};

export const initAttention = (key: Key, cfg: AttentionConfig): AttentionParams => materialize<AttentionParams>(key, attentionSpec(cfg));

/** x [B, C, H, W] → [B, C, H, W] */
export const attention = (p: AttentionParams, cfg: AttentionConfig, x: Tensor): Tensor => {
  const [b, c, hgt, wid] = x.shape;
  const heads = cfg.heads;
  if (x.shape.length !== 4 || c !== cfg.channels || c % heads !== 0) {
    throw new ShapeError('attention', [x.shape], `expected [B, ${cfg.channels}, H, W] with channels divisible by ${heads} heads`);
  }
  const d = c / heads;
  const n = hgt * wid;
  const l = parts(cfg);
  const qkv = ops.reshape(conv2d(p.qkv, l.qkv, ops.groupNormAct(x, l.norm.groups, p.norm.weight, p.norm.bias, { eps: (l.norm as GroupNormConfig).eps ?? 1e-5, act: 'identity' })), [b, 3, heads, d, n]);
  const [q, k, v] = [0, 1, 2].map((i) => ops.reshape(ops.sliceAxis(qkv, 1, i, i + 1), [b, heads, d, n]));
  const scores = ops.mul(ops.matmul(q, k, true, false), 1 / Math.sqrt(d)); // [B, heads, n_i, n_j] = qᵀk
  const weights = ops.softmax(scores, -1);
  const o = ops.matmul(v, weights, false, true); // [B, heads, d, n_i] = Σ_j v[:, j] · attn[i, j]
  return ops.add(x, conv2d(p.out, l.out, ops.reshape(o, [b, c, hgt, wid])));
};
