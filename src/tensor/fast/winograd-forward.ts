/**
 * The forward Winograd transforms, F(2×2, 3×3) and F(4×4, 3×3): the input transform V = Bᵀ·d·B of
 * each tile's α×α patch d, and the output transform Aᵀ·m·A of each transformed tile m (cropped at
 * the image's edge, plus the channel's bias).
 *
 * The input transform copies the α image rows of a tile row into scratch and reads tile columns
 * from there (F(2×2): stride-2 shuffles; F(4×4): 4×4 transposes), stages the plane's α² rows and
 * flushes them as long runs (winograd-frame.ts). The output transform writes its m rows to scratch
 * before copying the valid columns out.
 */
import { type Code, i32, v128 } from './emitter.ts';
import { add, lit, mul } from './expr.ts';
import { storeLanes as store } from './lanes.ts';
import { AT2, AT4, bin, BT2, BT4, type Lin, linearCombination, rowTerms, transpose, vlocals } from './winograd-algebra.ts';
import {
  biasVector, DST, flushStage, groupAt, groupsOfRow, imageRowsToScratch, isQuad, kernel, loadColumn, type Locals, quadTiles, SCRATCH,
  scratchRow, scratchToOutputRows, SRC, stageRow, TH, tileRow, zeroScratchRows,
} from './winograd-frame.ts';

/** image [n, C, h, w] → V [16, C, S]: V = Bᵀ·d·B per tile (see WinogradSpec). */
export const emitInput = (c: Code): void => {
  const lin = linearCombination(c, false); // ±1 coefficients: adds and subtracts only
  const [iy, row, sp, rp] = [c.local(i32), c.local(i32), c.local(i32), c.local(i32)];
  const [P, Q, P2, Q2, d0, d1, d2, d3, f] = Array.from({ length: 9 }, () => c.local(v128));
  const hv = Array.from({ length: 16 }, () => c.local(v128));
  kernel(c, 2, (l) => {
    c.push(SCRATCH, lit(0), mul(l.rowBytes, lit(4))).memoryFill();
  }, (l) => {
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      imageRowsToScratch(c, l, 2, iy, row);
      stageRow(c, l, l.q);
      groupsOfRow(c, l, (_tail) => {
        c.let(sp, add(SCRATCH, mul(l.g, lit(32))));
        for (let rr = 0; rr < 4; rr++) {
          c.let(rp, add(sp, mul(lit(rr), l.rowBytes)));
          c.get(rp).mem('v128_load', 0, 0).set(P);
          c.get(rp).mem('v128_load', 16, 0).set(Q);
          c.get(rp).mem('v128_load', 8, 0).set(P2);
          c.get(rp).mem('v128_load', 24, 0).set(Q2);
          c.get(P).get(Q).shuffle32(0, 2, 4, 6).set(d0);
          c.get(P).get(Q).shuffle32(1, 3, 5, 7).set(d1);
          c.get(P2).get(Q2).shuffle32(0, 2, 4, 6).set(d2);
          c.get(P2).get(Q2).shuffle32(1, 3, 5, 7).set(d3);
          // (d·B)[rr][j] = Σ_k Bᵀ[j][k]·d_k
          for (let j = 0; j < 4; j++) lin(hv[4 * rr + j], rowTerms(BT2, j, [d0, d1, d2, d3]));
        }
        // Bᵀ·(d·B), plane ξ = 4i + j at q + 16g + ξ·planeStride.
        c.let(rp, groupAt(l, l.q));
        for (let i = 0; i < 4; i++) {
          for (let j = 0; j < 4; j++) {
            lin(f, rowTerms(BT2, i, [0, 1, 2, 3].map((rr) => hv[4 * rr + j])));
            store(c, rp, 0, f, false, l.count);
            c.let(rp, add(rp, l.stageStride));
          }
        }
      });
    });
    flushStage(c, l);
  }, true);
};

