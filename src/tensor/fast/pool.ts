/**
 * Worker threads that run `gemmShared` on the shared WebAssembly memory. Each worker instantiates
 * the same compiled module against the same memory, then sleeps on its slot of a control block (in
 * the heap, so it is shared too) until the main thread posts parameters; it takes chunks until none
 * are left, raises its done flag and sleeps again. The main thread takes chunks meanwhile and then
 * blocks on the done flags with Atomics.wait (allowed on Node's main thread), so kernels stay
 * synchronous.
 *
 * The worker is a small CommonJS script passed as a string (`eval: true`): no file to resolve, no
 * TypeScript loader needed in the worker.
 */
import { Worker } from 'node:worker_threads';
import { gemmParams, sharedParams } from './gemm-wasm.ts';
import type { FloatBlock, WasmHeap } from './memory.ts';

const paramCount = sharedParams.length + gemmParams.length;
/** Ints per worker slot: generation, done flag, the parameters; padded to whole cache lines. */
const slotInts = Math.ceil((2 + paramCount) / 16) * 16;
const GEN = 0;
const DONE = 1;

const workerSource = `
const { workerData } = require('node:worker_threads');
const { module, memory, slot, count } = workerData;
const { gemmShared } = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctl = new Int32Array(memory.buffer, slot, ${slotInts});
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${GEN}, seen);
  seen = Atomics.load(ctl, ${GEN});
  if (seen < 0) break;
  let status = 1;
  try {
    const p = new Array(count);
    for (let i = 0; i < count; i++) p[i] = ctl[2 + i];
    gemmShared(...p);
  } catch (e) {
    status = 2;
  }
  Atomics.store(ctl, ${DONE}, status);
  Atomics.notify(ctl, ${DONE});
}
`;

export class GemmPool {
  private readonly workers: Worker[] = [];
  private readonly control: FloatBlock;
  private readonly ctl: Int32Array;
  private closed = false;

  constructor(private readonly heap: WasmHeap, module: WebAssembly.Module, readonly size: number) {
    this.control = heap.alloc(slotInts * size);
    this.ctl = new Int32Array(heap.memory.buffer, this.control.offset, slotInts * size);
    this.ctl.fill(0);
    for (let w = 0; w < size; w++) {
      const worker = new Worker(workerSource, {
        eval: true,
        workerData: { module, memory: heap.memory, slot: this.control.offset + 4 * slotInts * w, count: paramCount },
      });
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** Starts worker w on `params` (those of gemmShared, in order). */
  post(w: number, params: readonly number[]): void {
    if (this.closed) throw new Error('fast backend: worker pool is closed');
    const base = w * slotInts;
    for (let i = 0; i < params.length; i++) this.ctl[base + 2 + i] = params[i];
    Atomics.store(this.ctl, base + DONE, 0);
    Atomics.add(this.ctl, base + GEN, 1);
    Atomics.notify(this.ctl, base + GEN);
  }

  /** Blocks until worker w has finished its share. */
  wait(w: number): void {
    const at = w * slotInts + DONE;
    while (Atomics.load(this.ctl, at) === 0) Atomics.wait(this.ctl, at, 0);
    if (Atomics.load(this.ctl, at) === 2) throw new Error('fast backend: a gemm worker failed');
  }

  /** Stops the workers (they are unref'd, so an open pool never keeps a process alive). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let w = 0; w < this.size; w++) {
      Atomics.store(this.ctl, w * slotInts + GEN, -1);
      Atomics.notify(this.ctl, w * slotInts + GEN);
    }
    for (const worker of this.workers) void worker.terminate();
    this.heap.free(this.control);
  }
}
