/** The one place an op's output tensor is made: backend checks, the kernel call, and the grad node. */
import type { Backend, Handle } from '../tensor/backend.ts';
import { fromHandle, handleOf, shareStorage, type Tensor, tidy } from '../tensor/tensor.ts';
import type { Shape } from '../tensor/shape.ts';
import { nodeFor, notRecording } from '../tensor/tape.ts';

/** The backend shared by all inputs; mixing backends is a programmer error. */
export const backendOf = (op: string, inputs: readonly Tensor[]): Backend => {
  const b = inputs[0].backend;
  for (const t of inputs) {
    if (t.backend !== b) throw new Error(`${op}: inputs live on different backends (${b.name} and ${t.backend.name})`);
  }
  return b;
};

/**
 * Runs `kernel` on the inputs' handles and wraps the result. `vjp(g, out)` maps the output's
 * cotangent to the inputs' (null where none), and is only kept while a tape records.
 */
export const emit = (
  op: string,
  inputs: readonly Tensor[],
  shape: Shape,
  kernel: (b: Backend, hs: Handle[]) => Handle,
  vjp: (g: Tensor, out: Tensor) => readonly (Tensor | null)[],
): Tensor => {
  const b = backendOf(op, inputs);
  const h = kernel(b, inputs.map(handleOf));
  let out: Tensor | undefined;
  const node = nodeFor(inputs, (g) => vjp(g, out as Tensor));
  out = fromHandle(b, h, shape, node);
  return out;
};

/**
 * An op composed of other ops whose intermediates the tape must not keep alive: `forward` runs
 * unrecorded in its own scope, so only its result survives, and `vjp` recomputes what it needs
 * from the inputs (rematerialisation). `needs[i]` says whether input i wants a cotangent, so the
 * vjp can skip work (it returns null there).
 */
export const rematerialised = (
  inputs: readonly Tensor[],
  forward: () => Tensor,
  vjp: (g: Tensor, needs: readonly boolean[]) => readonly (Tensor | null)[],
): Tensor => {
  const y = notRecording(() => tidy(forward));
  const needs = inputs.map((t) => t.node !== null);
  const node = nodeFor(inputs, (g) => vjp(g, needs));
  return node ? shareStorage(y, y.shape, node) : y;
};
