/**
 * Patch extraction for convolution as a matmul (im2col) and its adjoint (col2im). Both walk the same
 * (image, channel, ki, kj, oy) rows; for each kernel offset kj the output columns whose input column
 * falls inside the image form one interval [ox0, ox1), so the inner loops carry no bounds tests.
 */
import type { FloatArray, Im2colSpec } from '../backend.ts';
import { checkLength } from './indexing.ts';

export const im2colSize = (s: Im2colSpec): number => s.n * s.c * s.kh * s.kw * s.oh * s.ow;
export const imageSize = (s: Im2colSpec): number => s.n * s.c * s.h * s.w;

/** The ox with 0 ≤ ox·strideW − padW + kj < w, as [ox0, ox1) clipped to [0, ow). */
const validColumns = (s: Im2colSpec, kj: number): [number, number] => {
  const ox0 = Math.min(s.ow, Math.max(0, Math.ceil((s.padW - kj) / s.strideW)));
  const ox1 = Math.min(s.ow, Math.floor((s.w - 1 + s.padW - kj) / s.strideW) + 1);
  return [ox0, Math.max(ox0, ox1)];
};

/**
 * Visits every (input row, output row segment) pair: visit(xRow, ix0, colRow, ox0, ox1) for the
 * valid interval, and pad(colRow, ox0, ox1) for the columns that fall outside the image.
 */
const forEachPatchRow = (
  s: Im2colSpec,
  visit: (xRow: number, ix0: number, colRow: number, ox0: number, ox1: number) => void,
  pad: (colRow: number, from: number, to: number) => void,
): void => {
  const ohw = s.oh * s.ow;
  for (let ni = 0; ni < s.n; ni++) {
    for (let ci = 0; ci < s.c; ci++) {
      const plane = (ni * s.c + ci) * s.h * s.w;
      for (let ki = 0; ki < s.kh; ki++) {
        for (let kj = 0; kj < s.kw; kj++) {
          const row = ((ni * s.c + ci) * s.kh + ki) * s.kw + kj;
          const [ox0, ox1] = validColumns(s, kj);
          for (let oy = 0; oy < s.oh; oy++) {
            const colRow = row * ohw + oy * s.ow;
            const iy = oy * s.strideH - s.padH + ki;
            if (iy < 0 || iy >= s.h) {
              pad(colRow, 0, s.ow);
              continue;
            }
            pad(colRow, 0, ox0);
            visit(plane + iy * s.w, ox0 * s.strideW - s.padW + kj, colRow, ox0, ox1);
            pad(colRow, ox1, s.ow);
          }
        }
      }
    }
  }
};

export const im2col = (x: FloatArray, out: FloatArray, s: Im2colSpec, padValue: number): void => {
  checkLength('im2col', 'x', x, imageSize(s));
  const sw = s.strideW;
  forEachPatchRow(s, (xRow, ix0, colRow, ox0, ox1) => {
    for (let o = colRow + ox0, end = colRow + ox1, ix = xRow + ix0; o < end; o++, ix += sw) out[o] = x[ix];
  }, (colRow, from, to) => {
    for (let o = colRow + from, end = colRow + to; o < end; o++) out[o] = padValue;
  });
};

/** Sums every patch entry back into the pixel it was read from; padded positions are dropped. */
export const col2im = (cols: FloatArray, out: FloatArray, s: Im2colSpec): void => {
  checkLength('col2im', 'cols', cols, im2colSize(s));
  const sw = s.strideW;
  out.fill(0);
  forEachPatchRow(s, (xRow, ix0, colRow, ox0, ox1) => {
    for (let o = colRow + ox0, end = colRow + ox1, ix = xRow + ix0; o < end; o++, ix += sw) out[ix] += cols[o];
  }, () => {});
};
