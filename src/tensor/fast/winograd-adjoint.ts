/**
 * The adjoints of the Winograd transforms, F(2×2, 3×3) and F(4×4, 3×3), for the backward pass: the
 * output adjoint A·g·Aᵀ of each zero-padded m×m tile of the image-shaped gradient g, and the input
 * adjoint B·v·Bᵀ of each transformed tile v, added into the image at its α×α patch.
 *
 * Neighbouring patches overlap by 2 columns and 2 rows, so the input adjoint sums into a zeroed
 * padded plane in scratch (a tile's last 2 columns carried to the next group in registers) and
 * copies the plane's interior to the image at the end.
 */
import { type Code, i32, v128 } from './emitter.ts';
import { add, lit, mul } from './expr.ts';
import { storeLanes as store } from './lanes.ts';
import { AT2, AT4, BT2, BT4, columnTerms, type Lin, linearCombination, transpose, vlocals } from './winograd-algebra.ts';
import {
  DST, flushStage, groupAt, groupsOfRow, isQuad, kernel, loadColumn, type Locals, outputRowsToScratch, planeToImage, quadTiles, SCRATCH,
  scratchRow, SRC, stageRow, TH, tileRow, zeroScratchRows,
} from './winograd-frame.ts';

/** image-shaped g [n, C, oh, ow] → [16, C, S]: A·g·Aᵀ of each zero-padded 2×2 tile. */
export const emitOutputAdjoint = (c: Code): void => {
  const lin = linearCombination(c, false); // ±1 coefficients: adds and subtracts only
  const [sp, rp] = [c.local(i32), c.local(i32)];
  const [L, Hh, g00, g01, g10, g11, h0, h1, f] = Array.from({ length: 9 }, () => c.local(v128));
  kernel(c, 2, (l) => {
    c.push(SCRATCH, lit(0), mul(l.rowBytes, lit(2))).memoryFill();
  }, (l) => {
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      outputRowsToScratch(c, l, 2);
      stageRow(c, l, l.q);
      groupsOfRow(c, l, (_tail) => {
        c.let(sp, add(SCRATCH, mul(l.g, lit(32))));
        c.get(sp).mem('v128_load', 0, 0).set(L);
        c.get(sp).mem('v128_load', 16, 0).set(Hh);
        c.get(L).get(Hh).shuffle32(0, 2, 4, 6).set(g00);
        c.get(L).get(Hh).shuffle32(1, 3, 5, 7).set(g01);
        c.let(sp, add(sp, l.rowBytes));
        c.get(sp).mem('v128_load', 0, 0).set(L);
        c.get(sp).mem('v128_load', 16, 0).set(Hh);
        c.get(L).get(Hh).shuffle32(0, 2, 4, 6).set(g10);
        c.get(L).get(Hh).shuffle32(1, 3, 5, 7).set(g11);
        c.let(rp, groupAt(l, l.q));
        for (let i = 0; i < 4; i++) {
          // (A·g)[i][v] = Σ_k Aᵀ[k][i]·g_kv
          lin(h0, columnTerms(AT2, i, [g00, g10]));
          lin(h1, columnTerms(AT2, i, [g01, g11]));
          for (let j = 0; j < 4; j++) {
            // (·Aᵀ)[i][j] = Σ_v h_v·Aᵀ[v][j]
            lin(f, columnTerms(AT2, j, [h0, h1]));
            store(c, rp, 0, f, false, l.count);
            c.let(rp, add(rp, l.stageStride));
          }
        }
      });
    });
    flushStage(c, l);
  }, true);
};

