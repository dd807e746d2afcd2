/**
 * Which backend new tensors go to. One documented setting: `setBackend(name | backend)` in code, or
 * the environment variable `DIFFUSION_BACKEND` (read once, at first use). Names:
 * `fast` (WebAssembly SIMD, the default), `plain` (the reference), `plain64`, `gpujs-cpu`, `gpujs-webasm`, `gpujs-headlessgl`, `gpujs-gpu`.
 *
 * Importing this module loads no backend: each is created when first chosen or used. Under Node
 * that may happen synchronously. In a browser use `await loadBackend(name)`, which loads GPU.js
 * for the GPU.js backends and waits for the fast backend's worker threads (see tensor/platform.ts).
 */
import type { Backend } from './backend.ts';
import { createPlainBackend } from './plain/index.ts';
import { createGpuJsBackend } from './gpujs/index.ts';
import { createFastBackend } from './fast/index.ts';
import { provideGpuJs } from './gpujs/modes.ts';
import { nodeBuiltin } from './platform.ts';

export const backendNames = ['fast', 'plain', 'plain64', 'gpujs-cpu', 'gpujs-webasm', 'gpujs-headlessgl', 'gpujs-gpu'] as const;
export type BackendName = (typeof backendNames)[number];

const instances = new Map<string, Backend>();

const isBackendName = (s: string): s is BackendName => (backendNames as readonly string[]).includes(s);

/** The backend of that name (created once and reused). Throws on unknown names, listing the known ones. */
export const backendByName = (name: string): Backend => {
  const cached = instances.get(name);
  if (cached) return cached;
  if (!isBackendName(name)) {
    throw new Error(`unknown backend "${name}": expected one of ${backendNames.join(', ')}`);
  }
  const b =
    name === 'fast' ? createFastBackend()
    : name === 'plain' ? createPlainBackend()
    : name === 'plain64' ? createPlainBackend({ precision: 64 })
    : createGpuJsBackend(name.slice('gpujs-'.length) as 'cpu' | 'webasm' | 'headlessgl' | 'gpu');
  instances.set(name, b);
  return b;
};

/**
 * The backend of that name, ready to run at full speed: under Node the same as {@link backendByName};
 * in a browser this imports GPU.js for the `gpujs-*` names and starts the fast backend's workers.
 * Pass `{ use: true }` to make it the current backend too.
 */
export const loadBackend = async (name: string, opts: { readonly use?: boolean } = {}): Promise<Backend> => {
  if (isBackendName(name) && name.startsWith('gpujs-') && !instances.has(name) && nodeBuiltin('node:module') === undefined) {
    const m = (await import('gpu.js')) as unknown as { GPU?: Parameters<typeof provideGpuJs>[0]; default?: { GPU: Parameters<typeof provideGpuJs>[0] } };
    const gpu = m.GPU ?? m.default?.GPU;
    if (!gpu) throw new Error('gpu.js: its module has no GPU export');
    provideGpuJs(gpu);
  }
  const b = backendByName(name);
  const startable = b as Backend & { ready?: () => Promise<void> };
  if (typeof startable.ready === 'function') await startable.ready();
  if (opts.use) setBackend(b);
  return b;
};

let current: Backend | null = null;

export const getBackend = (): Backend => {
  if (!current) current = backendByName((typeof process !== 'undefined' ? process.env.DIFFUSION_BACKEND : undefined) ?? 'fast');
  return current;
};

/** Sets the backend for tensors created from now on; returns the previous one. */
export const setBackend = (b: Backend | BackendName): Backend => {
  const prev = getBackend();
  current = typeof b === 'string' ? backendByName(b) : b;
  return prev;
};

/** Runs `fn` with `b` as the current backend, restoring the previous one afterwards. */
export const withBackend = <T>(b: Backend | BackendName, fn: () => T): T => {
  const prev = setBackend(b);
  try {
    return fn();
  } finally {
    current = prev;
  }
};
