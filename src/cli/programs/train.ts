/**
 * Trains a denoising diffusion model on MNIST, Fashion-MNIST or a folder of the user's images (`--image-folder DIR`):
 * `diffusion-ts train [--preset quick] [flags]`.
 * `--help` lists every flag with the default preset's values. Writes checkpoints, metrics.jsonl,
 * sample grids and a loss curve to the output folder; `--resume DIR` continues a run exactly; Ctrl-C saves a checkpoint and exits.
 *
 * The run is a pipe of effects around a pure loop (src/train/loop.ts): parse the flags → check a
 * resume against the saved run → choose the backend and check the output folder → load the data
 * and the starting state → fold the training step, with metrics, progress, checkpoints and grids as
 * observers. Every user mistake on the way is a `Left` and ends as one line on stderr, status 2.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { type BackendName, setBackend } from '../../tensor/engine.ts';
import { key as makeKey, keyFromJSON, keyToJSON, split } from '../../tensor/random.ts';
import { treeTensors } from '../../tensor/tensor.ts';
import { adam } from '../../grad/optim.ts';
import { scheduleFromConfig } from '../../ddpm/schedule.ts';
import { type ImageDataset, loadFashionMnist, loadMnist } from '../../io/mnist.ts';
import { type ImageFolderDataset, loadImageFolder } from '../../io/image-folder.ts';
import { encodePng, makeGrid, plotLossCurve, upscale } from '../../io/image.ts';
import { emaTracker } from '../../io/plot.ts';
import { lineChartSvg } from '../../io/svg-chart.ts';
import { ensureWritableDir, writeFileAtomic } from '../../io/files.ts';
import type { TrainConfig } from '../../train/config.ts';
import { configFromArgs, trainCommand, trainNotices } from '../train.ts';
import { network, type Network, type Weights } from '../../train/network.ts';
import { batchesPerEpoch, scaleImages, type ScaledImages } from '../../train/data.ts';
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from '../../train/checkpoint.ts';
import { copyWeights, runTraining, type StepEvent, type StepSetup, type TrainState } from '../../train/loop.ts';
import { drawImages } from '../../train/generate.ts';
import { frozeGuideMessage, guideStepOf } from '../../train/guide-file.ts';
import { type Progress, progressWriter, renderProgress } from '../progress.ts';
import { cli, scriptLauncher } from '../cli.ts';
import { commandLabel } from '../exits.ts';
import { clock, truncateMetrics } from '../train-metrics.ts';

const NAME = 'train';

/** Fields a resumed run may not change: the loss sequence after resume must equal an uninterrupted run's. */
const frozenOnResume: readonly (keyof TrainConfig)[] = ['initFrom', 'network', 'schedule', 'seed', 'batch', 'dataset', 'imageFolder', 'imageSize', 'lr', 'warmup', 'lrDecay', 'ema', 'objective', 'minSnr', 'condDrop', 'guideAt'];

// ---- planning: flags, resume, backend, output folder, data --------------------------------------

interface Plan {
  readonly cfg: TrainConfig;
  readonly resumed: Checkpoint | null;
  /** `--init-from`'s checkpoint: a new run's first weights and EMA (null: a random init, or a resumed run) */
  readonly init: Checkpoint | null;
}

const withoutResume = (argv: readonly string[]) => argv.filter((a, i) => a !== '--resume' && argv[i - 1] !== '--resume' && !a.startsWith('--resume='));

/** The flags on top of the saved run's config, refused where they would change what the run computes. */
const resumePlan = (argv: readonly string[], dir: string) => (ck: Checkpoint): E.Either<Error, Plan> =>
  pipe(
    configFromArgs(withoutResume(argv), { ...ck.config, out: dir }),
    E.chainW(({ config }) => {
      // a decaying rate, and a guide frozen at a fraction of the run, are functions of the run's length: that length is frozen too
      const frozen = ck.config.lrDecay === 'constant' && ck.config.guideAt === 0 ? frozenOnResume : [...frozenOnResume, 'steps' as const, 'epochs' as const];
      const changed = frozen.filter((k) => JSON.stringify(config[k]) !== JSON.stringify(ck.config[k]));
      return changed.length > 0
        ? E.left(new Error(`--resume continues the saved run exactly; these settings cannot change: ${changed.join(', ')}`))
        : E.right({ cfg: config, resumed: ck, init: null });
    }),
  );

