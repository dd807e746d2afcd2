import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nullProtoRecord } from '../src/codec/codec.ts';
import { bf16BitsToNumber, f16BitsToNumber, numberToBf16Bits, numberToF16Bits } from '../src/io/half.ts';
import { DTYPES, type Dtype, type Entry, decodeSafetensors, decodeSafetensorsHeader, encodeSafetensors } from '../src/io/safetensors.ts';

// ---- arbitraries -------------------------------------------------------------------------------

const diskItemsize: Record<Dtype, number> = { BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8 };

/** Any bit pattern of the dtype, built from random little-endian bytes (NaN payloads included). */
const entryFromBytes = (dtype: Dtype, shape: number[], bytes: Uint8Array): Entry => {
  const b = bytes.slice().buffer;
  switch (dtype) {
    case 'BOOL': return { dtype, shape, data: new Uint8Array(b).map(x => x & 1) };
    case 'U8': return { dtype, shape, data: new Uint8Array(b) };
    case 'I8': return { dtype, shape, data: new Int8Array(b) };
    case 'I16': return { dtype, shape, data: new Int16Array(b) };
    case 'U16': return { dtype, shape, data: new Uint16Array(b) };
    case 'F16': return { dtype, shape, data: Float32Array.from(new Uint16Array(b), f16BitsToNumber) };
    case 'BF16': return { dtype, shape, data: Float32Array.from(new Uint16Array(b), bf16BitsToNumber) };
    case 'I32': return { dtype, shape, data: new Int32Array(b) };
    case 'U32': return { dtype, shape, data: new Uint32Array(b) };
    case 'F32': return { dtype, shape, data: new Float32Array(b) };
    case 'F64': return { dtype, shape, data: new Float64Array(b) };
    case 'I64': return { dtype, shape, data: new BigInt64Array(b) };
    case 'U64': return { dtype, shape, data: new BigUint64Array(b) };
  }
};

/** Shapes include scalars `[]` and zero-size dims. */
const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });

const entryArb: fc.Arbitrary<Entry> = fc
  .tuple(fc.constantFrom(...DTYPES), shapeArb)
  .chain(([dtype, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1) * diskItemsize[dtype];
    return fc.uint8Array({ minLength: n, maxLength: n }).map(bytes => entryFromBytes(dtype, shape, bytes));
  });

const nameArb = fc
  .oneof(
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.array(fc.stringMatching(/^[a-z0-9_]{1,6}$/), { minLength: 1, maxLength: 4 }).map(parts => parts.join('.')),
    fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '', ' ', 'ü.Ω.数', 'a"b\\c\n'),
  )
  .filter(name => name !== '__metadata__');

const tensorsArb = fc
  .uniqueArray(fc.tuple(nameArb, entryArb), { selector: ([name]) => name, maxLength: 6 })
  .map(entries => nullProtoRecord(entries));

const metadataArb = fc
  .uniqueArray(fc.tuple(nameArb, fc.string({ unit: 'grapheme', maxLength: 10 })), { selector: ([k]) => k, maxLength: 3 })
  .map(entries => nullProtoRecord(entries));

const bytesOf = (a: Entry['data']) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

// ---- laws ----------------------------------------------------------------------------------------

describe('safetensors round trip', () => {
  it('decode ∘ encode = id (names, dtypes, shapes, every bit of the data, metadata)', () => {
    fc.assert(
      fc.property(tensorsArb, metadataArb, (tensors, metadata) => {
        const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata));
        if (E.isLeft(decoded)) throw decoded.left;
        const { tensors: back, metadata: backMeta } = decoded.right;
        expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
        for (const name of Object.keys(tensors)) {
          const a = tensors[name]!;
          const b = back[name]!;
          expect(b.dtype).toBe(a.dtype);
          expect(b.shape).toEqual(a.shape);
          expect(b.data.constructor).toBe(a.data.constructor);
          expect(Buffer.from(bytesOf(b.data)).equals(Buffer.from(bytesOf(a.data)))).toBe(true);
        }
        expect(Object.entries(backMeta).sort()).toEqual(Object.entries(metadata).sort());
      }),
      { numRuns: 300 },
    );
  });

  it('encode is canonical: encode ∘ decode ∘ encode = encode; header 8-aligned; tensors contiguous in name order', () => {
    fc.assert(
      fc.property(tensorsArb, metadataArb, (tensors, metadata) => {
        const bytes = encodeSafetensors(tensors, metadata);
        const decoded = decodeSafetensors(bytes);
        if (E.isLeft(decoded)) throw decoded.left;
        const again = encodeSafetensors(decoded.right.tensors, decoded.right.metadata);
        expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
        expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
        const header = decodeSafetensorsHeader(bytes);
        if (E.isLeft(header)) throw header.left;
        const names = [...header.right.tensors.keys()].sort();
        let cursor = 0;
        for (const name of names) {
          const info = header.right.tensors.get(name)!;
          expect(info.data_offsets[0]).toBe(cursor);
          cursor = info.data_offsets[1];
        }
        // and the JSON itself lists them in that order, metadata first
        const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
        const at = (name: string) => Math.max(text.indexOf(`{${JSON.stringify(name)}:{"dtype"`), text.indexOf(`,${JSON.stringify(name)}:{"dtype"`));
        const positions = names.map(at);
        expect(positions.every(p => p >= 0)).toBe(true);
        expect(positions).toEqual([...positions].sort((a, b) => a - b));
      }),
      { numRuns: 200 },
    );
  });
});

