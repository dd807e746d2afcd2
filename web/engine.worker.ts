/**
 * The page's engine: a dedicated module worker that makes every library call, so the page's main
 * thread only draws. It answers each request of web/protocol.ts with one reply and sends events
 * (sampling steps, training progress) as they happen. Requests run one at a time in arrival
 * order; training steps interleave with them, since its loop yields between steps.
 */
import type { Backend } from '../src/index.ts';
import type { Capabilities, FromWorker, PageBackend, Request, Requests, RequestKind, WorkerEvent } from './protocol.ts';
import { capabilities, usable } from './worker/capabilities.ts';
import { backendFor, compareBackends, loadModel, type Post, sample } from './worker/sampling.ts';
import { checkpointFile, guideFile, pauseTraining, resumeTraining, startTraining } from './worker/training.ts';

interface WorkerScope {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<Request>) => void) | null;
}
const scope = self as unknown as WorkerScope;

const post: Post = (e: WorkerEvent, transfer: Transferable[] = []) => scope.postMessage(e, transfer);

let caps: Capabilities | null = null;
let chosen: { name: PageBackend; b: Backend } | null = null;

const capsNow = (): Capabilities => {
  caps ??= capabilities();
  return caps;
};

/** The backend sampling uses: the one chosen, else the first this browser can run. */
const backendNow = async (): Promise<{ name: PageBackend; b: Backend }> => {
  if (chosen) return chosen;
  const c = capsNow();
  const name: PageBackend = usable(c, 'fast') ? 'fast' : 'gpujs-gpu';
  chosen = { name, b: await backendFor(name, c) };
  return chosen;
};

type Handler<K extends RequestKind> = (args: Requests[K]['args']) => Promise<Requests[K]['result']> | Requests[K]['result'];

const handlers: { [K in RequestKind]: Handler<K> } = {
  init: () => capsNow(),
  useBackend: async ({ name }) => {
    const start = performance.now();
    chosen = { name, b: await backendFor(name, capsNow()) };
    return { name, ms: performance.now() - start };
  },
  loadModel: async ({ safetensors, config, guide, what }) => {
    const { name, b } = await backendNow();
    return loadModel({ safetensors, ...(config === undefined ? {} : { config }), ...(guide === undefined ? {} : { guide }) }, what, name, b);
  },
  compareBackends: ({ batch, repeats }) => compareBackends(capsNow(), batch, repeats),
  sample: async (req) => {
    const { name, b } = await backendNow();
    return sample(req, name, b, post);
  },
  trainStart: async (req) => {
    const { name, b } = await backendNow();
    return startTraining(req, name, b, post);
  },
  trainPause: () => pauseTraining(),
  trainResume: () => resumeTraining(post),
  checkpoint: () => checkpointFile(),
  guideFile: () => guideFile(),
};

/** Transferable buffers of a result, so large arrays move instead of being copied. */
const transfers = (result: unknown): Transferable[] => {
  if (typeof result !== 'object' || result === null) return [];
  return Object.values(result).flatMap((v) => (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer ? [v.buffer] : []));
};

// one request at a time: a chain of promises in arrival order
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (e) => {
  const req = e.data;
  queue = queue.then(async () => {
    try {
      const result = await (handlers[req.kind] as Handler<RequestKind>)(req.args as never);
      scope.postMessage({ kind: 'reply', id: req.id, ok: true, result }, transfers(result));
    } catch (err) {
      scope.postMessage({ kind: 'reply', id: req.id, ok: false, message: err instanceof Error ? err.message : String(err) });
    }
  });
};
