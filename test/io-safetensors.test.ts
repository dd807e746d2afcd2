import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, decodeSafetensorsHeader, encodeSafetensors, type Safetensors } from '../src/io/safetensors.ts';
import { readSafetensorsFile, writeFileAtomic, writeSafetensorsFile } from '../src/io/safetensors-file.ts';
import { EncodeError } from '../src/codec/errors.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A file laid out by hand exactly as the spec says: u64 LE length, header, data. */
const fileOf = (header: string, data: ArrayLike<number> = [], padTo8 = true): Uint8Array => {
  const padded = padTo8 ? header.padEnd(Math.ceil(utf8(header).length / 8) * 8 + header.length - utf8(header).length, ' ') : header;
  const json = utf8(padded);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
};

const right = (e: E.Either<Error, Safetensors>): Safetensors => {
  if (E.isLeft(e)) throw e.left;
  return e.right;
};

const errorOf = (bytes: Uint8Array): string => {
  const result = decodeSafetensors(bytes);
  if (E.isRight(result)) throw new Error('expected the file to be refused');
  return result.left.message;
};

describe('safetensors: bytes as Python writes them', () => {
  // safetensors.torch.save({"a": torch.tensor([1., 2.]), "b": torch.tensor([[1, 2, 3]], dtype=torch.int32)},
  //                        metadata={"format": "pt"})
  // serde_json writes the header compactly, metadata first, and pads with spaces to 8 bytes.
  const header =
    '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"I32","shape":[1,3],"data_offsets":[8,20]}}';
  const data = [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0];
  const bytes = fileOf(header, data);

  it('decodes a hand-laid file', () => {
    const { tensors, metadata } = right(decodeSafetensors(bytes));
    expect({ ...metadata }).toEqual({ format: 'pt' });
    expect(tensors.a).toEqual({ dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) });
    expect(tensors.b).toEqual({ dtype: 'I32', shape: [1, 3], data: new Int32Array([1, 2, 3]) });
  });

  it('encodes to the same bytes', () => {
    const encoded = encodeSafetensors(
      { a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }, b: { dtype: 'I32', shape: [1, 3], data: new Int32Array([1, 2, 3]) } },
      { format: 'pt' },
    );
    expect(Buffer.from(encoded).equals(Buffer.from(bytes))).toBe(true);
    expect(Number(new DataView(encoded.buffer).getBigUint64(0, true)) % 8).toBe(0);
  });

  it('widens F16 and BF16, keeps F64 and I64, reads an unaligned data section', () => {
    // header of odd length (no padding): the data section starts at an odd byte offset
    const h =
      '{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"bf":{"dtype":"BF16","shape":[1],"data_offsets":[6,8]},' +
      '"d":{"dtype":"F64","shape":[],"data_offsets":[8,16]},"i":{"dtype":"I64","shape":[1],"data_offsets":[16,24]},' +
      '"u":{"dtype":"U8","shape":[2,0],"data_offsets":[24,24]}}';
    expect(utf8(h).length % 2).toBe(1);
    const f64 = new Uint8Array(new Float64Array([-0.25]).buffer);
    const d = [0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0x80, 0x3f, ...f64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const { tensors } = right(decodeSafetensors(fileOf(h, d, false)));
    expect(tensors.h.data).toEqual(new Float32Array([1, -2, 0.5]));
    expect(tensors.bf.data).toEqual(new Float32Array([1]));
    expect(tensors.d).toEqual({ dtype: 'F64', shape: [], data: new Float64Array([-0.25]) });
    expect(tensors.i.data).toEqual(new BigInt64Array([-1n]));
    expect(tensors.u).toEqual({ dtype: 'U8', shape: [2, 0], data: new Uint8Array(0) });
  });
});

