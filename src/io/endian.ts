/**
 * Every format here stores little-endian numbers. On a little-endian host (all the usual
 * ones) a byte copy is the conversion; on a big-endian host we swap each element in place.
 */
export const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Converts between little-endian and host order, in place; a no-op on little-endian hosts. */
export const swapToHostInPlace = (bytes: Uint8Array, itemsize: number): Uint8Array => {
  if (littleEndianHost || itemsize === 1) return bytes;
  for (let i = 0; i < bytes.length; i += itemsize) bytes.subarray(i, i + itemsize).reverse();
  return bytes;
};

/**
 * An own, aligned copy of `bytes[begin, end)` in host order. Copying also fixes alignment:
 * a file's data may start at any offset, and a Float32Array view needs a multiple of 4.
 */
export const alignedCopy = (bytes: Uint8Array, begin: number, end: number, itemsize: number): ArrayBuffer =>
  swapToHostInPlace(bytes.slice(begin, end), itemsize).buffer as ArrayBuffer;

/** The little-endian bytes of a typed array: a view when the host is little-endian. */
export const littleEndianBytes = (a: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }, itemsize: number): Uint8Array => {
  const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return littleEndianHost ? view : swapToHostInPlace(view.slice(), itemsize);
};
