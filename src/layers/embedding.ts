/**
 * Embeddings of the conditioning inputs: the sinusoidal timestep embedding both U-Nets use, and a
 * learned table for class labels.
 */
import type { Key } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { ShapeError } from '../tensor/shape.ts';
import * as ops from '../ops/index.ts';
import { materialize, type Spec, tensorSpec } from './spec.ts';

/** f_i = exp(−ln(10000) · i / (half − 1)) for i = 0 … half−1, half = dim/2: from 1 down to 1/10000. */
export const timestepFrequencies = (dim: number): Float64Array => {
  if (!Number.isInteger(dim) || dim < 4 || dim % 2 !== 0) {
    throw new RangeError(`sinusoidalEmbedding: the width must be an even integer ≥ 4, got ${dim}`);
  }
  const half = dim / 2;
  return Float64Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / (half - 1)));
};

/** t [B] (float timesteps) → [B, dim] = concat(sin(t·f), cos(t·f)). */
export const sinusoidalEmbedding = (t: Tensor, dim: number): Tensor => {
  if (t.shape.length !== 1) throw new ShapeError('sinusoidalEmbedding', [t.shape], 'timesteps must be a 1-D tensor [batch]');
  const f = timestepFrequencies(dim);
  const args = ops.mul(ops.reshape(t, [t.shape[0], 1]), ops.tensor(f, [1, f.length], t.backend));
  return ops.concat([ops.sin(args), ops.cos(args)], 1);
};

// ---- class embedding --------------------------------------------------------------------------

export interface ClassEmbeddingConfig {
  readonly numClasses: number;
  readonly dim: number;
}

export interface EmbeddingParams {
  /** [numClasses, dim] */
  readonly weight: Tensor;
}

/** PyTorch's nn.Embedding starts from N(0, 1). */
export const classEmbeddingSpec = (cfg: ClassEmbeddingConfig): Spec<EmbeddingParams> => ({
  weight: tensorSpec([cfg.numClasses, cfg.dim], { kind: 'normal', std: 1 }),
});

export const initClassEmbedding = (key: Key, cfg: ClassEmbeddingConfig): EmbeddingParams =>
  materialize<EmbeddingParams>(key, classEmbeddingSpec(cfg));

/** labels [B] (integers stored as floats) → rows of the table [B, dim]. */
export const classEmbedding = (p: EmbeddingParams, _cfg: ClassEmbeddingConfig, labels: Tensor): Tensor =>
  ops.gather(p.weight, labels, 0);
