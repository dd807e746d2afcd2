/**
 * `npm run bench:web`: the browser page's figures in one run, written to docs/web-bench.json.
 *
 * - the bundle: JavaScript sizes, raw and gzipped (as build:web reports them);
 * - sampling: milliseconds per DDIM step for 16 images of the shipped quick network (assets/ddpm-mnist,
 *   the `small` U-Net) in Chromium on the fast backend and on GPU.js WebGL2 (headless Chromium's
 *   WebGL is SwiftShader, a CPU rasteriser), and in this Node process on the fast backend. Each
 *   first runs a one-step warm-up of the same shape (GPU.js compiles its kernels then);
 * - training: images/s of the training step (batch, gradient step, EMA) for the `tiny` and `quick`
 *   presets in the tab (fast backend) and in Node, the median step with two warm-up steps dropped.
 *
 * The fast-backend figures are taken in alternating rounds, tab then Node, so that the load of a
 * shared machine, which moves, weighs on both alike; medians are reported, with the load average.
 * Flags: --rounds 3 --fast-steps 10 --webgl-steps 2 --train-steps 12 (per round and preset)
 * --out docs/web-bench.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import { setBackend } from '../src/tensor/engine.ts';
import { dispose, tidy, toFloat32, treeTensors } from '../src/tensor/tensor.ts';
import { key, split } from '../src/tensor/random.ts';
import { adam } from '../src/grad/optim.ts';
import { scheduleFromConfig } from '../src/ddpm/schedule.ts';
import { loadMnist } from '../src/io/mnist.ts';
import { presets } from '../src/train/config.ts';
import { batchAt, scaleImages } from '../src/train/data.ts';
import { network } from '../src/train/network.ts';
import { copyWeights, type TrainState, trainStepOf } from '../src/train/loop.ts';
import { pipelineFromFiles } from '../src/pipeline/pipeline.ts';
import { launchChromium, openPage } from '../test/support/browser.ts';
import { buildWeb, describeBuild, root } from './web/build.ts';
import type { PagePreset, SampleRequest, SampleResult } from '../web/protocol.ts';
import type {} from '../web/main.ts'; // window.__diffusion's type

const { values } = parseArgs({
  options: {
    'fast-steps': { type: 'string', default: '10' }, 'webgl-steps': { type: 'string', default: '2' },
    'train-steps': { type: 'string', default: '12' }, rounds: { type: 'string', default: '3' }, out: { type: 'string', default: join(root, 'docs', 'web-bench.json') },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: npm run bench:web -- [--rounds 3] [--fast-steps 10] [--webgl-steps 2] [--train-steps 12] [--out docs/web-bench.json]');
  process.exit(0);
}
const [fastSteps, webglSteps, trainSteps, rounds] = [values['fast-steps'], values['webgl-steps'], values['train-steps'], values.rounds].map(Number);
const n = 16;
const model = join(root, 'assets', 'ddpm-mnist');
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (s: string): void => console.error(`bench:web: ${s}`);


const loadAvg = (): number => Math.round(loadavg()[0] * 100) / 100;

const loadAtStart = loadAvg();

// ---- the bundle ---------------------------------------------------------------------------------
const bundle = await buildWeb(join(root, 'runs', 'tmp', 'web-bench'));
log(describeBuild(bundle));

// ---- the tab and Node, in alternating rounds (the machine's load moves; both sides see the same) -----
const browser = await launchChromium();
const opened = await openPage(browser, { query: '?compare=0', dir: join(root, 'runs', 'tmp', 'web-bench') });
const { page } = opened;
await page.waitForFunction(() => window.__diffusion?.ready === true, null, { timeout: 240_000 });
const call = <R>(kind: string, args: unknown): Promise<R> =>
  page.evaluate(([k, a]) => window.__diffusion.engine.call(k as never, a as never) as Promise<unknown>, [kind, args] as const) as Promise<R>;
const caps = await page.evaluate(() => window.__diffusion.caps);

/** ms per step of `steps` DDIM steps for 16 images on one of the page's backends, after a one-step warm-up. */
const tabSampling = async (backend: string, steps: number, warm: boolean): Promise<number> => {
  await call('useBackend', { name: backend });
  const req: SampleRequest = { n, sampler: 'ddim', steps: 1, seed: 0, previewEvery: 0 };
  if (!warm) await call('sample', req);
  return (await call<SampleResult>('sample', { ...req, steps })).msPerStep;
};

setBackend('fast');
const pipe = pipelineFromFiles({ safetensors: new Uint8Array(readFileSync(join(model, 'model.safetensors'))), config: readFileSync(join(model, 'config.json'), 'utf8') });
pipe.sample({ n, sampler: 'ddim', steps: 1, seed: 0 });
const nodeSampling = (steps: number): number => {
  const t0 = performance.now();
  pipe.sample({ n, sampler: 'ddim', steps, seed: 0 });
  return (performance.now() - t0) / steps;
};

const sampling = { tabFast: [] as number[], nodeFast: [] as number[], tabWebgl: [] as number[] };
for (let r = 0; r < rounds; r++) {
  sampling.tabFast.push(await tabSampling('fast', fastSteps, r > 0));
  sampling.nodeFast.push(nodeSampling(fastSteps));
  log(`sampling round ${r + 1}: tab fast ${sampling.tabFast[r].toFixed(0)} ms/step, node fast ${sampling.nodeFast[r].toFixed(0)} ms/step (load ${loadAvg()})`);
}
sampling.tabWebgl.push(await tabSampling('gpujs-gpu', webglSteps, false));
log(`tab WebGL (SwiftShader): ${sampling.tabWebgl[0].toFixed(0)} ms/step`);
await call('useBackend', { name: 'fast' });

