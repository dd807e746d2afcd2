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

/**
 * Calls run(offsets, start) for every multi-index of shape[0 .. shape.length − keep): `offsets[j]`
 * the element of operand j where that slab begins (from `bases`), `start` the output position
 * (slabs are sizeOf(last `keep` dims) long, in order). With keep = rank there is one call.
 */
export const forEachSlab = (
  shape: readonly number[], strides: readonly (readonly number[])[], keep: number,
  bases: readonly number[], run: (offsets: number[], start: number) => void,
): void => {
  const lead = shape.length - keep;
  const slab = sizeOf(shape.slice(lead));
  const count = sizeOf(shape.slice(0, lead));
  const offsets = bases.slice();
  const idx = new Array<number>(Math.max(0, lead)).fill(0);
  for (let o = 0; o < count; o++) {
    run(offsets, o * slab);
    for (let d = lead - 1; d >= 0; d--) {
      for (let j = 0; j < offsets.length; j++) offsets[j] += strides[j][d];
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
      for (let j = 0; j < offsets.length; j++) offsets[j] -= strides[j][d] * shape[d];
    }
  }
};
