/**
 * Trains a denoising diffusion model on MNIST, Fashion-MNIST or a folder of the user's images (`--image-folder DIR`):
 * `npx tsx scripts/train.ts [--preset quick] [flags]`.
 * `--help` lists every flag. Writes checkpoints, metrics.jsonl, sample grids and a loss curve to
 * the output folder; `--resume DIR` continues a run exactly; Ctrl-C saves a checkpoint and exits.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { setBackend } from '../src/tensor/engine.ts';
import { fold, key as makeKey, keyFromJSON, keyToJSON, split } from '../src/tensor/random.ts';
import { dispose, treeTensors, tidy, toFloat32 } from '../src/tensor/tensor.ts';
import { tensor } from '../src/ops/create.ts';
import { mapTree } from '../src/grad/tree.ts';
import { adam, type AdamState } from '../src/grad/optim.ts';
import { scheduleFromConfig } from '../src/ddpm/schedule.ts';
import { type ImageDataset, loadFashionMnist, loadMnist } from '../src/io/mnist.ts';
import { type ImageFolderDataset, loadImageFolder } from '../src/io/image-folder.ts';
import { encodePng, makeGrid, plotLossCurve } from '../src/io/image.ts';
import { writeFileAtomic } from '../src/io/files.ts';
import { configFromArgs, flagHelp, type TrainConfig } from '../src/train/config.ts';
import { network, type Weights } from '../src/train/network.ts';
import { batchAt, batchesPerEpoch, dropLabels, scaleImages } from '../src/train/data.ts';
import { emaDecayAt, emaUpdate, trainStep } from '../src/train/step.ts';
import { learningRateAt, type LrSchedule } from '../src/train/lr.ts';
import { loadCheckpoint, type RunState, saveCheckpoint } from '../src/train/checkpoint.ts';
import { drawImages } from '../src/train/generate.ts';
import { progressWriter, renderProgress } from './lib/progress.ts';

const die = (msg: string): never => {
  process.stderr.write(`train: ${msg}\n`);
  process.exit(2);
};

/** Fields a resumed run may not change: the loss sequence after resume must equal an uninterrupted run's. */
const frozenOnResume: readonly (keyof TrainConfig)[] = ['network', 'schedule', 'seed', 'batch', 'dataset', 'imageFolder', 'imageSize', 'lr', 'warmup', 'lrDecay', 'ema', 'objective', 'minSnr', 'condDrop'];

/**
 * The training loop runs in a worker thread so that the main thread stays free to take Ctrl-C at
 * once (tsx kills a child that does not acknowledge a signal within 30 ms, and a training step
 * blocks its thread for longer). The main thread raises a shared flag; the loop checks it between steps.
 */
