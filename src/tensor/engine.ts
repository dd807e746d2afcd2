/**
 * Which backend new tensors go to. One documented setting: `setBackend(name | backend)` in code, or
 * the environment variable `DIFFUSION_BACKEND` (read once, at first use). Names:
 * `fast` (WebAssembly SIMD, the default), `plain` (the reference), `plain64`, `gpujs-cpu`, `gpujs-webasm`, `gpujs-headlessgl`, `gpujs-gpu`.
 */
import type { Backend } from './backend.ts';
import { createPlainBackend } from './plain/index.ts';
import { createGpuJsBackend } from './gpujs/index.ts';
import { createFastBackend } from './fast/index.ts';

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
