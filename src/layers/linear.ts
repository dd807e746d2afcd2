/** A fully connected layer with PyTorch's layout and initialisation: weight [out, in], bias [out]. */
import type { Key } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import * as ops from '../ops/index.ts';
import { fanInUniform, materialize, type Spec, tensorSpec } from './spec.ts';

export interface LinearConfig {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** default true */
  readonly bias?: boolean;
}

export interface LinearParams {
  readonly weight: Tensor;
  readonly bias?: Tensor;
}

export const linearSpec = (cfg: LinearConfig): Spec<LinearParams> => {
  const init = fanInUniform(cfg.inFeatures);
  return {
    weight: tensorSpec([cfg.outFeatures, cfg.inFeatures], init),
    ...(cfg.bias === false ? {} : { bias: tensorSpec([cfg.outFeatures], init) }),
  };
};

export const initLinear = (key: Key, cfg: LinearConfig): LinearParams => materialize<LinearParams>(key, linearSpec(cfg));

/** x [..., in] → x·Wᵀ + b [..., out] */
export const linear = (p: LinearParams, _cfg: LinearConfig, x: Tensor): Tensor => ops.linear(x, p.weight, p.bias ?? null);
