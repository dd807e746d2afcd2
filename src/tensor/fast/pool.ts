/**
 * Worker threads that run the backend's WebAssembly kernels on the shared memory. Each worker
 * instantiates the same compiled modules against the same memory, then sleeps on its slot of a
 * control block (in the heap, so it is shared too) until the calling thread posts a function and its
 * parameters; it runs it, raises its done flag and sleeps again. The calling thread does its own
 * share meanwhile and then blocks on the done flags with Atomics.wait, so kernels stay synchronous.
 * That thread must be one that may block: Node's main thread or any worker (in a browser, run the
 * engine in a dedicated Worker; see src/tensor/platform.ts).
 *
 * Functions are numbered by their place in the modules' export lists, which both sides read from
 * the same compiled modules. Parameters travel as float64s (exact for every i32, and f32 params).
 *
 * The worker is a small script passed as a string, so there is no file to resolve and no TypeScript
 * loader in the worker: under Node a `worker_threads` Worker (`eval: true`, its data as
 * `workerData`), in a browser a Worker from a Blob URL that takes its data from its first message.
 * Node's workers take posts at once (a post waits in the control block until the worker gets there);
 * a browser worker starts only once the creating thread returns to its event loop, so the pool says
 * when it is `ready` and, until then, callers run every part of a split kernel themselves.
 */
import { nodeBuiltin } from '../platform.ts';
import type { FloatBlock, WasmHeap } from './memory.ts';

/** Most parameters any pooled function takes. */
const maxParams = 32;
/** Bytes per worker slot: generation, done flag, function (i32s), then f64 params; whole cache lines. */
const slotBytes = Math.ceil((16 + 8 * maxParams) / 64) * 64;
const GEN = 0;
const DONE = 1;
const FN = 2;

/** The callable exports of the modules, in a fixed order: [module index, name]. */
const functionTable = (modules: readonly WebAssembly.Module[]): [number, string][] =>
  modules.flatMap((m, i) => WebAssembly.Module.exports(m).filter((e) => e.kind === 'function').map((e): [number, string] => [i, e.name]));

/** The worker's loop, the same on every platform: `modules`, `memory` and `slot` are in scope. */
const kernelLoop = `
const exports = modules.map((m) => new WebAssembly.Instance(m, { env: { memory } }).exports);
const fns = modules.flatMap((m, i) => WebAssembly.Module.exports(m).filter((e) => e.kind === 'function').map((e) => exports[i][e.name]));
const ctl = new Int32Array(memory.buffer, slot, 4);
const params = new Float64Array(memory.buffer, slot + 16, ${maxParams});
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${GEN}, seen);
  seen = Atomics.load(ctl, ${GEN});
  if (seen < 0) break;
  let status = 1;
  try {
    const fn = fns[ctl[${FN}]];
    const p = Array.from(params.subarray(0, fn.length));
    fn(...p);
  } catch (e) {
    status = 2;
  }
  Atomics.store(ctl, ${DONE}, status);
  Atomics.notify(ctl, ${DONE});
}
`;

const nodeSource = `const { workerData } = require('node:worker_threads');
const { modules, memory, slot } = workerData;
${kernelLoop}`;

const browserSource = `self.onmessage = (event) => {
  self.onmessage = null;
  const { modules, memory, slot } = event.data;
  self.postMessage('ready');
${kernelLoop}
};`;

interface WorkerData {
  readonly modules: readonly WebAssembly.Module[];
  readonly memory: WebAssembly.Memory;
  readonly slot: number;
}

/** A started worker: `ready` resolves once it takes posts; `terminate` stops it. */
interface Spawned {
  readonly ready: Promise<void>;
  terminate(): void;
}

type NodeWorkerCtor = new (src: string, opts: { eval: true; workerData: WorkerData }) => { unref(): void; terminate(): Promise<number> };
type BrowserWorker = { postMessage(m: unknown): void; terminate(): void; onmessage: ((e: { data: unknown }) => void) | null; onerror: ((e: { message?: string }) => void) | null };
type BrowserWorkerCtor = new (url: string) => BrowserWorker;

