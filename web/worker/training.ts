/**
 * Training in the tab: the library's pure step (`trainStepOf`) folded over the steps as
 * scripts/train.ts does, with the same config, keys and batches, but on MNIST fetched from the
 * page's own server and with a loop that yields to the worker's event loop between steps, so a
 * pause (or a sampling request) gets through. The checkpoint it hands out is one safetensors file:
 * the (EMA) weights with PyTorch names and the training config in its metadata. A run with a guide
 * (the preset's or the page's `guideAt`) freezes its EMA weights at that step, as scripts/train.ts
 * does; the later grids are autoguided by it, and it downloads as `X.guide.safetensors` beside the
 * checkpoint's `X.safetensors`, which the Node loader and the page's file picker read as a pair.
 */
import * as E from 'fp-ts/lib/Either.js';
import { adam, type Backend, dispose, network, type Network, random, tidy, toFloat32, treeTensors, type Weights, withBackend } from '../../src/index.ts';
import { decodeIdx } from '../../src/io/index.ts';
import { scheduleFromConfig } from '../../src/ddpm/index.ts';
import { decodeSavedConfig, presets, type TrainConfig } from '../../src/train/config.ts';
import { batchAt, scaleImages, type ScaledImages } from '../../src/train/data.ts';
import { copyWeights, type StepSetup, type TrainState, trainStepOf } from '../../src/train/loop.ts';
import { drawImages } from '../../src/train/generate.ts';
import { yieldToEventLoop } from '../../src/tensor/platform.ts';
import { guideSafetensors, modelSafetensors } from '../../src/pipeline/model.ts';
import { frozeGuideMessage, guideFileFor, guideStepOf } from '../../src/train/guide-file.ts';
import type { PageBackend, TrainRequest, TrainStatus } from '../protocol.ts';
import { own, type Post } from './sampling.ts';

/** An IDX file the page's server holds gzipped (build:web writes data/*.gz), decompressed in the browser. */
const fetchIdx = async (name: string): Promise<Uint8Array> => {
  const url = new URL(`data/${name}.gz`, self.location.href);
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`${url.pathname}: ${res.status} ${res.statusText} (the MNIST files come from the page's own server: run npm run web or npm run build:web)`);
  const bytes = new Uint8Array(await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  const idx = decodeIdx(bytes);
  if (E.isLeft(idx)) throw new Error(`${url.pathname}: ${idx.left.message}`);
  return idx.right.data;
};

let mnist: Promise<{ images: Uint8Array; labels: Uint8Array }> | null = null;

/** The MNIST training split (60,000 images), fetched once. */
const mnistTrain = (): Promise<{ images: Uint8Array; labels: Uint8Array }> => {
  mnist ??= Promise.all([fetchIdx('train-images-idx3-ubyte'), fetchIdx('train-labels-idx1-ubyte')]).then(([images, labels]) => ({ images, labels }));
  mnist.catch(() => { mnist = null; });
  return mnist;
};

interface Run {
  readonly config: TrainConfig;
  readonly net: Network;
  readonly setup: StepSetup;
  readonly data: ScaledImages;
  readonly keys: { readonly data: random.Key; readonly sample: random.Key };
  readonly backend: PageBackend;
  readonly b: Backend;
  readonly params: number;
  readonly cache: { epoch?: number; perm?: Int32Array };
  /** the step that freezes the guide (null: none) */
  readonly guideStep: number | null;
  state: TrainState;
  /** the EMA weights frozen at guideStep, once there */
  guide: Weights | null;
  running: boolean;
  /** which loop may step: a pause and a resume start a new one, and the old one must not go on */
  generation: number;
}

let run: Run | null = null;

const status = (r: Run): TrainStatus => ({
  step: r.state.step, total: r.config.steps ?? 0, running: r.running, preset: r.config.preset as TrainStatus['preset'], params: r.params, backend: r.backend,
  guideStep: r.guideStep, guide: r.guide !== null, guideScale: r.config.guideScale,
});