/** M [16, C, S] → image [n, C, oh, ow]: each tile Aᵀ·m·A, through 2 scratch rows. */
export const emitOutput = (c: Code): void => {
  const lin = linearCombination(c, false); // ±1 coefficients: adds and subtracts only
  const [sp, qj, stride4] = [c.local(i32), c.local(i32), c.local(i32)];
  const [m0, m1, m2, m3, y00, y01, y10, y11, bv] = Array.from({ length: 9 }, () => c.local(v128));
  const r0 = Array.from({ length: 4 }, () => c.local(v128));
  const r1 = Array.from({ length: 4 }, () => c.local(v128));
  kernel(c, 2, (l) => {
    c.let(stride4, mul(l.planeStride, lit(4)));
  }, (l) => {
    biasVector(c, l, bv);
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      tileRow(c, l, SRC, l.q);
      groupsOfRow(c, l, (tail) => {
        for (let j = 0; j < 4; j++) {
          loadColumn(c, l, j, [m0, m1, m2, m3], qj, stride4, tail);
          // (Aᵀ·m)[u][j] = Σ_i Aᵀ[u][i]·m_i
          lin(r0[j], rowTerms(AT2, 0, [m0, m1, m2, m3]));
          lin(r1[j], rowTerms(AT2, 1, [m0, m1, m2, m3]));
        }
        for (const [r, ya, yb] of [[r0, y00, y01], [r1, y10, y11]] as const) {
          lin(ya, rowTerms(AT2, 0, r));
          lin(yb, rowTerms(AT2, 1, r));
        }
        for (const y of [y00, y01, y10, y11]) bin(c, y, y, 'f32x4_add', bv);
        // Interleave the tiles' two columns: output columns 8g .. 8g + 7 of both rows.
        c.let(sp, add(SCRATCH, mul(l.g, lit(32))));
        c.get(sp).get(y00).get(y01).shuffle32(0, 4, 1, 5).mem('v128_store', 0, 0);
        c.get(sp).get(y00).get(y01).shuffle32(2, 6, 3, 7).mem('v128_store', 16, 0);
        c.let(sp, add(sp, l.rowBytes));
        c.get(sp).get(y10).get(y11).shuffle32(0, 4, 1, 5).mem('v128_store', 0, 0);
        c.get(sp).get(y10).get(y11).shuffle32(2, 6, 3, 7).mem('v128_store', 16, 0);
      });
      scratchToOutputRows(c, l, 2);
    });
  });
};

/** Input transform of a 2×2-tile plane: d (6 columns × 6 rows, lanes = tiles) → V, stored directly. */
const inputQuad = (c: Code, lin: Lin, l: Locals, v: { iy: number; row: number; rp: number; P: number[]; d: number[]; ts: number[]; h: number[]; f: number }): void => {
  c.i32(0).set(l.a);
  imageRowsToScratch(c, l, 4, v.iy, v.row, 0);
  c.i32(1).set(l.a);
  imageRowsToScratch(c, l, 4, v.iy, v.row, 4);
  for (let rr = 0; rr < 6; rr++) {
    // Columns 0–11 of padded rows rr (tiles 0, 1) and 4 + rr (tiles 2, 3).
    for (const [k, srow] of [[0, rr], [3, 4 + rr]] as const) {
      c.let(v.rp, scratchRow(l, lit(srow)));
      for (let j = 0; j < 3; j++) c.get(v.rp).mem('v128_load', 16 * j, 0).set(v.P[k + j]);
    }
    // d[j] = (tile 0 col j, tile 1 col 4 + j, tile 2 col j, tile 3 col 4 + j)
    transpose(c, [v.P[0], v.P[1], v.P[3], v.P[4]], v.d.slice(0, 4), v.ts);
    transpose(c, [v.P[1], v.P[2], v.P[4], v.P[5]], v.d.slice(4, 6), v.ts, 2);
    for (let j = 0; j < 6; j++) lin(v.h[6 * rr + j], BT4[j].map((k, s2) => [k, v.d[s2]] as const));
  }
  quadTiles(c, l, DST, v.rp);
  for (let i = 0; i < 6; i++) {
    for (let j = 0; j < 6; j++) {
      lin(v.f, BT4[i].map((k, r) => [k, v.h[6 * r + j]] as const));
      c.get(v.rp).get(v.f).mem('v128_store', 0, 0);
      c.let(v.rp, add(v.rp, l.planeStride));
    }
  }
};

/** Output transform of a 2×2-tile plane: tile L's rows go to scratch rows 4a + u, columns 4b. */
const outputQuad = (c: Code, lin: Lin, l: Locals, v: { qj: number; stride6: number; u4: number; mv: number[]; r: number[]; Y: number[]; T4: number[]; ts: number[]; bv: number }): void => {
  quadTiles(c, l, SRC, l.q);
  c.i32(0).set(l.g);
  for (let j = 0; j < 6; j++) {
    loadColumn(c, l, j, v.mv, v.qj, v.stride6, false);
    for (let u = 0; u < 4; u++) lin(v.r[6 * u + j], AT4[u].map((k, i) => [k, v.mv[i]] as const));
  }
  for (let u = 0; u < 4; u++) {
    for (let w = 0; w < 4; w++) {
      lin(v.Y[w], AT4[w].map((k, j) => [k, v.r[6 * u + j]] as const));
      bin(c, v.Y[w], v.Y[w], 'f32x4_add', v.bv);
    }
    transpose(c, v.Y, v.T4, v.ts);
    for (let L = 0; L < 4; L++) {
      c.let(v.u4, scratchRow(l, lit(4 * (L >> 1) + u)));
      c.get(v.u4).get(v.T4[L]).mem('v128_store', 16 * (L & 1), 0);
    }
  }
  for (const a of [0, 1]) {
    c.i32(a).set(l.a);
    scratchToOutputRows(c, l, 4, 4 * a);
  }
};