const train = async (argv: readonly string[], stopRequested: () => boolean): Promise<void> => {
  const first = configFromArgs(argv);
  if (E.isLeft(first)) return die(first.left.message);
  if (first.right.help) {
    console.log('Usage: npx tsx scripts/train.ts [flags]\n');
    for (const [f, d] of flagHelp) console.log(`  ${f.padEnd(30)} ${d}`);
    return;
  }
  let cfg = first.right.config;
  const resumeDir = first.right.resume;
  const resumed = resumeDir ? await loadCheckpoint(resumeDir, (c) => network(c.network)).catch((e: Error) => die(`cannot resume from ${resumeDir}: ${e.message}`)) : null;
  if (resumed) {
    const again = configFromArgs(argv.filter((a, i) => a !== '--resume' && argv[i - 1] !== '--resume' && !a.startsWith('--resume=')), { ...resumed.config, out: resumeDir as string });
    if (E.isLeft(again)) return die(again.left.message);
    // a decaying rate is a function of the run's length: that length is frozen too
    const frozen = resumed.config.lrDecay === 'constant' ? frozenOnResume : [...frozenOnResume, 'steps' as const, 'epochs' as const];
    const changed = frozen.filter((k) => JSON.stringify(again.right.config[k]) !== JSON.stringify(resumed.config[k]));
    if (changed.length > 0) return die(`--resume continues the saved run exactly; these settings cannot change: ${changed.join(', ')}`);
    cfg = again.right.config;
  }

  try {
    setBackend(cfg.backend as never);
  } catch (e) {
    return die(`backend: ${(e as Error).message}`);
  }
  const net = network(cfg.network);
  const schedule = scheduleFromConfig(cfg.schedule);
  const ds = await loadData(cfg, net.channels)();
  if (E.isLeft(ds)) return die(ds.left.message);
  const labelsOk = checkLabels(cfg, ds.right, net.numClasses);
  if (E.isLeft(labelsOk)) return die(labelsOk.left);
  const data = scaleImages(ds.right, cfg.imageSize);
  const perEpoch = batchesPerEpoch(data.count, cfg.batch);
  const totalSteps = cfg.steps ?? cfg.epochs * perEpoch;
  const epochs = Math.ceil(totalSteps / perEpoch);

  const root = makeKey(cfg.seed);
  const [initKey, dataKey, trainKey, sampleKey, labelKey] = split(root, 5);
  const opt = adam({ lr: cfg.lr });
  const lrSchedule: LrSchedule = { lr: cfg.lr, warmup: cfg.warmup, decay: cfg.lrDecay, minRatio: 0.05, total: totalSteps };
  let weights: Weights;
  let optState: AdamState;
  let ema: Weights | null;
  let run: RunState;
  if (resumed) {
    weights = resumed.weights;
    ema = resumed.ema ?? (cfg.ema > 0 ? copyWeights(weights) : null);
    optState = resumed.moments
      ? { step: resumed.state.optimizerStep, m: resumed.moments.m, v: resumed.moments.v }
      : opt.init(weights.params);
    const k = keyFromJSON(resumed.state.key);
    if (E.isLeft(k) || JSON.stringify(keyToJSON(k.right)) !== JSON.stringify(keyToJSON(root))) return die('the checkpoint was made with another seed');
    run = resumed.state;
  } else {
    weights = net.init(initKey);
    ema = cfg.ema > 0 ? copyWeights(weights) : null;
    optState = opt.init(weights.params);
    run = { step: 0, optimizerStep: 0, key: keyToJSON(root), elapsedSec: 0, losses: [] };
  }

  mkdirSync(cfg.out, { recursive: true });
  const metricsPath = join(cfg.out, 'metrics.jsonl');
  truncateMetrics(metricsPath, run.step);
  const progress = progressWriter();
  progress.log(`data: ${describeData(cfg, ds.right)}`);
  progress.log(`${resumed ? `resuming at step ${run.step}` : 'training'}: preset ${cfg.preset}, ${paramCount(weights)} parameters, ${totalSteps} steps of batch ${cfg.batch} (${perEpoch} per epoch), backend ${cfg.backend}, output ${cfg.out}`);

  const checkpoint = async (): Promise<void> => {
    await saveCheckpoint(cfg.out, net, {
      config: cfg, weights, ema, moments: { m: optState.m, v: optState.v },
      state: { ...run, optimizerStep: optState.step },
    });
  };
  const sampleGrid = async (file: string): Promise<void> => {
    if (cfg.sampleCount === 0) return;
    const conditional = net.numClasses > 0;
    const images = drawImages(net, ema ?? weights, schedule, cfg.imageSize, sampleKey, {
      n: cfg.sampleCount, sampler: cfg.sampler, steps: cfg.sampleSteps, clip: true, prediction: cfg.objective,
      // a class-conditional net draws rows of digits 0, 1, 2, … with guidance scale 3
      ...(conditional ? { labels: Float32Array.from({ length: cfg.sampleCount }, (_, i) => Math.floor(i / 8) % net.numClasses), guidance: 3 } : {}),
    });
    const img = makeGrid(images, cfg.sampleCount, net.channels, cfg.imageSize, cfg.imageSize, { nrow: conditional ? 8 : Math.ceil(Math.sqrt(cfg.sampleCount)) });
    const r = await writeFileAtomic(join(cfg.out, file), await encodePng(img.data, img.width, img.height))();
    if (E.isLeft(r)) throw r.left;
  };

  let interrupted = false;

  const startWall = performance.now();
  const startElapsed = run.elapsedSec;
  let windowStart = performance.now();
  let windowImages = 0;
  let imagesPerSec = 0;
  let smooth = run.losses.length > 0 ? run.losses[run.losses.length - 1] : NaN;
  const cache = {};

  while (run.step < totalSteps) {
    // yield once a step: a worker's stdout/stderr are only passed on when its event loop runs
    await new Promise((resolve) => setImmediate(resolve));
    interrupted = stopRequested();
    if (interrupted) break;
    const step = run.step;
    const batch = batchAt(data, cfg.batch, dataKey, step, cache);
    const next = tidy(() => {
      const x0 = tensor(batch.pixels, [cfg.batch, net.channels, cfg.imageSize, cfg.imageSize]);
      const labels = net.numClasses > 0
        ? tensor(dropLabels(batch.labels, fold(labelKey, step), cfg.condDrop, net.numClasses))
        : undefined;
      const r = trainStep(net, schedule, adam({ lr: learningRateAt(lrSchedule, step) }), weights, optState, x0, fold(trainKey, step), { objective: cfg.objective, minSnr: cfg.minSnr, labels });
      const e = ema ? emaUpdate(ema, r.weights, emaDecayAt(cfg.ema, step)) : null;
      return { ...r, ema: e };
    });
    const loss = toFloat32(next.loss)[0];
    if (!Number.isFinite(loss)) {
      progress.done();
      return die(`the loss became ${loss} at step ${step}; stopping. The last good checkpoint (if any) is in ${cfg.out}/checkpoints. Try a smaller --lr.`);
    }
    const live = new Set(treeTensors([next.weights, next.optState, next.ema]));
    for (const t of treeTensors([weights, optState, ema])) if (!live.has(t)) dispose(t);
    dispose(next.loss);
    weights = next.weights;
    optState = next.optState;
    ema = next.ema;

    smooth = Number.isNaN(smooth) ? loss : 0.98 * smooth + 0.02 * loss;
    const elapsedSec = startElapsed + (performance.now() - startWall) / 1000;
    run = { ...run, step: step + 1, elapsedSec, losses: [...run.losses, loss] };
    windowImages += cfg.batch;
    const windowSec = (performance.now() - windowStart) / 1000;
    if (windowSec > 2 || imagesPerSec === 0) {
      imagesPerSec = windowImages / windowSec;
      windowStart = performance.now();
      windowImages = 0;
    }
    const etaSec = ((totalSteps - run.step) * cfg.batch) / imagesPerSec;
    if (run.step % cfg.logEvery === 0 || run.step === totalSteps) {
      appendFileSync(metricsPath, `${JSON.stringify({ step: run.step, epoch: batch.epoch + 1, loss, lossSmoothed: smooth, imagesPerSec: +imagesPerSec.toFixed(2), elapsedSec: +elapsedSec.toFixed(2) })}\n`);
    }
    progress.update(renderProgress({ epoch: batch.epoch + 1, epochs, step: run.step, steps: totalSteps, loss: smooth, imagesPerSec, etaSec }));
    if (cfg.checkpointEvery > 0 && run.step % cfg.checkpointEvery === 0) await checkpoint();
    if (cfg.sampleEvery > 0 && run.step % cfg.sampleEvery === 0) {
      await sampleGrid(`samples-step${String(run.step).padStart(7, '0')}.png`);
      progress.log(`step ${run.step}: wrote a sample grid`);
    }
  }
  progress.done();
  await checkpoint();
  if (interrupted) {
    progress.log(`interrupted: saved a checkpoint at step ${run.step} in ${cfg.out}; continue with --resume ${cfg.out}`);
    process.exit(130);
  }
  const curve = plotLossCurve(run.losses, { logY: true });
  writeFileSync(join(cfg.out, 'loss.png'), await encodePng(curve.data, curve.width, curve.height));
  await sampleGrid('samples.png');
  progress.log(`done: ${run.step} steps in ${run.elapsedSec.toFixed(0)} s; final smoothed loss ${smooth.toFixed(4)}; wrote ${cfg.out}/${cfg.sampleCount > 0 ? 'samples.png, ' : ''}loss.png, metrics.jsonl and checkpoints/`);
};

