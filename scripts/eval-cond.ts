/**
 * How often does a class-conditional model draw the class it is asked for?
 * `npx tsx scripts/eval-cond.ts --checkpoint runs/cond --per-class 8 --guidance 3` samples a row of
 * images per class (EMA weights when the checkpoint has them), lets the shipped classifier
 * (assets/<dataset>-classifier.safetensors, trained by scripts/train-classifier.ts) read them and
 * prints, per requested class, how many it recognises. `--images FILE --labels rows|LIST` scores
 * images already drawn instead (a grid PNG such as the README's, or an NPY from sample.ts).
 */
import { extname, relative } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { setBackend } from '../src/tensor/engine.ts';
import { fold, key as makeKey } from '../src/tensor/random.ts';
import { scheduleFromConfig } from '../src/ddpm/schedule.ts';
import { encodeNpy } from '../src/io/npy.ts';
import { encodePng, makeGrid } from '../src/io/image.ts';
import { writeFileAtomic } from '../src/io/files.ts';
import { type Classifier, type ClassTable, loadClassifier, shippedClassifiers } from '../src/eval/classify.ts';
import { formatClassTable, labelsFromSpec, sampleByClass, samplerNames, type SamplerName } from '../src/eval/cond-eval.ts';
import { FLOOR_STREAM, type QualityReport, qualityReport } from '../src/eval/quality.ts';
import { loadFashionMnist, loadMnist } from '../src/io/mnist.ts';
import { parseArgs } from './lib/args.ts';
import { exits } from './lib/exits.ts';
import { readImagesToScore } from './lib/read-images.ts';
import { loadDiffusionModel } from './lib/checkpoint-model.ts';
import { progressWriter } from './lib/progress.ts';

const help = `Usage: npx tsx scripts/eval-cond.ts --checkpoint DIR|FILE [flags]
       npx tsx scripts/eval-cond.ts --images FILE.png|FILE.npy --labels rows|LIST [flags]
  --checkpoint DIR|FILE   a class-conditional run folder, checkpoint folder or .safetensors file
  --network NAME          for a bare weights file without config.json (see sample.ts)
  --per-class N           images per class (default 10)
  --guidance W            classifier-free guidance scale; 1 = none (default 3)
  --sampler NAME          ddpm (ancestral, default) | ddim | dpmpp2m
  --steps N               sampling steps (default: all T)
  --eta X                 DDIM's η (default 0)
  --seed N                PRNG seed (default 0)
  --no-clip               do not clip the predicted x_0 to [-1, 1] at each step
  --no-ema                use the raw weights even when EMA weights exist
  --out FILE.png|FILE.npy also write the samples (a row per class)
  --images FILE           score these images instead of sampling: a grid PNG (28-px cells, 2-px
                          padding, as sample.ts and train.ts write them) or a float32 NPY [N, 1, 28, 28]
  --labels rows|LIST      with --images: "rows" (N/classes images per class, in class order: a grid
                          with a row per class) or one class per image, comma-separated
  --classifier FILE       classifier weights (default: the shipped one for the model's dataset)
  --dataset NAME          with --images: mnist | fashion-mnist, the data the FD compares with (default mnist)
  --json                  print the results as JSON on stdout instead of the table
The class table comes with the evaluator's figures (as scripts/eval.ts prints them): MNIST-FD
against the test set, its floor, the confident share and the coverage.
  --backend NAME          engine backend (default fast)`;

const { die, run } = exits('eval-cond');

const readImages = async (path: string, clf: Classifier): Promise<Float32Array> => {
  const r = await readImagesToScore(path, clf);
  return E.isLeft(r) ? die(r.left) : r.right;
};

