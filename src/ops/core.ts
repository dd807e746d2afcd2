/** The one place an op's output tensor is made: backend checks, the kernel call, and the grad node. */
import type { Backend, Handle } from '../tensor/backend.ts';
import { fromHandle, handleOf, shareStorage, type Tensor, tidy } from '../tensor/tensor.ts';
import type { Shape } from '../tensor/shape.ts';
import { isRecording, nodeFor, notRecording } from '../tensor/tape.ts';

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

/** An op's named inputs; null marks an optional input that is absent (a missing bias). */
export type NamedInputs = Readonly<Record<string, Tensor | null>>;

/** Which inputs want a cotangent: those that depend on a watched leaf. */
export type Needs<I extends NamedInputs> = { readonly [K in keyof I]: boolean };

/** Cotangents by input name; an input left out (or null) gets none. */
export type NamedGrads<I extends NamedInputs> = { readonly [K in keyof I]?: Tensor | null };

export interface CustomVjp<I extends NamedInputs, R> {
  readonly inputs: I;
  /**
   * The output, and the residuals the vjp reads (tensors, or records of them; `null` when the vjp
   * recomputes what it needs from the inputs). Runs with the tape off in its own scope: every other
   * intermediate is freed as it returns, and the residuals live only while a tape holds the node.
   */
  readonly forward: (inputs: I) => { readonly output: Tensor; readonly residuals: R };
  /** The inputs' cotangents from the output's (`g`), the residuals and which inputs need one. */
  readonly vjp: (g: Tensor, residuals: R, needs: Needs<I>) => NamedGrads<I>;
}

/**
 * An op built from other ops with its gradient declared beside it: the one way to write a fused or
 * composite op (a plain kernel op uses {@link emit}). Named inputs, a forward that returns the output
 * and its residuals, a vjp that returns named cotangents; which inputs need a gradient, dropping the
 * residuals when nothing records, and keeping the forward's temporaries off the tape are handled
 * here, once.
 */
export const customVjp = <I extends NamedInputs, R>({ inputs, forward, vjp }: CustomVjp<I, R>): Tensor => {
  const names = (Object.keys(inputs) as (keyof I & string)[]).filter((k) => inputs[k] !== null);
  const present = names.map((k) => inputs[k] as Tensor);
  if (!isRecording() || present.every((t) => t.node === null)) return notRecording(() => tidy(() => forward(inputs).output));
  const needs = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, t !== null && t.node !== null])) as Needs<I>;
  const { output, residuals } = notRecording(() => tidy(() => forward(inputs)));
  const node = nodeFor(present, (g) => {
    const grads = vjp(g, residuals, needs);
    return names.map((k) => (needs[k] ? grads[k] ?? null : null));
  });
  return shareStorage(output, output.shape, node);
};
