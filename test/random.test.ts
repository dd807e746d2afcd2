import { describe, expect, it } from 'vitest';
import * as E from 'fp-ts/Either';
import {
  bernoulli, fold, key, keyEquals, keyFromJSON, keyToJSON, normal, permutation, philox4x32, randint,
  randomBits, split, uniform, uniformFromBits,
} from '../src/tensor/random.ts';

const hex = (words: ArrayLike<number>): string[] =>
  Array.from(words, (w) => w.toString(16).padStart(8, '0'));

describe('philox4x32-10 known answers (Random123 kat_vectors)', () => {
  it('counter 0, key 0', () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
  });
  it('counter and key all ones', () => {
    const ones = 0xffffffff;
    expect(hex(philox4x32([ones, ones, ones, ones], [ones, ones])))
      .toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
  });
  it('digits of pi', () => {
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])))
      .toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });
  it('key(0) streams counter 0 first, then counter 1', () => {
    const bits = randomBits(key(0), 8);
    expect(hex(bits.subarray(0, 4))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    expect(Array.from(bits.subarray(4))).toEqual(philox4x32([1, 0, 0, 0], [0, 0]));
  });
});

describe('key', () => {
  it('puts the high word first, like jax.random.PRNGKey', () => {
    expect(key(0)).toEqual({ k0: 0, k1: 0 });
    expect(key(42)).toEqual({ k0: 0, k1: 42 });
    expect(key(2 ** 32 + 5)).toEqual({ k0: 1, k1: 5 });
    expect(key(2 ** 53 - 1)).toEqual({ k0: 2 ** 21 - 1, k1: 0xffffffff });
  });
  it('is frozen', () => {
    expect(Object.isFrozen(key(7))).toBe(true);
  });
  it.each([-1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 1e300])('rejects seed %s, naming it', (seed) => {
    expect(() => key(seed)).toThrow(String(seed));
  });
  it('rejects non-numbers', () => {
    expect(() => key('3' as unknown as number)).toThrow('"3"');
    expect(() => key(undefined as unknown as number)).toThrow('undefined');
    expect(() => key(3n as unknown as number)).toThrow('3');
  });
});

describe('determinism', () => {
  it('the same key gives the same numbers, call after call', () => {
    const k = key(1234);
    expect(randomBits(k, 37)).toEqual(randomBits(k, 37));
    expect(uniform(k, 37)).toEqual(uniform(k, 37));
    expect(normal(k, 37)).toEqual(normal(k, 37));
    expect(randint(k, 37, -5, 9)).toEqual(randint(k, 37, -5, 9));
    expect(permutation(k, 37)).toEqual(permutation(k, 37));
    expect(bernoulli(k, 37, 0.3)).toEqual(bernoulli(k, 37, 0.3));
    expect(split(k, 3)).toEqual(split(k, 3));
    expect(fold(k, 99)).toEqual(fold(k, 99));
  });
  it('different seeds give different streams', () => {
    expect(randomBits(key(1), 8)).not.toEqual(randomBits(key(2), 8));
  });
  it('split and fold never return the parent, and disagree with each other', () => {
    const k = key(5);
    const [a, b] = split(k);
    expect(keyEquals(a, b)).toBe(false);
    expect(keyEquals(a, k) || keyEquals(b, k)).toBe(false);
    expect(keyEquals(fold(k, 0), a)).toBe(false);
    expect(split(k, 0)).toEqual([]);
    expect(split(k, 5).slice(0, 2)).toEqual([a, b]);
  });
});

