/**
 * Strided iteration for the data-movement and broadcast kernels: dimension collapsing, and a walk
 * over the outer dimensions that hands each innermost run to a callback.
 */
import { checkLengthOf, checkViewOf } from '../views.ts';

export const sizeOf = (shape: readonly number[]): number => {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
};

export { collapseDims } from '../views.ts';

/**
 * Calls run(offsets, start) for every multi-index of shape[0 .. shape.length − keep): `offsets[j]`
 * the element of operand j where that slab begins (from `bases`), `start` the output position
 * (slabs are sizeOf(last `keep` dims) long, in order). With keep = rank there is one call.
 */
export const forEachSlab = (
  shape: readonly number[], strides: readonly (readonly number[])[], keep: number,
  bases: readonly number[], run: (offsets: readonly number[], start: number) => void,
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

export const checkView = (
  kernel: string, what: string, length: number, shape: readonly number[], strides: readonly number[], offset: number,
): void => checkViewOf('fast', kernel, what, length, shape, strides, offset);

export const checkLength = (kernel: string, what: string, length: number, needed: number): void =>
  checkLengthOf('fast', kernel, what, length, needed);