/** The preset with the page's choices, validated as scripts/train.ts validates its flags. */
const configFor = (req: TrainRequest, backend: PageBackend): TrainConfig => {
  const base = presets[req.preset];
  const c = decodeSavedConfig('train config', {
    ...base, out: 'browser', backend, batch: req.batch, steps: req.steps, seed: req.seed, sampleEvery: req.sampleEvery,
    sampleCount: req.sampleCount, sampleSteps: req.sampleSteps, sampler: 'ddim',
    // a short run in a tab would otherwise spend most of its steps warming up
    warmup: Math.min(base.warmup, Math.floor(req.steps / 10)),
    ...(req.guideAt === undefined ? {} : { guideAt: req.guideAt }),
  });
  if (E.isLeft(c)) throw c.left;
  return c.right;
};

/** Disposes the tensors of `old` that `kept` does not share. */
const releaseReplaced = (old: TrainState, kept: TrainState): void => {
  const live = new Set(treeTensors([kept.weights, kept.optState, kept.ema]));
  for (const t of treeTensors([old.weights, old.optState, old.ema])) if (!live.has(t)) dispose(t);
};

/** Starts a fresh run on backend `b` (a previous run's tensors are freed) and returns once it is stepping. */
export const startTraining = async (req: TrainRequest, backend: PageBackend, b: Backend, post: Post): Promise<TrainStatus> => {
  const config = configFor(req, backend);
  const ds = await mnistTrain();
  const count = Math.min(req.images ?? ds.labels.length, ds.labels.length);
  const data = scaleImages({ images: ds.images.subarray(0, count * 784), labels: ds.labels.subarray(0, count), count, height: 28, width: 28 }, config.imageSize);
  if (run) {
    run.running = false;
    const [old, oldGuide] = [run.state, run.guide];
    withBackend(run.b, () => treeTensors([old.weights, old.optState, old.ema, oldGuide]).forEach(dispose));
  }
  const net = network(config.network);
  const [initKey, dataKey, trainKey, sampleKey, labelKey] = random.split(random.key(config.seed), 5);
  const total = config.steps ?? 0;
  const state = withBackend(b, (): TrainState => {
    const weights = net.init(initKey);
    return { weights, ema: config.ema > 0 ? copyWeights(weights) : null, optState: adam({ lr: config.lr }).init(weights.params), step: 0 };
  });
  const setup: StepSetup = {
    net, schedule: scheduleFromConfig(config.schedule), objective: config.objective, minSnr: config.minSnr, ema: config.ema,
    condDrop: config.condDrop, imageSize: config.imageSize, keys: { train: trainKey, labels: labelKey },
    lr: { lr: config.lr, warmup: config.warmup, decay: config.lrDecay, minRatio: 0.05, total },
  };
  const params = treeTensors(state.weights.params).reduce((s, t) => s + t.size, 0);
  const guideStep = guideStepOf(config.guideAt, total);
  const r: Run = {
    config, net, setup, data, keys: { data: dataKey, sample: sampleKey }, backend, b, params, cache: {}, guideStep, state, guide: null, running: true, generation: 0,
  };
  run = r;
  void loop(r, post);
  return status(r);
};

/**
 * The sample grid of the run's current (EMA) weights, always from the same noise so its changes are
 * the training's; autoguided by the run's guide once it is frozen (an unconditional net), as the
 * grids of scripts/train.ts are.
 */
const postGrid = (r: Run, post: Post): void => {
  const { config, net } = r;
  const n = config.sampleCount;
  if (n === 0) return;
  const guide = r.guide && net.numClasses === 0 ? { guide: { net, weights: r.guide, scale: config.guideScale, interval: config.guideInterval } } : {};
  const images = own(withBackend(r.b, () => drawImages(net, r.state.ema ?? r.state.weights, r.setup.schedule, config.imageSize, r.keys.sample, {
    n, sampler: 'ddim', steps: config.sampleSteps, prediction: config.objective, ...guide,
  })));
  post({ kind: 'trainGrid', step: r.state.step, images, shape: [n, net.channels, config.imageSize, config.imageSize] }, [images.buffer]);
};

