/**
 * The yardstick classifier as a value: its config and params, read from and written to a
 * safetensors file (PyTorch names; the config as JSON in the file's metadata), and applied to
 * images in [−1, 1] to say which class each one shows and how sure it is.
 */
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { tensor } from '../ops/create.ts';
import { softmax } from '../ops/nn.ts';
import { tidy, toFloat32 } from '../tensor/tensor.ts';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.ts';
import { readBytes, writeFileAtomic } from '../io/files.ts';
import type { FileError } from '../codec/errors.ts';
import { stateDict } from '../layers/state-dict.ts';
import {
  classifierFeatures, classifierHead, type ClassifierConfig, type ClassifierParams, decodeClassifierConfig, loadClassifierStateDict,
} from '../layers/classifier.ts';
import { entriesToSafetensors, safetensorsToEntries } from '../weights/safetensors.ts';

export interface Classifier {
  readonly config: ClassifierConfig;
  readonly params: ClassifierParams;
}

/** The classifiers this repository ships, trained by scripts/train-classifier.ts. */
export const shippedClassifiers = {
  mnist: fileURLToPath(new URL('../../assets/mnist-classifier.safetensors', import.meta.url)),
  'fashion-mnist': fileURLToPath(new URL('../../assets/fashion-mnist-classifier.safetensors', import.meta.url)),
} as const;

/** The metadata key that holds the config as JSON. */
export const CONFIG_KEY = 'classifier_config';

/** Safetensors bytes: the state dict, the config and any extra metadata (strings). */
export const encodeClassifier = (clf: Classifier, metadata: Readonly<Record<string, string>> = {}): Uint8Array =>
  encodeSafetensors(entriesToSafetensors(stateDict(clf.params)), { ...metadata, format: 'pt', [CONFIG_KEY]: JSON.stringify(clf.config) });

/**
 * A classifier from safetensors bytes; `what` (a path) starts every error message. A file without
 * a config in its metadata (one saved from PyTorch, say) is read as the mnistClassifier layout.
 */
export const decodeClassifier = (bytes: Uint8Array, what: string): E.Either<Error, Classifier> => {
  const file = decodeSafetensors(bytes);
  if (E.isLeft(file)) return E.left(new Error(`${what}: ${file.left.message}`));
  const stored = file.right.metadata[CONFIG_KEY];
  let json: unknown = {};
  if (stored !== undefined) {
    try {
      json = JSON.parse(stored);
    } catch (e) {
      return E.left(new Error(`${what}: metadata "${CONFIG_KEY}" is not JSON (${(e as Error).message})`));
    }
  }
  const config = decodeClassifierConfig(json);
  if (E.isLeft(config)) return E.left(new Error(`${what}: metadata "${CONFIG_KEY}": ${config.left.message}`));
  const entries = safetensorsToEntries(file.right.tensors);
  if (E.isLeft(entries)) return E.left(new Error(`${what}: ${entries.left.message}`));
  const params = loadClassifierStateDict(entries.right, config.right);
  if (E.isLeft(params)) {
    const assumed = stored === undefined ? ` (no "${CONFIG_KEY}" in its metadata, so the default mnistClassifier layout was expected)` : '';
    return E.left(new Error(`${what}: not a classifier of this layout${assumed}: ${params.left.message}`));
  }
  return E.right({ config: config.right, params: params.right });
};

export const loadClassifier = (path: string): TE.TaskEither<Error, Classifier> =>
  pipe(readBytes(path), TE.chainEitherKW((bytes) => decodeClassifier(bytes, path)));

export const saveClassifier = (path: string, clf: Classifier, metadata: Readonly<Record<string, string>> = {}): TE.TaskEither<FileError, void> =>
  writeFileAtomic(path, encodeClassifier(clf, metadata));

// ---- applying it ------------------------------------------------------------------------------

