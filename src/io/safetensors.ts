/**
 * The safetensors format (https://github.com/huggingface/safetensors), as pure bytes in,
 * bytes out:
 *
 *   [u64 little-endian N][N bytes of JSON header][data section]
 *
 * The header maps tensor names to `{dtype, shape, data_offsets: [begin, end]}` (offsets
 * relative to the data section) plus an optional `"__metadata__": {string: string}`.
 * Decoding treats the file as hostile: every check happens on the header before any tensor
 * is copied, so a bad file costs at most a copy of itself, and the answer is a `FormatError`
 * that names the tensor and the reason.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as t from 'io-ts';
import { NonNegativeSafeInteger, decodeWith, isPlainObject, nullProtoRecord, oneOf, pairOf, safeRecord } from '../codec/codec.ts';
import { littleEndianBytes, swapToHostInPlace } from './endian.ts';
import { EncodeError, FormatError } from '../codec/errors.ts';
import { bf16ToFloat32, f16ToFloat32, float32ToBf16, float32ToF16 } from './half.ts';

/** Largest header we parse; the reference implementation uses the same bound. */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

// ---------------------------------------------------------------------------------------------
// dtypes: the bytes per element on disk and the typed array a tensor decodes to

export const DTYPES = ['BOOL', 'U8', 'I8', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64'] as const;
export const Dtype = oneOf('dtype', DTYPES);
export type Dtype = t.TypeOf<typeof Dtype>;

/** F16 and BF16 widen to float32 in memory; every other dtype keeps its own width. */
export interface ArrayForDtype {
  BOOL: Uint8Array;
  U8: Uint8Array;
  I8: Int8Array;
  I16: Int16Array;
  U16: Uint16Array;
  F16: Float32Array;
  BF16: Float32Array;
  I32: Int32Array;
  U32: Uint32Array;
  F32: Float32Array;
  F64: Float64Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
}

export type Entry = {
  [D in Dtype]: { readonly dtype: D; readonly shape: readonly number[]; readonly data: ArrayForDtype[D] };
}[Dtype];

export type Tensors = Readonly<Record<string, Entry>>;
export type Metadata = Readonly<Record<string, string>>;
export interface Safetensors {
  /** A prototype-free record: a tensor may be named `__proto__`. */
  readonly tensors: Tensors;
  /** `{}` when the file has no `__metadata__`. */
  readonly metadata: Metadata;
}

type AnyTypedArray = ArrayForDtype[Dtype];
interface Layout {
  /** bytes per element on disk */
  readonly itemsize: number;
  readonly isArray: (a: unknown) => boolean;
  /** little-endian disk bytes (an own, aligned buffer) -> the in-memory array */
  readonly fromBytes: (buffer: ArrayBuffer) => AnyTypedArray;
  /** the in-memory array -> little-endian disk bytes */
  readonly toBytes: (a: AnyTypedArray) => Uint8Array;
}

const plain = (
  itemsize: number,
  Ctor: new (buffer: ArrayBuffer) => AnyTypedArray,
  isArray: (a: unknown) => boolean,
): Layout => ({
  itemsize,
  isArray,
  fromBytes: buffer => new Ctor(swapToHostInPlace(new Uint8Array(buffer), itemsize).buffer as ArrayBuffer),
  toBytes: a => littleEndianBytes(a, itemsize),
});

const half = (toFloat32: (h: Uint16Array) => Float32Array, fromFloat32: (x: Float32Array) => Uint16Array): Layout => ({
  itemsize: 2,
  isArray: a => a instanceof Float32Array,
  fromBytes: buffer => toFloat32(new Uint16Array(swapToHostInPlace(new Uint8Array(buffer), 2).buffer as ArrayBuffer)),
  toBytes: a => littleEndianBytes(fromFloat32(a as Float32Array), 2),
});

const LAYOUTS: { readonly [D in Dtype]: Layout } = {
  BOOL: plain(1, Uint8Array, a => a instanceof Uint8Array),
  U8: plain(1, Uint8Array, a => a instanceof Uint8Array),
  I8: plain(1, Int8Array, a => a instanceof Int8Array),
  I16: plain(2, Int16Array, a => a instanceof Int16Array),
  U16: plain(2, Uint16Array, a => a instanceof Uint16Array),
  F16: half(f16ToFloat32, float32ToF16),
  BF16: half(bf16ToFloat32, float32ToBf16),
  I32: plain(4, Int32Array, a => a instanceof Int32Array),
  U32: plain(4, Uint32Array, a => a instanceof Uint32Array),
  F32: plain(4, Float32Array, a => a instanceof Float32Array),
  F64: plain(8, Float64Array, a => a instanceof Float64Array),
  I64: plain(8, BigInt64Array, a => a instanceof BigInt64Array),
  U64: plain(8, BigUint64Array, a => a instanceof BigUint64Array),
};

export const itemsize = (dtype: Dtype): number => LAYOUTS[dtype].itemsize;

/** Product of the dims, or `undefined` past 2^53 (no tensor that large fits in a file). */
const elementCount = (shape: readonly number[]): number | undefined => {
  if (shape.includes(0)) return 0;
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (count > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return count;
};

// ---------------------------------------------------------------------------------------------
// the header codec: runtime check and static type in one place

const Shape = t.array(NonNegativeSafeInteger);

const TensorInfoFields = t.type({ dtype: Dtype, shape: Shape, data_offsets: pairOf(NonNegativeSafeInteger) });

/** One tensor's header entry; the byte range must hold exactly product(shape) elements. */
export const TensorInfo = new t.Type<t.TypeOf<typeof TensorInfoFields>, t.OutputOf<typeof TensorInfoFields>, unknown>(
  'TensorInfo',
  TensorInfoFields.is,
  (u, c) =>
    pipe(
      TensorInfoFields.validate(u, c),
      E.chain(info => {
        const [begin, end] = info.data_offsets;
        if (end < begin) return t.failure(u, c, `data_offsets [${begin}, ${end}] end before they begin`);
        const count = elementCount(info.shape);
        const size = LAYOUTS[info.dtype].itemsize;
        const shapeText = `[${info.shape.join(', ')}]`;
        if (count === undefined) return t.failure(u, c, `shape ${shapeText} has more than 2^53 elements`);
        if (end - begin !== count * size)
          return t.failure(
            u,
            c,
            `byte size ${end - begin} (data_offsets [${begin}, ${end}]) ≠ product(shape ${shapeText}) · itemsize ${size} = ${count * size} for ${info.dtype}`,
          );
        return t.success(info);
      }),
    ),
  t.identity,
);
export type TensorInfo = t.TypeOf<typeof TensorInfo>;

const MetadataCodec = safeRecord(
  METADATA_KEY,
  new t.Type<string, string, unknown>(
    'string',
    t.string.is,
    (u, c) => (typeof u === 'string' ? t.success(u) : t.failure(u, c, `metadata values must be strings, got a ${u === null ? 'null' : Array.isArray(u) ? 'array' : typeof u}`)),
    t.identity,
  ),
);
const TensorInfos = safeRecord('the header', TensorInfo);

export interface Header {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: ReadonlyMap<string, string>;
}

/**
 * The whole JSON header: a JSON object of tensor entries plus the optional `__metadata__`.
 * Encoding puts `__metadata__` first and the tensors in the map's order, which
 * `encodeSafetensors` builds sorted by name.
 */
export const Header = new t.Type<Header, Record<string, unknown>, unknown>(
  'SafetensorsHeader',
  (u): u is Header => typeof u === 'object' && u !== null && (u as Header).tensors instanceof Map,
  (u, c) => {
    if (!isPlainObject(u))
      return t.failure(u, c, `header must be a JSON object, got ${u === null ? 'null' : Array.isArray(u) ? 'an array' : `a ${typeof u}`}`);
    // Object rest copies own keys with CreateDataProperty, so a `__proto__` entry stays a key.
    const { [METADATA_KEY]: metadata, ...rest } = u;
    const hasMetadata = Object.hasOwn(u, METADATA_KEY);
    return pipe(
      TensorInfos.validate(rest, c),
      E.chain(tensors =>
        hasMetadata
          ? pipe(
              MetadataCodec.validate(metadata, t.appendContext(c, METADATA_KEY, MetadataCodec, metadata)),
              E.map((m): Header => ({ tensors, metadata: m })),
            )
          : t.success<Header>({ tensors, metadata: new Map() }),
      ),
    );
  },
  header =>
    nullProtoRecord<unknown>([
      ...(header.metadata.size > 0 ? [[METADATA_KEY, MetadataCodec.encode(header.metadata)] as const] : []),
      ...[...header.tensors].map(([name, info]) => [name, TensorInfo.encode(info)] as const),
    ]),
);

// ---------------------------------------------------------------------------------------------
// decoding

const fail = (path: readonly string[], reason: string): E.Either<FormatError, never> =>
  E.left(new FormatError('safetensors', path, reason));

const readHeaderLength = (bytes: Uint8Array): E.Either<FormatError, number> => {
  if (bytes.length < 8) return fail([], `file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) return fail([], `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n > BigInt(bytes.length - 8))
    return fail([], `header length ${n} runs past the end of the file (${bytes.length - 8} bytes after the length)`);
  return E.right(Number(n));
};

const parseJson = (bytes: Uint8Array): E.Either<FormatError, unknown> => {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail([], 'header is not valid UTF-8');
  }
  try {
    return E.right(JSON.parse(text) as unknown);
  } catch (e) {
    return fail([], `header is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
};

/** Validates the header's structure (the codec) before anything is interpreted. */
const validateHeader = (json: unknown): E.Either<FormatError, Header> => decodeWith('safetensors')(Header, json);

/**
 * The data section must be covered exactly: tensors sorted by offset must abut, start at 0
 * and end at the end of the file. Overlaps would alias tensors; holes hide bytes.
 */
const checkLayout = (header: Header, dataLength: number): E.Either<FormatError, Header> => {
  const entries = [...header.tensors].sort(
    ([na, a], [nb, b]) => a.data_offsets[0] - b.data_offsets[0] || a.data_offsets[1] - b.data_offsets[1] || (na < nb ? -1 : 1),
  );
  for (const [name, info] of entries) {
    const [begin, end] = info.data_offsets;
    if (end > dataLength)
      return fail([name, 'data_offsets'], `[${begin}, ${end}] reach past the end of the data section (${dataLength} bytes)`);
  }
  let cursor = 0;
  let previous: string | undefined;
  for (const [name, info] of entries) {
    const [begin, end] = info.data_offsets;
    if (begin < cursor)
      return fail([name, 'data_offsets'], `[${begin}, ${end}] overlap tensor ${JSON.stringify(previous)}, which ends at ${cursor}`);
    if (begin > cursor)
      return fail([name, 'data_offsets'], `[${begin}, ${end}] leave a hole: bytes [${cursor}, ${begin}) belong to no tensor`);
    cursor = end;
    previous = name;
  }
  if (cursor !== dataLength)
    return fail([], `the tensors cover ${cursor} bytes but the data section has ${dataLength}: bytes [${cursor}, ${dataLength}) belong to no tensor`);
  return E.right(header);
};

const extract = (header: Header, data: Uint8Array): Safetensors => ({
  tensors: nullProtoRecord(
    [...header.tensors].map(([name, info]): readonly [string, Entry] => {
      const [begin, end] = info.data_offsets;
      // slice() copies into a fresh ArrayBuffer: the data section may sit at any byte offset,
      // and typed-array views need alignment.
      const buffer = data.slice(begin, end).buffer;
      return [name, { dtype: info.dtype, shape: [...info.shape], data: LAYOUTS[info.dtype].fromBytes(buffer) } as Entry];
    }),
  ),
  metadata: nullProtoRecord(header.metadata),
});

export const decodeSafetensors = (bytes: Uint8Array): E.Either<FormatError, Safetensors> =>
  pipe(
    readHeaderLength(bytes),
    E.chain(n =>
      pipe(
        parseJson(bytes.subarray(8, 8 + n)),
        E.chain(validateHeader),
        E.chain(header => checkLayout(header, bytes.length - 8 - n)),
        E.map(header => extract(header, bytes.subarray(8 + n))),
      ),
    ),
  );

/** Only the header: cheap inspection of names, dtypes and shapes without copying tensors. */
export const decodeSafetensorsHeader = (bytes: Uint8Array): E.Either<FormatError, Header> =>
  pipe(
    readHeaderLength(bytes),
    E.chain(n => pipe(parseJson(bytes.subarray(8, 8 + n)), E.chain(validateHeader), E.chain(h => checkLayout(h, bytes.length - 8 - n)))),
  );

// ---------------------------------------------------------------------------------------------
// encoding

const checkEntry = (name: string, entry: Entry): void => {
  const where = `safetensors: tensor ${JSON.stringify(name)}`;
  if (name === METADATA_KEY) throw new EncodeError(`safetensors: "${METADATA_KEY}" is reserved and cannot name a tensor`);
  if (!Dtype.is(entry.dtype)) throw new EncodeError(`${where}: unknown dtype ${JSON.stringify(entry.dtype)}`);
  if (!Shape.is(entry.shape)) throw new EncodeError(`${where}: shape [${entry.shape.join(', ')}] must be non-negative integers`);
  if (!LAYOUTS[entry.dtype].isArray(entry.data))
    throw new EncodeError(`${where}: dtype ${entry.dtype} needs data of another array type than ${entry.data?.constructor?.name}`);
  if (elementCount(entry.shape) !== entry.data.length)
    throw new EncodeError(`${where}: shape [${entry.shape.join(', ')}] holds ${elementCount(entry.shape)} elements but data has ${entry.data.length}`);
};

/**
 * The header JSON with keys in the map's order. `JSON.stringify` of an object would move
 * integer-like names ("10") to the front; writing the entries ourselves keeps name order.
 */
export const stringifyHeader = (header: Header): string => {
  const encoded = Header.encode(header);
  return `{${Object.keys(encoded)
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
    .map(key => `${JSON.stringify(key)}:${JSON.stringify(encoded[key])}`)
    .join(',')}}`;
};
const rank = (key: string): number => (key === METADATA_KEY ? 0 : 1);

/**
 * Tensors are laid out contiguously in name order; the header is padded with spaces so the
 * data section starts 8-byte aligned. Throws `EncodeError` when an entry's data and shape
 * disagree (a programmer error, not a bad file).
 */
export const encodeSafetensors = (tensors: Tensors, metadata: Metadata = {}): Uint8Array => {
  const names = Object.keys(tensors).sort();
  const chunks: Uint8Array[] = [];
  const infos = new Map<string, TensorInfo>();
  let offset = 0;
  for (const name of names) {
    const entry = tensors[name]!;
    checkEntry(name, entry);
    const bytes = LAYOUTS[entry.dtype].toBytes(entry.data);
    infos.set(name, { dtype: entry.dtype, shape: [...entry.shape], data_offsets: [offset, offset + bytes.length] });
    chunks.push(bytes);
    offset += bytes.length;
  }
  const metadataMap = new Map<string, string>();
  for (const key of Object.keys(metadata)) {
    const value = metadata[key];
    if (typeof value !== 'string') throw new EncodeError(`safetensors: metadata ${JSON.stringify(key)} must be a string`);
    metadataMap.set(key, value);
  }
  const json = new TextEncoder().encode(stringifyHeader({ tensors: infos, metadata: metadataMap }));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
};
