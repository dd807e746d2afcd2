/**
 * The page's main thread: the DOM, the canvases, file picking and downloads. Every library call
 * happens in the engine worker (web/engine.worker.ts); this thread sends requests and draws what
 * comes back, so it never stalls on the engine. `window.__diffusion` exposes the page's results
 * (samples as arrays, the loss history, timings) for the browser tests and benchmarks.
 */
import type { BackendTiming, Capabilities, ModelInfo, PageBackend, PagePreset, PageSampler, SampleResult, TrainStatus } from './protocol.ts';
import { pageBackends } from './protocol.ts';
import { startEngine } from './ui/client.ts';
import { drawGrid, drawLoss } from './ui/draw.ts';
import { download, modelFromFiles, type PickedModel, shippedModel } from './ui/files.ts';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};
const num = (id: string): number => Number($<HTMLInputElement>(id).value);
const say = (id: string, text: string, isError = false): void => {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle('error', isError);
};
const fmt = (x: number, digits = 1): string => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** What the tests and the benchmark read (and the functions they may call). */
const hook = {
  ready: false,
  compared: false,
  caps: null as Capabilities | null,
  backend: 'fast' as PageBackend,
  model: null as ModelInfo | null,
  comparison: null as readonly BackendTiming[] | null,
  lastSamples: null as SampleResult | null,
  stepTimes: [] as number[],
  losses: [] as number[],
  /** each training step's own time in ms, as the worker measured it */
  trainStepMs: [] as number[],
  trainImagesPerSec: 0,
  training: null as TrainStatus | null,
  trainEnded: null as string | null,
  grids: 0,
  errors: [] as string[],
  /** main-thread tasks over 50 ms (the Long Tasks API): what a user would feel as a stall; start and duration in ms */
  longTasks: [] as { readonly start: number; readonly ms: number }[],
  /**
   * the longest this page's own code ran on the main thread at once (an event from the worker with
   * its drawing, a loss-curve frame): unlike a long task, this leaves out time the OS gave to other
   * processes, so it stays meaningful on a busy machine
   */
  longestHandlerMs: 0,
  engine: startEngine(),
  sample: (): Promise<SampleResult | null> => runSample(),
  useBackend: (name: PageBackend): Promise<void> => useBackend(name),
};
/** The test hook's type, for the browser tests and the benchmark (functions they pass to page.evaluate run here). */
export type PageHook = typeof hook;
declare global {
  interface Window {
    __diffusion: PageHook;
  }
}
window.__diffusion = hook;
const { engine } = hook;

try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) hook.longTasks.push({ start: Math.round(e.startTime), ms: Math.round(e.duration) });
  }).observe({ type: 'longtask' });
} catch {
  // a browser without the Long Tasks API: nothing to record
}

const fail = (where: string, e: unknown): void => {
  const text = `${where}: ${e instanceof Error ? e.message : String(e)}`;
  hook.errors.push(text);
  say('status', text, true);
};

// ---- backends ---------------------------------------------------------------------------------

const backendLabel = (b: PageBackend): string => (b === 'fast' ? 'fast (WebAssembly SIMD)' : 'GPU.js (WebGL2)');

const showCapabilities = (caps: Capabilities): void => {
  const notes = $('notes');
  for (const b of pageBackends) {
    const limit = caps.limits[b];
    if (limit !== null) notes.append(Object.assign(document.createElement('li'), { textContent: `${backendLabel(b)}: ${limit}` }));
  }
  if (caps.renderer && /swiftshader|llvmpipe|software/i.test(caps.renderer)) {
    notes.append(Object.assign(document.createElement('li'), {
      textContent: `WebGL runs on ${caps.renderer}, a CPU rasteriser, not a GPU: GPU.js timings here are not GPU speed.`,
    }));
  }
  const select = $<HTMLSelectElement>('backend');
  for (const opt of Array.from(select.options)) opt.disabled = opt.value === 'fast' ? !caps.wasmSimd : !caps.webgl2;
};

const useBackend = async (name: PageBackend): Promise<void> => {
  say('backend-info', `starting ${backendLabel(name)}…`);
  const r = await engine.call('useBackend', { name });
  hook.backend = name;
  $<HTMLSelectElement>('backend').value = name;
  say('backend-info', r.ms < 1 ? `${backendLabel(name)} ready` : `${backendLabel(name)} ready (${fmt(r.ms, 0)} ms to start)`);
};

const compare = async (): Promise<void> => {
  // small on purpose: GPU.js compiles its kernels on the first pass, and on a CPU rasteriser each pass takes seconds
  const batch = 2;
  const timings = await engine.call('compareBackends', { batch, repeats: 1 });
  hook.comparison = timings;
  const parts = timings.map((t) => `${backendLabel(t.backend)}: ${t.msPerForward === null ? `not available (${t.error})` : `${fmt(t.msPerForward, 0)} ms`}`);
  const ok = timings.filter((t) => t.msPerForward !== null).sort((a, b) => (a.msPerForward ?? 0) - (b.msPerForward ?? 0));
  const verdict = ok.length === 2
    ? `${backendLabel(ok[0].backend)} is faster on this machine, ${fmt((ok[1].msPerForward ?? 0) / (ok[0].msPerForward ?? 1))}×.`
    : ok.length === 1 ? `Only ${backendLabel(ok[0].backend)} runs here.` : 'No backend runs here.';
  say('comparison', `One forward pass of the loaded network on ${batch} images, after a warm-up pass: ${parts.join('; ')}. ${verdict}`);
  hook.compared = true;
};