// ---- fuzz: hostile bytes never throw and never allocate beyond the file ---------------------------

const decodeNeverThrows = (bytes: Uint8Array): void => {
  const result = decodeSafetensors(bytes); // an exception here fails the property
  if (E.isRight(result)) {
    let allocated = 0;
    for (const entry of Object.values(result.right.tensors)) allocated += entry.data.byteLength;
    // F16/BF16 widen 2 -> 4 bytes; nothing else may grow
    expect(allocated).toBeLessThanOrEqual(2 * bytes.length);
  } else {
    expect(result.left.message).toMatch(/^safetensors: /);
  }
};

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant('length' as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

const mutate = (bytes: Uint8Array, m: Mutation): Uint8Array => {
  switch (m.kind) {
    case 'set': {
      const out = bytes.slice();
      if (out.length > 0) out[m.at % out.length] = m.value;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, m.at % (bytes.length + 1));
    case 'extend':
      return Uint8Array.from([...bytes, ...m.extra]);
    case 'length': {
      const out = bytes.slice();
      if (out.length >= 8) new DataView(out.buffer).setBigUint64(0, m.value, true);
      return out;
    }
  }
};

const withHeader = (json: string, data: Uint8Array): Uint8Array => {
  const header = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
};

/** Header entries that are nearly right: the values most likely to slip past a sloppy check. */
const nastyNumber = fc.oneof(
  fc.integer({ min: -3, max: 64 }),
  fc.constantFrom(-0, 0.5, 1e21, 2 ** 53, 2 ** 53 + 2, Number.MAX_VALUE, 1e308, -1e9),
  fc.double(),
);
const nastyEntry = fc.record(
  {
    dtype: fc.oneof(fc.constantFrom(...DTYPES), fc.constantFrom('F8_E4M3', 'f32', '', 'FLOAT')),
    shape: fc.oneof(fc.array(nastyNumber, { maxLength: 4 }), fc.anything()),
    data_offsets: fc.oneof(fc.tuple(nastyNumber, nastyNumber), fc.array(nastyNumber, { maxLength: 3 }), fc.anything()),
  },
  { requiredKeys: [] },
);
const nastyHeader = fc.oneof(
  fc.dictionary(nameArb, nastyEntry, { maxKeys: 4 }),
  fc.dictionary(fc.oneof(nameArb, fc.constant('__metadata__')), fc.anything(), { maxKeys: 3 }),
);

describe('safetensors decoding of hostile input never throws', () => {
  it('random mutations and truncations of a valid file', () => {
    fc.assert(
      fc.property(tensorsArb, metadataArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (tensors, metadata, mutations) => {
        decodeNeverThrows(mutations.reduce(mutate, encodeSafetensors(tensors, metadata)));
      }),
      { numRuns: 500 },
    );
  });

  it('random JSON headers and random nearly-valid headers', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), nastyHeader.map(h => JSON.stringify(h))), fc.uint8Array({ maxLength: 64 }), (json, data) => {
        decodeNeverThrows(withHeader(json, data));
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), bytes => decodeNeverThrows(bytes)), { numRuns: 300 });
  });
});

// ---- half precision ------------------------------------------------------------------------------

describe('F16 and BF16 conversion', () => {
  it('every non-NaN half survives half -> number -> half exactly (exhaustive)', () => {
    const wrong: string[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const x = f16BitsToNumber(h);
      if (Number.isNaN(x) ? !Number.isNaN(f16BitsToNumber(numberToF16Bits(x))) : numberToF16Bits(x) !== h) wrong.push(`F16 ${h}`);
      const y = bf16BitsToNumber(h);
      if (Number.isNaN(y) ? !Number.isNaN(bf16BitsToNumber(numberToBf16Bits(y))) : numberToBf16Bits(y) !== h) wrong.push(`BF16 ${h}`);
    }
    expect(wrong).toEqual([]);
  });

  const nearestAmongNeighbours = (toBits: (x: number) => number, toNumber: (h: number) => number) => (x: number) => {
    const f = Math.fround(x);
    const h = toBits(f);
    const mine = Math.abs(toNumber(h) - f);
    for (const neighbour of [h - 1, h + 1]) {
      const v = toNumber(neighbour & 0xffff);
      if (Number.isFinite(v) && Math.sign(v) === Math.sign(toNumber(h)) && Number.isFinite(toNumber(h)))
        expect(mine).toBeLessThanOrEqual(Math.abs(v - f));
    }
  };

  it('rounds float32 to the nearest half', () => {
    fc.assert(fc.property(fc.float({ noNaN: true, min: -65504, max: 65504 }), nearestAmongNeighbours(numberToF16Bits, f16BitsToNumber)));
    fc.assert(fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), nearestAmongNeighbours(numberToBf16Bits, bf16BitsToNumber)));
  });

  it('ties go to even, overflow goes to infinity, underflow to signed zero', () => {
    expect(numberToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway 1 and 1+2^-10: even is 1
    expect(numberToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway between odd and even: up
    expect(numberToF16Bits(2 ** -25)).toBe(0); // half the smallest subnormal: to even (0)
    expect(numberToF16Bits(1.5 * 2 ** -25)).toBe(1);
    expect(numberToF16Bits(65520)).toBe(0x7c00); // past the largest half + half an ulp
    expect(numberToF16Bits(-1e-10)).toBe(0x8000);
    expect(numberToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(numberToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });
});
