/**
 * Trains the small CNN that scores class-conditional samples: `npx tsx scripts/train-classifier.ts`
 * (`--help` lists the flags; `--train-steps N` stops early, for a quick run). Adam with a
 * cosine-decayed step size on the training split, each batch shifted by up to ±2 px so that a digit drawn slightly off-centre is still read; prints the test
 * accuracy and writes `runs/<dataset>-classifier.safetensors` (atomically; `--out assets/…` replaces
 * the shipped one) with a JSON beside it that records the config, the accuracy and the command.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { backendByName, getBackend, setBackend } from '../src/tensor/engine.ts';
import { fold, key as makeKey, split } from '../src/tensor/random.ts';
import { dispose, disposeTree, tidy, toFloat32 } from '../src/tensor/tensor.ts';
import { tensor } from '../src/ops/create.ts';
import { adam, type AdamState } from '../src/grad/optim.ts';
import { countParams } from '../src/layers/spec.ts';
import { initClassifier, mnistClassifier } from '../src/layers/classifier.ts';
import { loadFashionMnist, loadMnist } from '../src/io/mnist.ts';
import { writeFileAtomic } from '../src/io/files.ts';
import { batchAt, batchesPerEpoch, scaleImages } from '../src/train/data.ts';
import { classifierTrainStep, randomShift } from '../src/eval/classifier-train.ts';
import { accuracyByClass, type Classifier, classify, saveClassifier } from '../src/eval/classify.ts';
import { progressWriter, renderProgress } from '../src/cli/progress.ts';
import { trainClassifierCommand } from '../src/cli/commands.ts';
import { cli } from '../src/cli/cli.ts';
import { exits } from '../src/cli/exits.ts';

const { die } = exits('train-classifier');

const main = async (): Promise<void> => {
  const argv = process.argv.slice(2);
  const { values: flags } = cli(trainClassifierCommand, argv);
  const { dataset, epochs, batch, shift, seed, lr } = flags;
  if (!(lr > 0)) die(`--lr: expected a number > 0, got "${lr}"`);
  // the shipped classifiers in assets/ are replaced only when asked for by name
  const out = flags.out ?? `runs/${dataset}-classifier.safetensors`;
  if (!out.endsWith('.safetensors')) die(`--out: expected a .safetensors file name, got "${out}"`);
  try {
    if (flags.backend !== undefined) setBackend(backendByName(flags.backend));
  } catch (e) {
    return die(`--backend: ${(e as Error).message}`);
  }
  const backend = getBackend().name;

  const load = dataset === 'mnist' ? loadMnist : loadFashionMnist;
  const dir = flags['data-dir'];
  const [trainSet, testSet] = await Promise.all([load('train', dir ? { dir } : {})(), load('test', dir ? { dir } : {})()]);
  if (E.isLeft(trainSet)) return die(trainSet.left.message);
  if (E.isLeft(testSet)) return die(testSet.left.message);
  const cfg = mnistClassifier;
  const train = scaleImages(trainSet.right, cfg.imageSize);
  const test = scaleImages(testSet.right, cfg.imageSize);
  const perEpoch = batchesPerEpoch(train.count, batch);
  const totalSteps = flags['train-steps'] ?? epochs * perEpoch;

  const [initKey, dataKey, shiftKey] = split(makeKey(seed), 3);
  let params = initClassifier(initKey, cfg);
  let optState: AdamState = adam({ lr }).init(params);
  // cosine decay from lr to lr/20: the last epoch settles instead of hopping between minima
  const lrAt = (step: number): number => lr * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps)));
  const progress = progressWriter();
  progress.log(`training a ${countParams(params)}-parameter classifier on ${dataset}: ${totalSteps} steps of batch ${batch} (${perEpoch} per epoch), shifts ±${shift} px, backend ${backend}`);
  const started = performance.now();
  const cache = {};
  let smooth = NaN;
  for (let step = 0; step < totalSteps; step++) {
    const b = batchAt(train, batch, dataKey, step, cache);
    const pixels = randomShift(b.pixels, cfg.imageSize, fold(shiftKey, step), shift);
    const next = tidy(() => classifierTrainStep(
      cfg, adam({ lr: lrAt(step) }), params, optState,
      tensor(pixels, [batch, cfg.inChannels, cfg.imageSize, cfg.imageSize]), tensor(b.labels),
    ));
    disposeTree(params);
    disposeTree([optState.m, optState.v]);
    ({ params, optState } = next);
    const loss = toFloat32(next.loss)[0];
    dispose(next.loss);
    if (!Number.isFinite(loss)) return die(`the loss became ${loss} at step ${step}; try a smaller --lr`);
    smooth = Number.isNaN(smooth) ? loss : 0.98 * smooth + 0.02 * loss;
    if ((step + 1) % 100 === 0 || step === totalSteps - 1) {
      const sec = (performance.now() - started) / 1000;
      const rate = ((step + 1) * batch) / sec;
      progress.update(renderProgress({
        epoch: b.epoch + 1, epochs: Math.ceil(totalSteps / perEpoch), step: step + 1, steps: totalSteps,
        loss: smooth, imagesPerSec: rate, etaSec: ((totalSteps - step - 1) * batch) / rate,
      }));
    }
  }
  const trainSec = (performance.now() - started) / 1000;
  progress.done();

  const clf: Classifier = { config: cfg, params };
  const result = classify(clf, test.pixels);
  const table = accuracyByClass(result.labels, test.labels, cfg.numClasses, result.probs);
  const perClass = table.rows.map((r) => +(r.recognised / r.count).toFixed(4));
  console.log(`test accuracy ${(100 * table.accuracy).toFixed(2)}% (${table.recognised}/${table.count}) after ${trainSec.toFixed(0)} s of training`);
  console.log(`per class: ${perClass.map((a, c) => `${c}: ${(100 * a).toFixed(1)}%`).join('  ')}`);

  const command = ['npx tsx scripts/train-classifier.ts', ...argv].join(' ');
  mkdirSync(dirname(out), { recursive: true });
  const saved = await saveClassifier(out, clf, { dataset, test_accuracy: table.accuracy.toFixed(4), command })();
  if (E.isLeft(saved)) return die(saved.left.message);
  const info = {
    dataset, config: cfg, parameters: countParams(params),
    testAccuracy: +table.accuracy.toFixed(4), testAccuracyByClass: perClass, testImages: table.count,
    training: { epochs: +(totalSteps / perEpoch).toFixed(3), steps: totalSteps, batch, lr, lrSchedule: 'cosine to lr/20', shift, seed, backend, seconds: +trainSec.toFixed(1) },
    command,
  };
  const jsonPath = out.replace(/\.safetensors$/, '.json');
  const wroteInfo = await writeFileAtomic(jsonPath, new TextEncoder().encode(`${JSON.stringify(info, null, 2)}\n`))();
  if (E.isLeft(wroteInfo)) return die(wroteInfo.left.message);
  console.error(`wrote ${out} and ${jsonPath}`);
};

main().catch((e: unknown) => die(e instanceof Error ? e.stack ?? e.message : String(e)));
