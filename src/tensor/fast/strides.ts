/**
 * Strided iteration for the data-movement and broadcast kernels: dimension collapsing and the slab
 * walk (views.ts, shared with the plain backend), and the fast backend's bounds checks.
 */
import { checkLengthOf, checkViewOf } from '../views.ts';

export { sizeOf } from '../shape.ts';
export { collapseDims, forEachSlab } from '../views.ts';

export const checkView = (
  kernel: string, what: string, length: number, shape: readonly number[], strides: readonly number[], offset: number,
): void => checkViewOf('fast', kernel, what, length, shape, strides, offset);

export const checkLength = (kernel: string, what: string, length: number, needed: number): void =>
  checkLengthOf('fast', kernel, what, length, needed);