/** The training images: an IDX dataset, or the image folder read at the run's size and channels. */
const loadData = (cfg: TrainConfig, channels: number): TE.TaskEither<Error, ImageDataset | ImageFolderDataset> =>
  cfg.imageFolder !== null
    ? loadImageFolder(cfg.imageFolder, { size: cfg.imageSize, channels: channels === 1 ? 1 : 3 })
    : (cfg.dataset === 'mnist' ? loadMnist : loadFashionMnist)('train', cfg.dataDir ? { dir: cfg.dataDir } : {});

const isFolder = (ds: ImageDataset | ImageFolderDataset): ds is ImageFolderDataset => 'classes' in ds;

/** A class-conditional net needs a class per label: a folder's class subfolders must number exactly numClasses. */
const checkLabels = (cfg: TrainConfig, ds: ImageDataset | ImageFolderDataset, numClasses: number): E.Either<string, void> => {
  if (numClasses === 0) return E.right(undefined);
  const fix = (k: number) => `the network has numClasses = ${numClasses}; pass --network-json '{"numClasses":${k}}'`;
  if (isFolder(ds)) {
    if (ds.classes.length === 0) return E.left(`${cfg.imageFolder} has no class subfolders, but a class-conditional network needs one subfolder of images per class (or use an unconditional preset)`);
    if (ds.classes.length !== numClasses) return E.left(`${cfg.imageFolder} has ${ds.classes.length} class subfolders (${ds.classes.join(', ')}), but ${fix(ds.classes.length)}`);
    return E.right(undefined);
  }
  const top = ds.labels.reduce((m, l) => Math.max(m, l), 0);
  return top < numClasses ? E.right(undefined) : E.left(`${cfg.dataset} has labels up to ${top}, but ${fix(top + 1)}`);
};