/** `--init-from DIR`: its checkpoint, whose network must be the run's (the weights load by name and shape). */
const initPlan = (cfg: TrainConfig): TE.TaskEither<Error, Plan> => {
  const from = cfg.initFrom;
  if (from === null) return TE.right({ cfg, resumed: null, init: null });
  return pipe(
    TE.tryCatch(() => loadCheckpoint(from, (c) => network(c.network)), (e) => new Error(`--init-from ${from}: ${(e as Error).message}`)),
    TE.chainEitherK((ck) => JSON.stringify(ck.config.network) === JSON.stringify(cfg.network)
      ? E.right({ cfg, resumed: null, init: ck })
      : E.left(new Error(`--init-from ${from}: its network (${JSON.stringify(ck.config.network)}) is not this run's (${JSON.stringify(cfg.network)}); pick the same --preset/--network`))),
  );
};

const planRun = (argv: readonly string[]): TE.TaskEither<Error, Plan> =>
  pipe(
    TE.fromEither(configFromArgs(argv)),
    TE.chain(({ config, resume }) => resume === null
      ? initPlan(config)
      : pipe(
        TE.tryCatch(() => loadCheckpoint(resume, (c) => network(c.network)), (e) => new Error(`cannot resume from ${resume}: ${(e as Error).message}`)),
        TE.chainEitherK(resumePlan(argv, resume)),
      )),
  );

const useBackend = (name: string): E.Either<Error, unknown> =>
  E.tryCatch(() => setBackend(name as BackendName), (e) => new Error(`backend: ${(e as Error).message}`));

type Dataset = ImageDataset | ImageFolderDataset;

/** The training images: an IDX dataset, or the image folder read at the run's size and channels. */
const loadData = (cfg: TrainConfig, channels: number): TE.TaskEither<Error, Dataset> =>
  cfg.imageFolder !== null
    ? loadImageFolder(cfg.imageFolder, { size: cfg.imageSize, channels: channels === 1 ? 1 : 3 })
    : (cfg.dataset === 'mnist' ? loadMnist : loadFashionMnist)('train', cfg.dataDir ? { dir: cfg.dataDir } : {});

const isFolder = (ds: Dataset): ds is ImageFolderDataset => 'classes' in ds;

/** A class-conditional net needs a class per label: a folder's class subfolders must number exactly numClasses. */
const checkLabels = (cfg: TrainConfig, ds: Dataset, numClasses: number): E.Either<Error, Dataset> => {
  if (numClasses === 0) return E.right(ds);
  const fix = (k: number) => `the network has numClasses = ${numClasses}; pass --network-json '{"numClasses":${k}}'`;
  const bad = (msg: string) => E.left(new Error(msg));
  if (isFolder(ds)) {
    if (ds.classes.length === 0) return bad(`${cfg.imageFolder} has no class subfolders, but a class-conditional network needs one subfolder of images per class (or use an unconditional preset)`);
    if (ds.classes.length !== numClasses) return bad(`${cfg.imageFolder} has ${ds.classes.length} class subfolders (${ds.classes.join(', ')}), but ${fix(ds.classes.length)}`);
    return E.right(ds);
  }
  const top = ds.labels.reduce((m, l) => Math.max(m, l), 0);
  return top < numClasses ? E.right(ds) : bad(`${cfg.dataset} has labels up to ${top}, but ${fix(top + 1)}`);
};

const describeData = (cfg: TrainConfig, ds: Dataset): string =>
  isFolder(ds)
    ? `${ds.count} images of ${ds.channels === 3 ? 'RGB' : 'gray'} ${cfg.imageSize}×${cfg.imageSize} from ${cfg.imageFolder}` +
      (ds.classes.length > 0 ? `, ${ds.classes.length} classes: ${ds.classes.map((c, i) => `${i} ${c}`).join(', ')}` : '')
    : `${cfg.dataset}, ${ds.count} images at ${cfg.imageSize}×${cfg.imageSize}`;

/** Everything a run needs, checked: the config, the net, its data and its first state. */
interface Ready extends Plan {
  readonly net: Network;
  readonly data: ScaledImages;
  readonly about: string;
  readonly setup: StepSetup;
  readonly start: TrainState;
  readonly totalSteps: number;
  /** the step after which the EMA is frozen as the run's autoguidance guide (null: no guide) */
  readonly guideStep: number | null;
  readonly keys: { readonly data: ReturnType<typeof makeKey>; readonly sample: ReturnType<typeof makeKey> };
}