// ---- models -----------------------------------------------------------------------------------

/** ` at t/T in [lo, hi)` for a guide that acts on part of the trajectory, else nothing. */
const guidedWhere = (i: ModelInfo['guideInterval']): string => (i === null || (i[0] <= 0 && i[1] >= 1) ? '' : ` at t/T in [${i[0]}, ${i[1]})`);

const loadModel = async (picked: PickedModel): Promise<void> => {
  say('model-info', `loading ${picked.what}…`);
  const { safetensors, config, guide, what } = picked;
  const info = await engine.call('loadModel', { safetensors, ...(config === undefined ? {} : { config }), ...(guide === undefined ? {} : { guide }), what },
    [safetensors.buffer as ArrayBuffer, ...(guide ? [guide.buffer as ArrayBuffer] : [])]);
  hook.model = info;
  say('model-info', `${info.what}: ${info.params.toLocaleString('en-US')} parameters, ${info.imageSize}×${info.imageSize}, T = ${info.T}, predicts ${info.objective}` +
    `${info.numClasses > 0 ? `, ${info.numClasses} classes (classifier-free guidance)` : ', unconditional'}${info.preset ? `, preset ${info.preset}` : ''}` +
    `${info.guideScale !== null ? `; with a guide, sampled with autoguidance w = ${info.guideScale}${guidedWhere(info.guideInterval)}` : ''}`);
  document.body.classList.toggle('conditional', info.numClasses > 0);
  const digit = $<HTMLSelectElement>('digit');
  digit.replaceChildren(...Array.from({ length: info.numClasses }, (_, c) => new Option(String(c), String(c))));
  $<HTMLInputElement>('steps').max = String(info.T);
};

const loadPicked = (files: readonly File[]): void => {
  modelFromFiles(files).then(loadModel).catch((e) => {
    say('model-info', (e as Error).message, true);
    hook.errors.push((e as Error).message);
  });
};

// ---- sampling ---------------------------------------------------------------------------------

let sampling = false;

const runSample = async (): Promise<SampleResult | null> => {
  if (sampling) return null;
  sampling = true;
  $<HTMLButtonElement>('sample').disabled = true;
  hook.stepTimes = [];
  const cond = (hook.model?.numClasses ?? 0) > 0;
  const n = Math.max(1, Math.min(64, Math.round(num('n'))));
  try {
    say('sample-info', `sampling ${n} images on ${backendLabel(hook.backend)}…`);
    const r = await engine.call('sample', {
      n, sampler: $<HTMLSelectElement>('sampler').value as PageSampler, steps: Math.round(num('steps')), seed: Math.round(num('seed')),
      ...(cond ? { classLabel: Number($<HTMLSelectElement>('digit').value), guidance: num('guidance') } : {}),
    });
    hook.lastSamples = r;
    drawGrid($('x0'), r.images, r.shape);
    drawGrid($('xt'), r.images, r.shape);
    say('sample-info', `${n} images in ${fmt(r.seconds, 2)} s on ${backendLabel(r.backend)}: ${fmt(r.msPerStep, 0)} ms per step, ${fmt(r.imagesPerSec, 2)} images/s`);
    return r;
  } catch (e) {
    say('sample-info', `sampling failed: ${(e as Error).message}`, true);
    hook.errors.push((e as Error).message);
    return null;
  } finally {
    sampling = false;
    $<HTMLButtonElement>('sample').disabled = false;
  }
};

// ---- training ---------------------------------------------------------------------------------

/** Runs `fn`, keeping the longest time any such call took in `hook.longestHandlerMs`. */
const timed = <A extends unknown[]>(fn: (...args: A) => void) => (...args: A): void => {
  const start = performance.now();
  fn(...args);
  hook.longestHandlerMs = Math.max(hook.longestHandlerMs, performance.now() - start);
};

let lossFrame = 0;
const drawLossSoon = (): void => {
  if (lossFrame !== 0) return;
  lossFrame = requestAnimationFrame(timed(() => {
    lossFrame = 0;
    drawLoss($('loss'), hook.losses);
  }));
};

const setTraining = (s: TrainStatus): void => {
  hook.training = s;
  $<HTMLButtonElement>('pause').disabled = s.step >= s.total;
  $<HTMLButtonElement>('pause').textContent = s.running ? 'Pause' : 'Resume';
  $<HTMLButtonElement>('download').disabled = false;
  $<HTMLButtonElement>('download-guide').disabled = !s.guide;
};

/** `; autoguidance w = W by its EMA weights frozen (or to be frozen) at step N` for a run with a guide, else nothing. */
const guideNote = (s: TrainStatus): string => (s.guideStep === null ? '' : `; autoguidance w = ${s.guideScale} by its EMA weights ${s.guide ? 'frozen' : 'to be frozen'} at step ${s.guideStep}`);

