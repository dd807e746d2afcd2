/**
 * The page's side of the protocol: a typed `call(kind, args)` that resolves with the worker's
 * reply to that request, and a listener for the events the worker sends on its own.
 */
import type { FromWorker, Request, RequestKind, Requests, WorkerEvent } from '../protocol.ts';

export interface EngineClient {
  call<K extends RequestKind>(kind: K, args: Requests[K]['args'], transfer?: Transferable[]): Promise<Requests[K]['result']>;
  onEvent(listener: (e: WorkerEvent) => void): void;
}

/** Starts the engine worker (a module worker beside this page's script) and talks to it. */
export const startEngine = (): EngineClient => {
  const worker = new Worker(new URL('./engine.worker.js', import.meta.url), { type: 'module', name: 'diffusion-engine' });
  const pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  const listeners: ((e: WorkerEvent) => void)[] = [];
  let next = 1;
  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    const m = e.data;
    if (m.kind !== 'reply') {
      for (const l of listeners) l(m);
      return;
    }
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.ok) p?.resolve(m.result);
    else p?.reject(new Error(m.message));
  };
  worker.onerror = (e) => {
    const err = new Error(`the engine worker failed: ${e.message || 'it could not start (a module worker needs a current browser)'}`);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  return {
    call: (kind, args, transfer = []) => new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      worker.postMessage({ id, kind, args } as Request, transfer);
    }),
    onEvent: (l) => {
      listeners.push(l);
    },
  };
};
