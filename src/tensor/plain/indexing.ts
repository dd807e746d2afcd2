/** Shape and stride helpers shared by the strided kernels, and the size checks every kernel runs. */
import type { FloatArray } from '../backend.ts';
import { checkLengthOf, checkViewOf, forEachSlab } from '../views.ts';

export { collapseDims } from '../views.ts';
export { sizeOf } from '../shape.ts';

export const checkLength = (kernel: string, what: string, x: FloatArray, needed: number): void =>
  checkLengthOf('plain', kernel, what, x.length, needed);

/** Checks that every index offset + Σ idx_d·strides_d of a non-empty view lies inside x. */
export const checkView = (
  kernel: string, what: string, x: FloatArray, shape: readonly number[], strides: readonly number[], offset: number,
): void => checkViewOf('plain', kernel, what, x.length, shape, strides, offset);

/**
 * Visits a collapsed strided iteration as runs along the last dimension: calls run(offsets, start,
 * len) for each run, `offsets[j]` the starting element of operand j and `start` the output offset
 * (the slab walk of views.ts with one kept dimension; a scalar is one run of 1).
 */
export const forEachRun = (
  shape: readonly number[], strides: readonly (readonly number[])[],
  run: (offsets: number[], start: number, len: number) => void, bases?: readonly number[],
): void => {
  const starts = strides.map((_, j) => bases?.[j] ?? 0);
  if (shape.length === 0) {
    run(starts, 0, 1);
    return;
  }
  const inner = shape[shape.length - 1];
  forEachSlab(shape, strides, 1, starts, (offsets, start) => run(offsets, start, inner));
};
