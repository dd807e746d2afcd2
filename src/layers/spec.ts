/**
 * Param specs: the shape and initialiser of every tensor of a layer, as a tree with the same
 * structure (and so the same state-dict names) as its params. One spec gives the params
 * (`materialize`), the names and shapes a checkpoint must hold, and the parameter count, without
 * allocating a tensor — which is how the 62M-parameter `seed` network is checked cheaply.
 */
import * as R from '../tensor/random.ts';
import type { Backend } from '../tensor/backend.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { type Shape, sizeOf } from '../tensor/shape.ts';
import { full } from '../ops/create.ts';
import { normal, uniform } from '../ops/random.ts';
import { flattenTree } from '../grad/tree.ts';

export type Init =
  /** U(−bound, bound) */
  | { readonly kind: 'uniform'; readonly bound: number }
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'constant'; readonly value: number };

/** A symbol, so no module name a param record might use (`shape`, `kind`…) is taken for a leaf. */
const leaf: unique symbol = Symbol('spec leaf');

export interface TensorSpec {
  readonly [leaf]: 'tensor';
  readonly shape: Shape;
  readonly init: Init;
}

/** An integer counter that starts at 0 (batch norm's `num_batches_tracked`, an int64 in PyTorch). */
export interface CounterSpec {
  readonly [leaf]: 'counter';
}

export type LeafSpec = TensorSpec | CounterSpec;

/** The spec tree of a param (or state) tree: tensors become TensorSpecs, numbers CounterSpecs. */
export type Spec<T> = T extends Tensor
  ? TensorSpec
  : T extends number
    ? CounterSpec
    : { readonly [K in keyof T]: Spec<T[K]> };

export const tensorSpec = (shape: Shape, init: Init): TensorSpec => ({ [leaf]: 'tensor', shape: [...shape], init });
export const counterSpec: CounterSpec = { [leaf]: 'counter' };

export const isLeafSpec = (u: unknown): u is LeafSpec => typeof u === 'object' && u !== null && leaf in u;
export const isTensorSpec = (u: unknown): u is TensorSpec => isLeafSpec(u) && u[leaf] === 'tensor';

/**
 * PyTorch's default for Linear and Conv weights and biases: kaiming_uniform(a=√5) reduces to
 * U(−1/√fan_in, 1/√fan_in), and the bias uses the same bound.
 */
export const fanInUniform = (fanIn: number): Init => ({ kind: 'uniform', bound: 1 / Math.sqrt(fanIn) });
export const onesInit: Init = { kind: 'constant', value: 1 };
export const zerosInit: Init = { kind: 'constant', value: 0 };

const sample = (key: R.Key | null, s: TensorSpec, backend?: Backend): Tensor => {
  const { init } = s;
  if (init.kind === 'constant') return full(s.shape, init.value, backend);
  if (key === null) throw new Error(`materialize: a ${init.kind} initialiser needs a key`);
  return init.kind === 'uniform'
    ? uniform(key, s.shape, -init.bound, init.bound, backend)
    : normal(key, s.shape, 0, init.std, backend);
};

/** The children of a spec node, skipping absent optional members (so keys split the same way). */
const children = (node: object): [string, unknown][] =>
  (Array.isArray(node) ? node.map((v, i) => [String(i), v] as [string, unknown]) : Object.entries(node))
    .filter(([, v]) => v !== undefined);

const build = (key: R.Key | null, node: unknown, backend?: Backend): unknown => {
  if (isLeafSpec(node)) return node[leaf] === 'counter' ? 0 : sample(key, node, backend);
  if (typeof node !== 'object' || node === null) return node;
  const kids = children(node);
  // One key per child, recursively: a layer's params depend only on the key its parent gave it.
  const keys = key === null ? kids.map(() => null) : R.split(key, kids.length);
  const built = kids.map(([k, v], i) => [k, build(keys[i], v, backend)] as const);
  return Array.isArray(node) ? built.map(([, v]) => v) : Object.fromEntries(built);
};

/** Fresh params for a spec: the key is split once per child at every level of the tree. */
export const materialize = <T>(key: R.Key, spec: Spec<T>, backend?: Backend): T => build(key, spec, backend) as T;

/** Params or state made of constants and counters only (e.g. batch-norm running statistics): no key needed. */
export const materializeConstants = <T>(spec: Spec<T>, backend?: Backend): T => build(null, spec, backend) as T;

/** [dotted name, leaf] for every leaf of a spec, depth first (the order flattenTree gives params). */
export const specLeaves = (spec: unknown, path = ''): [string, LeafSpec][] => {
  if (isLeafSpec(spec)) return [[path, spec]];
  if (typeof spec !== 'object' || spec === null) return [];
  return children(spec).flatMap(([k, v]) => specLeaves(v, path ? `${path}.${k}` : k));
};

/** How many numbers the spec's tensors hold. */
export const specParamCount = (spec: unknown): number =>
  specLeaves(spec).reduce((n, [, s]) => n + (isTensorSpec(s) ? sizeOf(s.shape) : 0), 0);

/** How many numbers a param tree's tensors hold. */
export const countParams = (params: unknown): number => flattenTree(params).reduce((n, [, t]) => n + t.size, 0);