/** image → V [36, C, S]: V = Bᵀ·d·B per 6×6 patch. */
export const emitInput4 = (c: Code, fma: boolean): void => {
  const lin = linearCombination(c, fma);
  const [iy, row, sp, rp] = [c.local(i32), c.local(i32), c.local(i32), c.local(i32)];
  const P = vlocals(c, 5);
  const d = vlocals(c, 6);
  const ts = vlocals(c, 4);
  const h = vlocals(c, 36);
  const f = c.local(v128);
  const P6 = [...P, c.local(v128)];
  kernel(c, 4, (l) => {
    zeroScratchRows(c, l, 6, 10);
  }, (l) => {
    c.push(isQuad);
    c.ifThen(() => inputQuad(c, lin, l, { iy, row, rp, P: P6, d, ts, h, f }), () => perPlaneInput4(l));
  }, true);

  function perPlaneInput4(l: Locals): void {
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      imageRowsToScratch(c, l, 4, iy, row);
      stageRow(c, l, l.q);
      groupsOfRow(c, l, () => {
        c.let(sp, add(SCRATCH, mul(l.g, lit(64))));
        for (let rr = 0; rr < 6; rr++) {
          c.let(rp, add(sp, mul(lit(rr), l.rowBytes)));
          for (let j = 0; j < 5; j++) c.get(rp).mem('v128_load', 16 * j, 0).set(P[j]);
          transpose(c, P.slice(0, 4), d.slice(0, 4), ts);
          transpose(c, P.slice(1, 5), d.slice(4, 6), ts, 2);
          // (d·B)[rr][j] = Σ_s d[s]·Bᵀ[j][s]
          for (let j = 0; j < 6; j++) lin(h[6 * rr + j], BT4[j].map((k, s2) => [k, d[s2]] as const));
        }
        c.let(rp, groupAt(l, l.q));
        for (let i = 0; i < 6; i++) {
          for (let j = 0; j < 6; j++) {
            lin(f, BT4[i].map((k, r) => [k, h[6 * r + j]] as const));
            c.get(rp).get(f).mem('v128_store', 0, 0);
            c.let(rp, add(rp, l.stageStride));
          }
        }
      });
    });
    flushStage(c, l);
  }
};

/** M [36, C, S] → image: each tile Aᵀ·m·A (4×4), through 4 scratch rows. */
export const emitOutput4 = (c: Code, fma: boolean): void => {
  const lin = linearCombination(c, fma);
  const [qj, stride6, u4] = [c.local(i32), c.local(i32), c.local(i32)];
  const mv = vlocals(c, 6);
  const r = vlocals(c, 24);
  const Y = vlocals(c, 4);
  const T4 = vlocals(c, 4);
  const ts = vlocals(c, 4);
  const bv = c.local(v128);
  kernel(c, 4, (l) => {
    c.let(stride6, mul(l.planeStride, lit(6)));
  }, (l) => {
    biasVector(c, l, bv);
    c.push(isQuad);
    c.ifThen(() => outputQuad(c, lin, l, { qj, stride6, u4, mv, r, Y, T4, ts, bv }), () => perPlaneOutput4(l));
  });

  function perPlaneOutput4(l: Locals): void {
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      tileRow(c, l, SRC, l.q);
      groupsOfRow(c, l, (tail) => {
        for (let j = 0; j < 6; j++) {
          loadColumn(c, l, j, mv, qj, stride6, tail);
          // (Aᵀ·m)[u][j]
          for (let u = 0; u < 4; u++) lin(r[6 * u + j], AT4[u].map((k, i) => [k, mv[i]] as const));
        }
        for (let u = 0; u < 4; u++) {
          for (let v = 0; v < 4; v++) {
            lin(Y[v], AT4[v].map((k, j) => [k, r[6 * u + j]] as const));
            bin(c, Y[v], Y[v], 'f32x4_add', bv);
          }
          transpose(c, Y, T4, ts);
          c.let(u4, add(scratchRow(l, lit(u)), mul(l.g, lit(64))));
          for (let L = 0; L < 4; L++) c.get(u4).get(T4[L]).mem('v128_store', 16 * L, 0);
        }
      });
      scratchToOutputRows(c, l, 4);
    });
  }
};