/** The fold over the steps; stops when paused, replaced or done. Images/s are over the steps alone, in windows of ~1 s. */
const loop = async (r: Run, post: Post): Promise<void> => {
  const step = trainStepOf(r.setup);
  const { batch, sampleEvery } = r.config;
  const total = r.config.steps ?? 0;
  const mine = r.generation;
  const live = (): boolean => r.running && run === r && r.generation === mine;
  let [windowMs, windowImages, rate] = [0, 0, 0];
  try {
    while (live() && r.state.step < total) {
      await yieldToEventLoop();
      if (!live()) return;
      const start = performance.now();
      const data = batchAt(r.data, batch, r.keys.data, r.state.step, r.cache);
      const next = withBackend(r.b, () => tidy(() => step(r.state, data)));
      const loss = toFloat32(next.loss)[0];
      dispose(next.loss);
      if (!Number.isFinite(loss)) {
        releaseReplaced(next.state, r.state);
        r.running = false;
        post({ kind: 'trainEnd', status: status(r), reason: `the loss is ${loss} at step ${r.state.step + 1}: stopped (the state before that step is kept)` });
        return;
      }
      releaseReplaced(r.state, next.state);
      r.state = next.state;
      if (r.state.step === r.guideStep) {
        const frozen = r.state;
        r.guide = withBackend(r.b, () => copyWeights(frozen.ema ?? frozen.weights));
        post({ kind: 'trainGuide', status: status(r), message: `${frozeGuideMessage(frozen.step, frozen.ema !== null, r.config.guideScale, r.config.guideInterval)}; the later grids are guided by it` });
      }
      const ms = performance.now() - start;
      [windowMs, windowImages] = [windowMs + ms, windowImages + batch];
      if (windowMs > 1000 || rate === 0) {
        rate = windowImages / (windowMs / 1000);
        [windowMs, windowImages] = [0, 0];
      }
      post({ kind: 'trainStep', step: r.state.step, total, loss, ms, imagesPerSec: rate });
      if (sampleEvery > 0 && r.state.step % sampleEvery === 0 && r.state.step < total) postGrid(r, post);
    }
    if (r.state.step >= total && live()) {
      r.running = false;
      postGrid(r, post);
      post({ kind: 'trainEnd', status: status(r), reason: `finished ${total} steps` });
    }
  } catch (e) {
    if (!live()) return;
    r.running = false;
    post({ kind: 'trainEnd', status: status(r), reason: `stopped by an error: ${(e as Error).message}` });
  }
};

const current = (): Run => {
  if (!run) throw new Error('no training run: start one first');
  return run;
};

export const pauseTraining = (): TrainStatus => {
  const r = current();
  r.running = false;
  r.generation++;
  return status(r);
};

export const resumeTraining = (post: Post): TrainStatus => {
  const r = current();
  if (!r.running && r.state.step < (r.config.steps ?? 0)) {
    r.running = true;
    r.generation++;
    void loop(r, post);
  }
  return status(r);
};

/** The name of the run's checkpoint file as it stands: `diffusion-<preset>-step<N>.safetensors`. */
const checkpointName = (r: Run): string => `diffusion-${r.config.preset}-step${r.state.step}.safetensors`;

/**
 * The run as one PyTorch-compatible safetensors file: the EMA weights when the run keeps them,
 * else the weights, with the training config in the metadata (`sample --checkpoint FILE` reads it).
 */
export const checkpointFile = (): { bytes: Uint8Array; fileName: string } => {
  const r = current();
  const bytes = withBackend(r.b, () => modelSafetensors(r.net, r.state.ema ?? r.state.weights, r.config));
  return { bytes, fileName: checkpointName(r) };
};

/**
 * The run's frozen guide as one safetensors file (its weights, the training config, the scale and
 * interval it recommends), named `X.guide.safetensors` for the checkpoint `X.safetensors`.
 */
export const guideFile = (): { bytes: Uint8Array; fileName: string } => {
  const r = current();
  const g = r.guide;
  if (g === null) throw new Error(r.guideStep === null ? 'this run has no guide (its guide-at is 0)' : `no guide yet: the run freezes it at step ${r.guideStep}`);
  const bytes = withBackend(r.b, () => guideSafetensors(r.net, g, r.config, r.config.guideScale, 'f32', r.config.guideInterval));
  return { bytes, fileName: guideFileFor(checkpointName(r)) };
};
