/**
 * NumPy's .npy format for float32 arrays in C order, as `np.save` writes it:
 *
 *   "\x93NUMPY" major minor, u16 (v1) or u32 (v2, v3) little-endian header length,
 *   a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
 *   padded with spaces and a final newline so the data starts 64-byte aligned,
 *   then the raw little-endian data.
 *
 * We read '<f4' and '<f8' (narrowed to float32) and refuse everything else with a reason.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as t from 'io-ts';
import { NonNegativeSafeInteger, decodeWith, nullProtoRecord, oneOf } from '../codec/codec.ts';
import { alignedCopy, littleEndianBytes } from './endian.ts';
import { EncodeError, FormatError } from '../codec/errors.ts';
import { type PyValue, parsePythonLiteral } from './python-literal.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ARRAY_ALIGN = 64;
/** numpy leaves room to rewrite the first axis in place (`GROWTH_AXIS_MAX_DIGITS`). */
const GROWTH_AXIS_MAX_DIGITS = 21;

export const NpyHeader = t.type({
  descr: oneOf('dtype', ['<f4', '<f8'] as const),
  fortran_order: t.boolean,
  shape: t.array(NonNegativeSafeInteger),
});
export type NpyHeader = t.TypeOf<typeof NpyHeader>;

export interface NpyArray {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

const fail = (path: readonly string[], reason: string): E.Either<FormatError, never> => E.left(new FormatError('npy', path, reason));

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Python dicts become Maps; io-ts checks records, so hand it prototype-free objects. */
const toPlain = (v: PyValue): unknown =>
  v instanceof Map ? nullProtoRecord([...v].map(([k, x]) => [k, toPlain(x)] as const)) : Array.isArray(v) ? v.map(toPlain) : v;

const readPreamble = (bytes: Uint8Array): E.Either<FormatError, { header: string; dataStart: number }> => {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) return fail([], 'not a .npy file (missing the "\\x93NUMPY" magic)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) return fail([], `unsupported format version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) return fail([], 'file ends inside the header length');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthBytes;
  if (headerStart + headerLength > bytes.length)
    return fail([], `header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`);
  const raw = bytes.subarray(headerStart, headerStart + headerLength);
  let header: string;
  try {
    header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(raw);
  } catch {
    return fail([], 'header is not valid UTF-8');
  }
  return E.right({ header, dataStart: headerStart + headerLength });
};

export const decodeNpyHeader = (bytes: Uint8Array): E.Either<FormatError, NpyHeader & { dataStart: number }> =>
  pipe(
    readPreamble(bytes),
    E.chain(({ header, dataStart }) =>
      pipe(
        parsePythonLiteral(header),
        E.mapLeft(reason => new FormatError('npy', [], `header is not a Python literal: ${reason}`)),
        E.chain(value => (value instanceof Map ? E.right(toPlain(value)) : fail([], 'header must be a dict'))),
        E.chain(plain => decodeWith('npy')(NpyHeader, plain)),
        E.chain(h =>
          h.fortran_order
            ? fail(['fortran_order'], 'Fortran-order (column-major) arrays are not supported: save np.ascontiguousarray(x)')
            : E.right({ ...h, dataStart }),
        ),
      ),
    ),
  );

export const decodeNpy = (bytes: Uint8Array): E.Either<FormatError, NpyArray> =>
  pipe(
    decodeNpyHeader(bytes),
    E.chain(({ descr, shape, dataStart }) => {
      const itemsize = descr === '<f4' ? 4 : 8;
      const available = bytes.length - dataStart;
      const n = count(shape);
      if (!Number.isSafeInteger(n * itemsize) || n * itemsize !== available)
        return fail(['shape'], `(${shape.join(', ')}) of ${descr} needs ${n * itemsize} bytes of data but the file has ${available}`);
      const buffer = alignedCopy(bytes, dataStart, bytes.length, itemsize);
      const data = descr === '<f4' ? new Float32Array(buffer) : Float32Array.from(new Float64Array(buffer));
      return E.right({ data, shape: [...shape] });
    }),
  );

/** Python's repr of a tuple of ints: `()`, `(3,)`, `(2, 3)`. */
const tupleRepr = (shape: readonly number[]): string => (shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`);

/** Writes exactly what `np.save(path, np.asarray(x, dtype='<f4'))` writes (numpy ≥ 1.24). */
export const encodeNpy = (data: Float32Array, shape: readonly number[]): Uint8Array => {
  if (!shape.every(d => Number.isSafeInteger(d) && d >= 0)) throw new EncodeError(`npy: shape [${shape.join(', ')}] must be non-negative integers`);
  if (count(shape) !== data.length) throw new EncodeError(`npy: shape [${shape.join(', ')}] holds ${count(shape)} elements but data has ${data.length}`);
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tupleRepr(shape)}, }`;
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const wrap = (preamble: number) => `${dict}${' '.repeat(ARRAY_ALIGN - ((preamble + dict.length + 1) % ARRAY_ALIGN))}\n`;
  // Version 2.0 only when the header outgrows version 1.0's u16 length, as numpy does.
  const major = wrap(10).length <= 0xffff ? 1 : 2;
  const preamble = major === 1 ? 10 : 12;
  const header = wrap(preamble);
  const out = new Uint8Array(preamble + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[preamble + i] = header.charCodeAt(i);
  out.set(littleEndianBytes(data, 4), preamble + header.length);
  return out;
};
