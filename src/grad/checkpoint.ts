/**
 * Gradient checkpointing, as torch.utils.checkpoint: a segment's intermediates are not kept for the
 * backward pass. The forward runs without the tape and keeps only the segment's output; the vjp
 * runs the segment again with the tape on and pulls the cotangent back through it. Memory of a
 * chain of elementwise ops (a norm, a modulation, an activation) drops to one tensor, for the price
 * of computing it twice.
 */
import { customVjp } from '../ops/core.ts';
import { zeros } from '../ops/create.ts';
import { shareStorage, type Tensor } from '../tensor/tensor.ts';
import { leafNode, nextNodeId, recording } from '../tensor/tape.ts';
import { backward } from './value-and-grad.ts';

/** A list as named inputs: "0", "1", … */
const byIndex = <T>(xs: readonly T[]): Record<string, T> => Object.fromEntries(xs.map((x, i) => [String(i), x]));

/**
 * f(xs), differentiable in xs, with f's intermediates rebuilt in the backward pass. Every tensor
 * that needs a gradient must come in through xs: tensors f closes over are constants to it.
 */
export const checkpoint = (f: (xs: readonly Tensor[]) => Tensor, xs: readonly Tensor[]): Tensor =>
  customVjp({
    inputs: byIndex(xs),
    // nothing kept: the vjp runs the segment again
    forward: () => ({ output: f(xs), residuals: null }),
    vjp: (g, _none, needs) => {
      const from = nextNodeId();
      const leaves = xs.map((x, i) => shareStorage(x, x.shape, needs[i] ? leafNode() : null));
      const y = recording(() => f(leaves));
      // the seed is consumed by backward, so it gets its own reference to g's buffer
      const cts = backward(y, shareStorage(g, g.shape, null), from);
      return byIndex(leaves.map((l) => (l.node ? cts.get(l.node) ?? zeros(l.shape, l.backend) : null)));
    },
  });
