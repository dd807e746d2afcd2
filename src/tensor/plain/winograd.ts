/**
 * Winograd F(2×2, 3×3) transforms, the reference: each tile's 4×4 (or 2×2) block is gathered,
 * multiplied by the small transform matrices in doubles, and scattered (see WinogradSpec).
 */
import { type FloatArray, winogradAT, winogradBT, type WinogradSpec, winogradTiles } from '../backend.ts';
import { checkLength } from './indexing.ts';

export const winogradImageSize = (s: WinogradSpec): number => s.n * s.c * s.h * s.w;
export const winogradOutSize = (s: WinogradSpec): number => s.n * s.c * s.oh * s.ow;
export const winogradTransformedSize = (s: WinogradSpec): number => 16 * s.c * winogradTiles(s).stride;

export const checkWinogradSpec = (kernel: string, s: WinogradSpec): void => {
  const dims = [s.n, s.c, s.h, s.w, s.padH, s.padW, s.oh, s.ow];
  if (dims.some((d) => !Number.isInteger(d) || d < 0) || s.oh !== s.h + 2 * s.padH - 2 || s.ow !== s.w + 2 * s.padW - 2 || s.oh < 1 || s.ow < 1) {
    throw new RangeError(`${kernel}: bad Winograd spec ${JSON.stringify(s)} (oh must be h + 2·padH − 2 ≥ 1, and so ow)`);
  }
};

/** M·X·Mᵀ for a 4×4 M (rows × 4) and a 4×4 X, into out (rows × rows), row-major. */
const sandwich = (m: readonly (readonly number[])[], x: Float64Array, out: Float64Array, transposed: boolean): void => {
  // transposed: Mᵀ·X·M instead (M then 4 × cols).
  const rows = transposed ? m[0].length : m.length;
  const inner = transposed ? m.length : m[0].length;
  const at = (i: number, r: number): number => (transposed ? m[r][i] : m[i][r]);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      let acc = 0;
      for (let r = 0; r < inner; r++) {
        const ar = at(i, r);
        if (ar === 0) continue;
        for (let s = 0; s < inner; s++) acc += ar * x[r * inner + s] * at(j, s);
      }
      out[i * rows + j] = acc;
    }
  }
};

/** Calls visit(ni, ci, a, b, t) for every tile of every plane. */
const forEachTile = (s: WinogradSpec, visit: (ni: number, ci: number, a: number, b: number, t: number) => void): void => {
  const { th, tw } = winogradTiles(s);
  for (let ni = 0; ni < s.n; ni++) {
    for (let ci = 0; ci < s.c; ci++) {
      for (let a = 0; a < th; a++) {
        for (let b = 0; b < tw; b++) visit(ni, ci, a, b, (ni * th + a) * tw + b);
      }
    }
  }
};

export const winogradInput = (x: FloatArray, out: FloatArray, s: WinogradSpec): void => {
  checkWinogradSpec('winogradInput', s);
  checkLength('winogradInput', 'x', x, winogradImageSize(s));
  const { stride } = winogradTiles(s);
  const d = new Float64Array(16);
  const v = new Float64Array(16);
  forEachTile(s, (ni, ci, a, b, t) => {
    for (let r = 0; r < 4; r++) {
      const iy = 2 * a - s.padH + r;
      for (let q = 0; q < 4; q++) {
        const ix = 2 * b - s.padW + q;
        d[r * 4 + q] = iy >= 0 && iy < s.h && ix >= 0 && ix < s.w ? x[((ni * s.c + ci) * s.h + iy) * s.w + ix] : 0;
      }
    }
    sandwich(winogradBT, d, v, false);
    for (let xi = 0; xi < 16; xi++) out[(xi * s.c + ci) * stride + t] = v[xi];
  });
};

export const winogradInputAdjoint = (v: FloatArray, out: FloatArray, s: WinogradSpec): void => {
  checkWinogradSpec('winogradInputAdjoint', s);
  checkLength('winogradInputAdjoint', 'v', v, winogradTransformedSize(s));
  const { stride } = winogradTiles(s);
  const g = new Float64Array(16);
  const d = new Float64Array(16);
  // Accumulate in doubles, round once.
  const acc = new Float64Array(out.length);
  forEachTile(s, (ni, ci, a, b, t) => {
    for (let xi = 0; xi < 16; xi++) g[xi] = v[(xi * s.c + ci) * stride + t];
    sandwich(winogradBT, g, d, true);
    for (let r = 0; r < 4; r++) {
      const iy = 2 * a - s.padH + r;
      if (iy < 0 || iy >= s.h) continue;
      for (let q = 0; q < 4; q++) {
        const ix = 2 * b - s.padW + q;
        if (ix >= 0 && ix < s.w) acc[((ni * s.c + ci) * s.h + iy) * s.w + ix] += d[r * 4 + q];
      }
    }
  });
  out.set(acc);
};

export const winogradOutput = (m: FloatArray, out: FloatArray, s: WinogradSpec): void => {
  checkWinogradSpec('winogradOutput', s);
  checkLength('winogradOutput', 'm', m, winogradTransformedSize(s));
  const { stride } = winogradTiles(s);
  const g = new Float64Array(16);
  const y = new Float64Array(4);
  forEachTile(s, (ni, ci, a, b, t) => {
    for (let xi = 0; xi < 16; xi++) g[xi] = m[(xi * s.c + ci) * stride + t];
    sandwich(winogradAT, g, y, false);
    for (let u = 0; u < 2; u++) {
      const oy = 2 * a + u;
      if (oy >= s.oh) continue;
      for (let q = 0; q < 2; q++) {
        const ox = 2 * b + q;
        if (ox < s.ow) out[((ni * s.c + ci) * s.oh + oy) * s.ow + ox] = y[u * 2 + q];
      }
    }
  });
};

export const winogradOutputAdjoint = (gy: FloatArray, out: FloatArray, s: WinogradSpec): void => {
  checkWinogradSpec('winogradOutputAdjoint', s);
  checkLength('winogradOutputAdjoint', 'g', gy, winogradOutSize(s));
  const { stride } = winogradTiles(s);
  const g = new Float64Array(4);
  const m = new Float64Array(16);
  forEachTile(s, (ni, ci, a, b, t) => {
    for (let u = 0; u < 2; u++) {
      const oy = 2 * a + u;
      for (let q = 0; q < 2; q++) {
        const ox = 2 * b + q;
        g[u * 2 + q] = oy < s.oh && ox < s.ow ? gy[((ni * s.c + ci) * s.oh + oy) * s.ow + ox] : 0;
      }
    }
    sandwich(winogradAT, g, m, true);
    for (let xi = 0; xi < 16; xi++) out[(xi * s.c + ci) * stride + t] = m[xi];
  });
};
