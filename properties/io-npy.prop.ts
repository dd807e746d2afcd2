import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy } from '../src/io/npy.ts';

const arrayArb = fc
  .array(fc.integer({ min: 0, max: 5 }), { maxLength: 5 })
  .chain(shape => {
    const n = shape.reduce((a, b) => a * b, 1);
    // random bytes: every float32 bit pattern, NaN payloads included
    return fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n }).map(bytes => ({ shape, data: new Float32Array(bytes.buffer) }));
  });

describe('npy', () => {
  it('decode ∘ encode = id, bit for bit; data starts 64-byte aligned', () => {
    fc.assert(
      fc.property(arrayArb, ({ shape, data }) => {
        const bytes = encodeNpy(data, shape);
        expect((bytes.length - data.byteLength) % 64).toBe(0);
        const back = decodeNpy(bytes);
        if (E.isLeft(back)) throw back.left;
        expect(back.right.shape).toEqual(shape);
        expect(Buffer.from(back.right.data.buffer).equals(Buffer.from(data.buffer))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('mutated and truncated files never throw', () => {
    fc.assert(
      fc.property(arrayArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), ({ shape, data }, sets, cut) => {
        const bytes = encodeNpy(data, shape);
        for (const [at, value] of sets) bytes[at % bytes.length] = value;
        const result = decodeNpy(bytes.subarray(0, bytes.length - (cut % 8)));
        if (E.isRight(result)) expect(result.right.data.byteLength).toBeLessThanOrEqual(bytes.length);
      }),
      { numRuns: 500 },
    );
  });
});
