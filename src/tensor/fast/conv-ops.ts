/**
 * The fast backend's convolution kernels: im2col/col2im with their column table, and the four
 * Winograd transforms, each split by image planes over the worker threads when large.
 */
import { type Backend, type Im2colSpec, type WinogradSpec, winogradTile, winogradTiles } from '../backend.ts';
import { checkWinogradSpec, winogradImageSize, winogradOutSize, winogradTransformedSize } from '../plain/winograd.ts';
import { validColumns } from './conv-wasm.ts';
import type { Handles } from './handles.ts';
import type { FastKernels } from './kernels.ts';
import { runSplit } from './parallel.ts';
import { checkLength } from './strides.ts';
import { winogradScratchFloats, type WinogradExports } from './winograd-wasm.ts';
import type { Handle } from '../backend.ts';

const im2colSize = (s: Im2colSpec): number => s.n * s.c * s.kh * s.kw * s.oh * s.ow;
const imageSize = (s: Im2colSpec): number => s.n * s.c * s.h * s.w;

export const convOps = ({ heap, conv, gemm, workers }: FastKernels, { block, fresh }: Handles): Pick<Backend, 'im2col' | 'col2im' | 'winograd'> => {
  /** Room for im2col's column table (2 ints per kernel column). */
  let table = heap.alloc(64);

  const columnTable = (spec: Im2colSpec): number => {
    const t = validColumns(spec);
    if (table.capacity < t.length) {
      heap.free(table);
      table = heap.alloc(t.length);
    }
    new Int32Array(heap.memory.buffer, table.offset, t.length).set(t);
    return table.offset;
  };

  /** im2col/col2im over the n·c image planes, split by planes over threads when large. */
  const overPlanes = (s: Im2colSpec, plane: number, params: (from: number, to: number) => number[], name: 'im2col' | 'col2im'): void => {
    const planes = s.n * s.c;
    runSplit(workers, 2, name, planes, 1, params, (p) => (conv[name] as (...a: number[]) => void)(...p), planes * plane);
  };

  /**
   * One Winograd transform over the n·C image planes, split by planes over threads when large;
   * each thread gets its own scratch block.
   */
  const winograd = (kernel: 'winogradInput' | 'winogradInputAdjoint' | 'winogradOutput' | 'winogradOutputAdjoint', src: Handle,
    s: WinogradSpec, inSize: number, outSize: number, bias: Handle | null = null): Handle => {
    checkWinogradSpec(kernel, s);
    const m = winogradTile(s).m;
    const name: keyof WinogradExports = m === 4 ? `${kernel}4` : kernel;
    return fresh(outSize, (out) => {
      const sb = block(src);
      checkLength(name, 'input', sb.size, inSize);
      const bb = bias ? block(bias) : null;
      if (bb) checkLength(name, 'bias', bb.size, s.c);
      // Only the output kernels take the bias pointer (0: none).
      const extra = kernel === 'winogradOutput' ? [bb ? bb.offset : 0] : [];
      const { th, tw, tiles, stride } = winogradTiles(s);
      const floats = winogradScratchFloats(th, tw, m);
      const scratch = heap.alloc(floats * (workers ? gemm.threads : 1));
      try {
        let k = 0;
        runSplit(workers, 2, name, s.n * s.c, 1, (from, to) => [sb.offset, out.offset, from, to, s.c, stride, s.h, s.w,
          s.padH, s.padW, s.oh, s.ow, th, tw, scratch.offset + 4 * floats * k++, tiles, ...extra], (p) => conv[name](...p), outSize);
      } finally {
        heap.free(scratch);
      }
    });
  };

  const checkSpec = (kernel: string, s: Im2colSpec): void => {
    const dims = [s.n, s.c, s.h, s.w, s.kh, s.kw, s.oh, s.ow, s.padH, s.padW];
    if (dims.some((d) => !Number.isInteger(d) || d < 0) || !(s.strideH >= 1 && s.strideW >= 1)) {
      throw new RangeError(`fast ${kernel}: bad spec ${JSON.stringify(s)}`);
    }
  };

  return {
    im2col: (x, spec, padValue) => fresh(im2colSize(spec), (out) => {
      checkSpec('im2col', spec);
      const xb = block(x);
      checkLength('im2col', 'x', xb.size, imageSize(spec));
      const s = spec;
      const table = columnTable(s);
      const plane = s.kh * s.kw * s.oh * s.ow;
      overPlanes(s, plane, (from, to) => [xb.offset + 4 * from * s.h * s.w, out.offset + 4 * from * plane, to - from,
        s.h, s.w, s.kh, s.kw, s.strideH, s.strideW, s.padH, s.padW, s.oh, s.ow, padValue, table], 'im2col');
    }),

    col2im: (cols, spec) => fresh(imageSize(spec), (out) => {
      checkSpec('col2im', spec);
      const cb = block(cols);
      checkLength('col2im', 'cols', cb.size, im2colSize(spec));
      const s = spec;
      const table = columnTable(s);
      const plane = s.kh * s.kw * s.oh * s.ow;
      overPlanes(s, plane, (from, to) => [cb.offset + 4 * from * plane, out.offset + 4 * from * s.h * s.w, to - from,
        s.h, s.w, s.kh, s.kw, s.strideH, s.strideW, s.padH, s.padW, s.oh, s.ow, table], 'col2im');
    }),

    winograd: {
      input: (x, s) => winograd('winogradInput', x, s, winogradImageSize(s), winogradTransformedSize(s)),
      inputAdjoint: (v, s) => winograd('winogradInputAdjoint', v, s, winogradTransformedSize(s), winogradImageSize(s)),
      output: (m, s, bias) => winograd('winogradOutput', m, s, winogradTransformedSize(s), winogradOutSize(s), bias ?? null),
      outputAdjoint: (g, s) => winograd('winogradOutputAdjoint', g, s, winogradOutSize(s), winogradTransformedSize(s)),
    },
  };
};
