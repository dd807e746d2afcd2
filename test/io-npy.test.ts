import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy } from '../src/io/npy.ts';

/** A .npy file laid out by hand: magic, version, u16 header length, header text, data. */
const npyOf = (header: string, data: Uint8Array, version: 1 | 2 = 1): Uint8Array => {
  const pre = version === 1 ? 10 : 12;
  const out = new Uint8Array(pre + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(data, pre + header.length);
  return out;
};
const f32Bytes = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);
const errorOf = (bytes: Uint8Array) => {
  const r = decodeNpy(bytes);
  if (E.isRight(r)) throw new Error('expected a refusal');
  return r.left.message;
};

describe('npy as numpy writes it', () => {
  // np.save(f, np.arange(1, 7, dtype=np.float32).reshape(2, 3)) with numpy >= 1.24:
  // the dict, 20 spaces of growth room (21 - len("2")), padding to 128 bytes, a newline.
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const header = `${dict}${' '.repeat(20)}${' '.repeat(128 - 10 - dict.length - 20 - 1)}\n`;
  const bytes = npyOf(header, f32Bytes([1, 2, 3, 4, 5, 6]));

  it('encodes byte for byte', () => {
    expect(Buffer.from(encodeNpy(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3])).equals(Buffer.from(bytes))).toBe(true);
  });

  it('decodes', () => {
    expect(decodeNpy(bytes)).toEqual(E.right({ data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] }));
  });

  it('aligns the data to 64 bytes for scalars, vectors and long shapes', () => {
    for (const shape of [[], [5], [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const out = encodeNpy(new Float32Array(n), shape);
      expect((out.length - 4 * n) % 64).toBe(0);
      expect(out[out.length - 4 * n - 1]).toBe(0x0a);
    }
    const scalar = new TextDecoder().decode(encodeNpy(new Float32Array([7]), []));
    expect(scalar).toContain("'shape': (), }");
    expect(new TextDecoder().decode(encodeNpy(new Float32Array(5), [5]))).toContain("'shape': (5,), }");
  });

  it("reads '<f8' into float32, older headers (no growth room, double quotes, Python 2 longs) and version 2.0", () => {
    const f8 = new Uint8Array(new Float64Array([0.5, -1.25, 1e40]).buffer);
    expect(decodeNpy(npyOf("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }     \n", f8))).toEqual(
      E.right({ data: new Float32Array([0.5, -1.25, Infinity]), shape: [3] }),
    );
    expect(decodeNpy(npyOf('{"shape": (1L, 2L), "fortran_order": False, "descr": "<f4"}\n', f32Bytes([1, 2])))).toEqual(
      E.right({ data: new Float32Array([1, 2]), shape: [1, 2] }),
    );
    expect(decodeNpy(npyOf("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", f32Bytes([3, 4]), 2))).toEqual(
      E.right({ data: new Float32Array([3, 4]), shape: [2] }),
    );
  });
});

describe('npy refusals', () => {
  const h = (descr: string, fortran: string, shape: string) => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }\n`;
  it.each([
    ['no magic', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), /not a \.npy file/],
    ['too short', new Uint8Array([0x93, 0x4e, 0x55]), /not a \.npy file/],
    ['unknown version', npyOf(h('<f4', 'False', '(1,)'), f32Bytes([1])).map((b, i) => (i === 6 ? 9 : b)), /unsupported format version 9\.0/],
    ['header past the end', npyOf(h('<f4', 'False', '(1,)'), f32Bytes([1])).subarray(0, 30), /header length \d+ runs past the end/],
    ['Fortran order', npyOf(h('<f4', 'True', '(2, 2)'), f32Bytes([1, 2, 3, 4])), /"fortran_order": Fortran-order .* not supported/],
    ['int64', npyOf(h('<i8', 'False', '(1,)'), new Uint8Array(8)), /"descr": unknown dtype "<i8"/],
    ['big-endian', npyOf(h('>f4', 'False', '(1,)'), new Uint8Array(4)), /"descr": unknown dtype ">f4"/],
    ['negative dim', npyOf(h('<f4', 'False', '(-1,)'), new Uint8Array(4)), /"shape"\."0": expected a non-negative integer, got -1/],
    ['too little data', npyOf(h('<f4', 'False', '(3,)'), f32Bytes([1, 2])), /"shape": \(3\) of <f4 needs 12 bytes of data but the file has 8/],
    ['trailing data', npyOf(h('<f4', 'False', '(1,)'), f32Bytes([1, 2])), /needs 4 bytes of data but the file has 8/],
    ['absurd shape', npyOf(h('<f4', 'False', '(100000000000, 100000000000)'), f32Bytes([1])), /needs .* bytes of data but the file has 4/],
    ['not a literal', npyOf("{'descr': import os}\n", new Uint8Array(0)), /header is not a Python literal: expected a value at character 10/],
    ['not a dict', npyOf('(1, 2)\n', new Uint8Array(0)), /header must be a dict/],
    ['missing key', npyOf("{'descr': '<f4', 'shape': (1,)}\n", f32Bytes([1])), /"fortran_order": expected boolean/],
    ['deep nesting', npyOf(`${'['.repeat(5000)}\n`, new Uint8Array(0)), /nested too deeply/],
  ])('%s', (_, bytes, message) => {
    expect(errorOf(bytes)).toMatch(message);
    expect(errorOf(bytes)).toMatch(/^npy: /);
  });

  it('encoding a mismatched shape throws', () => {
    expect(() => encodeNpy(new Float32Array(3), [2, 2])).toThrow(/holds 4 elements but data has 3/);
  });
});