/** Starts one kernel worker on this platform, or says why it cannot. */
const spawnWorker = (data: WorkerData): Spawned => {
  const threads = nodeBuiltin<{ Worker: NodeWorkerCtor }>('node:worker_threads');
  if (threads) {
    const worker = new threads.Worker(nodeSource, { eval: true, workerData: data });
    worker.unref();
    return { ready: Promise.resolve(), terminate: () => void worker.terminate() };
  }
  const g = globalThis as { Worker?: BrowserWorkerCtor; Blob?: typeof Blob; URL?: typeof URL };
  if (!g.Worker || !g.Blob || !g.URL) throw new Error('fast backend: this runtime has neither worker_threads nor Web Workers');
  const url = g.URL.createObjectURL(new g.Blob([browserSource], { type: 'text/javascript' }));
  const worker = new g.Worker(url);
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => {
      worker.onmessage = null;
      g.URL?.revokeObjectURL(url);
      resolve();
    };
    worker.onerror = (e) => reject(new Error(`fast backend: a kernel worker failed to start (${e.message ?? 'no message'})`));
  });
  worker.postMessage(data);
  return { ready, terminate: () => worker.terminate() };
};

export class WorkerPool {
  private readonly workers: Spawned[] = [];
  /** Resolves once every worker takes posts (at once under Node). */
  readonly ready: Promise<void>;
  /** Whether `ready` has resolved: until then callers run split kernels themselves. */
  isReady = false;
  private readonly control: FloatBlock;
  private readonly ids: Map<string, number>;
  private closed = false;

  /** `size` workers (the calling thread is not counted) over the exports of `modules`. */
  constructor(private readonly heap: WasmHeap, modules: readonly WebAssembly.Module[], readonly size: number) {
    this.ids = new Map(functionTable(modules).map(([m, name], i) => [`${m}:${name}`, i]));
    this.control = heap.alloc((slotBytes / 4) * size);
    new Int32Array(heap.memory.buffer, this.control.offset, (slotBytes / 4) * size).fill(0);
    for (let w = 0; w < size; w++) this.workers.push(spawnWorker({ modules, memory: heap.memory, slot: this.slot(w) }));
    this.isReady = nodeBuiltin('node:worker_threads') !== undefined;
    this.ready = Promise.all(this.workers.map((w) => w.ready)).then(() => {
      this.isReady = true;
    });
  }

  private slot(w: number): number {
    return this.control.offset + slotBytes * w;
  }

  /** Starts worker w on export `name` of module `module` with `params`. */
  post(w: number, module: number, name: string, params: readonly number[]): void {
    if (this.closed) throw new Error('fast backend: worker pool is closed');
    const id = this.ids.get(`${module}:${name}`);
    if (id === undefined) throw new Error(`fast backend: no pooled function ${name} in module ${module}`);
    if (params.length > maxParams) throw new Error(`fast backend: ${name} takes more than ${maxParams} parameters`);
    const ctl = new Int32Array(this.heap.memory.buffer, this.slot(w), 4);
    new Float64Array(this.heap.memory.buffer, this.slot(w) + 16, params.length).set(params);
    ctl[FN] = id;
    Atomics.store(ctl, DONE, 0);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
  }

  /** Blocks until worker w has finished. */
  wait(w: number): void {
    const ctl = new Int32Array(this.heap.memory.buffer, this.slot(w), 4);
    while (Atomics.load(ctl, DONE) === 0) Atomics.wait(ctl, DONE, 0);
    if (Atomics.load(ctl, DONE) === 2) throw new Error('fast backend: a worker kernel failed');
  }

  /** Stops the workers (they are unref'd, so an open pool never keeps a process alive). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let w = 0; w < this.size; w++) {
      const ctl = new Int32Array(this.heap.memory.buffer, this.slot(w), 4);
      Atomics.store(ctl, GEN, -1);
      Atomics.notify(ctl, GEN);
    }
    for (const worker of this.workers) worker.terminate();
    this.heap.free(this.control);
  }
}
