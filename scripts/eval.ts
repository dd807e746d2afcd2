/**
 * How good are a model's samples? `npx tsx scripts/eval.ts --checkpoint runs/quick` samples n images
 * (1,000 by default) and prints JSON with their MNIST-FD against the 10,000 test images, the same
 * distance for n real training images (the floor), the share the classifier reads with p ≥ 0.9
 * (`confident`), the normalised entropy of the predicted classes (`coverage`) and, for a
 * class-conditional model, the share drawn as the class asked for (`accuracy`). `--images FILE`
 * scores an NPY batch or a grid PNG instead. See src/eval/quality.ts for the definitions.
 */
import { extname, relative } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { setBackend } from '../src/tensor/engine.ts';
import { fold, key as makeKey } from '../src/tensor/random.ts';
import { scheduleFromConfig } from '../src/ddpm/schedule.ts';
import { encodeNpy } from '../src/io/npy.ts';
import { encodePng, makeGrid } from '../src/io/image.ts';
import { writeFileAtomic } from '../src/io/files.ts';
import { loadFashionMnist, loadMnist } from '../src/io/mnist.ts';
import { type Classifier, loadClassifier, shippedClassifiers } from '../src/eval/classify.ts';
import { labelsFromSpec, rowLabels } from '../src/eval/cond-eval.ts';
import { drawImages, samplerNames, type SamplerName } from '../src/train/generate.ts';
import { FLOOR_STREAM, qualityReport } from '../src/eval/quality.ts';
import { parseArgs } from './lib/args.ts';
import { exits } from './lib/exits.ts';
import { readImagesToScore } from './lib/read-images.ts';
import { loadDiffusionModel } from './lib/checkpoint-model.ts';
import { progressWriter } from './lib/progress.ts';

const help = `Usage: npx tsx scripts/eval.ts --checkpoint DIR|FILE [flags]
       npx tsx scripts/eval.ts --images FILE.npy|FILE.png [flags]
Prints JSON: fd (MNIST-FD against the test set), floor (the same for n real training images),
confident (share with p ≥ 0.9), coverage (normalised entropy of the predicted classes) and, for
class-conditional models, accuracy (share drawn as the class asked for) with a row per class.
  --checkpoint DIR|FILE   a run folder, checkpoint folder or .safetensors file: sample, then score
  --network NAME          for a bare weights file without config.json (see sample.ts)
  --n N                   images to sample (default 1000; class-conditional: rounded down to a multiple of the classes)
  --sampler NAME          ddpm | ddim | dpmpp2m (default ddpm: ancestral sampling scored best on
                          the small models here, see docs/QUALITY.md)
  --steps N               sampling steps (default 100, at most T)
  --eta X                 DDIM's η (default 0)
  --guidance W            class-conditional models: classifier-free guidance scale (default 3)
  --seed N                PRNG seed of the samples and of the floor's real images (default 0)
  --batch N               images per sampling batch (default 250)
  --no-clip               do not clip the predicted x_0 to [-1, 1] at each step
  --no-ema                use the raw weights even when EMA weights exist
  --out FILE.png|FILE.npy also write the samples
  --images FILE           score these instead of sampling: a float32 NPY [N, 1, 28, 28] in [-1, 1] or
                          a grid PNG (28-px cells, 2-px padding, as sample.ts and train.ts write them)
  --labels rows|LIST      with --images of class-conditional samples: "rows" (a grid with a row per
                          class, in class order) or one class per image, comma-separated: adds accuracy
  --dataset NAME          mnist | fashion-mnist (default: the checkpoint's, or mnist for --images)
  --data-dir DIR          folder with the dataset's IDX files
  --classifier FILE       classifier weights (default: assets/<dataset>-classifier.safetensors)
  --backend NAME          engine backend (default fast)`;

const { die, run } = exits('eval');

const readImages = async (path: string, clf: Classifier): Promise<Float32Array> => {
  const r = await readImagesToScore(path, clf);
  return E.isLeft(r) ? die(r.left) : r.right;
};

