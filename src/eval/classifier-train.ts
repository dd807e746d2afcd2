/**
 * Training the yardstick classifier: a pure step (cross-entropy, its gradient, an optimizer update)
 * and the augmentation that makes it tolerant of generated digits that sit a pixel or two off
 * MNIST's centring. The loop, the data and the files live in scripts/train-classifier.ts.
 */
import type { Key } from '../tensor/random.ts';
import { randint } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { crossEntropy } from '../ops/nn.ts';
import { valueAndGrad } from '../grad/value-and-grad.ts';
import type { Optimizer } from '../grad/optim.ts';
import { classifier, type ClassifierConfig, type ClassifierParams } from '../layers/classifier.ts';

/**
 * Each single-channel image of `pixels` ([n, 1, size, size], row-major) moved by its own integer
 * offset (dy, dx) drawn uniformly from [−maxShift, maxShift]²; pixels moved in from outside read
 * `background` (−1: black in the [−1, 1] scaling).
 */
export const randomShift = (pixels: Float32Array, size: number, key: Key, maxShift: number, background = -1): Float32Array => {
  const plane = size * size;
  const n = pixels.length / plane;
  if (!Number.isInteger(n)) throw new RangeError(`randomShift: ${pixels.length} pixels are not a whole number of ${size}×${size} images`);
  if (!Number.isInteger(maxShift) || maxShift < 0) throw new RangeError(`randomShift: maxShift must be a non-negative integer, got ${maxShift}`);
  if (maxShift === 0) return pixels.slice();
  const offsets = randint(key, 2 * n, -maxShift, maxShift + 1);
  const out = new Float32Array(pixels.length).fill(background);
  for (let i = 0; i < n; i++) {
    const dy = offsets[2 * i];
    const dx = offsets[2 * i + 1];
    const base = i * plane;
    for (let y = Math.max(0, dy); y < Math.min(size, size + dy); y++) {
      const from = base + (y - dy) * size;
      const x0 = Math.max(0, dx);
      const x1 = Math.min(size, size + dx);
      out.set(pixels.subarray(from + x0 - dx, from + x1 - dx), base + y * size + x0);
    }
  }
  return out;
};

/** Mean cross-entropy of the classifier's logits for images x [B, C, H, W] against labels [B]. */
export const classifierLoss = (params: ClassifierParams, cfg: ClassifierConfig, x: Tensor, labels: Tensor): Tensor =>
  crossEntropy(classifier(params, cfg, x), labels);

export interface ClassifierStep<S> {
  readonly params: ClassifierParams;
  readonly optState: S;
  readonly loss: Tensor;
}

/** One optimizer step on a batch: params and optimizer state in, new ones and the batch loss out. */
export const classifierTrainStep = <S>(
  cfg: ClassifierConfig, opt: Optimizer<S>, params: ClassifierParams, optState: S, x: Tensor, labels: Tensor,
): ClassifierStep<S> => {
  const { value, grads } = valueAndGrad((p: ClassifierParams) => classifierLoss(p, cfg, x, labels))(params);
  const up = opt.update(grads, optState, params);
  return { params: up.params, optState: up.state, loss: value };
};