const prepare = ({ cfg, resumed, init }: Plan): TE.TaskEither<Error, Ready> => {
  const net = network(cfg.network);
  const root = makeKey(cfg.seed);
  const [initKey, dataKey, trainKey, sampleKey, labelKey] = split(root, 5);
  return pipe(
    loadData(cfg, net.channels),
    TE.chainEitherK((ds) => checkLabels(cfg, ds, net.numClasses)),
    TE.chainEitherK((ds): E.Either<Error, Ready> => {
      const data = scaleImages(ds, cfg.imageSize);
      const perEpoch = batchesPerEpoch(data.count, cfg.batch);
      if (perEpoch === 0) return E.left(new Error(`--batch ${cfg.batch} is larger than the dataset (${data.count} images)`));
      const totalSteps = cfg.steps ?? cfg.epochs * perEpoch;
      const guideStep = guideStepOf(cfg.guideAt, totalSteps);
      if (resumed) {
        const k = keyFromJSON(resumed.state.key);
        if (E.isLeft(k) || JSON.stringify(keyToJSON(k.right)) !== JSON.stringify(keyToJSON(root))) return E.left(new Error('the checkpoint was made with another seed'));
      }
      const from = resumed ?? init;
      const weights = from ? from.weights : net.init(initKey);
      const opt = adam({ lr: cfg.lr });
      const start: TrainState = {
        weights,
        ema: cfg.ema > 0 ? (from?.ema ? (resumed ? from.ema : copyWeights(from.ema)) : copyWeights(weights)) : null,
        optState: resumed?.moments ? { step: resumed.state.optimizerStep, m: resumed.moments.m, v: resumed.moments.v } : opt.init(weights.params),
        step: resumed?.state.step ?? 0,
      };
      const setup: StepSetup = {
        net, schedule: scheduleFromConfig(cfg.schedule), objective: cfg.objective, minSnr: cfg.minSnr, ema: cfg.ema, condDrop: cfg.condDrop,
        imageSize: cfg.imageSize, keys: { train: trainKey, labels: labelKey },
        lr: { lr: cfg.lr, warmup: cfg.warmup, decay: cfg.lrDecay, minRatio: 0.05, total: totalSteps },
      };
      if (resumed && guideStep !== null && resumed.state.step >= guideStep && !resumed.guide) {
        return E.left(new Error(`the checkpoint is past step ${guideStep}, where the run froze its guide, but has no guide.safetensors`));
      }
      return E.right({ cfg, resumed, init, net, data, about: describeData(cfg, ds), setup, start, totalSteps, guideStep, keys: { data: dataKey, sample: sampleKey } });
    }),
  );
};

// ---- the run: the loop with its observers -------------------------------------------------------

const paramCount = (w: Weights): string => treeTensors(w.params).reduce((s, t) => s + t.size, 0).toLocaleString('en-US');

const writeAtomic = async (path: string, bytes: Uint8Array | string): Promise<void> => {
  const r = await writeFileAtomic(path, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes)();
  if (E.isLeft(r)) throw r.left;
};

/** The loss curve twice: a PNG, and an SVG with a title, labelled ticks and a log-scale y axis. */
const writeLossPictures = async (dir: string, losses: readonly number[], preset: string): Promise<void> => {
  const curve = plotLossCurve(losses, { logY: true });
  await writeAtomic(join(dir, 'loss.png'), await encodePng(curve.data, curve.width, curve.height));
  const smooth = losses.map(emaTracker());
  await writeAtomic(join(dir, 'loss.svg'), lineChartSvg({
    title: `Training loss (${preset}, ${losses.length.toLocaleString('en-US')} steps)`, xTitle: 'optimizer step', yTitle: 'loss', logY: true,
    series: [
      { points: losses.map((l, i) => [i + 1, l] as const), colour: '#4a90d9', width: 1, opacity: 0.35, label: 'per step' },
      { points: smooth.map((l, i) => [i + 1, l] as const), colour: '#0b3d91', width: 2, label: 'smoothed (as in the log)' },
    ],
  }));
};