/** V-shaped [16, C, S] → image [n, C, h, w]: B·v·Bᵀ of each tile added at its patch. */
export const emitInputAdjoint = (c: Code): void => {
  const lin = linearCombination(c, false); // ±1 coefficients: adds and subtracts only
  const [rowBase, qj, stride4, pos, iy, planeBytes] = Array.from({ length: 6 }, () => c.local(i32));
  const [v0, v1, v2, v3, dd0, dd1, dd2, dd3, lo01, hi01, lo23, hi23, t] = Array.from({ length: 13 }, () => c.local(v128));
  const e = Array.from({ length: 16 }, () => c.local(v128));
  const carry = Array.from({ length: 4 }, () => c.local(v128));
  kernel(c, 2, (l) => {
    c.let(stride4, mul(l.planeStride, lit(4)));
    // The padded plane: rows 2·th + 2 (scratch row = image row + padH, column = image column + padW).
    c.let(planeBytes, mul(add(mul(TH, lit(2)), lit(2)), l.rowBytes));
  }, (l) => {
    c.get(SCRATCH).i32(0).get(planeBytes).memoryFill();
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      tileRow(c, l, SRC, l.q);
      c.let(rowBase, add(SCRATCH, mul(l.a, lit(2), l.rowBytes)));
      for (const k of carry) c.f32x4(0).set(k);
      groupsOfRow(c, l, (tail) => {
        for (let j = 0; j < 4; j++) {
          loadColumn(c, l, j, [v0, v1, v2, v3], qj, stride4, tail);
          // (B·v)[r][j] = Σ_k Bᵀ[k][r]·v_k
          for (let r = 0; r < 4; r++) lin(e[4 * r + j], columnTerms(BT2, r, [v0, v1, v2, v3]));
        }
        for (let r = 0; r < 4; r++) {
          const x = (j: number): number => e[4 * r + j];
          // (·Bᵀ)[r][s] = Σ_j x_j·Bᵀ[j][s]: the same map along the row
          [dd0, dd1, dd2, dd3].forEach((dd, s2) => lin(dd, columnTerms(BT2, s2, [0, 1, 2, 3].map(x))));
          // Tile L's column s lands at scratch column 8g + 2L + s.
          c.get(dd0).get(dd1).shuffle32(0, 4, 1, 5).set(lo01);
          c.get(dd0).get(dd1).shuffle32(2, 6, 3, 7).set(hi01);
          c.get(dd2).get(dd3).shuffle32(0, 4, 1, 5).set(lo23);
          c.get(dd2).get(dd3).shuffle32(2, 6, 3, 7).set(hi23);
          c.let(pos, add(rowBase, mul(lit(r), l.rowBytes), mul(l.g, lit(32))));
          c.get(carry[r]).get(lo23).shuffle32(2, 3, 4, 5).get(lo01).simd('f32x4_add').set(t);
          c.get(pos).get(pos).mem('v128_load', 0, 0).get(t).simd('f32x4_add').mem('v128_store', 0, 0);
          c.get(lo23).get(hi23).shuffle32(2, 3, 4, 5).get(hi01).simd('f32x4_add').set(t);
          c.get(pos).get(pos).mem('v128_load', 16, 0).get(t).simd('f32x4_add').mem('v128_store', 16, 0);
          c.get(hi23).set(carry[r]);
        }
      });
      // The last group's columns 8·groups, 8·groups + 1.
      for (let r = 0; r < 4; r++) {
        c.let(pos, add(rowBase, mul(lit(r), l.rowBytes), mul(l.groups, lit(32))));
        c.get(pos).get(pos).mem('v128_load', 0, 0).get(carry[r]).f32x4(0).shuffle32(2, 3, 4, 5).simd('f32x4_add').mem('v128_store', 0, 0);
      }
    });
    planeToImage(c, l, iy);
  });
};

/** Output adjoint of a 2×2-tile plane: g's rows 4a + u, columns 4b of tile L, transposed into lanes. */
const outputAdjointQuad = (c: Code, lin: Lin, l: Locals, v: { sp: number; rp: number; P: number[]; gv: number[]; hv: number[]; ts: number[]; f: number }): void => {
  for (const a of [0, 1]) {
    c.i32(a).set(l.a);
    outputRowsToScratch(c, l, 4, 4 * a);
  }
  for (let u = 0; u < 4; u++) {
    for (const a of [0, 1]) {
      c.let(v.sp, scratchRow(l, lit(4 * a + u)));
      for (const b of [0, 1]) c.get(v.sp).mem('v128_load', 16 * b, 0).set(v.P[2 * a + b]);
    }
    transpose(c, v.P, v.gv.slice(4 * u, 4 * u + 4), v.ts);
  }
  for (let i = 0; i < 6; i++) {
    for (let w = 0; w < 4; w++) lin(v.hv[4 * i + w], [0, 1, 2, 3].map((u) => [AT4[u][i], v.gv[4 * u + w]] as const));
  }
  quadTiles(c, l, DST, v.rp);
  for (let i = 0; i < 6; i++) {
    for (let j = 0; j < 6; j++) {
      lin(v.f, [0, 1, 2, 3].map((w) => [AT4[w][j], v.hv[4 * i + w]] as const));
      c.get(v.rp).get(v.f).mem('v128_store', 0, 0);
      c.let(v.rp, add(v.rp, l.planeStride));
    }
  }
};

