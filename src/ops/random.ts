/**
 * Random tensors from a key. The numbers are drawn on the host by the counter-based generator in
 * `src/tensor/random.ts` and then written to the backend, so a key gives the same values on every backend.
 */
import * as R from '../tensor/random.ts';
import type { Backend } from '../tensor/backend.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { type Shape, sizeOf } from '../tensor/shape.ts';
import { tensor } from './create.ts';
import { dropoutWithUniform } from './nn.ts';

export type Key = R.Key;

export const normal = (key: Key, shape: Shape, mean = 0, std = 1, backend?: Backend): Tensor =>
  tensor(R.normal(key, sizeOf(shape), mean, std), shape, backend);

export const uniform = (key: Key, shape: Shape, lo = 0, hi = 1, backend?: Backend): Tensor =>
  tensor(R.uniform(key, sizeOf(shape), lo, hi), shape, backend);

/** Integers in [lo, hi), stored as floats (the engine's one dtype). */
export const randint = (key: Key, shape: Shape, lo: number, hi: number, backend?: Backend): Tensor =>
  tensor(R.randint(key, sizeOf(shape), lo, hi), shape, backend);

/** Inverted dropout: zeroes each entry with probability p and scales the rest by 1/(1−p). */
export const dropout = (key: Key, x: Tensor, p: number): Tensor =>
  p <= 0 ? x : dropoutWithUniform(x, uniform(key, x.shape, 0, 1, x.backend), p);
