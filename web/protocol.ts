/**
 * The messages between the page (web/main.ts) and the engine worker (web/engine.worker.ts). Both
 * sides import these types, so a renamed field fails the type check on both. The page sends
 * requests with an id and gets exactly one reply per id; the worker also sends events (sampling
 * steps, training progress) that answer no request. Images travel as Float32Arrays in the model's
 * range [−1, 1], row-major [n, channels, size, size], transferred rather than copied.
 */

/** The backends the page offers: the WebAssembly SIMD one on worker threads, and GPU.js on WebGL2. */
export const pageBackends = ['fast', 'gpujs-gpu'] as const;
export type PageBackend = (typeof pageBackends)[number];

export const pageSamplers = ['ddpm', 'ddim', 'dpmpp2m'] as const;
export type PageSampler = (typeof pageSamplers)[number];

/** Presets the tab can train: the CI-sized `tiny` U-Net and the `quick` preset's `small` one. */
export const pagePresets = ['tiny', 'quick'] as const;
export type PagePreset = (typeof pagePresets)[number];

/** What this browser offers the engine, checked in the worker where the engine runs. */
export interface Capabilities {
  readonly crossOriginIsolated: boolean;
  readonly sharedArrayBuffer: boolean;
  readonly wasmSimd: boolean;
  /** WebGL2 with float render targets (what GPU.js needs) in this worker, via OffscreenCanvas */
  readonly webgl2: boolean;
  /** the GL renderer's name when the browser tells it (SwiftShader is a CPU rasteriser) */
  readonly renderer: string | null;
  readonly threads: number;
  /** per backend: null when it can run, else why not (or how it is limited) in one sentence */
  readonly limits: Readonly<Record<PageBackend, string | null>>;
}

/** A loaded model as the page describes it. */
export interface ModelInfo {
  readonly what: string;
  readonly params: number;
  readonly imageSize: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly T: number;
  readonly objective: string;
  readonly preset: string | null;
  /** the autoguidance scale the model recommends, when it came with a guide (guide.safetensors) */
  readonly guideScale: number | null;
  /** the diffusion times t/T in [lo, hi) its guide acts at, when it came with one */
  readonly guideInterval: readonly [number, number] | null;
}

/** One backend's speed on the loaded network: milliseconds per forward pass of `batch` images. */
export interface BackendTiming {
  readonly backend: PageBackend;
  readonly batch: number;
  readonly msPerForward: number | null;
  /** why it could not be measured */
  readonly error?: string;
}

export interface SampleRequest {
  readonly n: number;
  readonly sampler: PageSampler;
  readonly steps: number;
  readonly seed: number;
  /** class-conditional models: the digit for every image (absent: unconditional) */
  readonly classLabel?: number;
  readonly guidance?: number;
  /** post x_t and x̂₀ every this many steps (1: every step; 0: never) */
  readonly previewEvery?: number;
}

export interface SampleResult {
  readonly images: Float32Array;
  readonly shape: readonly [number, number, number, number];
  readonly backend: PageBackend;
  readonly seconds: number;
  /** mean time of a sampling step, network and sampler update */
  readonly msPerStep: number;
  readonly imagesPerSec: number;
}

export interface TrainRequest {
  readonly preset: PagePreset;
  readonly batch: number;
  /** optimizer steps in all */
  readonly steps: number;
  /** refresh the sample grid every this many steps (0: never) */
  readonly sampleEvery: number;
  readonly sampleCount: number;
  readonly sampleSteps: number;
  readonly seed: number;
  /** the first `images` training images only (default: all 60,000) */
  readonly images?: number;
  /**
   * autoguidance: freeze the EMA weights after this fraction of the steps as the run's guide, which
   * the later grids extrapolate away from (0: none; default: the preset's)
   */
  readonly guideAt?: number;
}

export interface TrainStatus {
  readonly step: number;
  readonly total: number;
  readonly running: boolean;
  readonly preset: PagePreset;
  readonly params: number;
  readonly backend: PageBackend;
  /** the step at which the run freezes (or froze) its guide, null when it has none */
  readonly guideStep: number | null;
  /** whether the guide is frozen, so that it can be downloaded */
  readonly guide: boolean;
  /** the autoguidance scale the grids use and the guide file recommends */
  readonly guideScale: number;
}

/** Request kinds, their arguments and their results. */
export interface Requests {
  init: { args: Record<string, never>; result: Capabilities };
  useBackend: { args: { readonly name: PageBackend }; result: { readonly name: PageBackend; readonly ms: number } };
  loadModel: { args: { readonly safetensors: Uint8Array; readonly config?: string; readonly guide?: Uint8Array; readonly what: string }; result: ModelInfo };
  compareBackends: { args: { readonly batch: number; readonly repeats: number }; result: readonly BackendTiming[] };
  sample: { args: SampleRequest; result: SampleResult };
  trainStart: { args: TrainRequest; result: TrainStatus };
  trainPause: { args: Record<string, never>; result: TrainStatus };
  trainResume: { args: Record<string, never>; result: TrainStatus };
  checkpoint: { args: Record<string, never>; result: { readonly bytes: Uint8Array; readonly fileName: string } };
  /** the run's frozen guide as X.guide.safetensors beside the checkpoint's X.safetensors */
  guideFile: { args: Record<string, never>; result: { readonly bytes: Uint8Array; readonly fileName: string } };
}
export type RequestKind = keyof Requests;

export type Request = { [K in RequestKind]: { readonly id: number; readonly kind: K; readonly args: Requests[K]['args'] } }[RequestKind];

/** Events the worker sends on its own. */
export type WorkerEvent =
  | {
    readonly kind: 'step'; readonly index: number; readonly total: number; readonly t: number;
    readonly xt: Float32Array; readonly x0: Float32Array; readonly shape: readonly [number, number, number, number]; readonly ms: number;
  }
  | {
    readonly kind: 'trainStep'; readonly step: number; readonly total: number; readonly loss: number;
    /** this step's own time (batch, gradient step, EMA), and images/s over the last second of steps */
    readonly ms: number; readonly imagesPerSec: number;
  }
  | { readonly kind: 'trainGrid'; readonly step: number; readonly images: Float32Array; readonly shape: readonly [number, number, number, number] }
  | { readonly kind: 'trainGuide'; readonly status: TrainStatus; readonly message: string }
  | { readonly kind: 'trainEnd'; readonly status: TrainStatus; readonly reason: string };

export type Reply =
  | { readonly kind: 'reply'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly message: string };

export type FromWorker = WorkerEvent | Reply;
