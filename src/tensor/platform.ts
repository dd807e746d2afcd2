/**
 * What the engine needs from the runtime it runs in, found without a static `node:` import (which a
 * browser bundler would have to follow): Node's built-in modules through `process.getBuiltinModule`
 * (Node ≥ 20.16), the number of hardware threads, and whether this thread may block on
 * `Atomics.wait` (Node's main thread and any worker may; a browser page's main thread may not).
 */

type BuiltinGetter = (name: string) => unknown;

/** Node's built-in module `name` (e.g. 'node:os') when running under Node, else undefined. */
export const nodeBuiltin = <T>(name: string): T | undefined => {
  const get = (globalThis as { process?: { getBuiltinModule?: BuiltinGetter } }).process?.getBuiltinModule;
  return typeof get === 'function' ? (get(name) as T | undefined) : undefined;
};

/** True under Node (or a runtime with Node's built-ins), false in a browser or a browser worker. */
export const isNode = (): boolean => nodeBuiltin('node:os') !== undefined;

/** Hardware threads: Node's available parallelism, or the browser's `navigator.hardwareConcurrency`. */
export const hardwareThreads = (): number => {
  const os = nodeBuiltin<{ availableParallelism?: () => number; cpus: () => unknown[] }>('node:os');
  if (os) return os.availableParallelism?.() ?? os.cpus().length;
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && n > 0 ? n : 1;
};

/**
 * Whether this thread may block in `Atomics.wait`: everywhere but a browser page's main thread
 * (a `window`/`document` without Node), where the fast backend's kernels then run single-threaded.
 */
export const canBlock = (): boolean => {
  if (isNode()) return true;
  const g = globalThis as { document?: unknown; WorkerGlobalScope?: unknown };
  return g.document === undefined && g.WorkerGlobalScope !== undefined;
};

/** Whether SharedArrayBuffer exists here (browsers: only on a cross-origin isolated page). */
export const sharedMemoryAvailable = (): boolean => typeof SharedArrayBuffer !== 'undefined';
