/**
 * How often does a class-conditional model draw the class it is asked for?
 * `diffusion-ts eval-cond --checkpoint runs/cond --per-class 8 --guidance 3` samples a row of
 * images per class (EMA weights when the checkpoint has them), lets the shipped classifier
 * (assets/<dataset>-classifier.safetensors, trained by scripts/train-classifier.ts) read them and
 * prints, per requested class, how many it recognises. `--images FILE --labels rows|LIST` scores
 * images already drawn instead (a grid PNG such as the README's, or an NPY from sample.ts).
 */
import { extname, relative } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { fold, key as makeKey } from '../../tensor/random.ts';
import { scheduleFromConfig } from '../../ddpm/schedule.ts';
import { encodeNpy } from '../../io/npy.ts';
import { encodePng, makeGrid, upscale } from '../../io/image.ts';
import { writeFileAtomic } from '../../io/files.ts';
import { type Classifier, type ClassTable, loadClassifier, shippedClassifiers } from '../../eval/classify.ts';
import { formatClassTable, labelsFromSpec, sampleByClass } from '../../eval/cond-eval.ts';
import { FLOOR_STREAM, type QualityReport, qualityReport } from '../../eval/quality.ts';
import { loadFashionMnist, loadMnist } from '../../io/mnist.ts';
import { evalCondCommand } from '../commands.ts';
import { cli, scaleProblem, scriptLauncher } from '../cli.ts';
import { exits } from '../exits.ts';
import { readImagesToScore } from '../read-images.ts';
import { loadDiffusionModel } from '../../pipeline/load.ts';
import { progressWriter } from '../progress.ts';

const { die, run, useBackend } = exits('eval-cond');

const readImages = async (path: string, clf: Classifier): Promise<Float32Array> => {
  const r = await readImagesToScore(path, clf);
  return E.isLeft(r) ? die(r.left) : r.right;
};

/** The class table and the evaluator's figures (as scripts/eval.ts prints them, without its per-class rows), from one pass of the classifier. */
const score = async (clf: Classifier, images: Float32Array, labels: Float32Array, dataset: string) => {
  if (dataset !== 'mnist' && dataset !== 'fashion-mnist') return die(`the dataset "${dataset}" has no test set here (mnist or fashion-mnist)`);
  const load = dataset === 'mnist' ? loadMnist : loadFashionMnist;
  const data = { test: await run(load('test')), train: await run(load('train')) };
  const { classified: _, perClass: __, table, ...quality } = qualityReport(clf, images, data, fold(makeKey(0), FLOOR_STREAM), labels);
  return { table: table as ClassTable, quality };
};

const formatQuality = (q: QualityReport): string =>
  `MNIST-FD ${q.fd.toFixed(2)} on ${q.n} images (${q.fdOverFloor}× the floor of ${q.floor.n} real images, ${q.floor.fd.toFixed(2)}); ` +
  `confident ${(100 * q.confident).toFixed(1)} % (real ${(100 * q.floor.confident).toFixed(1)} %), coverage ${q.coverage.toFixed(3)}`;

const parseLabels = (spec: string, n: number, numClasses: number): Float32Array => {
  const r = labelsFromSpec(spec, n, numClasses);
  return E.isLeft(r) ? die(`--labels: ${r.left}`) : r.right;
};

