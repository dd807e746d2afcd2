/**
 * Training batches from an image dataset: pixels scaled to [-1, 1], optionally resized, and a
 * shuffled order per epoch derived from a key. The batch at a global step is a pure function of
 * (key, step), so a resumed run sees exactly the batches an uninterrupted run would.
 */
import type { ImageDataset } from '../io/mnist.ts';
import { bernoulli, fold, type Key, permutation } from '../tensor/random.ts';

export interface ScaledImages {
  /** [count, channels, size, size] in [-1, 1], row-major */
  readonly pixels: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
  readonly channels: number;
  readonly size: number;
}

/** An image dataset with `channels` planes per image (count × channels × height × width bytes); without the field, one (MNIST). */
export type ChannelDataset = ImageDataset & { readonly channels?: number };

/**
 * Bilinear resize of one image plane with half-pixel centres (PyTorch's `align_corners=False`,
 * which torchvision's Resize uses for upscaling).
 */
export const resizeBilinear = (src: ArrayLike<number>, h: number, w: number, oh: number, ow: number, out: Float32Array, offset = 0): void => {
  const sy = h / oh;
  const sx = w / ow;
  for (let y = 0; y < oh; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(Math.floor(fy), h - 1);
    const y1 = Math.min(y0 + 1, h - 1);
    const dy = fy - y0;
    for (let x = 0; x < ow; x++) {
      const fx = Math.max(0, (x + 0.5) * sx - 0.5);
      const x0 = Math.min(Math.floor(fx), w - 1);
      const x1 = Math.min(x0 + 1, w - 1);
      const dx = fx - x0;
      const top = src[y0 * w + x0] * (1 - dx) + src[y0 * w + x1] * dx;
      const bottom = src[y1 * w + x0] * (1 - dx) + src[y1 * w + x1] * dx;
      out[offset + y * ow + x] = top * (1 - dy) + bottom * dy;
    }
  }
};

/** Bytes 0…255 → floats in [-1, 1] (ToTensor then 2x − 1), each plane resized to size × size when it differs. */
export const scaleImages = (ds: ChannelDataset, size: number): ScaledImages => {
  const { count, height: h, width: w } = ds;
  const channels = ds.channels ?? 1;
  const planes = count * channels;
  if (ds.images.length !== planes * h * w) {
    throw new RangeError(`scaleImages: ${ds.images.length} bytes is not [${count}, ${channels}, ${h}, ${w}]`);
  }
  const pixels = new Float32Array(planes * size * size);
  const unit = new Float32Array(h * w);
  for (let i = 0; i < planes; i++) {
    const base = i * h * w;
    for (let j = 0; j < h * w; j++) unit[j] = ds.images[base + j] / 255;
    if (size === h && size === w) pixels.set(unit, i * size * size);
    else resizeBilinear(unit, h, w, size, size, pixels, i * size * size);
  }
  for (let j = 0; j < pixels.length; j++) pixels[j] = pixels[j] * 2 - 1;
  return { pixels, labels: ds.labels, count, channels, size };
};

export const batchesPerEpoch = (count: number, batch: number): number => Math.floor(count / batch);

export interface Batch {
  readonly pixels: Float32Array;
  readonly labels: Float32Array;
  readonly epoch: number;
}

/**
 * The batch of global step `step` (drop_last): epoch e = ⌊step / batchesPerEpoch⌋ shuffles with
 * permutation(fold(key, e)). `cache` keeps the last permutation so consecutive steps do not redo it.
 */
export const batchAt = (data: ScaledImages, batch: number, key: Key, step: number, cache: { epoch?: number; perm?: Int32Array } = {}): Batch => {
  const per = batchesPerEpoch(data.count, batch);
  if (per === 0) throw new RangeError(`batch ${batch} is larger than the dataset (${data.count} images)`);
  const epoch = Math.floor(step / per);
  if (cache.epoch !== epoch || !cache.perm) {
    cache.epoch = epoch;
    cache.perm = permutation(fold(key, epoch), data.count);
  }
  const start = (step % per) * batch;
  const n = data.channels * data.size * data.size;
  const pixels = new Float32Array(batch * n);
  const labels = new Float32Array(batch);
  for (let b = 0; b < batch; b++) {
    const idx = cache.perm[start + b];
    pixels.set(data.pixels.subarray(idx * n, (idx + 1) * n), b * n);
    labels[b] = data.labels[idx];
  }
  return { pixels, labels, epoch };
};

/** Classifier-free guidance training: each label becomes `nullLabel` with probability p (drawn from the key). */
export const dropLabels = (labels: Float32Array, key: Key, p: number, nullLabel: number): Float32Array => {
  const drop = bernoulli(key, labels.length, p);
  return labels.map((l, i) => (drop[i] ? nullLabel : l));
};
