/** Shape and stride helpers shared by the strided kernels, and the size checks every kernel runs. */
import type { FloatArray } from '../backend.ts';
import { checkLengthOf, checkViewOf } from '../views.ts';

export { collapseDims } from '../views.ts';

export const sizeOfShape = (shape: readonly number[]): number => {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
};

export const checkLength = (kernel: string, what: string, x: FloatArray, needed: number): void =>
  checkLengthOf('plain', kernel, what, x.length, needed);

/** Checks that every index offset + Σ idx_d·strides_d of a non-empty view lies inside x. */
export const checkView = (
  kernel: string, what: string, x: FloatArray, shape: readonly number[], strides: readonly number[], offset: number,
): void => checkViewOf('plain', kernel, what, x.length, shape, strides, offset);

/**
 * Visits a collapsed strided iteration as runs along the last dimension: calls run(offsets, start,
 * len) for each run, `offsets[j]` the starting element of operand j and `start` the output offset.
 * The odometer over the outer dims updates offsets incrementally.
 */
export const forEachRun = (
  shape: readonly number[], strides: readonly (readonly number[])[],
  run: (offsets: number[], start: number, len: number) => void, bases?: readonly number[],
): void => {
  const rank = shape.length;
  const offsets = strides.map((_, j) => bases?.[j] ?? 0);
  if (rank === 0) {
    run(offsets, 0, 1);
    return;
  }
  const inner = shape[rank - 1];
  const outer = sizeOfShape(shape) / inner;
  const idx = new Array<number>(rank - 1).fill(0);
  for (let o = 0; o < outer; o++) {
    run(offsets, o * inner, inner);
    for (let d = rank - 2; d >= 0; d--) {
      for (let j = 0; j < offsets.length; j++) offsets[j] += strides[j][d];
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
      for (let j = 0; j < offsets.length; j++) offsets[j] -= strides[j][d] * shape[d];
    }
  }
};