/** Training-step times in the tab (fast backend) for a preset at its batch, warm-up steps dropped. */
const tabTraining = async (preset: PagePreset, batch: number): Promise<number[]> => {
  await page.evaluate(() => {
    Object.assign(window.__diffusion, { losses: [], trainStepMs: [], trainEnded: null });
  });
  await call('trainStart', { preset, batch, steps: trainSteps, sampleEvery: 0, sampleCount: 0, sampleSteps: 1, seed: 0 });
  await page.waitForFunction(() => window.__diffusion.trainEnded !== null, null, { timeout: 600_000, polling: 250 });
  return (await page.evaluate(() => window.__diffusion.trainStepMs)).slice(2);
};

const mnist = await loadMnist('train')();
if (E.isLeft(mnist)) throw mnist.left;
/** The same steps in Node: the preset's network, batches and training step, warm-up steps dropped. */
const nodeTraining = (preset: PagePreset, batch: number): number[] => {
  const cfg = presets[preset];
  const net = network(cfg.network);
  const data = scaleImages(mnist.right, cfg.imageSize);
  const [initKey, dataKey, trainKey, , labelKey] = split(key(0), 5);
  const weights = net.init(initKey);
  let state: TrainState = { weights, ema: cfg.ema > 0 ? copyWeights(weights) : null, optState: adam({ lr: cfg.lr }).init(weights.params), step: 0 };
  const step = trainStepOf({
    net, schedule: scheduleFromConfig(cfg.schedule), objective: cfg.objective, minSnr: cfg.minSnr, ema: cfg.ema, condDrop: cfg.condDrop,
    imageSize: cfg.imageSize, keys: { train: trainKey, labels: labelKey }, lr: { lr: cfg.lr, warmup: 0, decay: 'constant', minRatio: 0.05, total: trainSteps },
  });
  const times: number[] = [];
  const cache = {};
  for (let i = 0; i < trainSteps; i++) {
    const start = performance.now();
    const next = tidy(() => step(state, batchAt(data, batch, dataKey, i, cache)));
    toFloat32(next.loss);
    dispose(next.loss);
    const live = new Set(treeTensors([next.state.weights, next.state.optState, next.state.ema]));
    for (const t of treeTensors([state.weights, state.optState, state.ema])) if (!live.has(t)) dispose(t);
    state = next.state;
    times.push(performance.now() - start);
  }
  for (const t of treeTensors([state.weights, state.optState, state.ema])) dispose(t);
  return times.slice(2);
};

const trainPresets = [['tiny', presets.tiny.batch], ['quick', presets.quick.batch]] as const;
const training: Record<string, { batch: number; tab: number[]; node: number[] }> = {};
for (const [preset, batch] of trainPresets) {
  const t = { batch, tab: [] as number[], node: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    t.tab.push(...(await tabTraining(preset, batch)));
    t.node.push(...nodeTraining(preset, batch));
    log(`training ${preset} round ${r + 1}: tab ${median(t.tab).toFixed(0)} ms/step, node ${median(t.node).toFixed(0)} ms/step so far (load ${loadAvg()})`);
  }
  training[preset] = t;
}
const chromiumVersion = browser.version();
await opened.close();
await browser.close();

const perStep = (xs: readonly number[], steps: number) => ({ msPerStep: median(xs), imagesPerSec: (n * 1000) / (median(xs) * steps), rounds: xs.length, steps, all: xs.map(Math.round) });
const perTrain = (xs: readonly number[], batch: number) => ({ msPerStep: median(xs), imagesPerSec: (batch * 1000) / median(xs), steps: xs.length });

const report = {
  date: new Date().toISOString(),
  machine: { cpus: availableParallelism(), loadAverage1m: { start: loadAtStart, end: loadAvg() }, node: process.version, chromium: chromiumVersion, webglRenderer: caps?.renderer ?? null, browserThreads: caps?.threads ?? null },
  command: 'npm run bench:web',
  bundle: { jsBytes: bundle.jsBytes, jsGzipBytes: bundle.jsGzipBytes, initialJsGzipBytes: bundle.initialJsGzipBytes, files: bundle.js },
  sampling: {
    what: `median over rounds of the ms per DDIM step for ${n} images of assets/ddpm-mnist (small U-Net, 464,257 params), after a 1-step warm-up; imagesPerSec for a whole ${fastSteps}-step run`,
    chromiumFast: perStep(sampling.tabFast, fastSteps), nodeFast: perStep(sampling.nodeFast, fastSteps),
    chromiumWebgl: { ...perStep(sampling.tabWebgl, webglSteps), note: 'SwiftShader: WebGL on a CPU rasteriser, not a GPU' },
  },
  training: {
    what: 'median ms of a training step (batch, gradient step, EMA) on the fast backend, 2 warm-up steps of each round dropped',
    chromium: Object.fromEntries(Object.entries(training).map(([k, t]) => [k, { batch: t.batch, ...perTrain(t.tab, t.batch) }])),
    node: Object.fromEntries(Object.entries(training).map(([k, t]) => [k, { batch: t.batch, ...perTrain(t.node, t.batch) }])),
  },
};
writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
log(`wrote ${values.out}`);
process.exit(0);
