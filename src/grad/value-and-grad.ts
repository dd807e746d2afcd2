/**
 * `valueAndGrad(f)(params)`: the value of a scalar function of a param tree and its gradient, a tree
 * of the same shape. Reverse mode over the nodes the tape recorded: cotangents are pulled back
 * through each vjp in reverse creation order, and a value used several times sums its cotangents.
 */
import { dispose, type GradNode, shareStorage, type Tensor, tidy } from '../tensor/tensor.ts';
import { showShape } from '../tensor/shape.ts';
import { leafNode, notRecording, recording } from '../tensor/tape.ts';
import { mapTree } from './tree.ts';
import { add } from '../ops/elementwise.ts';
import { full, zeros } from '../ops/create.ts';

/**
 * Cotangents of every recorded node reachable from `out`, seeded with `seed` (ones by default; the
 * seed is consumed). Nodes with ids below `fromId` are not visited: a recomputation (checkpoint)
 * stops there, so the graph recorded around it is left to the outer pass.
 */
export const backward = (out: Tensor, seed?: Tensor, fromId = 0): Map<GradNode, Tensor> => {
  const grads = new Map<GradNode, Tensor>();
  if (!out.node) return grads;
  const nodes = new Map<number, GradNode>();
  const stack: GradNode[] = [out.node];
  while (stack.length) {
    const n = stack.pop() as GradNode;
    if (nodes.has(n.id) || n.id < fromId) continue;
    nodes.set(n.id, n);
    for (const i of n.inputs) if (i.node && !nodes.has(i.node.id)) stack.push(i.node);
  }
  const order = [...nodes.values()].sort((a, b) => b.id - a.id);
  // A cotangent is freed as soon as nothing holds it: each vjp's temporaries by a scope, an
  // intermediate node's cotangent once its vjp has run, partial sums once they are added up.
  // Only the leaves' cotangents survive. `holds` counts the map entries that point to a tensor.
  const holds = new Map<Tensor, number>();
  const hold = (t: Tensor, d: number): void => {
    holds.set(t, (holds.get(t) ?? 0) + d);
  };
  const release = (t: Tensor): void => {
    if (!holds.get(t)) dispose(t);
  };
  notRecording(() => {
    const first = seed ?? full(out.shape, 1, out.backend);
    grads.set(out.node as GradNode, first);
    hold(first, 1);
    for (const node of order) {
      const g = grads.get(node);
      if (!g || !node.vjp) continue;
      const vjp = node.vjp;
      const cts = tidy(() => vjp(g));
      const consumed: Tensor[] = [];
      node.inputs.forEach((input, i) => {
        const ct = cts[i];
        if (!input.node || !ct) {
          if (ct && ct !== g) consumed.push(ct);
          return;
        }
        if (ct.shape.length !== input.shape.length || ct.shape.some((d, k) => d !== input.shape[k])) {
          throw new Error(`internal: a vjp returned a cotangent of shape ${showShape(ct.shape)} for an input of shape ${showShape(input.shape)}`);
        }
        const prev = grads.get(input.node);
        if (prev) {
          const sum = add(prev, ct);
          hold(prev, -1);
          consumed.push(prev, ct);
          grads.set(input.node, sum);
          hold(sum, 1);
        } else {
          grads.set(input.node, ct);
          hold(ct, 1);
        }
      });
      if (node.inputs.length > 0) {
        grads.delete(node);
        hold(g, -1);
        consumed.push(g);
      }
      for (const t of consumed) release(t);
    }
  });
  return grads;
};

export interface ValueAndGrad<P, A> {
  readonly value: Tensor;
  readonly grads: P;
  readonly aux: A;
}

/**
 * A tape-free tensor of its own sharing t's buffer: results hold no references to freed
 * intermediates, and two results never are the same object (so disposing one leaves the other).
 */
const detach = (t: Tensor): Tensor => shareStorage(t, t.shape, null);

const run = <P, A>(f: (params: P) => readonly [Tensor, A], params: P): ValueAndGrad<P, A> =>
  tidy(() => {
    const [watched, value, aux] = recording(() => {
      const w = mapTree(params, (t) => shareStorage(t, t.shape, leafNode()));
      const [v, a] = f(w);
      return [w, v, a] as const;
    });
    if (value.size !== 1) throw new Error(`valueAndGrad: the function must return a scalar, got shape ${showShape(value.shape)}`);
    const cts = backward(value);
    const grads = mapTree(watched, (leaf) => {
      const g = leaf.node && cts.get(leaf.node);
      return g ? detach(g) : zeros(leaf.shape, leaf.backend);
    });
    return { value: detach(value), grads, aux: mapTree(aux, detach) };
  });

/** The value and gradient of a scalar-valued f at params (a nested record/array of tensors). */
export const valueAndGrad = <P>(f: (params: P) => Tensor) => (params: P): { readonly value: Tensor; readonly grads: P } =>
  run((p: P) => [f(p), undefined] as const, params);

/** Like valueAndGrad for f returning [loss, aux]; aux (e.g. new batch-norm statistics) is returned without gradient. */
export const valueAndGradWithAux = <P, A>(f: (params: P) => readonly [Tensor, A]) => (params: P): ValueAndGrad<P, A> =>
  run(f, params);

/** Just the gradient; the value is disposed. */
export const grad = <P>(f: (params: P) => Tensor) => (params: P): P => {
  const { value, grads } = valueAndGrad(f)(params);
  dispose(value);
  return grads;
};
