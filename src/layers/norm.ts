/**
 * Normalisation layers. Group norm has only affine params. Batch norm's running statistics are not
 * trainable, so they live in a separate state tree (named as PyTorch's buffers) that the forward
 * pass returns updated in training mode.
 */
import type { Tensor } from '../tensor/tensor.ts';
import * as ops from '../ops/index.ts';
import { counterSpec, materializeConstants, onesInit, type Spec, tensorSpec, zerosInit } from './spec.ts';

export interface NormParams {
  readonly weight: Tensor;
  readonly bias: Tensor;
}

const affineSpec = (channels: number): Spec<NormParams> => ({
  weight: tensorSpec([channels], onesInit),
  bias: tensorSpec([channels], zerosInit),
});

// ---- group norm -------------------------------------------------------------------------------

export interface GroupNormConfig {
  readonly channels: number;
  readonly groups: number;
  /** default 1e-5 */
  readonly eps?: number;
}

export const groupNormSpec = (cfg: GroupNormConfig): Spec<NormParams> => affineSpec(cfg.channels);
export const initGroupNorm = (cfg: GroupNormConfig): NormParams => materializeConstants<NormParams>(groupNormSpec(cfg));

export const groupNorm = (p: NormParams, cfg: GroupNormConfig, x: Tensor): Tensor =>
  ops.groupNorm(x, cfg.groups, p.weight, p.bias, cfg.eps ?? 1e-5);

// ---- batch norm -------------------------------------------------------------------------------

export interface BatchNormConfig {
  readonly channels: number;
  /** default 1e-5 */
  readonly eps?: number;
  /** default 0.1: running ← (1 − momentum)·running + momentum·batch statistic */
  readonly momentum?: number;
}

/** PyTorch's BatchNorm buffers, by their state-dict names. */
export interface BatchNormState {
  readonly running_mean: Tensor;
  readonly running_var: Tensor;
  /** an int64 in PyTorch's checkpoints */
  readonly num_batches_tracked: number;
}

export interface ForwardMode {
  /** batch statistics and updated running statistics (true), or the running statistics (false) */
  readonly training: boolean;
}

export const batchNormSpec = (cfg: BatchNormConfig): Spec<NormParams> => affineSpec(cfg.channels);
export const batchNormStateSpec = (cfg: BatchNormConfig): Spec<BatchNormState> => ({
  running_mean: tensorSpec([cfg.channels], zerosInit),
  running_var: tensorSpec([cfg.channels], onesInit),
  num_batches_tracked: counterSpec,
});

export const initBatchNorm = (cfg: BatchNormConfig): NormParams => materializeConstants<NormParams>(batchNormSpec(cfg));
export const initBatchNormState = (cfg: BatchNormConfig): BatchNormState =>
  materializeConstants<BatchNormState>(batchNormStateSpec(cfg));

export const batchNorm = (
  p: NormParams, state: BatchNormState, cfg: BatchNormConfig, x: Tensor, mode: ForwardMode,
): { readonly y: Tensor; readonly state: BatchNormState } => {
  const r = ops.batchNorm(x, p.weight, p.bias, { runningMean: state.running_mean, runningVar: state.running_var }, {
    training: mode.training, eps: cfg.eps ?? 1e-5, momentum: cfg.momentum ?? 0.1,
  });
  if (!mode.training) return { y: r.y, state };
  return {
    y: r.y,
    state: { running_mean: r.state.runningMean, running_var: r.state.runningVar, num_batches_tracked: state.num_batches_tracked + 1 },
  };
};