describe('samplers by hand', () => {
  it('uniform takes the high 24 bits of each word', () => {
    const u = uniform(key(0), 4);
    expect(Array.from(u)).toEqual([0x6627e8, 0xe169c5, 0xbc57ac, 0x9b00db].map((m) => m / 2 ** 24));
  });
  it('uniform never returns hi, even where float32 rounding would reach it', () => {
    const top = new Uint32Array([0xffffffff, 0xffffff00, 0]);
    // 1 + (1 − 2^-24) is halfway between 2 − 2^-23 and 2, and rounds to even: 2.
    expect(Array.from(uniformFromBits(top, 1, 2))).toEqual([2 - 2 ** -23, 2 - 2 ** -23, 1]);
    expect(Array.from(uniformFromBits(top, -1e30, 1e30)).every((v) => v < Math.fround(1e30))).toBe(true);
    expect(Array.from(uniformFromBits(top))).toEqual([1 - 2 ** -24, 1 - 2 ** -24, 0]);
  });
  it('bernoulli p = 0 and p = 1 are exact', () => {
    expect(bernoulli(key(3), 1000, 0).every((b) => b === 0)).toBe(true);
    expect(bernoulli(key(3), 1000, 1).every((b) => b === 1)).toBe(true);
  });
  it('a shorter draw is a prefix of a longer one', () => {
    const k = key(77);
    expect(normal(k, 5)).toEqual(normal(k, 6).subarray(0, 5));
    expect(randint(k, 5, 0, 1000)).toEqual(randint(k, 9, 0, 1000).subarray(0, 5));
    expect(uniform(k, 3)).toEqual(uniform(k, 10).subarray(0, 3));
  });
  it('normal scales and shifts', () => {
    const k = key(8);
    const z = normal(k, 9);
    const y = normal(k, 9, 3, 2);
    z.forEach((v, i) => expect(y[i]).toBeCloseTo(3 + 2 * v, 5));
    expect(normal(k, 4, 1.5, 0)).toEqual(new Float32Array([1.5, 1.5, 1.5, 1.5]));
  });
  it('randint over the full int32 range stays in range', () => {
    const r = randint(key(9), 1000, -(2 ** 31), 2 ** 31);
    expect(r.length).toBe(1000);
    expect(new Set(r).size).toBeGreaterThan(990);
  });
  it('permutation of 0 and 1 elements', () => {
    expect(permutation(key(1), 0)).toEqual(new Int32Array(0));
    expect(permutation(key(1), 1)).toEqual(new Int32Array([0]));
  });
});

describe('bad arguments throw and name the value', () => {
  const k = key(1);
  it.each([
    [() => randomBits(k, -1), '-1'],
    [() => randomBits(k, 2.5), '2.5'],
    [() => split(k, NaN), 'NaN'],
    [() => fold(k, -3), '-3'],
    [() => fold(k, 0.5), '0.5'],
    [() => uniform(k, 3, 1, 1), 'lo = 1, hi = 1'],
    [() => uniform(k, 3, 0, Infinity), 'Infinity'],
    [() => normal(k, 3, 0, -1), '-1'],
    [() => randint(k, 3, 5, 5), 'lo = 5, hi = 5'],
    [() => randint(k, 3, 0, 2 ** 31 + 1), String(2 ** 31 + 1)],
    [() => randint(k, 3, 0.5, 2), '0.5'],
    [() => permutation(k, 2 ** 31), String(2 ** 31)],
    [() => bernoulli(k, 3, 1.5), '1.5'],
    [() => bernoulli(k, 3, NaN), 'NaN'],
  ] as const)('%#', (call, shown) => {
    expect(call).toThrow(shown);
  });
});

describe('checkpoint JSON', () => {
  it('round trips through JSON text', () => {
    const k = fold(key(2024), 3);
    const back = keyFromJSON(JSON.parse(JSON.stringify(keyToJSON(k))));
    expect(back).toEqual(E.right(k));
    expect(keyToJSON(k)).toEqual({ prng: 'philox4x32-10', key: [k.k0, k.k1] });
  });
  it.each([
    [null, 'key: expected an object'],
    [{ prng: 'threefry', key: [0, 0] }, 'key.prng'],
    [{ prng: 'philox4x32-10', key: [0] }, 'key.key: expected two'],
    [{ prng: 'philox4x32-10', key: [0, -1] }, 'key.key[1]: expected a uint32, got -1'],
    [{ prng: 'philox4x32-10', key: [2 ** 32, 0] }, 'key.key[0]'],
  ])('rejects %j with a path to the problem', (json, message) => {
    const r = keyFromJSON(json);
    expect(E.isLeft(r)).toBe(true);
    if (E.isLeft(r)) expect(r.left).toContain(message);
  });
});
