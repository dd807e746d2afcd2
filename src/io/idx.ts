/**
 * The IDX format of the MNIST files (http://yann.lecun.com/exdb/mnist/):
 *
 *   u8 0, u8 0, u8 type (0x08 = unsigned byte), u8 number of dims,
 *   one big-endian u32 per dim, then the elements in row-major order.
 *
 * So labels start with 0x00000801 and images with 0x00000803. Only unsigned bytes are
 * supported (that is all MNIST and Fashion-MNIST use); the byte count must match exactly.
 */
import * as E from 'fp-ts/lib/Either.js';
import { EncodeError, FormatError } from '../codec/errors.ts';

export interface Idx {
  readonly dims: readonly number[];
  /** A view into the input bytes (no copy): the elements after the header. */
  readonly data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;
const MAX_DIMS = 4;

const fail = (reason: string): E.Either<FormatError, never> => E.left(new FormatError('idx', [], reason));
const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

export const decodeIdx = (bytes: Uint8Array): E.Either<FormatError, Idx> => {
  if (bytes.length < 4) return fail(`file is ${bytes.length} bytes, too short for the 4-byte magic number`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = bytes[2]!;
  const rank = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0)
    return fail(`magic number ${hex(magic)} does not start with two zero bytes (a gzipped file starts 0x1f8b: gunzip it first)`);
  if (type !== UNSIGNED_BYTE) return fail(`magic number ${hex(magic)}: element type 0x${type.toString(16).padStart(2, '0')} is not unsigned byte (0x08)`);
  if (rank < 1 || rank > MAX_DIMS) return fail(`magic number ${hex(magic)}: ${rank} dimensions, expected 1 to ${MAX_DIMS}`);
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) return fail(`file is ${bytes.length} bytes, too short for the ${rank} dimension sizes`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerLength;
  if (expected !== actual) return fail(`dims [${dims.join(', ')}] need ${expected} bytes of data but the file has ${actual}`);
  return E.right({ dims, data: bytes.subarray(headerLength) });
};

/** The inverse, for tests and small fixtures. */
export const encodeIdx = (dims: readonly number[], data: Uint8Array): Uint8Array => {
  if (dims.length < 1 || dims.length > MAX_DIMS || !dims.every(d => Number.isInteger(d) && d >= 0 && d <= 0xffffffff))
    throw new EncodeError(`idx: dims [${dims.join(', ')}] must be 1 to ${MAX_DIMS} unsigned 32-bit integers`);
  if (dims.reduce((a, b) => a * b, 1) !== data.length)
    throw new EncodeError(`idx: dims [${dims.join(', ')}] hold ${dims.reduce((a, b) => a * b, 1)} bytes but data has ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out.set([0, 0, UNSIGNED_BYTE, dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
};
