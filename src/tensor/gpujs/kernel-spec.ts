/**
 * What every GPU.js kernel builder returns (a cache key, the output size and, lazily, the source
 * and constants) and the helpers they share. The builders: kernels-elementwise.ts,
 * kernels-layout.ts, kernels-conv.ts; kernels.ts gathers them.
 */
import { constant, type Constants } from './codegen.ts';

export interface KernelSource {
  readonly source: string;
  readonly constants: Constants;
}

export interface KernelSpec {
  /** Everything that determines source, constants and output size. */
  readonly key: string;
  /** Output length. */
  readonly size: number;
  readonly make: () => KernelSource;
}

/** What differs between modes: GL needs exact quotients and a pow defined for negative bases. */
export interface CodegenTarget {
  readonly gl: boolean;
}

export const fn = (params: readonly string[], lines: readonly string[]): string =>
  `function (${params.join(', ')}) {\n${lines.filter((l) => l !== '').join('\n')}\n}`;

export const product = (xs: readonly number[]): number => xs.reduce((p, x) => p * x, 1);

/** Registers dims as constants `${name}0…` and returns their source expressions. */
export const dimConstants = (c: Constants, name: string, dims: readonly number[]): string[] =>
  dims.map((n, d) => constant(c, `${name}${d}`, n));

/** The most inputs one concat kernel takes; the backend chains longer lists. */
export const maxConcatInputs = 8;

