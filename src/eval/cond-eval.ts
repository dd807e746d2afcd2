/**
 * Does a class-conditional model draw what it is asked for? Sample `perClass` images of every
 * class (a row per class, as sample.ts's `--class all` lays them out), let the yardstick classifier
 * read them, and count per requested class how many it recognises.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Key } from '../tensor/random.ts';
import type { Objective } from '../ddpm/objectives.ts';
import type { Schedule } from '../ddpm/schedule.ts';
import { drawImages, type SamplerName } from '../train/generate.ts';
import type { Network, Weights } from '../train/network.ts';
import { accuracyByClass, type Classified, type ClassTable, type Classifier, classify } from './classify.ts';

export { samplerNames, type SamplerName } from '../train/generate.ts';

export interface CondSampleOptions {
  /** images per class */
  readonly perClass: number;
  /** classifier-free guidance scale w (1: the conditional model alone) */
  readonly guidance: number;
  readonly sampler: SamplerName;
  /** sampling steps (default all T) */
  readonly steps?: number;
  /** DDIM's η (default 0) */
  readonly eta?: number;
  /** clip x̂_0 to [−1, 1] at each step (default true) */
  readonly clip?: boolean;
  /** what the network predicts (default eps) */
  readonly prediction?: Objective;
  /** called after each sampling step with the timestep just visited (a progress bar) */
  readonly onStep?: (t: number) => void;
}

/** The requested class of each image: `perClass` of class 0, then of class 1, … */
export const rowLabels = (numClasses: number, perClass: number): Float32Array =>
  Float32Array.from({ length: numClasses * perClass }, (_, i) => Math.floor(i / perClass));

/**
 * The wanted class of each of n images from the command line: "rows" (n/numClasses of class 0,
 * then of class 1, …: a grid with a row per class) or one class per image, comma-separated.
 */
export const labelsFromSpec = (spec: string, n: number, numClasses: number): E.Either<string, Float32Array> => {
  if (spec === 'rows') {
    return n % numClasses === 0 ? E.right(rowLabels(numClasses, n / numClasses)) : E.left(`rows: ${n} images do not split into ${numClasses} equal rows`);
  }
  const labels = spec.split(',').map((c) => (c.trim() === '' ? NaN : Number(c)));
  if (labels.length !== n) return E.left(`${labels.length} labels for ${n} images`);
  const bad = labels.findIndex((c) => !Number.isInteger(c) || c < 0 || c >= numClasses);
  return bad >= 0 ? E.left(`"${spec.split(',')[bad]}" is not a class (0 … ${numClasses - 1})`) : E.right(Float32Array.from(labels));
};

/**
 * perClass × numClasses images [n, C, size, size] from a class-conditional network, a row per
 * class (drawImages with the row labels).
 */
export const sampleByClass = (
  net: Network, weights: Weights, schedule: Schedule, size: number, key: Key, opts: CondSampleOptions,
): { readonly images: Float32Array; readonly labels: Float32Array } => {
  if (net.numClasses === 0) throw new Error('sampleByClass: the network is not class-conditional (numClasses = 0)');
  if (!Number.isInteger(opts.perClass) || opts.perClass < 1) throw new RangeError(`sampleByClass: perClass must be a positive integer, got ${opts.perClass}`);
  const labels = rowLabels(net.numClasses, opts.perClass);
  return { images: drawImages(net, weights, schedule, size, key, { ...opts, n: labels.length, labels }), labels };
};

export interface CondEvaluation {
  readonly classified: Classified;
  readonly table: ClassTable;
}

/** Classifies images requested as `wanted` (one label per image) and tabulates per requested class. */
export const scoreByClass = (clf: Classifier, images: Float32Array, wanted: ArrayLike<number>): CondEvaluation => {
  const classified = classify(clf, images);
  if (classified.labels.length !== wanted.length) {
    throw new RangeError(`scoreByClass: ${classified.labels.length} images but ${wanted.length} wanted labels`);
  }
  return { classified, table: accuracyByClass(classified.labels, wanted, clf.config.numClasses, classified.probs) };
};

/** A table for the terminal: requested class, images, recognised, mean p(requested), where the others went. */
export const formatClassTable = (table: ClassTable, names?: readonly string[]): string => {
  const name = (c: number) => names?.[c] ?? String(c);
  const lines = ['class  images  recognised  mean p(class)  read instead'];
  for (const r of table.rows) {
    if (r.count === 0) continue;
    const others = r.predicted.map((k, c) => [c, k] as const).filter(([c, k]) => c !== r.label && k > 0)
      .sort((a, b) => b[1] - a[1]).map(([c, k]) => `${name(c)}×${k}`).join(' ');
    lines.push(`${name(r.label).padEnd(5)}  ${String(r.count).padStart(6)}  ${String(r.recognised).padStart(10)}  ${(Number.isNaN(r.meanConfidence) ? '–' : r.meanConfidence.toFixed(3)).padStart(13)}  ${others || '–'}`);
  }
  lines.push(`total  ${String(table.count).padStart(6)}  ${String(table.recognised).padStart(10)}  ${`(${(100 * table.accuracy).toFixed(1)}%)`.padStart(13)}`);
  return lines.join('\n');
};