describe('safetensors: hostile files are refused with the tensor and the reason', () => {
  const f32 = (name: string, shape: number[], offsets: [number, number]) =>
    `${JSON.stringify(name)}:{"dtype":"F32","shape":${JSON.stringify(shape)},"data_offsets":${JSON.stringify(offsets)}}`;

  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', new Uint8Array(5), /file is 5 bytes, shorter than the 8-byte header length/],
    ['header length beyond the file', (() => { const b = fileOf('{}'); new DataView(b.buffer).setBigUint64(0, 1000n, true); return b; })(), /header length 1000 runs past the end of the file/],
    ['header length over 100 MB', (() => { const b = fileOf('{}'); new DataView(b.buffer).setBigUint64(0, 2n ** 63n, true); return b; })(), /exceeds the 100000000-byte limit/],
    ['header not UTF-8', fileOf('{"\xff"}').map((x, i) => (i === 10 ? 0xff : x)), /not valid UTF-8/],
    ['header not JSON', fileOf('{"a":'), /header is not JSON/],
    ['header an array', fileOf('[1,2]'), /header must be a JSON object, got an array/],
    ['header a string', fileOf('"x"'), /header must be a JSON object, got a string/],
    ['entry not an object', fileOf('{"w":3}'), /"w": expected .*got 3/],
    ['unknown dtype', fileOf('{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', [0]), /"w"\."dtype": unknown dtype "F8_E4M3"/],
    ['negative dim', fileOf(`{${f32('w', [-1], [0, 4])}}`, [0, 0, 0, 0]), /"w"\."shape"\."0": expected a non-negative integer, got -1/],
    ['fractional dim', fileOf(`{${f32('w', [2, 1.5], [0, 12])}}`, new Uint8Array(12)), /"w"\."shape"\."1": expected a non-negative integer, got 1.5/],
    ['missing shape', fileOf('{"w":{"dtype":"F32","data_offsets":[0,4]}}', [0, 0, 0, 0]), /"w"\."shape": expected Array/],
    ['three offsets', fileOf('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}', [0, 0, 0, 0]), /"w"\."data_offsets": expected a pair/],
    ['negative offset', fileOf(`{${f32('w', [1], [-4, 0])}}`), /"w"\."data_offsets"\."0": expected a non-negative integer, got -4/],
    ['byte size ≠ shape', fileOf(`{${f32('w', [2, 2], [0, 12])}}`, new Uint8Array(12)), /"w": byte size 12 .* ≠ product\(shape \[2, 2\]\) · itemsize 4 = 16/],
    ['end before begin', fileOf(`{${f32('w', [0], [8, 4])}}`, new Uint8Array(8)), /"w": data_offsets \[8, 4\] end before they begin/],
    ['shape past 2^53', fileOf(`{${f32('w', [1e9, 1e9, 1e9], [0, 4])}}`, [0, 0, 0, 0]), /"w": shape .* more than 2\^53 elements/],
    ['giant tensor, tiny file', fileOf(`{${f32('w', [100000, 100000], [0, 40000000000])}}`, [0, 0, 0, 0]), /"w"\."data_offsets": \[0, 40000000000\] reach past the end of the data section \(4 bytes\)/],
    ['overlap', fileOf(`{${f32('a', [2], [0, 8])},${f32('b', [2], [4, 12])}}`, new Uint8Array(12)), /"b"\."data_offsets": \[4, 12\] overlap tensor "a", which ends at 8/],
    ['hole', fileOf(`{${f32('a', [1], [0, 4])},${f32('b', [1], [8, 12])}}`, new Uint8Array(12)), /"b"\."data_offsets": \[8, 12\] leave a hole: bytes \[4, 8\) belong to no tensor/],
    ['leading hole', fileOf(`{${f32('a', [1], [4, 8])}}`, new Uint8Array(8)), /"a"\."data_offsets": \[4, 8\] leave a hole: bytes \[0, 4\)/],
    ['trailing bytes', fileOf(`{${f32('a', [1], [0, 4])}}`, new Uint8Array(8)), /cover 4 bytes but the data section has 8: bytes \[4, 8\) belong to no tensor/],
    ['metadata not strings', fileOf('{"__metadata__":{"epoch":3}}'), /"__metadata__"\."epoch": metadata values must be strings, got a number/],
    ['metadata not an object', fileOf('{"__metadata__":[]}'), /"__metadata__": expected __metadata__ to be a JSON object, got an array/],
  ];

  it.each(cases)('%s', (_, bytes, message) => {
    expect(errorOf(bytes)).toMatch(message);
    expect(errorOf(bytes)).toMatch(/^safetensors: /);
  });

  it('the header-only decoder refuses the same files', () => {
    for (const [, bytes] of cases) expect(E.isLeft(decodeSafetensorsHeader(bytes))).toBe(true);
  });

  it('treats __proto__ and constructor as ordinary tensor and metadata names', () => {
    const bytes = fileOf(
      `{"__metadata__":{"__proto__":"m"},${f32('__proto__', [1], [0, 4])},${f32('constructor', [1], [4, 8])}}`,
      [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40],
    );
    const { tensors, metadata } = right(decodeSafetensors(bytes));
    expect(Object.getPrototypeOf(tensors)).toBe(null);
    expect(Object.keys(tensors).sort()).toEqual(['__proto__', 'constructor']);
    // biome-ignore lint/suspicious/noProto: the point is a tensor literally named __proto__
    expect(tensors['__proto__']!.data).toEqual(new Float32Array([1]));
    expect(tensors['constructor']!.data).toEqual(new Float32Array([2]));
    expect(Object.keys(metadata)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).dtype).toBeUndefined();
    // and back: the encoder writes them as plain keys
    const again = right(decodeSafetensors(encodeSafetensors(tensors, metadata)));
    expect(Object.keys(again.tensors).sort()).toEqual(['__proto__', 'constructor']);
    // biome-ignore lint/suspicious/noProto: the point is a metadata key literally named __proto__
    expect(again.metadata['__proto__']).toBe('m');
  });
});