const main = async (): Promise<void> => {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) return void console.log(help);
  const args = (() => {
    try {
      return parseArgs(argv, ['no-ema', 'no-clip'], ['checkpoint', 'network', 'n', 'sampler', 'steps', 'eta', 'guidance', 'seed', 'batch', 'out', 'images', 'labels', 'dataset', 'data-dir', 'classifier', 'backend']);
    } catch (e) {
      return die((e as Error).message);
    }
  })();
  const num = (name: string, fallback: number, check: (x: number) => boolean, what: string): number => {
    const x = (() => {
      try {
        return args.number(name, fallback);
      } catch (e) {
        return die((e as Error).message);
      }
    })();
    return check(x) ? x : die(`--${name} must be ${what}, got ${x}`);
  };
  const positiveInt = (x: number) => Number.isInteger(x) && x >= 1;
  try {
    setBackend((args.get('backend') ?? 'fast') as never);
  } catch (e) {
    return die(`--backend: ${(e as Error).message}`);
  }
  const command = ['npx tsx scripts/eval.ts', ...argv].join(' ');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const imagesPath = args.get('images');
  const ckPath = args.get('checkpoint');
  if (!imagesPath === !ckPath) return die('give either --checkpoint (sample, then score) or --images (score these) (see --help)');
  if (ckPath && args.get('labels') !== undefined) return die('--labels goes with --images (a class-conditional checkpoint is sampled an equal number per class)');
  const seed = num('seed', 0, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
  const model = ckPath ? await loadDiffusionModel(ckPath, { network: args.get('network'), noEma: args.has('no-ema') }).catch((e: Error) => die(e.message)) : null;
  const dataset = args.get('dataset') ?? model?.dataset ?? 'mnist';
  if (dataset !== 'mnist' && dataset !== 'fashion-mnist') return die(`--dataset: expected mnist or fashion-mnist, got "${dataset}"`);
  const clfPath = args.get('classifier') ?? relative(process.cwd(), shippedClassifiers[dataset]);
  const clf = await run(loadClassifier(clfPath));
  const load = dataset === 'mnist' ? loadMnist : loadFashionMnist;
  const dataDir = args.get('data-dir');
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
    const sampler = (args.get('sampler') ?? 'ddpm') as SamplerName;
    if (!samplerNames.includes(sampler)) return die(`--sampler ${sampler}: expected ${samplerNames.join(', ')}`);
    if (args.get('eta') !== undefined && sampler !== 'ddim') return die('--eta is a DDIM setting: add --sampler ddim');
    const steps = num('steps', Math.min(100, schedule.T), (x) => positiveInt(x) && x <= schedule.T, `an integer in [1, ${schedule.T}]`);
    let n = num('n', 1000, positiveInt, 'a positive integer');
    const batch = num('batch', 250, positiveInt, 'a positive integer');
    const guidance = num('guidance', 3, Number.isFinite, 'a number');
    if (net.numClasses > 0) {
      n = Math.floor(n / net.numClasses) * net.numClasses;
      if (n === 0) return die(`--n: a class-conditional model needs at least ${net.numClasses} images (one per class)`);
      wanted = rowLabels(net.numClasses, n / net.numClasses);
    }
    const eta = num('eta', 0, Number.isFinite, 'a number');
    log(`eval: sampling ${n} images from ${ckPath} (${model.ema ? 'EMA' : 'raw'} weights): ${steps} ${sampler} steps${wanted ? `, guidance ${guidance}` : ''}, seed ${seed}`);
    const progress = progressWriter();
    const started = performance.now();
    const batches = Math.ceil(n / batch);
    let done = 0;
    images = drawImages(net, model.weights, schedule, size, makeKey(seed), {
      n, batch, sampler, steps, eta, clip: !args.has('no-clip'), prediction: model.objective, labels: wanted, guidance,
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
      ...(wanted ? { guidance } : {}), seed, samplingSeconds: +seconds.toFixed(1),
    };
    const out = args.get('out');
    if (out) {
      const bytes = extname(out) === '.npy'
        ? encodeNpy(images, [n, net.channels, size, size])
        : await (async () => {
          const grid = makeGrid(images, n, net.channels, size, size, { nrow: wanted ? n / net.numClasses : Math.ceil(Math.sqrt(n)) });
          return encodePng(grid.data, grid.width, grid.height);
        })();
      await run(writeFileAtomic(out, bytes));
      log(`eval: wrote ${out}`);
    }
  } else {
    images = await readImages(imagesPath as string, clf);
    sampling = { images: imagesPath };
    const spec = args.get('labels');
    if (spec !== undefined) {
      const l = labelsFromSpec(spec, images.length / (clf.config.inChannels * clf.config.imageSize ** 2), clf.config.numClasses);
      wanted = E.isLeft(l) ? die(`--labels ${l.left}`) : l.right;
    }
  }

  if (images.length < 2 * clf.config.inChannels * clf.config.imageSize ** 2) return die('an FD needs at least 2 images');
  const { classified: _, table: __, ...report } = qualityReport(clf, images, { test, train }, fold(makeKey(seed), FLOOR_STREAM), wanted);
  console.log(JSON.stringify({ command, dataset, classifier: clfPath, ...sampling, ...report }, null, 2));
};

main().catch((e: unknown) => die(e instanceof Error ? e.message : String(e)));