/**
 * Input adjoint of a 2×2-tile plane: each tile's 6×6 patch of B·v·Bᵀ added into the padded plane
 * (scratch rows 4a + r, columns 4b + s), tile by tile in order; then the plane's interior to the image.
 */
const inputAdjointQuad = (c: Code, lin: Lin, l: Locals, v: { qj: number; stride6: number; pos: number; iy: number; vv: number[]; e: number[]; E: number[]; T4: number[]; T2: number[]; ts: number[]; z: number }): void => {
  quadTiles(c, l, SRC, l.q);
  c.i32(0).set(l.g);
  for (let j = 0; j < 6; j++) {
    loadColumn(c, l, j, v.vv, v.qj, v.stride6, false);
    for (let r = 0; r < 6; r++) lin(v.e[6 * r + j], [0, 1, 2, 3, 4, 5].map((i) => [BT4[i][r], v.vv[i]] as const));
  }
  for (let r = 0; r < 6; r++) {
    for (let s2 = 0; s2 < 6; s2++) lin(v.E[s2], [0, 1, 2, 3, 4, 5].map((j) => [BT4[j][s2], v.e[6 * r + j]] as const));
    // Tile L's columns 0–3 (T4[L]) and 4–5 (T2[L], then two zeros).
    transpose(c, v.E.slice(0, 4), v.T4, v.ts);
    transpose(c, [v.E[4], v.E[5], v.z, v.z], v.T2, v.ts);
    for (let L = 0; L < 4; L++) {
      c.let(v.pos, add(scratchRow(l, lit(4 * (L >> 1) + r)), lit(16 * (L & 1))));
      c.get(v.pos).get(v.pos).mem('v128_load', 0, 0).get(v.T4[L]).simd('f32x4_add').mem('v128_store', 0, 0);
      c.get(v.pos).get(v.pos).mem('v128_load', 16, 0).get(v.T2[L]).simd('f32x4_add').mem('v128_store', 16, 0);
    }
  }
  planeToImage(c, l, v.iy);
};

/** image-shaped g → [36, C, S]: A·g·Aᵀ of each zero-padded 4×4 tile. */
export const emitOutputAdjoint4 = (c: Code, fma: boolean): void => {
  const lin = linearCombination(c, fma);
  const [sp, rp] = [c.local(i32), c.local(i32)];
  const P = vlocals(c, 4);
  const gv = vlocals(c, 16);
  const hv = vlocals(c, 24);
  const ts = vlocals(c, 4);
  const f = c.local(v128);
  kernel(c, 4, (l) => {
    zeroScratchRows(c, l, 4, 8);
  }, (l) => {
    c.push(isQuad);
    c.ifThen(() => outputAdjointQuad(c, lin, l, { sp, rp, P, gv, hv, ts, f }), () => perPlaneOutputAdjoint4(l));
  }, true);

  function perPlaneOutputAdjoint4(l: Locals): void {
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      outputRowsToScratch(c, l, 4);
      stageRow(c, l, l.q);
      groupsOfRow(c, l, () => {
        for (let u = 0; u < 4; u++) {
          c.let(sp, add(scratchRow(l, lit(u)), mul(l.g, lit(64))));
          for (let j = 0; j < 4; j++) c.get(sp).mem('v128_load', 16 * j, 0).set(P[j]);
          transpose(c, P, gv.slice(4 * u, 4 * u + 4), ts);
        }
        // (A·g)[i][v] = Σ_u Aᵀ[u][i]·g[u][v]
        for (let i = 0; i < 6; i++) {
          for (let v = 0; v < 4; v++) lin(hv[4 * i + v], [0, 1, 2, 3].map((u) => [AT4[u][i], gv[4 * u + v]] as const));
        }
        c.let(rp, groupAt(l, l.q));
        for (let i = 0; i < 6; i++) {
          for (let j = 0; j < 6; j++) {
            lin(f, [0, 1, 2, 3].map((v) => [AT4[v][j], hv[4 * i + v]] as const));
            c.get(rp).get(f).mem('v128_store', 0, 0);
            c.let(rp, add(rp, l.stageStride));
          }
        }
      });
    });
    flushStage(c, l);
  }
};

