/**
 * How good are a model's samples? `diffusion-ts eval --checkpoint runs/quick` samples n images
 * (1,000 by default) and prints JSON with their MNIST-FD against the 10,000 test images, the same
 * distance for n real training images (the floor), the share the classifier reads with p ≥ 0.9
 * (`confident`), the normalised entropy of the predicted classes (`coverage`) and, for a
 * class-conditional model, the share drawn as the class asked for (`accuracy`). `--images FILE`
 * scores an NPY batch or a grid PNG instead. See src/eval/quality.ts for the definitions.
 */
import { extname, relative } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { fold, key as makeKey } from '../../tensor/random.ts';
import { scheduleFromConfig } from '../../ddpm/schedule.ts';
import { encodeNpy } from '../../io/npy.ts';
import { encodePng, makeGrid, upscale } from '../../io/image.ts';
import { writeFileAtomic } from '../../io/files.ts';
import { loadFashionMnist, loadMnist } from '../../io/mnist.ts';
import { type Classifier, loadClassifier, shippedClassifiers } from '../../eval/classify.ts';
import { labelsFromSpec, rowLabels } from '../../eval/cond-eval.ts';
import { drawImages } from '../../train/generate.ts';
import { FLOOR_STREAM, qualityReport } from '../../eval/quality.ts';
import { evalCommand } from '../commands.ts';
import { cli, scaleProblem, scriptLauncher } from '../cli.ts';
import { exits } from '../exits.ts';
import { readImagesToScore } from '../read-images.ts';
import { loadDiffusionModel } from '../../pipeline/load.ts';
import { chooseGuide } from '../guide-flags.ts';
import { describeInterval } from '../../train/guide-file.ts';
import { progressWriter } from '../progress.ts';

const { die, run, useBackend } = exits('eval');

const readImages = async (path: string, clf: Classifier): Promise<Float32Array> => {
  const r = await readImagesToScore(path, clf);
  return E.isLeft(r) ? die(r.left) : r.right;
};

