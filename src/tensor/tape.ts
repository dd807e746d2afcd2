/**
 * The gradient tape. While `valueAndGrad` runs a function, every op whose inputs depend on a
 * watched leaf records a node (its inputs and its vjp); nothing is recorded otherwise, so
 * inference pays nothing. The vjp closures are written with public ops, so they run on every backend.
 */
import type { GradNode, Tensor } from './tensor.ts';

let nextId = 0;
let depth = 0;

export const isRecording = (): boolean => depth > 0;

/** The id the next node will get: nodes made from now on have ids at least this. */
export const nextNodeId = (): number => nextId;

/** Runs fn with recording on (nested calls stack). */
export const recording = <T>(fn: () => T): T => {
  depth++;
  try {
    return fn();
  } finally {
    depth--;
  }
};

/** Runs fn with recording off: used while running vjps and for stop-gradient regions. */
export const notRecording = <T>(fn: () => T): T => {
  const saved = depth;
  depth = 0;
  try {
    return fn();
  } finally {
    depth = saved;
  }
};

export type Vjp = (g: Tensor) => readonly (Tensor | null)[];

/** The node for an op's output, or null when no input needs a gradient (or nothing records). */
export const nodeFor = (inputs: readonly Tensor[], vjp: Vjp): GradNode | null =>
  depth > 0 && inputs.some((t) => t.node !== null) ? { id: nextId++, inputs, vjp } : null;

/** The node of a watched leaf. */
export const leafNode = (): GradNode => ({ id: nextId++, inputs: [], vjp: null });
