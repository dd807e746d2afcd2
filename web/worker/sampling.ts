/**
 * The worker's backends and its loaded model: one pipeline per backend, built from the model's
 * bytes when a backend first needs it, so switching backends keeps the model. Sampling posts x_t
 * and x̂₀ as the steps go; the comparison times a few forward passes of the loaded network on
 * every backend this browser can run.
 */
import { type Backend, disposeTree, loadBackend, normal, type Pipeline, pipelineFromFiles, random, tensor, tidy, toFloat32, treeTensors, withBackend } from '../../src/index.ts';
import type { BackendTiming, Capabilities, ModelInfo, PageBackend, SampleRequest, SampleResult, WorkerEvent } from '../protocol.ts';
import { pageBackends } from '../protocol.ts';
import { usable } from './capabilities.ts';

export type Post = (e: WorkerEvent, transfer?: Transferable[]) => void;

/** A copy with its own (transferable) buffer when the array views shared or foreign memory. */
export const own = (a: Float32Array): Float32Array =>
  a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice();

const backends = new Map<PageBackend, Backend>();

/**
 * A backend ready to run. Without cross-origin isolation there is no shared memory for the fast
 * backend's worker threads, so it runs on this thread alone (same results, slower): the library
 * chooses that itself (src/tensor/platform.ts).
 */
export const backendFor = async (name: PageBackend, caps: Capabilities): Promise<Backend> => {
  const have = backends.get(name);
  if (have) return have;
  if (!usable(caps, name)) throw new Error(`${name}: ${caps.limits[name]}`);
  const b = await loadBackend(name);
  backends.set(name, b);
  return b;
};

interface Loaded {
  readonly files: { readonly safetensors: Uint8Array; readonly config?: string; readonly guide?: Uint8Array };
  readonly what: string;
  readonly pipelines: Map<PageBackend, Pipeline>;
}

let model: Loaded | null = null;

/** The loaded model's pipeline on backend `b` (built there on first use). */
const pipelineOn = (name: PageBackend, b: Backend): Pipeline => {
  if (!model) throw new Error('no model loaded: pick one first');
  const have = model.pipelines.get(name);
  if (have) return have;
  const { files, what } = model;
  const p = withBackend(b, () => pipelineFromFiles(files, what));
  model.pipelines.set(name, p);
  return p;
};

const paramCount = (p: Pipeline): number => treeTensors(p.weights.params).reduce((s, t) => s + t.size, 0);

/** Loads a model (checking it on `name`'s backend) and frees the previous one's weights on every backend. */
export const loadModel = (files: Loaded['files'], what: string, name: PageBackend, b: Backend): ModelInfo => {
  const p = withBackend(b, () => pipelineFromFiles(files, what));
  for (const old of model?.pipelines.values() ?? []) disposeTree([old.weights, old.guide?.weights]);
  model = { files, what, pipelines: new Map([[name, p]]) };
  const c = p.config;
  return {
    what, params: paramCount(p), imageSize: c.imageSize, channels: p.net.channels, numClasses: p.net.numClasses,
    T: p.schedule.T, objective: c.objective, preset: c.training?.preset ?? null, guideScale: c.guideScale ?? null,
    guideInterval: c.guideInterval ?? null,
  };
};

/** Draws `req.n` images on backend `b`, posting x_t and x̂₀ (every `previewEvery` steps) and the step time as it goes. */
export const sample = (req: SampleRequest, name: PageBackend, b: Backend, post: Post): SampleResult => {
  const p = pipelineOn(name, b);
  const { n, steps } = req;
  const shape = [n, p.net.channels, p.config.imageSize, p.config.imageSize] as const;
  const every = req.previewEvery ?? 1;
  let index = 0;
  const start = performance.now();
  let last = start;
  const { images } = withBackend(b, () => p.sample({
    n, sampler: req.sampler, steps, seed: req.seed, batch: n,
    ...(req.classLabel === undefined ? {} : { classLabels: req.classLabel, guidance: req.guidance ?? 3 }),
    onStep: (t, _batch, xt, predX0) => {
      index++;
      const now = performance.now();
      if (every > 0 && (index % every === 0 || index === steps)) {
        const [a, c] = [own(toFloat32(xt)), own(toFloat32(predX0))];
        post({ kind: 'step', index, total: steps, t, xt: a, x0: c, shape, ms: now - last }, [a.buffer, c.buffer]);
      }
      last = now;
    },
  }));
  const seconds = (performance.now() - start) / 1000;
  const out = own(images);
  return { images: out, shape, backend: name, seconds, msPerStep: (seconds * 1000) / steps, imagesPerSec: n / seconds };
};

/** Mean milliseconds of `repeats` forward passes of the loaded network on `batch` images, after one warm-up pass. */
const timeForward = (p: Pipeline, b: Backend, batch: number, repeats: number): number => withBackend(b, () => {
  const size = p.config.imageSize;
  const x = normal(random.key(1), [batch, p.net.channels, size, size]);
  const t = tensor(new Float32Array(batch).fill(Math.floor(p.schedule.T / 2)));
  const labels = p.net.numClasses > 0 ? tensor(new Float32Array(batch).fill(p.net.numClasses)) : undefined;
  const pass = (): void => {
    // reading the output back makes a GPU backend finish its work inside the timed span
    tidy(() => toFloat32(p.net.apply(p.weights, x, t, { training: false, labels }).y));
  };
  pass();
  const start = performance.now();
  for (let i = 0; i < repeats; i++) pass();
  const ms = (performance.now() - start) / repeats;
  disposeTree([x, t, labels]);
  return ms;
});

/** Times the loaded network on every backend of the page; one that cannot run says why. */
export const compareBackends = async (caps: Capabilities, batch: number, repeats: number): Promise<BackendTiming[]> => {
  const out: BackendTiming[] = [];
  for (const name of pageBackends) {
    try {
      const b = await backendFor(name, caps);
      out.push({ backend: name, batch, msPerForward: timeForward(pipelineOn(name, b), b, batch, repeats) });
    } catch (e) {
      out.push({ backend: name, batch, msPerForward: null, error: (e as Error).message });
    }
  }
  return out;
};