describe('safetensors: encoding refuses inconsistent entries (programmer errors)', () => {
  it('throws EncodeError naming the tensor', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(/"w": shape \[2, 2\] holds 4 elements but data has 3/);
    expect(() => encodeSafetensors({ w: { dtype: 'F64', shape: [1], data: new Float32Array(1) as never } })).toThrow(EncodeError);
    expect(() => encodeSafetensors({ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } })).toThrow(/reserved/);
  });
});

describe('safetensors files', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'io-safetensors-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes atomically and reads back', async () => {
    const path = join(dir, 'model.safetensors');
    const tensors = { w: { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) } } as const;
    expect(await writeSafetensorsFile(path, tensors, { step: '7' })()).toEqual(E.right(undefined));
    expect(await writeSafetensorsFile(path, tensors, { step: '8' })()).toEqual(E.right(undefined));
    const read = await readSafetensorsFile(path)();
    expect(E.isRight(read) && read.right.metadata.step).toBe('8');
    expect(E.isRight(read) && read.right.tensors.w!.data).toEqual(new Float32Array([1, 2, 3]));
    expect((await readdir(dir)).filter(f => f.includes('.tmp-'))).toEqual([]);
  });

  it('a missing file names the path', async () => {
    const read = await readSafetensorsFile(join(dir, 'nope.safetensors'))();
    expect(E.isLeft(read) && read.left.message).toMatch(/nope\.safetensors: cannot read: no such file/);
  });

  it('a corrupt file names the path and the reason', async () => {
    const path = join(dir, 'bad.safetensors');
    await writeFile(path, new Uint8Array(3));
    const read = await readSafetensorsFile(path)();
    expect(E.isLeft(read) && read.left.message).toMatch(/bad\.safetensors.*shorter than the 8-byte header/);
  });

  it('cleans up the temporary file when the rename fails', async () => {
    const target = join(dir, 'a-directory');
    await mkdir(join(target, 'child'), { recursive: true });
    const result = await writeFileAtomic(target, new Uint8Array([1, 2, 3]))();
    expect(E.isLeft(result) && result.left.message).toMatch(/a-directory: cannot write/);
    expect((await readdir(dir)).filter(f => f.includes('.tmp-'))).toEqual([]);
  });
});
