/**
 * Opening a GPU.js instance in exactly the mode asked for. GPU.js falls back silently — `mode: 'gpu'`
 * without a GL context runs on webasm, and a kernel that cannot build on its backend reruns on
 * cpu with only a console warning — so both the instance and every new kernel are checked.
 *
 * GPU.js itself is loaded only when a GPU.js backend is created, never by importing this library:
 * under Node it is required on first use; in a browser bundle, `await loadBackend('gpujs-gpu')`
 * (src/tensor/engine.ts) imports it and hands it over with {@link provideGpuJs}.
 */
import type { GPU } from 'gpu.js';
import { nodeBuiltin } from '../platform.ts';

type GpuClass = typeof GPU;
let provided: GpuClass | null = null;

/** Hands over GPU.js's `GPU` class (from a dynamic `import('gpu.js')`) where it cannot be required. */
export const provideGpuJs = (gpuClass: GpuClass): void => {
  provided = gpuClass;
};

/** GPU.js's `GPU` class: the one provided, else required from the installed package under Node. */
const gpuJs = (): GpuClass => {
  if (provided) return provided;
  const createRequire = nodeBuiltin<{ createRequire(url: string): (id: string) => { GPU: GpuClass } }>('node:module')?.createRequire;
  if (!createRequire) throw new GpuJsModeError('gpu', 'GPU.js is not loaded: in a browser, `await loadBackend(name)` before using a GPU.js backend');
  provided = createRequire(import.meta.url)('gpu.js').GPU;
  return provided;
};

export const gpuJsModes = ['cpu', 'webasm', 'headlessgl', 'gpu', 'webgl', 'webgl2'] as const;
export type GpuJsMode = (typeof gpuJsModes)[number];

/** GL modes keep buffers as textures on the device; cpu and webasm use Float32Arrays. */
export const isGlMode = (mode: GpuJsMode): boolean => mode !== 'cpu' && mode !== 'webasm';

/** GPU.js's own name for the kernel class each mode must end up on (every GL class says 'gpu'). */
const kernelClassMode = (mode: GpuJsMode): string =>
  mode === 'cpu' ? 'cpu' : mode === 'webasm' ? 'webasm' : 'gpu';

export class GpuJsModeError extends Error {
  constructor(readonly mode: string, reason: string) {
    super(`GPU.js mode "${mode}" is not available here: ${reason}${hint(mode)}`);
    this.name = 'GpuJsModeError';
  }
}

const hint = (mode: string): string =>
  mode === 'headlessgl' || mode === 'gpu'
    ? ' (headless-gl needs the `gl` package built and an X server: run under `xvfb-run -a`)'
    : mode === 'webgl' || mode === 'webgl2' ? ' (WebGL needs a browser)' : '';

type KernelClass = { readonly mode?: string; readonly name?: string };

/** A GPU.js instance whose kernels really run in `mode`; throws {@link GpuJsModeError} otherwise. */
export const openGpu = (mode: GpuJsMode): GPU => {
  if (!(gpuJsModes as readonly string[]).includes(mode)) {
    throw new GpuJsModeError(mode, `expected one of ${gpuJsModes.join(', ')}`);
  }
  let gpu: GPU;
  try {
    gpu = new (gpuJs())({ mode });
  } catch (e) {
    throw new GpuJsModeError(mode, `GPU.js refused it (${(e as Error).message})`);
  }
  const chosen = (gpu as unknown as { Kernel: KernelClass | null }).Kernel;
  if (gpu.mode !== mode || chosen?.mode !== kernelClassMode(mode)) {
    void gpu.destroy().catch(() => undefined);
    throw new GpuJsModeError(mode, `GPU.js fell back to ${chosen?.name ?? 'nothing'} (mode ${gpu.mode})`);
  }
  return gpu;
};

/**
 * Throws when a kernel, after its first run, is no longer on the mode's backend (GPU.js swaps in
 * a cpu kernel when a build fails, e.g. an unsupported argument type on webasm).
 */
export const checkKernelMode = (mode: GpuJsMode, shortcut: { kernel: unknown }, what: string): void => {
  const running = (shortcut.kernel as { constructor: KernelClass }).constructor;
  if (running.mode !== kernelClassMode(mode)) {
    throw new GpuJsModeError(mode, `kernel ${what} fell back to ${running.name ?? running.mode}`);
  }
};

/** Whether `gpu` runs on headless-gl (whose deleted textures leak; see texture-pool.ts). */
export const runsHeadlessGl = (gpu: GPU): boolean =>
  (gpu as unknown as { Kernel: KernelClass | null }).Kernel?.name === 'HeadlessGLKernel';