/** V-shaped [36, C, S] → image: B·v·Bᵀ of each tile added at its 6×6 patch. */
export const emitInputAdjoint4 = (c: Code, fma: boolean): void => {
  const lin = linearCombination(c, fma);
  const [rowBase, qj, stride6, pos, iy, planeBytes] = Array.from({ length: 6 }, () => c.local(i32));
  const vv = vlocals(c, 6);
  const e = vlocals(c, 36);
  const E = vlocals(c, 6);
  const Wv = vlocals(c, 4);
  const T4 = vlocals(c, 4);
  const ts = vlocals(c, 4);
  const c4 = vlocals(c, 6);
  const c5 = vlocals(c, 6);
  const z = c.local(v128);
  const T2 = vlocals(c, 4);
  kernel(c, 4, (l) => {
    c.let(stride6, mul(l.planeStride, lit(6)));
    c.let(planeBytes, mul(add(mul(TH, lit(4)), lit(2)), l.rowBytes));
    c.f32x4(0).set(z);
  }, (l) => {
    c.get(SCRATCH).i32(0).get(planeBytes).memoryFill();
    c.push(isQuad);
    c.ifThen(() => inputAdjointQuad(c, lin, l, { qj, stride6, pos, iy, vv, e, E, T4, T2, ts, z }), () => perPlaneInputAdjoint4(l));
  });

  function perPlaneInputAdjoint4(l: Locals): void {
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      tileRow(c, l, SRC, l.q);
      c.let(rowBase, add(SCRATCH, mul(l.a, lit(4), l.rowBytes)));
      for (const k of [...c4, ...c5]) c.get(z).set(k);
      groupsOfRow(c, l, (tail) => {
        for (let j = 0; j < 6; j++) {
          loadColumn(c, l, j, vv, qj, stride6, tail);
          // (B·v)[r][j] = Σ_i Bᵀ[i][r]·v[i][j]
          for (let r = 0; r < 6; r++) lin(e[6 * r + j], [0, 1, 2, 3, 4, 5].map((i) => [BT4[i][r], vv[i]] as const));
        }
        for (let r = 0; r < 6; r++) {
          for (let s2 = 0; s2 < 6; s2++) lin(E[s2], [0, 1, 2, 3, 4, 5].map((j) => [BT4[j][s2], e[6 * r + j]] as const));
          // Tile L's columns 4, 5 are tile L + 1's columns 0, 1 (the group's last tile carries over).
          c.get(c4[r]).get(E[4]).shuffle32(3, 4, 5, 6).get(E[0]).simd('f32x4_add').set(Wv[0]);
          c.get(c5[r]).get(E[5]).shuffle32(3, 4, 5, 6).get(E[1]).simd('f32x4_add').set(Wv[1]);
          c.get(E[2]).set(Wv[2]);
          c.get(E[3]).set(Wv[3]);
          c.get(E[4]).set(c4[r]);
          c.get(E[5]).set(c5[r]);
          transpose(c, Wv, T4, ts);
          c.let(pos, add(rowBase, mul(lit(r), l.rowBytes), mul(l.g, lit(64))));
          for (let L = 0; L < 4; L++) {
            c.get(pos).get(pos).mem('v128_load', 16 * L, 0).get(T4[L]).simd('f32x4_add').mem('v128_store', 16 * L, 0);
          }
        }
      });
      // The last tile's columns 4, 5 at 16·groups, 16·groups + 1.
      for (let r = 0; r < 6; r++) {
        c.let(pos, add(rowBase, mul(lit(r), l.rowBytes), mul(l.groups, lit(64))));
        c.get(pos).get(pos).mem('v128_load', 0, 0)
          .get(c4[r]).get(z).shuffle32(3, 4, 4, 4).simd('f32x4_add')
          .get(z).get(c5[r]).shuffle32(0, 7, 0, 0).simd('f32x4_add')
          .mem('v128_store', 0, 0);
      }
    });
    planeToImage(c, l, iy);
  }
};
