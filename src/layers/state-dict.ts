/**
 * PyTorch-style state dicts: the trainable params and the non-trainable state (batch-norm running
 * statistics) are kept in two trees of the same structure, and merged by name for a checkpoint —
 * at every level the state's members follow the params' (so a BatchNorm gives weight, bias,
 * running_mean, running_var, num_batches_tracked, as PyTorch lists them).
 */
import * as E from 'fp-ts/lib/Either.js';
import { isTensor, type Tensor } from '../tensor/tensor.ts';
import { sameShape, showShape } from '../tensor/shape.ts';
import { isLeafSpec, isTensorSpec, type LeafSpec, type Spec } from './spec.ts';

/** An int64 scalar (PyTorch's `num_batches_tracked`); the engine's tensors are floats. */
export interface Int64 {
  readonly int64: number;
}

export type StateDictValue = Tensor | Int64;
export type StateDictEntry = readonly [string, StateDictValue];

export const isInt64 = (u: unknown): u is Int64 =>
  typeof u === 'object' && u !== null && !isTensor(u) && typeof (u as { int64?: unknown }).int64 === 'number';

/** Leaves of `a` and `b` merged into one tree, depth first: shared members recurse, b's extra members follow a's. */
const mergedLeaves = <L>(a: unknown, b: unknown, isLeaf: (u: unknown) => u is L, path = ''): [string, L][] => {
  if (isLeaf(a)) return [[path, a]];
  if (isLeaf(b)) return [[path, b]];
  const join = (k: string) => (path ? `${path}.${k}` : k);
  if (Array.isArray(a) || Array.isArray(b)) {
    const xs = Array.isArray(a) ? a : [];
    const ys = Array.isArray(b) ? b : [];
    return Array.from({ length: Math.max(xs.length, ys.length) }, (_, i) => mergedLeaves(xs[i], ys[i], isLeaf, join(String(i)))).flat();
  }
  const ra = typeof a === 'object' && a !== null ? (a as Record<string, unknown>) : {};
  const rb = typeof b === 'object' && b !== null ? (b as Record<string, unknown>) : {};
  const keys = [...Object.keys(ra), ...Object.keys(rb).filter((k) => !(k in ra))];
  return keys.flatMap((k) => mergedLeaves(ra[k], rb[k], isLeaf, join(k)));
};

const isStateLeaf = (u: unknown): u is Tensor | number => isTensor(u) || typeof u === 'number';

/** Every tensor of params and state, named and ordered as PyTorch's `state_dict()`; counters become int64 scalars. */
export const stateDict = (params: unknown, state: unknown = {}): StateDictEntry[] =>
  mergedLeaves(params, state, isStateLeaf).map(([name, v]) => [name, typeof v === 'number' ? { int64: v } : v]);

/** The names and leaf specs a checkpoint of these specs holds, in state-dict order. */
export const specStateDict = (params: unknown, state: unknown = {}): [string, LeafSpec][] =>
  mergedLeaves(params, state, isLeafSpec);

export type StateDictProblem =
  | { readonly kind: 'missing'; readonly name: string; readonly expected: string }
  | { readonly kind: 'unexpected'; readonly name: string; readonly got: string }
  | { readonly kind: 'duplicate'; readonly name: string }
  | { readonly kind: 'mismatch'; readonly name: string; readonly expected: string; readonly got: string };

const describeProblem = (p: StateDictProblem): string => {
  switch (p.kind) {
    case 'missing': return `missing tensor "${p.name}" (expected ${p.expected})`;
    case 'unexpected': return `unexpected tensor "${p.name}" (${p.got})`;
    case 'duplicate': return `tensor "${p.name}" appears more than once`;
    case 'mismatch': return `tensor "${p.name}": expected ${p.expected}, got ${p.got}`;
  }
};

/** A checkpoint that does not fit the network; lists every problem, each naming its tensor. */
export class StateDictError extends Error {
  constructor(readonly problems: readonly StateDictProblem[]) {
    const shown = problems.slice(0, 20).map(describeProblem);
    if (problems.length > 20) shown.push(`… and ${problems.length - 20} more`);
    super(`state dict does not fit the network: ${shown.join('; ')}`);
    this.name = 'StateDictError';
  }
}

const describeSpec = (s: LeafSpec): string => (isTensorSpec(s) ? `shape ${showShape(s.shape)}` : 'an int64 scalar');
const describeValue = (v: StateDictValue): string => (isInt64(v) ? 'an int64 scalar' : `shape ${showShape(v.shape)}`);

const fits = (s: LeafSpec, v: StateDictValue): boolean =>
  isTensorSpec(s) ? !isInt64(v) && sameShape(s.shape, (v as Tensor).shape) : isInt64(v);

/** Rebuilds a tree of the spec's structure with each leaf taken from `lookup` by its dotted name. */
const fill = (spec: unknown, lookup: (name: string) => StateDictValue, path = ''): unknown => {
  if (isLeafSpec(spec)) {
    const v = lookup(path);
    return isInt64(v) ? v.int64 : v;
  }
  if (typeof spec !== 'object' || spec === null) return spec;
  const join = (k: string) => (path ? `${path}.${k}` : k);
  if (Array.isArray(spec)) return spec.map((s, i) => fill(s, lookup, join(String(i))));
  return Object.fromEntries(Object.entries(spec).filter(([, s]) => s !== undefined).map(([k, s]) => [k, fill(s, lookup, join(k))]));
};

/**
 * Params and state from checkpoint entries, checked against the specs: every expected name present
 * once, no other names, every shape (and int64-ness) as expected. The tensors are used as given.
 */
export const loadStateDict = <P, S>(
  entries: readonly StateDictEntry[],
  specs: { readonly params: Spec<P>; readonly state: Spec<S> },
): E.Either<StateDictError, { readonly params: P; readonly state: S }> => {
  const expected = new Map(specStateDict(specs.params, specs.state));
  const given = new Map<string, StateDictValue>();
  const problems: StateDictProblem[] = [];
  for (const [name, value] of entries) {
    if (given.has(name)) problems.push({ kind: 'duplicate', name });
    given.set(name, value);
  }
  for (const [name, s] of expected) {
    const v = given.get(name);
    if (v === undefined) problems.push({ kind: 'missing', name, expected: describeSpec(s) });
    else if (!fits(s, v)) problems.push({ kind: 'mismatch', name, expected: describeSpec(s), got: describeValue(v) });
  }
  for (const [name, v] of given) {
    if (!expected.has(name)) problems.push({ kind: 'unexpected', name, got: describeValue(v) });
  }
  if (problems.length > 0) return E.left(new StateDictError(problems));
  const lookup = (name: string) => given.get(name) as StateDictValue;
  return E.right({ params: fill(specs.params, lookup) as P, state: fill(specs.state, lookup) as S });
};
