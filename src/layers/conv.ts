/**
 * Convolution layers with PyTorch's layouts and initialisation: conv weight [out, in, k, k],
 * conv-transpose weight [in, out, k, k]. Both draw weight and bias from U(−1/√fan_in, 1/√fan_in),
 * where PyTorch takes fan_in from weight.shape[1]·k·k — the *output* channels for a conv-transpose.
 */
import type { Key } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import * as ops from '../ops/index.ts';
import { fanInUniform, materialize, type Spec, tensorSpec, type TensorSpec } from './spec.ts';

export interface Conv2dConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  /** square kernel size */
  readonly kernel: number;
  /** default 1 */
  readonly stride?: number;
  /** default 0 */
  readonly padding?: number;
  /** default true */
  readonly bias?: boolean;
}

export interface ConvTranspose2dConfig extends Conv2dConfig {
  /** default 0 */
  readonly outputPadding?: number;
}

export interface ConvParams {
  readonly weight: Tensor;
  readonly bias?: Tensor;
}

const withBias = (cfg: Conv2dConfig, weight: TensorSpec, bias: TensorSpec): Spec<ConvParams> =>
  (cfg.bias === false ? { weight } : { weight, bias });

export const conv2dSpec = (cfg: Conv2dConfig): Spec<ConvParams> => {
  const k = cfg.kernel;
  const init = fanInUniform(cfg.inChannels * k * k);
  return withBias(cfg, tensorSpec([cfg.outChannels, cfg.inChannels, k, k], init), tensorSpec([cfg.outChannels], init));
};

export const convTranspose2dSpec = (cfg: ConvTranspose2dConfig): Spec<ConvParams> => {
  const k = cfg.kernel;
  const init = fanInUniform(cfg.outChannels * k * k);
  return withBias(cfg, tensorSpec([cfg.inChannels, cfg.outChannels, k, k], init), tensorSpec([cfg.outChannels], init));
};

export const initConv2d = (key: Key, cfg: Conv2dConfig): ConvParams => materialize<ConvParams>(key, conv2dSpec(cfg));
export const initConvTranspose2d = (key: Key, cfg: ConvTranspose2dConfig): ConvParams =>
  materialize<ConvParams>(key, convTranspose2dSpec(cfg));

/** x [n, in, h, w] → [n, out, h', w'] */
export const conv2d = (p: ConvParams, cfg: Conv2dConfig, x: Tensor): Tensor =>
  ops.conv2d(x, p.weight, p.bias ?? null, { stride: cfg.stride ?? 1, padding: cfg.padding ?? 0 });

/** x [n, in, h, w] → [n, out, (h−1)·s − 2p + k + outputPadding, …] */
export const convTranspose2d = (p: ConvParams, cfg: ConvTranspose2dConfig, x: Tensor): Tensor =>
  ops.convTranspose2d(x, p.weight, p.bias ?? null, {
    stride: cfg.stride ?? 1, padding: cfg.padding ?? 0, outputPadding: cfg.outputPadding ?? 0,
  });