const evaluate = async (argv: readonly string[], launcher: string): Promise<void> => {
  const { values: flags } = cli(evalCommand, argv, launcher);
  useBackend(flags.backend);
  const command = [launcher, ...argv].join(' ');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const imagesPath = flags.images;
  const ckPath = flags.checkpoint;
  if (!imagesPath === !ckPath) return die('give either --checkpoint (sample, then score) or --images (score these) (see --help)');
  const scaleWrong = scaleProblem(flags.scale, flags.out);
  if (scaleWrong !== null) return die(scaleWrong);
  if (ckPath && flags.labels !== undefined) return die('--labels goes with --images (a class-conditional checkpoint is sampled an equal number per class)');
  const { seed } = flags;
  const model = ckPath ? await loadDiffusionModel(ckPath, { network: flags.network, noEma: flags['no-ema'] }).catch((e: Error) => die(e.message)) : null;
  const dataset = flags.dataset ?? model?.dataset ?? 'mnist';
  if (dataset !== 'mnist' && dataset !== 'fashion-mnist') return die(`${ckPath}: its dataset "${dataset}" has no classifier or test set here (mnist or fashion-mnist)`);
  const clfPath = flags.classifier ?? relative(process.cwd(), shippedClassifiers[dataset]);
  const clf = await run(loadClassifier(clfPath));
  const load = dataset === 'mnist' ? loadMnist : loadFashionMnist;
  const dataDir = flags['data-dir'];
  const [test, train] = [await run(load('test', dataDir ? { dir: dataDir } : {})), await run(load('train', dataDir ? { dir: dataDir } : {}))];

  let images: Float32Array;
  let wanted: Float32Array | undefined;
  let sampling: Record<string, unknown> = {};
  if (model) {
    const { net, size } = model;
    if (clf.config.imageSize !== size || clf.config.inChannels !== net.channels) {
      return die(`${clfPath} reads ${clf.config.inChannels}×${clf.config.imageSize}² images, the model draws ${net.channels}×${size}²`);
    }
    const schedule = scheduleFromConfig(model.schedule);
    const { sampler, batch, guidance } = flags;
    if (flags.eta !== undefined && sampler !== 'ddim') return die('--eta: a DDIM setting; add --sampler ddim');
    const steps = flags.steps ?? Math.min(100, schedule.T);
    if (steps > schedule.T) return die(`--steps: expected an integer in [1, ${schedule.T}] (T of this model), got "${steps}"`);
    let n = flags.n;
    if (net.numClasses > 0) {
      n = Math.floor(n / net.numClasses) * net.numClasses;
      if (n === 0) return die(`--n: a class-conditional model needs at least ${net.numClasses} images (one per class)`);
      wanted = rowLabels(net.numClasses, n / net.numClasses);
    }
    const eta = flags.eta ?? 0;
    const guide = chooseGuide(model, flags, wanted ? guidance : 1, die);
    const guided = `${wanted ? `, guidance ${guidance}` : ''}${guide ? `, autoguidance ${guide.scale}${describeInterval(guide.interval)}` : ''}`;
    log(`eval: sampling ${n} images from ${ckPath} (${model.ema ? 'EMA' : 'raw'} weights): ${steps} ${sampler} steps${guided}, seed ${seed}`);
    const progress = progressWriter();
    const started = performance.now();
    const batches = Math.ceil(n / batch);
    let done = 0;
    images = drawImages(net, model.weights, schedule, size, makeKey(seed), {
      n, batch, sampler, steps, eta, clip: !flags['no-clip'], prediction: model.objective, labels: wanted, guidance, guide,
      onStep: () => {
        done++;
        if (done % 5 === 0) {
          const sec = (performance.now() - started) / 1000;
          progress.update(`step ${done}/${steps * batches}  ${sec.toFixed(0)} s, about ${((sec / done) * (steps * batches - done)).toFixed(0)} s left`);
        }
      },
    });
    progress.done();
    const seconds = (performance.now() - started) / 1000;
    sampling = {
      checkpoint: ckPath, weights: model.ema ? 'ema' : 'raw', sampler, steps, ...(sampler === 'ddim' ? { eta } : {}),
      ...(wanted ? { guidance } : {}), ...(guide ? { autoguidance: guide.scale, autoguidanceInterval: guide.interval } : {}), seed, samplingSeconds: +seconds.toFixed(1),
    };
    const { out } = flags;
    if (out) {
      const bytes = extname(out) === '.npy'
        ? encodeNpy(images, [n, net.channels, size, size])
        : await (async () => {
          const grid = upscale(makeGrid(images, n, net.channels, size, size, { nrow: wanted ? n / net.numClasses : Math.ceil(Math.sqrt(n)) }), flags.scale);
          return encodePng(grid.data, grid.width, grid.height);
        })();
      await run(writeFileAtomic(out, bytes));
      log(`eval: wrote ${out}`);
    }
  } else {
    images = await readImages(imagesPath as string, clf);
    sampling = { images: imagesPath };
    const spec = flags.labels;
    if (spec !== undefined) {
      const l = labelsFromSpec(spec, images.length / (clf.config.inChannels * clf.config.imageSize ** 2), clf.config.numClasses);
      wanted = E.isLeft(l) ? die(`--labels ${l.left}`) : l.right;
    }
  }

  if (images.length < 2 * clf.config.inChannels * clf.config.imageSize ** 2) return die('an FD needs at least 2 images');
  const { classified: _, table: __, ...report } = qualityReport(clf, images, { test, train }, fold(makeKey(seed), FLOOR_STREAM), wanted);
  console.log(JSON.stringify({ command, dataset, classifier: clfPath, ...sampling, ...report }, null, 2));
};

/** The `eval` command: `diffusion-ts eval …`, or `npx tsx scripts/eval.ts …` from a checkout (the launcher its help shows). */
export const main = (argv: readonly string[], launcher = scriptLauncher('eval')): Promise<void> =>
  evaluate(argv, launcher).catch((e: unknown) => die(e instanceof Error ? e.message : String(e)));
