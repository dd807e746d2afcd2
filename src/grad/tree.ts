/** Param trees: nested readonly records and arrays with tensors at the leaves. */
import { isTensor, type Tensor } from '../tensor/tensor.ts';

/** Maps every tensor leaf (other leaves are kept as they are), preserving the structure. */
export const mapTree = <T>(tree: T, fn: (t: Tensor, path: string) => Tensor, path = ''): T => {
  if (isTensor(tree)) return fn(tree, path) as T;
  if (Array.isArray(tree)) return tree.map((x, i) => mapTree(x, fn, path ? `${path}.${i}` : `${i}`)) as T;
  if (typeof tree === 'object' && tree !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(tree)) out[k] = mapTree(v, fn, path ? `${path}.${k}` : k);
    return out as T;
  }
  return tree;
};

/** Maps leaves of several trees of the same structure together (e.g. params, grads, moments). */
export const zipTrees = <T>(trees: readonly T[], fn: (ts: Tensor[], path: string) => Tensor, path = ''): T => {
  const [first] = trees;
  if (isTensor(first)) return fn(trees as unknown as Tensor[], path) as T;
  if (Array.isArray(first)) {
    return first.map((_, i) => zipTrees(trees.map((t) => (t as unknown[])[i]), fn, path ? `${path}.${i}` : `${i}`)) as T;
  }
  if (typeof first === 'object' && first !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(first)) {
      const parts = trees.map((t) => (t as Record<string, unknown>)[k]);
      if (parts.some((p) => p === undefined)) throw new Error(`zipTrees: "${path ? `${path}.${k}` : k}" is missing from one of the trees`);
      out[k] = zipTrees(parts, fn, path ? `${path}.${k}` : k);
    }
    return out as T;
  }
  return first;
};

/** [path, tensor] for every leaf, depth first, paths joined with dots (PyTorch state-dict style). */
export const flattenTree = (tree: unknown, path = ''): [string, Tensor][] => {
  if (isTensor(tree)) return [[path, tree]];
  if (Array.isArray(tree)) return tree.flatMap((x, i) => flattenTree(x, path ? `${path}.${i}` : `${i}`));
  if (typeof tree === 'object' && tree !== null) {
    return Object.entries(tree).flatMap(([k, v]) => flattenTree(v, path ? `${path}.${k}` : k));
  }
  return [];
};
