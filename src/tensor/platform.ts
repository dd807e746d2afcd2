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

/**
 * Whether memory can be shared with worker threads here: under Node always; in a browser only on a
 * cross-origin isolated page (Chromium may still create a shared WebAssembly.Memory elsewhere, but
 * refuses to post it to a worker).
 */
export const sharedMemoryAvailable = (): boolean =>
  typeof SharedArrayBuffer !== 'undefined' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;

/**
 * Yields to the event loop once, so messages and signals get through: Node's setImmediate, else a
 * MessageChannel task (a browser clamps nested zero timeouts to 4 ms), else a zero timeout.
 */
export const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => {
    const immediate = (globalThis as { setImmediate?: (cb: () => void) => void }).setImmediate;
    if (typeof immediate === 'function') return immediate(resolve);
    if (typeof MessageChannel === 'function') {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      return channel.port2.postMessage(null);
    }
    setTimeout(resolve, 0);
  });