const describeData = (cfg: TrainConfig, ds: ImageDataset | ImageFolderDataset): string =>
  isFolder(ds)
    ? `${ds.count} images of ${ds.channels === 3 ? 'RGB' : 'gray'} ${cfg.imageSize}×${cfg.imageSize} from ${cfg.imageFolder}` +
      (ds.classes.length > 0 ? `, ${ds.classes.length} classes: ${ds.classes.map((c, i) => `${i} ${c}`).join(', ')}` : '')
    : `${cfg.dataset}, ${ds.count} images at ${cfg.imageSize}×${cfg.imageSize}`;

const copyWeights = (w: Weights): Weights => ({ params: mapTree(w.params, (t) => tensor(toFloat32(t), t.shape)), state: w.state });

const paramCount = (w: Weights): string => treeTensors(w.params).reduce((s, t) => s + t.size, 0).toLocaleString('en-US');

/** Drops metric lines past `step` (a resume from an earlier checkpoint rewrites them). */
const truncateMetrics = (path: string, step: number): void => {
  if (!existsSync(path)) return;
  const kept = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '' && (JSON.parse(l) as { step: number }).step <= step);
  writeFileSync(path, kept.map((l) => `${l}\n`).join(''));
};

const fatal = (e: unknown): never => {
  process.stderr.write(`train: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
};

if (isMainThread) {
  // output piped into a program that stopped reading (`… --help | head`) is not an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL('./lib/ts-worker.mjs', import.meta.url), { workerData: { entry: import.meta.url, argv: process.argv.slice(2), stop } });
  process.on('SIGINT', () => {
    if (Atomics.load(stop, 0) === 1) process.exit(130);
    Atomics.store(stop, 0, 1);
    process.stderr.write('\nCtrl-C: stopping after this step and saving a checkpoint (press again to quit at once)\n');
  });
  worker.on('error', fatal);
  worker.on('exit', (code) => {
    process.exitCode = code;
  });
} else {
  const { argv, stop } = workerData as { argv: string[]; stop: Int32Array };
  train(argv, () => Atomics.load(stop, 0) === 1).catch(fatal);
}
