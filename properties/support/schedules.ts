/** Shared pieces of the sampler laws: schedules of every kind, seeds, value arrays, the plain backend. */
import fc from 'fast-check';
import { afterAll, beforeAll } from 'vitest';
import type { Backend } from '../../src/tensor/backend.ts';
import { setBackend } from '../../src/tensor/engine.ts';
import { cosineBetas, linearBetas, makeSchedule, type Schedule, sigmoidBetas } from '../../src/ddpm/schedule.ts';

/** Runs the file's laws on the reference backend, whatever the default is. */
export const usePlainBackend = (): void => {
  let previous: Backend;
  beforeAll(() => { previous = setBackend('plain'); });
  afterAll(() => { setBackend(previous); });
};

export type Kind = 'linear' | 'cosine' | 'sigmoid';
export const build = (kind: Kind, T: number): Schedule =>
  makeSchedule(kind === 'linear' ? linearBetas(T) : kind === 'cosine' ? cosineBetas(T) : sigmoidBetas(T));
export const arbKind = fc.constantFrom<Kind>('linear', 'cosine', 'sigmoid');
export const arbSeed = fc.integer({ min: 0, max: 2 ** 31 });
export const values = (n: number, bound = 1) => fc.array(fc.double({ min: -bound, max: bound, noNaN: true }), { minLength: n, maxLength: n });

/** Fails a law with what broke and the case that broke it (fast-check then shrinks that case). */
export const fail = (what: string, detail: unknown): never => {
  throw new Error(`${what}: ${JSON.stringify(detail)}`);
};