const startTraining = async (): Promise<void> => {
  hook.losses = [];
  hook.trainStepMs = [];
  hook.trainEnded = null;
  hook.grids = 0;
  const preset = $<HTMLSelectElement>('preset').value as PagePreset;
  const guideAt = $<HTMLInputElement>('guide-at').value.trim();
  say('train-info', 'fetching MNIST from this page\'s server…');
  const s = await engine.call('trainStart', {
    preset, batch: Math.round(num('batch')), steps: Math.round(num('train-steps')), sampleEvery: Math.round(num('sample-every')),
    sampleCount: 16, sampleSteps: 20, seed: 0, ...(guideAt === '' ? {} : { guideAt: Number(guideAt) }),
  });
  setTraining(s);
  say('train-info', `training the ${preset} preset (${s.params.toLocaleString('en-US')} parameters) on ${backendLabel(s.backend)}${guideNote(s)}…`);
};

const togglePause = async (): Promise<void> => {
  const s = hook.training?.running ? await engine.call('trainPause', {}) : await engine.call('trainResume', {});
  setTraining(s);
  if (!s.running) say('train-info', `paused at step ${s.step} of ${s.total}`);
};

engine.onEvent(timed((e) => {
  if (e.kind === 'step') {
    hook.stepTimes.push(e.ms);
    drawGrid($('xt'), e.xt, e.shape);
    drawGrid($('x0'), e.x0, e.shape);
    say('sample-info', `step ${e.index} of ${e.total} (t = ${e.t}): ${fmt(e.ms, 0)} ms per step of ${e.shape[0]} images on ${backendLabel(hook.backend)}`);
  } else if (e.kind === 'trainStep') {
    hook.losses.push(e.loss);
    hook.trainStepMs.push(e.ms);
    hook.trainImagesPerSec = e.imagesPerSec;
    if (hook.training) hook.training = { ...hook.training, step: e.step };
    drawLossSoon();
    say('train-info', `step ${e.step} of ${e.total}: loss ${e.loss.toFixed(4)}, ${fmt(e.imagesPerSec)} images/s${hook.training?.guide ? ` (guide frozen at step ${hook.training.guideStep})` : ''}`);
  } else if (e.kind === 'trainGuide') {
    setTraining(e.status);
    say('train-info', e.message);
  } else if (e.kind === 'trainGrid') {
    hook.grids++;
    drawGrid($('train-grid'), e.images, e.shape);
  } else {
    hook.trainEnded = e.reason;
    setTraining(e.status);
    say('train-info', `${e.reason} (last loss ${hook.losses.at(-1)?.toFixed(4) ?? '—'}, ${fmt(hook.trainImagesPerSec)} images/s)`);
  }
}));

// ---- wiring -----------------------------------------------------------------------------------

const wire = (): void => {
  $('sample').addEventListener('click', () => void runSample());
  $('train').addEventListener('click', () => void startTraining().catch((e) => fail('training', e)));
  $('pause').addEventListener('click', () => void togglePause().catch((e) => fail('training', e)));
  $('download').addEventListener('click', () => {
    engine.call('checkpoint', {}).then((c) => download(c.bytes, c.fileName)).catch((e) => fail('download', e));
  });
  $('download-guide').addEventListener('click', () => {
    engine.call('guideFile', {}).then((c) => download(c.bytes, c.fileName)).catch((e) => fail('download', e));
  });
  $('backend').addEventListener('change', (e) => {
    useBackend((e.target as HTMLSelectElement).value as PageBackend).catch((err) => say('backend-info', (err as Error).message, true));
  });
  $('shipped').addEventListener('change', (e) => {
    $<HTMLInputElement>('files').value = '';
    shippedModel((e.target as HTMLSelectElement).value).then(loadModel).catch((err) => fail('model', err));
  });
  $<HTMLInputElement>('files').addEventListener('change', (e) => loadPicked(Array.from((e.target as HTMLInputElement).files ?? [])));
  const drop = $('drop');
  for (const target of [document.body, drop]) {
    target.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
  }
  document.body.addEventListener('dragleave', () => drop.classList.remove('over'));
  document.body.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    loadPicked(Array.from(e.dataTransfer?.files ?? []));
  });
};

const boot = async (): Promise<void> => {
  wire();
  drawLoss($('loss'), []);
  const caps = await engine.call('init', {});
  hook.caps = caps;
  showCapabilities(caps);
  const params = new URLSearchParams(location.search);
  const asked = params.get('backend');
  const first: PageBackend = asked === 'gpujs-gpu' || !caps.wasmSimd ? 'gpujs-gpu' : 'fast';
  await useBackend(first);
  await loadModel(await shippedModel('ddpm-mnist'));
  for (const id of ['sample', 'train']) $<HTMLButtonElement>(id).disabled = false;
  say('status', `ready: ${caps.threads} hardware threads, ${caps.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated'}`);
  hook.ready = true;
  if (params.get('compare') === '0') say('comparison', 'backend comparison skipped (?compare=0)');
  else await compare();
};

boot().catch((e) => fail('start', e));
