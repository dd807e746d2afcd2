/**
 * Tensors: immutable float values with a shape, living on one backend.
 *
 * A tensor's user-visible fields never change. Internally a tensor points to a reference-counted
 * storage so that reshapes and stop-gradients share one buffer; `dispose` and scopes (`tidy`)
 * release buffers deterministically, which matters on GL backends where GC never frees textures.
 */
import type { Backend, FloatArray, Handle } from './backend.ts';
import { type Shape, sizeOf } from './shape.ts';

/** Reverse-mode bookkeeping attached by `src/grad` while a gradient tape is recording. */
export interface GradNode {
  readonly id: number;
  readonly inputs: readonly Tensor[];
  /** Cotangent of the output → cotangents of the inputs (null where an input gets none). */
  readonly vjp: ((g: Tensor) => readonly (Tensor | null)[]) | null;
}

interface Storage {
  readonly backend: Backend;
  readonly handle: Handle;
  refs: number;
}

export interface Tensor {
  readonly shape: Shape;
  readonly size: number;
  readonly backend: Backend;
  /** @internal */
  readonly storage: Storage;
  /** @internal set once, at creation, by the tape */
  readonly node: GradNode | null;
  /** @internal */
  disposed: boolean;
}

// ---- scopes -----------------------------------------------------------------------------------

const scopes: Tensor[][] = [];

const track = (t: Tensor): Tensor => {
  const top = scopes[scopes.length - 1];
  if (top) top.push(t);
  return t;
};

/** Wraps a backend handle the caller owns as a new tensor. */
export const fromHandle = (backend: Backend, handle: Handle, shape: Shape, node: GradNode | null = null): Tensor =>
  track({
    shape: Object.freeze([...shape]),
    size: sizeOf(shape),
    backend,
    storage: { backend, handle, refs: 1 },
    node,
    disposed: false,
  });

/** A new tensor sharing `t`'s buffer, with another shape (same size) and/or grad node. */
export const shareStorage = (t: Tensor, shape: Shape, node: GradNode | null): Tensor => {
  assertLive(t, 'view');
  t.storage.refs++;
  return track({ shape: Object.freeze([...shape]), size: t.size, backend: t.backend, storage: t.storage, node, disposed: false });
};

export const handleOf = (t: Tensor): Handle => {
  assertLive(t, 'read');
  return t.storage.handle;
};

const assertLive = (t: Tensor, what: string): void => {
  if (t.disposed) throw new Error(`${what}: tensor of shape [${t.shape.join(', ')}] was already disposed`);
};

/** Releases the tensor's buffer (once no other view shares it). Disposing twice is a no-op. */
export const dispose = (t: Tensor): void => {
  if (t.disposed) return;
  t.disposed = true;
  if (--t.storage.refs === 0) t.storage.backend.dispose(t.storage.handle);
};

export const isTensor = (x: unknown): x is Tensor =>
  typeof x === 'object' && x !== null && 'storage' in x && 'shape' in x && 'backend' in x;

/** Every tensor in a nested record/array (the "tree"), depth first. */
export const treeTensors = (tree: unknown, out: Tensor[] = []): Tensor[] => {
  if (isTensor(tree)) out.push(tree);
  else if (Array.isArray(tree)) for (const x of tree) treeTensors(x, out);
  else if (typeof tree === 'object' && tree !== null && !ArrayBuffer.isView(tree)) for (const v of Object.values(tree)) treeTensors(v, out);
  return out;
};

export const disposeTree = (tree: unknown): void => treeTensors(tree).forEach(dispose);

/**
 * Runs `fn` in a scope: every tensor created inside and not reachable from its result is
 * disposed when it returns (or throws). Tensors in the result move to the enclosing scope.
 */
export const tidy = <T>(fn: () => T): T => {
  const scope: Tensor[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    scope.forEach(dispose);
    throw e;
  }
  scopes.pop();
  const keep = new Set(treeTensors(result));
  for (const t of scope) if (!keep.has(t)) dispose(t);
  const parent = scopes[scopes.length - 1];
  if (parent) {
    const created = new Set(scope);
    for (const t of keep) if (created.has(t)) parent.push(t);
  }
  return result;
};

/** Removes `t` from every open scope so it outlives them (the caller then owns it). */
export const keep = <T extends Tensor>(t: T): T => {
  for (const s of scopes) {
    const i = s.indexOf(t);
    if (i >= 0) s.splice(i, 1);
  }
  return t;
};

// ---- reading ----------------------------------------------------------------------------------

/** A fresh float32 copy of the values (row-major). */
export const toFloat32 = (t: Tensor): Float32Array => {
  const raw = t.backend.read(handleOf(t), t.size);
  return raw instanceof Float32Array ? raw : Float32Array.from(raw);
};

/** The values at the backend's own precision (float64 on the plain64 backend). */
export const toRaw = (t: Tensor): FloatArray => t.backend.read(handleOf(t), t.size);

export const toArray = (t: Tensor): number[] => Array.from(toRaw(t));

/** The value of a one-element tensor. */
export const item = (t: Tensor): number => {
  if (t.size !== 1) throw new Error(`item: expected one element, got shape [${t.shape.join(', ')}]`);
  return toRaw(t)[0];
};
