/**
 * Splitting one kernel call over threads: thread t runs the same exported function on its own
 * range (calls[t]); thread 0 is the caller, the rest are pool workers started at the first split.
 * Below `parallelMinElements` a kernel stays on the calling thread, where waking a worker (tens of
 * µs) costs more than it saves. While the pool is not ready (a browser's workers start only once the
 * creating thread yields to its event loop; see pool.ts) the caller runs every part itself: the parts
 * are disjoint ranges, so the result is the same.
 */
import type { WasmHeap } from './memory.ts';
import { WorkerPool } from './pool.ts';

export const parallelMinElements = 1 << 16;

/** [from, to) for part t of n items in `parts` parts, boundaries on multiples of `align`. */
export const splitRange = (n: number, parts: number, align = 4): [number, number][] => {
  const out: [number, number][] = [];
  for (let t = 0; t < parts; t++) {
    const from = t === 0 ? 0 : Math.min(n, Math.round((t * n) / parts / align) * align);
    const to = t === parts - 1 ? n : Math.min(n, Math.round(((t + 1) * n) / parts / align) * align);
    out.push([from, Math.max(from, to)]);
  }
  return out;
};

export class Workers {
  private pool: WorkerPool | null = null;

  /** `threads` counts the caller; modules are those whose exports workers may run, in a fixed order. */
  constructor(private readonly heap: WasmHeap, private readonly modules: readonly WebAssembly.Module[], readonly threads: number) {}

  /** How many threads a kernel over `elements` items should use. */
  threadsFor(elements: number): number {
    return this.threads > 1 && elements >= parallelMinElements ? this.threads : 1;
  }

  /**
   * Runs export `name` of module `module` with calls[t] on thread t, calls[0] here through `local`
   * (this thread's instance). Returns once every thread has finished, even when one throws.
   */
  run(module: number, name: string, calls: readonly (readonly number[])[], local: (params: readonly number[]) => void): void {
    if (calls.length === 1) {
      local(calls[0]);
      return;
    }
    const pool = this.start();
    if (!pool.isReady) {
      for (const call of calls) local(call);
      return;
    }
    for (let t = 1; t < calls.length; t++) pool.post(t - 1, module, name, calls[t]);
    let failure: unknown = null;
    try {
      local(calls[0]);
    } catch (e) {
      failure = e;
    }
    for (let t = 1; t < calls.length; t++) {
      try {
        pool.wait(t - 1);
      } catch (e) {
        failure ??= e;
      }
    }
    if (failure !== null) throw failure;
  }

  /** The pool, started now if it was not: its workers take posts once `ready` resolves. */
  start(): WorkerPool {
    this.pool ??= new WorkerPool(this.heap, this.modules, this.threads - 1);
    return this.pool;
  }

  /** Starts the workers and resolves once they take posts (at once under Node). */
  async ready(): Promise<void> {
    if (this.threads > 1) await this.start().ready;
  }

  close(): void {
    this.pool?.close();
    this.pool = null;
  }
}

/**
 * Runs a kernel over n items split into ranges (boundaries on multiples of `align`) when n is large
 * and workers exist; `params(from, to)` gives the call for one range, `local` runs it here. `work`
 * (default n) is the size that decides whether splitting pays.
 */
export const runSplit = (workers: Workers | null, module: number, name: string, n: number, align: number,
  params: (from: number, to: number) => readonly number[], local: (p: readonly number[]) => void, work = n): void => {
  const t = workers ? Math.max(1, Math.min(workers.threadsFor(work), Math.ceil(n / align))) : 1;
  const calls = splitRange(n, t, align).map(([from, to]) => params(from, to));
  if (t <= 1 || !workers) local(calls[0]);
  else workers.run(module, name, calls, local);
};