export interface Classified {
  /** the most probable class of each image */
  readonly labels: Int32Array;
  /** softmax probabilities [n, numClasses], row-major */
  readonly probs: Float32Array;
  readonly numClasses: number;
  /** the penultimate layer [n, hidden], row-major: what the Fréchet distance compares */
  readonly features: Float32Array;
}

/**
 * Classifies images [n, C, H, W] (row-major floats; n inferred), `batch` at a time. Values are
 * clipped to [−1, 1] first, as a PNG of them would show them: a sample may overshoot the data range.
 */
export const classify = (clf: Classifier, images: Float32Array, batch = 256): Classified => {
  const { inChannels, imageSize, numClasses } = clf.config;
  const per = inChannels * imageSize * imageSize;
  const n = images.length / per;
  if (!Number.isInteger(n)) throw new RangeError(`classify: ${images.length} values are not a whole number of [${inChannels}, ${imageSize}, ${imageSize}] images`);
  const { hidden } = clf.config;
  const probs = new Float32Array(n * numClasses);
  const features = new Float32Array(n * hidden);
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    tidy(() => {
      const pixels = images.slice(start * per, (start + b) * per).map((v) => Math.min(1, Math.max(-1, v)));
      const x = tensor(pixels, [b, inChannels, imageSize, imageSize]);
      const f = classifierFeatures(clf.params, clf.config, x);
      probs.set(toFloat32(softmax(classifierHead(clf.params, clf.config, f), 1)), start * numClasses);
      features.set(toFloat32(f), start * hidden);
    });
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = probs.subarray(i * numClasses, (i + 1) * numClasses);
    labels[i] = row.indexOf(Math.max(...row));
  }
  return { labels, probs, numClasses, features };
};

// ---- scoring ----------------------------------------------------------------------------------

export interface ClassRow {
  /** the requested class */
  readonly label: number;
  /** images requested as this class */
  readonly count: number;
  /** of those, how many the classifier puts in it */
  readonly recognised: number;
  /** mean probability the classifier gives the requested class (NaN without probabilities or images) */
  readonly meanConfidence: number;
  /** predicted[k]: how many of the images the classifier puts in class k (a confusion-matrix row) */
  readonly predicted: readonly number[];
}

export interface ClassTable {
  readonly rows: readonly ClassRow[];
  readonly count: number;
  readonly recognised: number;
  /** recognised / count */
  readonly accuracy: number;
}

/**
 * Per requested class: how many images there are, how many the classifier recognises as that
 * class, the mean probability it gives it (from `probs` [n, numClasses], if given) and where the
 * rest went.
 */
export const accuracyByClass = (
  predicted: ArrayLike<number>, wanted: ArrayLike<number>, numClasses: number, probs?: Float32Array,
): ClassTable => {
  if (predicted.length !== wanted.length) throw new RangeError(`accuracyByClass: ${predicted.length} predictions for ${wanted.length} wanted labels`);
  if (probs && probs.length !== wanted.length * numClasses) throw new RangeError(`accuracyByClass: probs has ${probs.length} values, expected ${wanted.length} × ${numClasses}`);
  const outOfRange = [...Array.from(predicted), ...Array.from(wanted)].find((c) => !Number.isInteger(c) || c < 0 || c >= numClasses);
  if (outOfRange !== undefined) throw new RangeError(`accuracyByClass: label ${outOfRange} is not in 0 … ${numClasses - 1}`);
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const confidence = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < wanted.length; i++) {
    confusion[wanted[i]][predicted[i]]++;
    if (probs) confidence[wanted[i]] += probs[i * numClasses + wanted[i]];
  }
  const rows = confusion.map((predictedRow, label): ClassRow => {
    const count = predictedRow.reduce((a, b) => a + b, 0);
    return { label, count, recognised: predictedRow[label], meanConfidence: probs && count > 0 ? confidence[label] / count : NaN, predicted: predictedRow };
  });
  const recognised = rows.reduce((a, r) => a + r.recognised, 0);
  return { rows, count: wanted.length, recognised, accuracy: wanted.length > 0 ? recognised / wanted.length : NaN };
};