const execute = (stopRequested: () => boolean, launcher: string) => async (r: Ready): Promise<E.Either<Error, string>> => {
  const { cfg, net, totalSteps } = r;
  const perEpoch = batchesPerEpoch(r.data.count, cfg.batch);
  const progress: Progress = progressWriter();
  const metricsPath = join(cfg.out, 'metrics.jsonl');
  truncateMetrics(metricsPath, r.start.step);
  progress.log(`data: ${r.about}`);
  progress.log(`${r.resumed ? `resuming at step ${r.start.step}` : r.init ? `training from ${cfg.initFrom} (step ${r.init.state.step} of its run)` : 'training'}: preset ${cfg.preset}, ${paramCount(r.start.weights)} parameters, ${totalSteps} steps of batch ${cfg.batch} (${perEpoch} per epoch), backend ${cfg.backend}, output ${cfg.out}`);

  // the losses so far (state.json keeps them for the curve), smoothed as the log shows them
  const losses: number[] = [...(r.resumed?.state.losses ?? [])];
  const smoother = emaTracker();
  let smooth = NaN;
  for (const l of losses) smooth = smoother(l);
  const time = clock(r.resumed?.state.elapsedSec ?? 0);
  let elapsedSec = r.resumed?.state.elapsedSec ?? 0;
  const rootKey = keyToJSON(makeKey(cfg.seed));

  // the run's autoguidance guide: the EMA weights frozen at guideStep (kept in every later checkpoint)
  let guide: Weights | null = r.resumed?.guide ?? null;
  const checkpoint = (s: TrainState) => saveCheckpoint(cfg.out, net, {
    config: cfg, weights: s.weights, ema: s.ema, moments: { m: s.optState.m, v: s.optState.v },
    state: { step: s.step, optimizerStep: s.optState.step, key: rootKey, elapsedSec, losses }, guide,
  });
  const sampleGrid = async (s: TrainState, file: string): Promise<void> => {
    if (cfg.sampleCount === 0) return;
    const conditional = net.numClasses > 0;
    const images = drawImages(net, s.ema ?? s.weights, r.setup.schedule, cfg.imageSize, r.keys.sample, {
      n: cfg.sampleCount, sampler: cfg.sampler, steps: cfg.sampleSteps, clip: true, prediction: cfg.objective,
      ...(guide && !conditional ? { guide: { net, weights: guide, scale: cfg.guideScale, interval: cfg.guideInterval } } : {}),
      // a class-conditional net draws rows of digits 0, 1, 2, … with guidance scale 3
      ...(conditional ? { labels: Float32Array.from({ length: cfg.sampleCount }, (_, i) => Math.floor(i / 8) % net.numClasses), guidance: 3 } : {}),
    });
    const img = upscale(makeGrid(images, cfg.sampleCount, net.channels, cfg.imageSize, cfg.imageSize, { nrow: conditional ? 8 : Math.ceil(Math.sqrt(cfg.sampleCount)) }), cfg.sampleScale);
    await writeAtomic(join(cfg.out, file), await encodePng(img.data, img.width, img.height));
  };

  const observers = [
    ({ state }: StepEvent) => {
      if (state.step === r.guideStep) {
        guide = copyWeights(state.ema ?? state.weights);
        progress.log(frozeGuideMessage(state.step, state.ema !== null, cfg.guideScale, cfg.guideInterval));
      }
    },
    ({ state, loss, epoch }: StepEvent) => {
      losses.push(loss);
      smooth = smoother(loss);
      const t = time.tick(cfg.batch);
      elapsedSec = t.elapsedSec;
      if (state.step % cfg.logEvery === 0 || state.step === totalSteps) {
        appendFileSync(metricsPath, `${JSON.stringify({ step: state.step, epoch: epoch + 1, loss, lossSmoothed: smooth, imagesPerSec: +t.rate.toFixed(2), elapsedSec: +elapsedSec.toFixed(2) })}\n`);
      }
      progress.update(renderProgress({
        epoch: epoch + 1, epochs: Math.ceil(totalSteps / perEpoch), step: state.step, steps: totalSteps, loss: smooth,
        imagesPerSec: t.rate, etaSec: ((totalSteps - state.step) * cfg.batch) / t.rate,
      }));
    },
    async ({ state }: StepEvent) => {
      if (cfg.checkpointEvery > 0 && state.step % cfg.checkpointEvery === 0) await checkpoint(state);
    },
    async ({ state }: StepEvent) => {
      if (cfg.sampleEvery > 0 && state.step % cfg.sampleEvery === 0) {
        await sampleGrid(state, `samples-step${String(state.step).padStart(7, '0')}.png`);
        progress.log(`step ${state.step}: wrote a sample grid`);
      }
    },
  ];

  const { state, stop } = await runTraining(r.setup, r.start, { data: r.data, batch: cfg.batch, dataKey: r.keys.data, totalSteps, stopRequested, observers });
  progress.done();
  if (typeof stop === 'object') {
    return E.left(new Error(`the loss became ${stop.diverged} at step ${stop.atStep}; stopping. The last good checkpoint (if any) is in ${cfg.out}/checkpoints. Try a smaller --lr.`));
  }
  await checkpoint(state);
  if (stop === 'interrupted') {
    return E.right(`interrupted: saved a checkpoint at step ${state.step} in ${cfg.out}. Continue with: ${launcher} --resume ${cfg.out}`);
  }
  await writeLossPictures(cfg.out, losses, cfg.preset);
  await sampleGrid(state, 'samples.png');
  return E.right(`done: ${state.step} steps in ${elapsedSec.toFixed(0)} s; final smoothed loss ${smooth.toFixed(4)}; wrote ${cfg.out}/${cfg.sampleCount > 0 ? 'samples.png, ' : ''}loss.png, loss.svg, metrics.jsonl and checkpoints/`);
};

