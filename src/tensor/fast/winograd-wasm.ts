/**
 * Winograd F(2×2, 3×3) and F(4×4, 3×3) transforms in WebAssembly SIMD (the layouts are
 * WinogradSpec's), eight kernels: the input and output transforms (winograd-forward.ts) and their
 * adjoints (winograd-adjoint.ts), for tiles m = 2 and m = 4. They share a frame (winograd-frame.ts:
 * parameters, plane and tile-row loops, scratch and staging) and a small vector algebra
 * (winograd-algebra.ts: the F(4×4) transforms are emitted from the matrices).
 *
 * All eight share one signature (i32s): src, dst, from, to, C, S, h, w, padH, padW, oh, ow, th, tw,
 * scratch, T — [from, to) the image planes to transform, S the tile stride, T the valid tiles,
 * scratch the calling thread's own block of {@link winogradScratchFloats} floats; the output kernels
 * take one more, a pointer to a per-channel bias added to every output (0: none), which saves a conv
 * its separate bias pass.
 */
import { type Code, i32, type ModuleBuilder, type ValType } from './emitter.ts';
import { emitInputAdjoint, emitInputAdjoint4, emitOutputAdjoint, emitOutputAdjoint4 } from './winograd-adjoint.ts';
import { emitInput, emitInput4, emitOutput, emitOutput4 } from './winograd-forward.ts';

export { winogradScratchFloats } from './winograd-frame.ts';

/** The kernels, for tiles m = 2 (no suffix) and m = 4 (suffix 4). */
export interface WinogradExports {
  winogradInput(...params: number[]): void;
  winogradInputAdjoint(...params: number[]): void;
  winogradOutput(...params: number[]): void;
  winogradOutputAdjoint(...params: number[]): void;
  winogradInput4(...params: number[]): void;
  winogradInputAdjoint4(...params: number[]): void;
  winogradOutput4(...params: number[]): void;
  winogradOutputAdjoint4(...params: number[]): void;
}

export interface WinogradOptions {
  /** Relaxed SIMD is available: the F(4×4) transforms multiply-add with f32x4.relaxed_madd. */
  readonly fma?: boolean;
}

/** Adds the eight kernels to a module (the backend puts them in its conv module). */
export const buildWinogradFunctions = (m: ModuleBuilder, opts: WinogradOptions = {}): void => {
  const fma = opts.fma ?? false;
  const ints = new Array<typeof i32>(16).fill(i32);
  // The output kernels take a 17th parameter: the bias pointer (0 for none).
  const withBias = new Array<typeof i32>(17).fill(i32);
  const def = (name: keyof WinogradExports, params: readonly ValType[], emit: (c: Code) => void): void => {
    m.func(name, params, [], emit);
  };
  def('winogradInput', ints, emitInput);
  def('winogradInputAdjoint', ints, emitInputAdjoint);
  def('winogradOutput', withBias, emitOutput);
  def('winogradOutputAdjoint', ints, emitOutputAdjoint);
  def('winogradInput4', ints, (c) => emitInput4(c, fma));
  def('winogradInputAdjoint4', ints, (c) => emitInputAdjoint4(c, fma));
  def('winogradOutput4', withBias, (c) => emitOutput4(c, fma));
  def('winogradOutputAdjoint4', ints, (c) => emitOutputAdjoint4(c, fma));
};
