/**
 * Strided views shared by the CPU backends: collapsing dimensions that walk as one, and bounds
 * checks (a kernel given a view that would read outside its buffer throws a RangeError naming the
 * backend, the kernel and the operand; it never reads garbage).
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

/**
 * Merges dimensions that every operand walks as one: dims d and d+1 merge when, for each stride
 * array, stride[d] = stride[d+1]·shape[d+1]. Size-1 dims are dropped (their stride never moves).
 * Contiguous same-shape operands thus collapse to one dimension with stride 1 and a broadcast scalar
 * to stride 0, which turns the strided loops into single flat runs.
 */
export const collapseDims = (
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } => {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0
      && strides.every((s, j) => outStrides[j][last] === s[d] * shape[d]);
    if (mergeable) {
      outShape[last] *= shape[d];
      strides.forEach((s, j) => { outStrides[j][last] = s[d]; });
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, j) => { outStrides[j].push(s[d]); });
    }
  }
  return { shape: outShape, strides: outStrides };
};