/** The whole run; resolves to the line to print last, or the one-line error. */
const train = (argv: readonly string[], stopRequested: () => boolean, launcher: string): TE.TaskEither<Error, string> =>
  pipe(
    planRun(argv),
    TE.chainFirstEitherK(({ cfg }) => useBackend(cfg.backend)),
    TE.chainFirstW(({ cfg }) => ensureWritableDir(cfg.out)),
    TE.chain(prepare),
    TE.chain((ready) => () => execute(stopRequested, launcher)(ready)),
  );

// ---- threads and signals --------------------------------------------------------------------------

const fatal = (e: unknown): never => {
  process.stderr.write(`${commandLabel(NAME)}: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
};

/**
 * Ctrl-C. A terminal sends SIGINT to the whole foreground process group: npm, tsx and this
 * process all get it, and tsx relays it again when this process's acknowledgement is slow (it
 * waits 30 ms). So the signals of one key press arrive as a burst: the first asks the loop to
 * stop after its step and save; any within `burstMs` of it are the same press; one after that
 * is the user pressing again, and quits at once. SIGTERM is the same request.
 */
const onStopSignals = (requestStop: () => void, burstMs = 1000): void => {
  let first = 0;
  const handle = (): void => {
    const now = Date.now();
    if (first === 0) {
      first = now;
      requestStop();
      process.stderr.write('\nstopping after this step and saving a checkpoint (press Ctrl-C again to quit at once)\n');
    } else if (now - first > burstMs) {
      process.stderr.write(`${commandLabel(NAME)}: quit without saving the steps since the last checkpoint\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
};

/** What the main thread hands the worker that runs the loop. */
interface LoopData {
  readonly role: 'train-loop';
  readonly argv: readonly string[];
  readonly launcher: string;
  readonly stop: Int32Array;
}

/**
 * A worker that runs this module's loop. Built JavaScript (dist/cli/programs/train.js) is loaded
 * as it is; a TypeScript source needs tsx's loader, which workers do not inherit, so it goes
 * through ts-worker.mjs, which registers tsx and then imports the entry.
 */
const loopWorker = (data: LoopData): Worker => {
  const self = new URL(import.meta.url);
  return self.pathname.endsWith('.ts')
    ? new Worker(new URL('../ts-worker.mjs', self), { workerData: { ...data, entry: self.href } })
    : new Worker(self, { workerData: data });
};

/**
 * The `train` command: `diffusion-ts train …`, or `npx tsx scripts/train.ts …` from a checkout.
 * Resolves when the run's worker has ended, with its exit status as the process's.
 */
export const main = (argv: readonly string[], launcher = scriptLauncher('train')): Promise<void> => {
  // output piped into a program that stopped reading (`… --help | head`) is not an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  // --help, --version and a mistyped flag are answered here, before a worker starts
  const flags = cli(trainCommand, argv, launcher);
  for (const note of trainNotices(flags)) process.stderr.write(`${commandLabel(NAME)}: note: ${note}\n`);
  // the loop runs in a worker so that this thread is always free to take a signal at once
  // (a training step blocks its thread for longer than tsx waits for an acknowledgement)
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = loopWorker({ role: 'train-loop', argv, launcher, stop });
  onStopSignals(() => Atomics.store(stop, 0, 1));
  worker.on('error', fatal);
  return new Promise((resolve) => {
    worker.on('exit', (code) => {
      process.exitCode = code;
      resolve();
    });
  });
};

if (!isMainThread && (workerData as Partial<LoopData> | null)?.role === 'train-loop') {
  const { argv, launcher, stop } = workerData as LoopData;
  train(argv, () => Atomics.load(stop, 0) === 1, launcher)().then((r) => {
    if (E.isLeft(r)) {
      process.stderr.write(`${commandLabel(NAME)}: ${r.left.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${r.right}\n`);
  }, fatal);
}
