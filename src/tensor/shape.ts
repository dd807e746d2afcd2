/** Shapes as plain readonly number arrays, and the error every shape mismatch throws. */

export type Shape = readonly number[];

/** A programmer error: the shapes given to an op do not fit. Shows the op and every shape. */
export class ShapeError extends Error {
  constructor(readonly op: string, readonly shapes: readonly Shape[], detail: string) {
    super(`${op}: ${detail} (shapes ${shapes.map(showShape).join(', ')})`);
    this.name = 'ShapeError';
  }
}

export const showShape = (s: Shape): string => `[${s.join(', ')}]`;

export const sizeOf = (s: Shape): number => s.reduce((a, b) => a * b, 1);

export const sameShape = (a: Shape, b: Shape): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Row-major (C order) strides. */
export const stridesOf = (s: Shape): number[] => {
  const out = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    out[i] = acc;
    acc *= s[i];
  }
  return out;
};

export const assertValidShape = (op: string, s: Shape): void => {
  for (const d of s) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(op, [s], `dimension ${d} is not a non-negative integer`);
  }
};

/** NumPy broadcasting of two shapes; throws a ShapeError naming the op when they do not broadcast. */
export const broadcastShapes = (op: string, a: Shape, b: Shape): number[] => {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, [a, b], `dimension ${i} of the broadcast result: ${da} vs ${db} do not broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
};

/** Strides that read `from` as if it had shape `to` (leading and size-1 dimensions broadcast with stride 0). */
export const broadcastStrides = (from: Shape, to: Shape): number[] => {
  const s = stridesOf(from);
  const offset = to.length - from.length;
  return to.map((_, i) => {
    const j = i - offset;
    return j < 0 || from[j] === 1 ? 0 : s[j];
  });
};

/** Normalises a possibly negative axis; throws a ShapeError when out of range. */
export const normAxis = (op: string, axis: number, rank: number, shape: Shape): number => {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new ShapeError(op, [shape], `axis ${axis} is out of range for rank ${rank}`);
  }
  return a;
};