const evalCond = async (argv: readonly string[], launcher: string): Promise<void> => {
  const { values: flags } = cli(evalCondCommand, argv, launcher);
  useBackend(flags.backend);
  const command = [launcher, ...argv].join(' ');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const imagesPath = flags.images;
  const ckPath = flags.checkpoint;
  const scaleWrong = scaleProblem(flags.scale, flags.out);
  if (scaleWrong !== null) return die(scaleWrong);
  if (!imagesPath === !ckPath) return die('give either --checkpoint (sample and score) or --images (score these) (see --help)');
  const classifierPath = (dataset: string | undefined): string => {
    const given = flags.classifier;
    if (given) return given;
    const shipped = shippedClassifiers[(dataset ?? 'mnist') as keyof typeof shippedClassifiers];
    return shipped !== undefined ? relative(process.cwd(), shipped) : die(`no shipped classifier for the dataset "${dataset}": pass --classifier FILE`);
  };

  if (imagesPath) {
    const labelSpec = flags.labels ?? die('--labels: required with --images (rows|LIST)');
    const clfPath = classifierPath(undefined);
    const clf = await run(loadClassifier(clfPath));
    const images = await readImages(imagesPath, clf);
    const n = images.length / (clf.config.inChannels * clf.config.imageSize ** 2);
    const labels = parseLabels(labelSpec, n, clf.config.numClasses);
    const { table, quality } = await score(clf, images, labels, flags.dataset);
    if (flags.json) console.log(JSON.stringify({ command, images: imagesPath, classifier: clfPath, ...table, quality }, null, 2));
    else console.log(`${imagesPath}: ${n} images, classifier ${clfPath}\n${formatClassTable(table)}\n${formatQuality(quality)}`);
    return;
  }

  if (flags.labels !== undefined) return die('--labels goes with --images');
  const model = await loadDiffusionModel(ckPath as string, { network: flags.network, noEma: flags['no-ema'] }).catch((e: Error) => die(e.message));
  if (model.net.numClasses === 0) return die(`${ckPath}: this model is not class-conditional`);
  const clfPath = classifierPath(model.dataset);
  const clf = await run(loadClassifier(clfPath));
  if (clf.config.numClasses !== model.net.numClasses || clf.config.imageSize !== model.size || clf.config.inChannels !== model.net.channels) {
    return die(`${clfPath} reads ${clf.config.numClasses} classes of ${clf.config.inChannels}×${clf.config.imageSize}², the model draws ${model.net.numClasses} of ${model.net.channels}×${model.size}²`);
  }
  const schedule = scheduleFromConfig(model.schedule);
  const { sampler, guidance, seed, 'per-class': perClass } = flags;
  if (flags.eta !== undefined && sampler !== 'ddim') return die('--eta: a DDIM setting; add --sampler ddim');
  const steps = flags.steps ?? schedule.T;
  if (steps > schedule.T) return die(`--steps: expected an integer in [1, ${schedule.T}] (T of this model), got "${steps}"`);
  const eta = flags.eta ?? 0;

  const progress = progressWriter();
  log(`sampling ${perClass} per class × ${model.net.numClasses} classes from ${ckPath} (${model.ema ? 'EMA' : 'raw'} weights): ${steps} ${sampler} steps, guidance ${guidance}, seed ${seed}`);
  const started = performance.now();
  let done = 0;
  const { images, labels } = sampleByClass(model.net, model.weights, schedule, model.size, makeKey(seed), {
    perClass, guidance, sampler, steps, eta, clip: !flags['no-clip'], prediction: model.objective,
    onStep: () => {
      done++;
      if (done % 10 === 0 || done === steps) progress.update(`step ${done}/${steps}  ${((performance.now() - started) / 1000).toFixed(0)} s`);
    },
  });
  progress.done();
  const seconds = (performance.now() - started) / 1000;
  const { out } = flags;
  if (out) {
    const n = labels.length;
    const bytes = extname(out) === '.npy'
      ? encodeNpy(images, [n, model.net.channels, model.size, model.size])
      : await (async () => {
        const grid = upscale(makeGrid(images, n, model.net.channels, model.size, model.size, { nrow: perClass }), flags.scale);
        return encodePng(grid.data, grid.width, grid.height);
      })();
    await run(writeFileAtomic(out, bytes));
    log(`wrote ${out}`);
  }
  const { table, quality } = await score(clf, images, labels, model.dataset ?? 'mnist');
  if (flags.json) {
    console.log(JSON.stringify({
      command, checkpoint: ckPath, weights: model.ema ? 'ema' : 'raw', sampler, steps, guidance, perClass, seed,
      ...(sampler === 'ddim' ? { eta } : {}), classifier: clfPath, samplingSeconds: +seconds.toFixed(1), ...table, quality,
    }, null, 2));
  } else {
    console.log(`${ckPath}: ${steps} ${sampler} steps, guidance ${guidance}, seed ${seed}, ${perClass} per class (${seconds.toFixed(0)} s); classifier ${clfPath}`);
    console.log(formatClassTable(table));
    console.log(formatQuality(quality));
  }
};

/** The `eval-cond` command: `diffusion-ts eval-cond …`, or `npx tsx scripts/eval-cond.ts …` from a checkout (the launcher its help shows). */
export const main = (argv: readonly string[], launcher = scriptLauncher('eval-cond')): Promise<void> =>
  evalCond(argv, launcher).catch((e: unknown) => die(e instanceof Error ? e.stack ?? e.message : String(e)));
