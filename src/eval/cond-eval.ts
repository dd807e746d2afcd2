/**
 * Does a class-conditional model draw what it is asked for? Sample `perClass` images of every
 * class (a row per class, as sample.ts's `--class all` lays them out), let the yardstick classifier
 * read them, and count per requested class how many it recognises.
 */
import type { Key } from '../tensor/random.ts';
import { dispose, type Tensor, toFloat32 } from '../tensor/tensor.ts';
import { tensor } from '../ops/create.ts';
import { guidedModel } from '../ddpm/guidance.ts';
import type { Denoiser } from '../ddpm/loss.ts';
import type { Objective } from '../ddpm/objectives.ts';
import type { Schedule } from '../ddpm/schedule.ts';
import { ddimSampler, ddpmSampler, dpmpp2mSampler, runSampler } from '../ddpm/samplers/index.ts';
import type { Network, Weights } from '../train/network.ts';
import { accuracyByClass, type Classified, type ClassTable, type Classifier, classify } from './classify.ts';

export const samplerNames = ['ddpm', 'ddim', 'dpmpp2m'] as const;
export type SamplerName = (typeof samplerNames)[number];

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
 * perClass × numClasses images [n, C, size, size] from a class-conditional network, a row per
 * class. With w = 1 the conditional prediction is the guided one exactly (see guidance.ts), so the
 * network runs on the plain batch instead of the doubled one.
 */
export const sampleByClass = (
  net: Network, weights: Weights, schedule: Schedule, size: number, key: Key, opts: CondSampleOptions,
): { readonly images: Float32Array; readonly labels: Float32Array } => {
  if (net.numClasses === 0) throw new Error('sampleByClass: the network is not class-conditional (numClasses = 0)');
  if (!Number.isInteger(opts.perClass) || opts.perClass < 1) throw new RangeError(`sampleByClass: perClass must be a positive integer, got ${opts.perClass}`);
  const labels = rowLabels(net.numClasses, opts.perClass);
  const n = labels.length;
  const labelTensor = tensor(labels);
  const conditional = (x: Tensor, t: Tensor, l: Tensor): Tensor => net.apply(weights, x, t, { training: false, labels: l }).y;
  const model: Denoiser = opts.guidance === 1
    ? (x, t) => conditional(x, t, labelTensor)
    : guidedModel(conditional, labelTensor, net.numClasses, opts.guidance);
  const onStep = opts.onStep;
  const common = { clip: opts.clip ?? true, prediction: opts.prediction ?? 'eps', steps: opts.steps, onStep: onStep && ((t: number) => onStep(t)) };
  const shape = [n, net.channels, size, size];
  const x0 = opts.sampler === 'ddim' ? runSampler(ddimSampler, model, schedule, shape, key, { ...common, eta: opts.eta ?? 0 })
    : opts.sampler === 'dpmpp2m' ? runSampler(dpmpp2mSampler, model, schedule, shape, key, common)
    : runSampler(ddpmSampler, model, schedule, shape, key, common);
  const images = toFloat32(x0);
  dispose(x0);
  dispose(labelTensor);
  return { images, labels };
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
