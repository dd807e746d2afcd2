/**
 * Winograd F(m×m, 3×3) transforms, the reference: each tile's α×α (or m×m) block is gathered,
 * multiplied by the small transform matrices in doubles, and scattered (see WinogradSpec).
 */
import { type FloatArray, winogradMatrices, type WinogradSpec, winogradTile, winogradTiles } from '../backend.ts';
import { checkLength } from './indexing.ts';

export const winogradImageSize = (s: WinogradSpec): number => s.n * s.c * s.h * s.w;
export const winogradOutSize = (s: WinogradSpec): number => s.n * s.c * s.oh * s.ow;
export const winogradTransformedSize = (s: WinogradSpec): number => winogradTile(s).alpha ** 2 * s.c * winogradTiles(s).stride;

export const checkWinogradSpec = (kernel: string, s: WinogradSpec): void => {
  const dims = [s.n, s.c, s.h, s.w, s.padH, s.padW, s.oh, s.ow];
  if (s.tile !== undefined && s.tile !== 2 && s.tile !== 4) throw new RangeError(`${kernel}: tile must be 2 or 4, got ${String(s.tile)}`);
  if (dims.some((d) => !Number.isInteger(d) || d < 0) || s.oh !== s.h + 2 * s.padH - 2 || s.ow !== s.w + 2 * s.padW - 2 || s.oh < 1 || s.ow < 1) {
    throw new RangeError(`${kernel}: bad Winograd spec ${JSON.stringify(s)} (oh must be h + 2·padH − 2 ≥ 1, and so ow)`);
  }
};

/** M·X·Mᵀ for M (rows × inner) and an inner × inner X, into out (rows × rows), row-major. */
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
  const { m, alpha } = winogradTile(s);
  const { BT } = winogradMatrices(m);
  const d = new Float64Array(alpha * alpha);
  const v = new Float64Array(alpha * alpha);
  forEachTile(s, (ni, ci, a, b, t) => {
    for (let r = 0; r < alpha; r++) {
      const iy = m * a - s.padH + r;
      for (let q = 0; q < alpha; q++) {
        const ix = m * b - s.padW + q;
        d[r * alpha + q] = iy >= 0 && iy < s.h && ix >= 0 && ix < s.w ? x[((ni * s.c + ci) * s.h + iy) * s.w + ix] : 0;
      }
    }
    sandwich(BT, d, v, false);
    for (let xi = 0; xi < alpha * alpha; xi++) out[(xi * s.c + ci) * stride + t] = v[xi];
  });
};

export const winogradInputAdjoint = (v: FloatArray, out: FloatArray, s: WinogradSpec): void => {
  checkWinogradSpec('winogradInputAdjoint', s);
  checkLength('winogradInputAdjoint', 'v', v, winogradTransformedSize(s));
  const { stride } = winogradTiles(s);
  const { m, alpha } = winogradTile(s);
  const { BT } = winogradMatrices(m);
  const g = new Float64Array(alpha * alpha);
  const d = new Float64Array(alpha * alpha);
  // Accumulate in doubles, round once.
  const acc = new Float64Array(out.length);
  forEachTile(s, (ni, ci, a, b, t) => {
    for (let xi = 0; xi < alpha * alpha; xi++) g[xi] = v[(xi * s.c + ci) * stride + t];
    sandwich(BT, g, d, true);
    for (let r = 0; r < alpha; r++) {
      const iy = m * a - s.padH + r;
      if (iy < 0 || iy >= s.h) continue;
      for (let q = 0; q < alpha; q++) {
        const ix = m * b - s.padW + q;
        if (ix >= 0 && ix < s.w) acc[((ni * s.c + ci) * s.h + iy) * s.w + ix] += d[r * alpha + q];
      }
    }
  });
  out.set(acc);
};

export const winogradOutput = (m: FloatArray, out: FloatArray, s: WinogradSpec, bias: FloatArray | null = null): void => {
  checkWinogradSpec('winogradOutput', s);
  checkLength('winogradOutput', 'm', m, winogradTransformedSize(s));
  if (bias) checkLength('winogradOutput', 'bias', bias, s.c);
  const { stride } = winogradTiles(s);
  const { m: tm, alpha } = winogradTile(s);
  const { AT } = winogradMatrices(tm);
  const g = new Float64Array(alpha * alpha);
  const y = new Float64Array(tm * tm);
  forEachTile(s, (ni, ci, a, b, t) => {
    for (let xi = 0; xi < alpha * alpha; xi++) g[xi] = m[(xi * s.c + ci) * stride + t];
    sandwich(AT, g, y, false);
    for (let u = 0; u < tm; u++) {
      const oy = tm * a + u;
      if (oy >= s.oh) continue;
      for (let q = 0; q < tm; q++) {
        const ox = tm * b + q;
        if (ox < s.ow) out[((ni * s.c + ci) * s.oh + oy) * s.ow + ox] = bias ? y[u * tm + q] + bias[ci] : y[u * tm + q];
      }
    }
  });
};

export const winogradOutputAdjoint = (gy: FloatArray, out: FloatArray, s: WinogradSpec): void => {
  checkWinogradSpec('winogradOutputAdjoint', s);
  checkLength('winogradOutputAdjoint', 'g', gy, winogradOutSize(s));
  const { stride } = winogradTiles(s);
  const { m: tm, alpha } = winogradTile(s);
  const { AT } = winogradMatrices(tm);
  const g = new Float64Array(tm * tm);
  const m = new Float64Array(alpha * alpha);
  forEachTile(s, (ni, ci, a, b, t) => {
    for (let u = 0; u < tm; u++) {
      const oy = tm * a + u;
      for (let q = 0; q < tm; q++) {
        const ox = tm * b + q;
        g[u * tm + q] = oy < s.oh && ox < s.ow ? gy[((ni * s.c + ci) * s.oh + oy) * s.ow + ox] : 0;
      }
    }
    sandwich(AT, g, m, true);
    for (let xi = 0; xi < alpha * alpha; xi++) out[(xi * s.c + ci) * stride + t] = m[xi];
  });
};
