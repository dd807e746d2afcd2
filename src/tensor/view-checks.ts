/**
 * Bounds checks shared by the CPU backends: a kernel given a view that would read outside its
 * buffer throws a RangeError naming the backend, the kernel and the operand, never reads garbage.
 */
import { sizeOf } from './shape.ts';

export const checkLengthOf = (backend: string, kernel: string, what: string, length: number, needed: number): void => {
  if (length < needed) throw new RangeError(`${backend} ${kernel}: ${what} has ${length} elements, needs ${needed}`);
};

/** Throws unless every element offset + Σ idx_d·strides_d of a non-empty view lies in [0, length). */
export const checkViewOf = (
  backend: string, kernel: string, what: string, length: number, shape: readonly number[],
  strides: readonly number[], offset: number,
): void => {
  if (strides.length !== shape.length) {
    throw new RangeError(`${backend} ${kernel}: ${what} has ${strides.length} strides for rank ${shape.length}`);
  }
  if (sizeOf(shape) === 0) return;
  let lo = offset;
  let hi = offset;
  for (let d = 0; d < shape.length; d++) {
    const reach = (shape[d] - 1) * strides[d];
    if (reach < 0) lo += reach;
    else hi += reach;
  }
  if (lo < 0 || hi >= length) {
    throw new RangeError(`${backend} ${kernel}: ${what} view [${shape}] strides [${strides}] offset ${offset} `
      + `reaches [${lo}, ${hi}] outside its ${length} elements`);
  }
};
