/**
 * Sample quality as numbers, read off the yardstick classifier (assets/<dataset>-classifier):
 *
 * - `fd`: the Fréchet distance between Gaussians fitted to the classifier's penultimate features of
 *   the samples and of the dataset's 10,000 test images ("MNIST-FD", the FID recipe with a small
 *   in-domain network instead of Inception);
 * - `floor`: the same distance for n real training images, the figure a perfect generator would get
 *   at the same sample count (FD is biased upwards at small n, so figures are read against it);
 * - `confident`: the share of samples the classifier gives some class p ≥ 0.9 (a readable digit);
 * - `coverage`: the entropy of the predicted-class histogram over log(classes): 1 when every class
 *   is drawn equally often, 0 when all samples are one class (mode collapse);
 * - `accuracy`: for class-conditional samples, the share read as the class asked for.
 */
import type { ImageDataset } from '../io/mnist.ts';
import { type Key, permutation } from '../tensor/random.ts';
import { accuracyByClass, type Classified, type ClassTable, type Classifier, classify } from './classify.ts';
import { frechetDistance, gaussianStats, type GaussianStats } from './frechet.ts';

/** A sample counts as confident when the classifier gives its top class at least this probability. */
export const CONFIDENT_AT = 0.9;

/** Share of rows of probs [n, classes] whose largest probability is ≥ threshold. */
export const confidentShare = (probs: ArrayLike<number>, numClasses: number, threshold = CONFIDENT_AT): number => {
  const n = probs.length / numClasses;
  if (!Number.isInteger(n) || n === 0) throw new RangeError(`confidentShare: ${probs.length} probabilities are not rows of ${numClasses}`);
  let confident = 0;
  for (let i = 0; i < n; i++) {
    let top = 0;
    for (let c = 0; c < numClasses; c++) top = Math.max(top, probs[i * numClasses + c]);
    if (top >= threshold) confident++;
  }
  return confident / n;
};

/** How many of the labels fall in each class 0 … numClasses − 1. */
export const classHistogram = (labels: ArrayLike<number>, numClasses: number): number[] => {
  const hist = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) hist[labels[i]]++;
  return hist;
};

/** Normalised entropy H(histogram) / log(classes) in [0, 1]. */
export const coverage = (histogram: readonly number[]): number => {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0 || histogram.length < 2) return NaN;
  const h = histogram.reduce((s, k) => (k > 0 ? s - (k / total) * Math.log(k / total) : s), 0);
  return h / Math.log(histogram.length);
};

export interface QualityFigures {
  /** number of images scored */
  readonly n: number;
  /** MNIST-FD of the images against the reference (test-set) features */
  readonly fd: number;
  readonly confident: number;
  readonly coverage: number;
  /** how many images the classifier puts in each class */
  readonly histogram: readonly number[];
  /** for class-conditional samples: the share read as the class asked for */
  readonly accuracy?: number;
  /** for class-conditional samples: the per-class table (classify.ts's accuracyByClass) */
  readonly table?: ClassTable;
}

/** Quality figures of images [n, C, H, W] in [−1, 1] against reference feature stats. */
export const qualityOf = (
  clf: Classifier, images: Float32Array, reference: GaussianStats, wanted?: ArrayLike<number>,
): QualityFigures & { readonly classified: Classified } => {
  const classified = classify(clf, images);
  const n = classified.labels.length;
  if (wanted !== undefined && wanted.length !== n) throw new RangeError(`qualityOf: ${n} images but ${wanted.length} wanted labels`);
  const fd = frechetDistance(gaussianStats(classified.features, clf.config.hidden), reference);
  const histogram = classHistogram(classified.labels, clf.config.numClasses);
  const table = wanted === undefined ? undefined : accuracyByClass(classified.labels, wanted, clf.config.numClasses, classified.probs);
  return {
    n, fd, confident: confidentShare(classified.probs, clf.config.numClasses), coverage: coverage(histogram), histogram,
    ...(table !== undefined ? { accuracy: table.accuracy, table } : {}), classified,
  };
};

/** Bytes 0…255 of the chosen dataset images → floats in [−1, 1] ([n, 1, H, W], as the models draw them). */
export const datasetImages = (ds: ImageDataset, indices: ArrayLike<number>): Float32Array => {
  const plane = ds.height * ds.width;
  const out = new Float32Array(indices.length * plane);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i] * plane;
    for (let j = 0; j < plane; j++) out[i * plane + j] = (ds.images[from + j] / 255) * 2 - 1;
  }
  return out;
};

/** Feature stats of every image of a dataset split (the reference: MNIST's 10,000 test images). */
export const referenceStats = (clf: Classifier, ds: ImageDataset): GaussianStats =>
  gaussianStats(classify(clf, datasetImages(ds, Array.from({ length: ds.count }, (_, i) => i))).features, clf.config.hidden);

/**
 * The floor: the FD of n real images drawn without replacement from `train` (by `key`) against the
 * reference stats, with their confident share and coverage, as a generator that reproduced the
 * data exactly would score at this n.
 */
export const realDataFloor = (clf: Classifier, train: ImageDataset, n: number, reference: GaussianStats, key: Key): QualityFigures => {
  if (!Number.isInteger(n) || n < 2 || n > train.count) throw new RangeError(`realDataFloor: n must be an integer in [2, ${train.count}], got ${n}`);
  const chosen = permutation(key, train.count).subarray(0, n);
  const { classified: _, ...figures } = qualityOf(clf, datasetImages(train, chosen), reference);
  return figures;
};

/** The key stream (folded into the seed's key) that picks the floor's real images. */
export const FLOOR_STREAM = 0x666c72;

/** Everything scripts/eval.ts prints about a set of images, rounded for reading. */
export interface QualityReport {
  readonly n: number;
  readonly fd: number;
  readonly floor: { readonly n: number; readonly fd: number; readonly confident: number; readonly coverage: number };
  readonly fdOverFloor: number;
  readonly confident: number;
  readonly coverage: number;
  readonly histogram: readonly number[];
  readonly accuracy?: number;
  readonly perClass?: readonly { readonly label: number; readonly count: number; readonly recognised: number; readonly accuracy: number }[];
}

const round = (x: number, digits = 4): number => +x.toFixed(digits);

/**
 * The full report for images [n, C, H, W]: quality against the test split's features, the floor of
 * n real training images drawn by `key`, and per-class accuracy when each image has a wanted class.
 */
export const qualityReport = (
  clf: Classifier, images: Float32Array, data: { readonly test: ImageDataset; readonly train: ImageDataset }, key: Key,
  wanted?: ArrayLike<number>,
): QualityReport & { readonly classified: Classified; readonly table?: ClassTable } => {
  const reference = referenceStats(clf, data.test);
  const q = qualityOf(clf, images, reference, wanted);
  const floor = realDataFloor(clf, data.train, Math.min(q.n, data.train.count), reference, key);
  const perClass = q.table?.rows.filter((r) => r.count > 0)
    .map((r) => ({ label: r.label, count: r.count, recognised: r.recognised, accuracy: round(r.recognised / r.count) }));
  return {
    n: q.n, fd: round(q.fd), floor: { n: floor.n, fd: round(floor.fd), confident: round(floor.confident), coverage: round(floor.coverage) },
    fdOverFloor: round(q.fd / floor.fd, 2), confident: round(q.confident), coverage: round(q.coverage), histogram: q.histogram,
    ...(q.accuracy !== undefined ? { accuracy: round(q.accuracy), perClass } : {}), classified: q.classified, table: q.table,
  };
};