/** The class table and the evaluator's figures (as scripts/eval.ts prints them, without its per-class rows), from one pass of the classifier. */
const score = async (clf: Classifier, images: Float32Array, labels: Float32Array, dataset: string) => {
  if (dataset !== 'mnist' && dataset !== 'fashion-mnist') return die(`--dataset: expected mnist or fashion-mnist, got "${dataset}"`);
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

const main = async (): Promise<void> => {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) return void console.log(help);
  const args = parseArgs(argv, ['no-ema', 'no-clip', 'json'],
    ['checkpoint', 'network', 'per-class', 'guidance', 'sampler', 'steps', 'eta', 'seed', 'out', 'images', 'labels', 'classifier', 'backend', 'dataset']);
  try {
    setBackend((args.get('backend') ?? 'fast') as never);
  } catch (e) {
    return die(`--backend: ${(e as Error).message}`);
  }
  const command = ['npx tsx scripts/eval-cond.ts', ...argv].join(' ');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const imagesPath = args.get('images');
  const ckPath = args.get('checkpoint');
  if (!imagesPath === !ckPath) return die('give either --checkpoint (sample and score) or --images (score these) (see --help)');
  const classifierPath = (dataset: string | undefined): string => {
    const given = args.get('classifier');
    if (given) return given;
    const shipped = shippedClassifiers[(dataset ?? 'mnist') as keyof typeof shippedClassifiers];
    return shipped !== undefined ? relative(process.cwd(), shipped) : die(`no shipped classifier for the dataset "${dataset}": pass --classifier FILE`);
  };

  if (imagesPath) {
    const labelSpec = args.get('labels') ?? die('--images needs --labels rows|LIST');
    const clfPath = classifierPath(undefined);
    const clf = await run(loadClassifier(clfPath));
    const images = await readImages(imagesPath, clf);
    const n = images.length / (clf.config.inChannels * clf.config.imageSize ** 2);
    const labels = parseLabels(labelSpec, n, clf.config.numClasses);
    const { table, quality } = await score(clf, images, labels, args.get('dataset') ?? 'mnist');
    if (args.has('json')) console.log(JSON.stringify({ command, images: imagesPath, classifier: clfPath, ...table, quality }, null, 2));
    else console.log(`${imagesPath}: ${n} images, classifier ${clfPath}\n${formatClassTable(table)}\n${formatQuality(quality)}`);
    return;
  }

  if (args.get('labels') !== undefined) return die('--labels goes with --images');
  const model = await loadDiffusionModel(ckPath as string, { network: args.get('network'), noEma: args.has('no-ema') }).catch((e: Error) => die(e.message));
  if (model.net.numClasses === 0) return die(`${ckPath}: this model is not class-conditional`);
  const clfPath = classifierPath(model.dataset);
  const clf = await run(loadClassifier(clfPath));
  if (clf.config.numClasses !== model.net.numClasses || clf.config.imageSize !== model.size || clf.config.inChannels !== model.net.channels) {
    return die(`${clfPath} reads ${clf.config.numClasses} classes of ${clf.config.inChannels}×${clf.config.imageSize}², the model draws ${model.net.numClasses} of ${model.net.channels}×${model.size}²`);
  }
  const schedule = scheduleFromConfig(model.schedule);
  const sampler = (args.get('sampler') ?? 'ddpm') as SamplerName;
  if (!samplerNames.includes(sampler)) return die(`--sampler ${sampler}: expected ${samplerNames.join(', ')}`);
  if (args.get('eta') !== undefined && sampler !== 'ddim') return die('--eta is a DDIM setting: add --sampler ddim');
  const steps = args.number('steps', schedule.T);
  if (!Number.isInteger(steps) || steps < 1 || steps > schedule.T) return die(`--steps must be an integer in [1, ${schedule.T}], got ${steps}`);
  const perClass = args.number('per-class', 10);
  if (!Number.isInteger(perClass) || perClass < 1) return die(`--per-class must be a positive integer, got ${perClass}`);
  const guidance = args.number('guidance', 3);
  const seed = args.number('seed', 0);
  const eta = args.number('eta', 0);

  const progress = progressWriter();
  log(`sampling ${perClass} per class × ${model.net.numClasses} classes from ${ckPath} (${model.ema ? 'EMA' : 'raw'} weights): ${steps} ${sampler} steps, guidance ${guidance}, seed ${seed}`);
  const started = performance.now();
  let done = 0;
  const { images, labels } = sampleByClass(model.net, model.weights, schedule, model.size, makeKey(seed), {
    perClass, guidance, sampler, steps, eta, clip: !args.has('no-clip'), prediction: model.objective,
    onStep: () => {
      done++;
      if (done % 10 === 0 || done === steps) progress.update(`step ${done}/${steps}  ${((performance.now() - started) / 1000).toFixed(0)} s`);
    },
  });
  progress.done();
  const seconds = (performance.now() - started) / 1000;
  const out = args.get('out');
  if (out) {
    const n = labels.length;
    const bytes = extname(out) === '.npy'
      ? encodeNpy(images, [n, model.net.channels, model.size, model.size])
      : await (async () => {
        const grid = makeGrid(images, n, model.net.channels, model.size, model.size, { nrow: perClass });
        return encodePng(grid.data, grid.width, grid.height);
      })();
    await run(writeFileAtomic(out, bytes));
    log(`wrote ${out}`);
  }
  const { table, quality } = await score(clf, images, labels, model.dataset ?? 'mnist');
  if (args.has('json')) {
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

main().catch((e: unknown) => die(e instanceof Error ? e.stack ?? e.message : String(e)));
