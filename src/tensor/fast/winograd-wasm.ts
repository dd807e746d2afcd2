/**
 * Winograd F(2×2, 3×3) transforms in WebAssembly SIMD (the layouts are WinogradSpec's). Every kernel
 * runs over a range of image planes p = ni·C + ci and, inside a plane, over tile rows; the four
 * lanes of a vector are four neighbouring tiles of a row, so each of the 16 transformed values of
 * a group of 4 tiles is one contiguous v128 in its ξ plane.
 *
 * The image side goes through a small zeroed scratch per thread, so the inner loops carry no
 * bounds tests: the input transform copies the 4 image rows of a tile row into it (padding stays
 * zero), reads tile columns with stride-2 shuffles, and the output transform writes its 2 rows
 * there before copying the valid columns out. A tile row whose length is not a multiple of 4 ends
 * in a group whose loads and stores touch only its valid lanes.
 *
 * All four share one signature (i32s): src, dst, from, to, C, S, h, w, padH, padW, oh, ow, th, tw,
 * scratch, T — S the tile stride, T the valid tiles, scratch the calling thread's own block of
 * {@link winogradScratchFloats} floats; the output kernels take one more, a pointer to a per-channel
 * bias added to every output (0: none), which saves a conv its separate bias pass. Small row copies
 * are vector loops (memory.copy is a call into the runtime, which costs more than moving 28 floats).
 */
import { Code, i32, ModuleBuilder, v128, type ValType } from './emitter.ts';
import { winogradMatrices } from '../backend.ts';
import { loadLanes as load, storeLanes as store } from './lanes.ts';

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

/** Scratch row width (floats) for tw tiles of m per row: 4·m per group of 4 tiles, and 8 spare. */
export const winogradScratchWidth = (tw: number, m: number): number => 4 * m * Math.ceil(tw / 4) + 8;
/**
 * Floats of scratch one thread needs: max(α, m·th + 2) rows (the input adjoint keeps a padded
 * plane) and the staging area of α² rows of th·tw + 4.
 */
export const winogradScratchFloats = (th: number, tw: number, m: number): number =>
  Math.max(m + 2, m * th + 2) * winogradScratchWidth(tw, m) + (m + 2) ** 2 * (th * tw + 4);

const [SRC, DST, FROM, TO, C, T, H, W, PADH, PADW, OH, OW, TH, TW, SCRATCH, TILES, BIAS] = Array.from({ length: 17 }, (_, i) => i);

/** The output kernels' bias vector for plane p's channel: bias[ci] in every lane, or zeros when BIAS is 0. */
const biasVector = (c: Code, l: Locals, bv: number): void => {
  c.get(BIAS);
  c.ifThen(() => {
    c.get(BIAS).get(l.ci).i32(4).op('i32_mul').op('i32_add').mem('v128_load32_splat').set(bv);
  }, () => {
    c.f32x4(0).set(bv);
  });
};

type Op = 'f32x4_add' | 'f32x4_sub';

interface Locals {
  readonly g: number;
  readonly groups: number;
  readonly rowBytes: number;
  readonly planeStride: number;
  readonly p: number;
  /** The image plane ni·C + ci that p stands for. */
  readonly plane: number;
  /** Images in the batch (T / tiles per plane). */
  readonly images: number;
  readonly ni: number;
  readonly ci: number;
  readonly a: number;
  readonly count: number;
  readonly q: number;
  readonly tmp: number;
  /** α², the number of transform-domain planes. */
  readonly planes: number;
  /** The staging area after the scratch rows: α² rows of a plane's th·tw tiles (+ 4 spare). */
  readonly stage: number;
  readonly stageStride: number;
  readonly tpp: number;
  /** Scratch for {@link copy}. */
  readonly copyLocals: readonly number[];
}

/** Copies len floats (len pushed by `count`) from the address `src` pushes to the one `dst` pushes. */
const copy = (c: Code, l: Locals, dst: () => void, src: () => void, count: () => void): void => {
  const [d, s, n, i, n4] = l.copyLocals;
  dst();
  c.set(d);
  src();
  c.set(s);
  count();
  c.set(n);
  c.get(n).i32(-4).op('i32_and').set(n4);
  c.forUp(i, () => c.i32(0), n4, 4, () => {
    c.get(d).get(s).mem('v128_load', 0, 0).mem('v128_store', 0, 0);
    c.get(d).i32(16).op('i32_add').set(d);
    c.get(s).i32(16).op('i32_add').set(s);
  });
  c.forUp(i, () => c.get(n4), n, 1, () => {
    c.get(d).get(s).mem('f32_load').mem('f32_store');
    c.get(d).i32(4).op('i32_add').set(d);
    c.get(s).i32(4).op('i32_add').set(s);
  });
};

/** After the last image's planes: zeros in the stride padding [T, S) of channel ci's 16 rows. */
const zeroPadding = (c: Code, l: Locals): void => {
  c.get(l.ni).i32(1).op('i32_add').get(TH).op('i32_mul').get(TW).op('i32_mul').get(TILES).op('i32_eq');
  c.ifThen(() => {
    c.forUp(l.tmp, () => c.i32(0), l.planes, 1, () => {
      c.get(DST).get(l.tmp).get(C).op('i32_mul').get(l.ci).op('i32_add').get(T).op('i32_mul').get(TILES).op('i32_add')
        .i32(4).op('i32_mul').op('i32_add')
        .i32(0).get(T).get(TILES).op('i32_sub').i32(4).op('i32_mul').memoryFill();
    });
  });
};

/** c.set(dst) of a op b for v128 locals. */
const bin = (c: Code, dst: number, a: number, op: Op, b: number): void => {
  c.get(a).get(b).simd(op).set(dst);
};
const neg = (c: Code, dst: number, a: number): void => {
  c.get(a).simd('f32x4_neg').set(dst);
};

/** True when a plane is 2×2 tiles (the F(4×4) kernels then take it as one group; see below) (pushes an i32 condition). */
const isQuad = (c: Code): void => {
  c.get(TH).i32(2).op('i32_eq').get(TW).i32(2).op('i32_eq').op('i32_and');
};

/** The frame every kernel shares: locals, groups per row, the plane loop; `perPlane` emits its body. */
const kernel = (c: Code, m: number, rows: (l: Locals) => void, perPlane: (l: Locals) => void, transformedOut = false): void => {
  const l: Locals = {
    g: c.local(i32), groups: c.local(i32), rowBytes: c.local(i32), planeStride: c.local(i32), p: c.local(i32), plane: c.local(i32), images: c.local(i32),
    ni: c.local(i32), ci: c.local(i32), a: c.local(i32), count: c.local(i32), q: c.local(i32), tmp: c.local(i32),
    planes: c.local(i32), copyLocals: Array.from({ length: 5 }, () => c.local(i32)),
    stage: c.local(i32), stageStride: c.local(i32), tpp: c.local(i32),
  };
  const alpha = m + 2;
  c.i32(alpha * alpha).set(l.planes);
  c.get(TW).i32(3).op('i32_add').i32(2).op('i32_shr_u').set(l.groups);
  // row bytes: 4·(4m·groups + 8), as winogradScratchWidth
  c.get(l.groups).i32(4 * m).op('i32_mul').i32(8).op('i32_add').i32(4).op('i32_mul').set(l.rowBytes);
  c.get(C).get(T).op('i32_mul').i32(4).op('i32_mul').set(l.planeStride);
  c.get(TH).get(TW).op('i32_mul').set(l.tpp);
  c.get(l.tpp).i32(4).op('i32_add').i32(4).op('i32_mul').set(l.stageStride);
  // stage = scratch + max(α, m·th + 2) rows
  c.get(TH).i32(m).op('i32_mul').i32(2).op('i32_add').set(l.tmp);
  c.get(l.tmp).i32(alpha).get(l.tmp).i32(alpha).op('i32_gt_s').op('select').get(l.rowBytes).op('i32_mul').get(SCRATCH).op('i32_add').set(l.stage);
  rows(l);
  // Planes go channel by channel (p = ci·n + ni), so consecutive planes write (or read) consecutive
  // tile runs of each transformed row: whole cache lines in long streams, not scattered parts.
  c.get(TILES).get(l.tpp).op('i32_div_u').set(l.images);
  c.forUp(l.p, () => c.get(FROM), TO, 1, () => {
    c.get(l.p).get(l.images).op('i32_div_u').set(l.ci);
    c.get(l.p).get(l.ci).get(l.images).op('i32_mul').op('i32_sub').set(l.ni);
    c.get(l.ni).get(C).op('i32_mul').get(l.ci).op('i32_add').set(l.plane);
    perPlane(l);
    if (transformedOut) zeroPadding(c, l);
  });
};

/** For each group of 4 tiles in a tile row: count = valid tiles, then body(full) or body(tail). */
const groupsOfRow = (c: Code, l: Locals, body: (tail: boolean) => void): void => {
  c.forUp(l.g, () => c.i32(0), l.groups, 1, () => {
    c.get(TW).get(l.g).i32(4).op('i32_mul').op('i32_sub').set(l.count);
    c.get(l.count).i32(4).op('i32_ge_s');
    c.ifThen(() => body(false), () => body(true));
  });
};

/**
 * Kernels that write a transformed tensor stage a plane's 16 rows in scratch (a tile row a at
 * stage + 4·a·tw, ξ rows stageStride apart: whole vectors, no partial stores), then copy each ξ row
 * to dst + 4·((ξ·C + ci)·S + ni·th·tw) — 16 long runs instead of 16 streams of 16-byte stores.
 */
const stageRow = (c: Code, l: Locals, dst: number): void => {
  c.get(l.stage).get(l.a).get(TW).op('i32_mul').i32(4).op('i32_mul').op('i32_add').set(dst);
};
const flushStage = (c: Code, l: Locals): void => {
  c.forUp(l.tmp, () => c.i32(0), l.planes, 1, () => {
    copy(c, l,
      () => c.get(DST).get(l.tmp).get(C).op('i32_mul').get(l.ci).op('i32_add').get(T).op('i32_mul')
        .get(l.ni).get(l.tpp).op('i32_mul').op('i32_add').i32(4).op('i32_mul').op('i32_add'),
      () => c.get(l.stage).get(l.tmp).get(l.stageStride).op('i32_mul').op('i32_add'),
      () => c.get(l.tpp));
  });
};

/**
 * Column j of the group's transformed α×α blocks: values ξ = α·i + j (i < α) of its 4 tiles (only
 * the valid ones in a tail group) into dsts, rows of ξ being rowStride bytes apart. qj: i32 scratch.
 */
const loadColumn = (c: Code, l: Locals, j: number, dsts: readonly number[], qj: number, rowStride: number, tail: boolean): void => {
  c.get(l.q).get(l.g).i32(16).op('i32_mul').op('i32_add').get(l.planeStride).i32(j).op('i32_mul').op('i32_add').set(qj);
  dsts.forEach((d, i) => {
    if (i > 0) c.get(qj).get(rowStride).op('i32_add').set(qj);
    load(c, d, qj, 0, tail, l.count);
  });
};

/** The first tile of plane p's tile row a in a [16, C, T] tensor at base: base + 4·(ci·T + (ni·th + a)·tw). */
const tileRow = (c: Code, l: Locals, base: number, dst: number): void => {
  c.get(base)
    .get(l.ci).get(T).op('i32_mul')
    .get(l.ni).get(TH).op('i32_mul').get(l.a).op('i32_add').get(TW).op('i32_mul')
    .op('i32_add').i32(4).op('i32_mul').op('i32_add').set(dst);
};

/** Image row pointer: base + 4·(plane·h·w + row·w) for an image [planes, h, w]. */
const imageRow = (c: Code, l: Locals, base: number, h: number, w: number, row: () => void): void => {
  c.get(base).get(l.plane).get(h).op('i32_mul');
  row();
  c.op('i32_add').get(w).op('i32_mul').i32(4).op('i32_mul').op('i32_add');
};

/**
 * The α image rows of tile row a (rows m·a − padH + r) into scratch rows scratchRow0 + r at columns
 * [padW, padW + w); rows outside the image become zeros (the scratch's other columns stay zero).
 * iy, row: i32 scratch.
 */
const imageRowsToScratch = (c: Code, l: Locals, m: number, iy: number, row: number, scratchRow0 = 0): void => {
  for (let rr = 0; rr < m + 2; rr++) {
    c.get(l.a).i32(m).op('i32_mul').get(PADH).op('i32_sub').i32(rr).op('i32_add').set(iy);
    c.get(SCRATCH).i32(scratchRow0 + rr).get(l.rowBytes).op('i32_mul').op('i32_add').get(PADW).i32(4).op('i32_mul').op('i32_add').set(row);
    c.get(iy).get(H).op('i32_lt_u');
    c.ifThen(() => {
      copy(c, l, () => c.get(row), () => imageRow(c, l, SRC, H, W, () => c.get(iy)), () => c.get(W));
    }, () => {
      c.get(row).i32(0).get(W).i32(4).op('i32_mul').memoryFill();
    });
  }
};

/** Output rows m·a + u (u < m) of the source image into scratch rows u, zeros below the image. */
const outputRowsToScratch = (c: Code, l: Locals, m: number, scratchRow0 = 0): void => {
  for (let u = 0; u < m; u++) {
    c.get(l.a).i32(m).op('i32_mul').i32(u).op('i32_add').get(OH).op('i32_lt_s');
    c.ifThen(() => {
      copy(c, l, () => c.get(SCRATCH).i32(scratchRow0 + u).get(l.rowBytes).op('i32_mul').op('i32_add'),
        () => imageRow(c, l, SRC, OH, OW, () => c.get(l.a).i32(m).op('i32_mul').i32(u).op('i32_add')), () => c.get(OW));
    }, () => {
      c.get(SCRATCH).i32(scratchRow0 + u).get(l.rowBytes).op('i32_mul').op('i32_add').i32(0).get(OW).i32(4).op('i32_mul').memoryFill();
    });
  }
};

/** Scratch rows scratchRow0 + u (u < m) to the destination image's rows m·a + u that exist, columns [0, ow). */
const scratchToOutputRows = (c: Code, l: Locals, m: number, scratchRow0 = 0): void => {
  for (let u = 0; u < m; u++) {
    c.get(l.a).i32(m).op('i32_mul').i32(u).op('i32_add').get(OH).op('i32_lt_s');
    c.ifThen(() => {
      copy(c, l, () => imageRow(c, l, DST, OH, OW, () => c.get(l.a).i32(m).op('i32_mul').i32(u).op('i32_add')),
        () => c.get(SCRATCH).i32(scratchRow0 + u).get(l.rowBytes).op('i32_mul').op('i32_add'), () => c.get(OW));
    });
  }
};

/** The padded plane's rows [padH, padH + h), columns [padW, padW + w) to the destination image. */
const planeToImage = (c: Code, l: Locals, iy: number): void => {
  c.forUp(iy, () => c.i32(0), H, 1, () => {
    copy(c, l, () => imageRow(c, l, DST, H, W, () => c.get(iy)),
      () => c.get(SCRATCH).get(iy).get(PADH).op('i32_add').get(l.rowBytes).op('i32_mul').op('i32_add').get(PADW).i32(4).op('i32_mul').op('i32_add'),
      () => c.get(W));
  });
};

/** image [n, C, h, w] → V [16, C, T]: V = Bᵀ·d·B per tile (see WinogradSpec). */
const emitInput = (c: Code): void => {
  const [iy, row, sp, rp] = [c.local(i32), c.local(i32), c.local(i32), c.local(i32)];
  const [P, Q, P2, Q2, d0, d1, d2, d3, f] = Array.from({ length: 9 }, () => c.local(v128));
  const hv = Array.from({ length: 16 }, () => c.local(v128));
  kernel(c, 2, (l) => {
    c.get(SCRATCH).i32(0).get(l.rowBytes).i32(4).op('i32_mul').memoryFill();
  }, (l) => {
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      imageRowsToScratch(c, l, 2, iy, row);
      stageRow(c, l, l.q);
      groupsOfRow(c, l, (tail) => {
        c.get(SCRATCH).get(l.g).i32(32).op('i32_mul').op('i32_add').set(sp);
        for (let rr = 0; rr < 4; rr++) {
          c.get(sp).i32(rr).get(l.rowBytes).op('i32_mul').op('i32_add').set(rp);
          c.get(rp).mem('v128_load', 0, 0).set(P);
          c.get(rp).mem('v128_load', 16, 0).set(Q);
          c.get(rp).mem('v128_load', 8, 0).set(P2);
          c.get(rp).mem('v128_load', 24, 0).set(Q2);
          c.get(P).get(Q).shuffle32(0, 2, 4, 6).set(d0);
          c.get(P).get(Q).shuffle32(1, 3, 5, 7).set(d1);
          c.get(P2).get(Q2).shuffle32(0, 2, 4, 6).set(d2);
          c.get(P2).get(Q2).shuffle32(1, 3, 5, 7).set(d3);
          // (d·B)[rr][j]
          bin(c, hv[4 * rr], d0, 'f32x4_sub', d2);
          bin(c, hv[4 * rr + 1], d1, 'f32x4_add', d2);
          bin(c, hv[4 * rr + 2], d2, 'f32x4_sub', d1);
          bin(c, hv[4 * rr + 3], d1, 'f32x4_sub', d3);
        }
        // Bᵀ·(d·B), plane ξ = 4i + j at q + 16g + ξ·planeStride.
        c.get(l.q).get(l.g).i32(16).op('i32_mul').op('i32_add').set(rp);
        for (let i = 0; i < 4; i++) {
          for (let j = 0; j < 4; j++) {
            const h = (rr: number): number => hv[4 * rr + j];
            if (i === 0) bin(c, f, h(0), 'f32x4_sub', h(2));
            else if (i === 1) bin(c, f, h(1), 'f32x4_add', h(2));
            else if (i === 2) bin(c, f, h(2), 'f32x4_sub', h(1));
            else bin(c, f, h(1), 'f32x4_sub', h(3));
            store(c, rp, 0, f, false, l.count);
            c.get(rp).get(l.stageStride).op('i32_add').set(rp);
          }
        }
      });
    });
    flushStage(c, l);
  }, true);
};

/** M [16, C, T] → image [n, C, oh, ow]: each tile Aᵀ·m·A, through 2 scratch rows. */
const emitOutput = (c: Code): void => {
  const [sp, qj, stride4] = [c.local(i32), c.local(i32), c.local(i32)];
  const [m0, m1, m2, m3, y00, y01, y10, y11, bv] = Array.from({ length: 9 }, () => c.local(v128));
  const r0 = Array.from({ length: 4 }, () => c.local(v128));
  const r1 = Array.from({ length: 4 }, () => c.local(v128));
  kernel(c, 2, (l) => {
    c.get(l.planeStride).i32(4).op('i32_mul').set(stride4);
  }, (l) => {
    biasVector(c, l, bv);
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      tileRow(c, l, SRC, l.q);
      groupsOfRow(c, l, (tail) => {
        for (let j = 0; j < 4; j++) {
          loadColumn(c, l, j, [m0, m1, m2, m3], qj, stride4, tail);
          // (Aᵀ·m)[0][j] = m0 + m1 + m2, [1][j] = m1 − m2 − m3
          bin(c, r0[j], m0, 'f32x4_add', m1);
          bin(c, r0[j], r0[j], 'f32x4_add', m2);
          bin(c, r1[j], m1, 'f32x4_sub', m2);
          bin(c, r1[j], r1[j], 'f32x4_sub', m3);
        }
        for (const [r, ya, yb] of [[r0, y00, y01], [r1, y10, y11]] as const) {
          bin(c, ya, r[0], 'f32x4_add', r[1]);
          bin(c, ya, ya, 'f32x4_add', r[2]);
          bin(c, yb, r[1], 'f32x4_sub', r[2]);
          bin(c, yb, yb, 'f32x4_sub', r[3]);
        }
        for (const y of [y00, y01, y10, y11]) bin(c, y, y, 'f32x4_add', bv);
        // Interleave the tiles' two columns: output columns 8g .. 8g + 7 of both rows.
        c.get(SCRATCH).get(l.g).i32(32).op('i32_mul').op('i32_add').set(sp);
        c.get(sp).get(y00).get(y01).shuffle32(0, 4, 1, 5).mem('v128_store', 0, 0);
        c.get(sp).get(y00).get(y01).shuffle32(2, 6, 3, 7).mem('v128_store', 16, 0);
        c.get(sp).get(l.rowBytes).op('i32_add').set(sp);
        c.get(sp).get(y10).get(y11).shuffle32(0, 4, 1, 5).mem('v128_store', 0, 0);
        c.get(sp).get(y10).get(y11).shuffle32(2, 6, 3, 7).mem('v128_store', 16, 0);
      });
      scratchToOutputRows(c, l, 2);
    });
  });
};

/** image-shaped g [n, C, oh, ow] → [16, C, T]: A·g·Aᵀ of each zero-padded 2×2 tile. */
const emitOutputAdjoint = (c: Code): void => {
  const [sp, rp] = [c.local(i32), c.local(i32)];
  const [L, Hh, g00, g01, g10, g11, h0, h1, f] = Array.from({ length: 9 }, () => c.local(v128));
  kernel(c, 2, (l) => {
    c.get(SCRATCH).i32(0).get(l.rowBytes).i32(2).op('i32_mul').memoryFill();
  }, (l) => {
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      outputRowsToScratch(c, l, 2);
      stageRow(c, l, l.q);
      groupsOfRow(c, l, (tail) => {
        c.get(SCRATCH).get(l.g).i32(32).op('i32_mul').op('i32_add').set(sp);
        c.get(sp).mem('v128_load', 0, 0).set(L);
        c.get(sp).mem('v128_load', 16, 0).set(Hh);
        c.get(L).get(Hh).shuffle32(0, 2, 4, 6).set(g00);
        c.get(L).get(Hh).shuffle32(1, 3, 5, 7).set(g01);
        c.get(sp).get(l.rowBytes).op('i32_add').set(sp);
        c.get(sp).mem('v128_load', 0, 0).set(L);
        c.get(sp).mem('v128_load', 16, 0).set(Hh);
        c.get(L).get(Hh).shuffle32(0, 2, 4, 6).set(g10);
        c.get(L).get(Hh).shuffle32(1, 3, 5, 7).set(g11);
        c.get(l.q).get(l.g).i32(16).op('i32_mul').op('i32_add').set(rp);
        for (let i = 0; i < 4; i++) {
          // (A·g)[i][v]: g0v, g0v + g1v, g0v − g1v, −g1v
          for (const [dst, a, b] of [[h0, g00, g10], [h1, g01, g11]] as const) {
            if (i === 0) c.get(a).set(dst);
            else if (i === 1) bin(c, dst, a, 'f32x4_add', b);
            else if (i === 2) bin(c, dst, a, 'f32x4_sub', b);
            else neg(c, dst, b);
          }
          for (let j = 0; j < 4; j++) {
            // (·Aᵀ)[i][j]: h0, h0 + h1, h0 − h1, −h1
            if (j === 0) c.get(h0).set(f);
            else if (j === 1) bin(c, f, h0, 'f32x4_add', h1);
            else if (j === 2) bin(c, f, h0, 'f32x4_sub', h1);
            else neg(c, f, h1);
            store(c, rp, 0, f, false, l.count);
            c.get(rp).get(l.stageStride).op('i32_add').set(rp);
          }
        }
      });
    });
    flushStage(c, l);
  }, true);
};

/** V-shaped [16, C, T] → image [n, C, h, w]: B·v·Bᵀ of each tile added at its patch. */
const emitInputAdjoint = (c: Code): void => {
  const [rowBase, qj, stride4, pos, iy, planeBytes] = Array.from({ length: 6 }, () => c.local(i32));
  const [v0, v1, v2, v3, dd0, dd1, dd2, dd3, lo01, hi01, lo23, hi23, t] = Array.from({ length: 13 }, () => c.local(v128));
  const e = Array.from({ length: 16 }, () => c.local(v128));
  const carry = Array.from({ length: 4 }, () => c.local(v128));
  kernel(c, 2, (l) => {
    c.get(l.planeStride).i32(4).op('i32_mul').set(stride4);
    // The padded plane: rows 2·th + 2 (scratch row = image row + padH, column = image column + padW).
    c.get(TH).i32(2).op('i32_mul').i32(2).op('i32_add').get(l.rowBytes).op('i32_mul').set(planeBytes);
  }, (l) => {
    c.get(SCRATCH).i32(0).get(planeBytes).memoryFill();
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      tileRow(c, l, SRC, l.q);
      c.get(SCRATCH).get(l.a).i32(2).op('i32_mul').get(l.rowBytes).op('i32_mul').op('i32_add').set(rowBase);
      for (const k of carry) c.f32x4(0).set(k);
      groupsOfRow(c, l, (tail) => {
        for (let j = 0; j < 4; j++) {
          loadColumn(c, l, j, [v0, v1, v2, v3], qj, stride4, tail);
          // (B·v)[r][j]: v0, v1 − v2 + v3, v1 + v2 − v0, −v3
          c.get(v0).set(e[j]);
          bin(c, e[4 + j], v1, 'f32x4_sub', v2);
          bin(c, e[4 + j], e[4 + j], 'f32x4_add', v3);
          bin(c, e[8 + j], v1, 'f32x4_add', v2);
          bin(c, e[8 + j], e[8 + j], 'f32x4_sub', v0);
          neg(c, e[12 + j], v3);
        }
        for (let r = 0; r < 4; r++) {
          const x = (j: number): number => e[4 * r + j];
          // (·Bᵀ)[r][s]: same pattern along the row.
          c.get(x(0)).set(dd0);
          bin(c, dd1, x(1), 'f32x4_sub', x(2));
          bin(c, dd1, dd1, 'f32x4_add', x(3));
          bin(c, dd2, x(1), 'f32x4_add', x(2));
          bin(c, dd2, dd2, 'f32x4_sub', x(0));
          neg(c, dd3, x(3));
          // Tile L's column s lands at scratch column 8g + 2L + s.
          c.get(dd0).get(dd1).shuffle32(0, 4, 1, 5).set(lo01);
          c.get(dd0).get(dd1).shuffle32(2, 6, 3, 7).set(hi01);
          c.get(dd2).get(dd3).shuffle32(0, 4, 1, 5).set(lo23);
          c.get(dd2).get(dd3).shuffle32(2, 6, 3, 7).set(hi23);
          c.get(rowBase).i32(r).get(l.rowBytes).op('i32_mul').op('i32_add').get(l.g).i32(32).op('i32_mul').op('i32_add').set(pos);
          c.get(carry[r]).get(lo23).shuffle32(2, 3, 4, 5).get(lo01).simd('f32x4_add').set(t);
          c.get(pos).get(pos).mem('v128_load', 0, 0).get(t).simd('f32x4_add').mem('v128_store', 0, 0);
          c.get(lo23).get(hi23).shuffle32(2, 3, 4, 5).get(hi01).simd('f32x4_add').set(t);
          c.get(pos).get(pos).mem('v128_load', 16, 0).get(t).simd('f32x4_add').mem('v128_store', 16, 0);
          c.get(hi23).set(carry[r]);
        }
      });
      // The last group's columns 8·groups, 8·groups + 1.
      for (let r = 0; r < 4; r++) {
        c.get(rowBase).i32(r).get(l.rowBytes).op('i32_mul').op('i32_add').get(l.groups).i32(32).op('i32_mul').op('i32_add').set(pos);
        c.get(pos).get(pos).mem('v128_load', 0, 0).get(carry[r]).f32x4(0).shuffle32(2, 3, 4, 5).simd('f32x4_add').mem('v128_store', 0, 0);
      }
    });
    planeToImage(c, l, iy);
  });
};

// ---- F(4×4, 3×3) -------------------------------------------------------------------------------
// A group of 4 tiles spans 16 image columns; lane L of a vector is tile L. Tile columns are read
// and written as 4×4 transposes of the row's vectors, and the transforms are emitted from the
// matrices (zero coefficients skipped, ±1 as add/sub).

const { BT: BT4, AT: AT4 } = winogradMatrices(4);

/** Functions being emitted with fused multiply-adds (relaxed SIMD), see buildWinogradFunctions. */
const fusedCodes = new WeakSet<Code>();

/**
 * dst = Σ k·x over the terms with k ≠ 0 (a +1 term first when there is one). With fused
 * multiply-adds, each k·x + acc (k ≠ ±1) is one f32x4.relaxed_madd accumulating in dst.
 */
const lin = (c: Code, dst: number, terms: readonly (readonly [number, number])[]): void => {
  const nz = terms.filter(([k]) => k !== 0);
  const first = Math.max(0, nz.findIndex(([k]) => k === 1));
  const ordered = [nz[first], ...nz.filter((_, i) => i !== first)];
  const [k0, x0] = ordered[0];
  c.get(x0);
  if (k0 === -1) c.simd('f32x4_neg');
  else if (k0 !== 1) c.f32x4(k0).simd('f32x4_mul');
  if (fusedCodes.has(c)) {
    if (nz.some(([, x]) => x === dst)) throw new Error('lin: dst must not be a term');
    c.set(dst);
    for (const [k, x] of ordered.slice(1)) {
      if (k === 1) c.get(dst).get(x).simd('f32x4_add');
      else if (k === -1) c.get(dst).get(x).simd('f32x4_sub');
      else c.get(x).f32x4(k).get(dst).simd('f32x4_relaxed_madd');
      c.set(dst);
    }
    return;
  }
  for (const [k, x] of ordered.slice(1)) {
    if (k === 1) c.get(x).simd('f32x4_add');
    else if (k === -1) c.get(x).simd('f32x4_sub');
    else if (k > 0) c.get(x).f32x4(k).simd('f32x4_mul').simd('f32x4_add');
    else c.get(x).f32x4(-k).simd('f32x4_mul').simd('f32x4_sub');
  }
  c.set(dst);
};

/** t = the 4×4 transpose of rows p (s: 4 scratch v128 locals). Only the first `count` of t are made. */
const transpose = (c: Code, p: readonly number[], t: readonly number[], s: readonly number[], count = 4): void => {
  c.get(p[0]).get(p[1]).shuffle32(0, 4, 1, 5).set(s[0]);
  c.get(p[2]).get(p[3]).shuffle32(0, 4, 1, 5).set(s[1]);
  c.get(s[0]).get(s[1]).shuffle32(0, 1, 4, 5).set(t[0]);
  c.get(s[0]).get(s[1]).shuffle32(2, 3, 6, 7).set(t[1]);
  if (count <= 2) return;
  c.get(p[0]).get(p[1]).shuffle32(2, 6, 3, 7).set(s[2]);
  c.get(p[2]).get(p[3]).shuffle32(2, 6, 3, 7).set(s[3]);
  c.get(s[2]).get(s[3]).shuffle32(0, 1, 4, 5).set(t[2]);
  c.get(s[2]).get(s[3]).shuffle32(2, 3, 6, 7).set(t[3]);
};

const vlocals = (c: Code, n: number): number[] => Array.from({ length: n }, () => c.local(v128));

// ---- F(4×4, 3×3) on 2×2-tile planes (7×7 and 8×8 images) ------------------------------------
// A plane of th = tw = 2 tiles would fill only half the lanes of a row group, and pay the per-plane
// row copies and staging for 4 tiles. There, one group is the whole plane: lane L is tile L (row-major,
// so the 4 lanes are the plane's 4 consecutive tiles in the transformed tensor, read and written as
// single vectors with no staging); its patches sit in scratch rows 4a + r of the padded plane.

/** Zeroes the first `rows` scratch rows, or `quadRows` when the plane is 2×2 tiles. */
const zeroScratchRows = (c: Code, l: Locals, rows: number, quadRows: number): void => {
  c.get(SCRATCH).i32(0).get(l.rowBytes).i32(quadRows).i32(rows);
  isQuad(c);
  c.op('select').op('i32_mul').memoryFill();
};

/** The plane's first tile in ξ plane 0 of a [36, C, S] tensor: base + 4·(ci·S + ni·4) into dst (a = 0). */
const quadTiles = (c: Code, l: Locals, base: number, dst: number): void => {
  c.i32(0).set(l.a);
  tileRow(c, l, base, dst);
};

/** Input transform of a 2×2-tile plane: d (6 columns × 6 rows, lanes = tiles) → V, stored directly. */
const inputQuad = (c: Code, l: Locals, v: { iy: number; row: number; rp: number; P: number[]; d: number[]; ts: number[]; h: number[]; f: number }): void => {
  c.i32(0).set(l.a);
  imageRowsToScratch(c, l, 4, v.iy, v.row, 0);
  c.i32(1).set(l.a);
  imageRowsToScratch(c, l, 4, v.iy, v.row, 4);
  for (let rr = 0; rr < 6; rr++) {
    // Columns 0–11 of padded rows rr (tiles 0, 1) and 4 + rr (tiles 2, 3).
    for (const [k, srow] of [[0, rr], [3, 4 + rr]] as const) {
      c.get(SCRATCH).i32(srow).get(l.rowBytes).op('i32_mul').op('i32_add').set(v.rp);
      for (let j = 0; j < 3; j++) c.get(v.rp).mem('v128_load', 16 * j, 0).set(v.P[k + j]);
    }
    // d[j] = (tile 0 col j, tile 1 col 4 + j, tile 2 col j, tile 3 col 4 + j)
    transpose(c, [v.P[0], v.P[1], v.P[3], v.P[4]], v.d.slice(0, 4), v.ts);
    transpose(c, [v.P[1], v.P[2], v.P[4], v.P[5]], v.d.slice(4, 6), v.ts, 2);
    for (let j = 0; j < 6; j++) lin(c, v.h[6 * rr + j], BT4[j].map((k, s2) => [k, v.d[s2]] as const));
  }
  quadTiles(c, l, DST, v.rp);
  for (let i = 0; i < 6; i++) {
    for (let j = 0; j < 6; j++) {
      lin(c, v.f, BT4[i].map((k, r) => [k, v.h[6 * r + j]] as const));
      c.get(v.rp).get(v.f).mem('v128_store', 0, 0);
      c.get(v.rp).get(l.planeStride).op('i32_add').set(v.rp);
    }
  }
};

/** Output transform of a 2×2-tile plane: tile L's rows go to scratch rows 4a + u, columns 4b. */
const outputQuad = (c: Code, l: Locals, v: { qj: number; stride6: number; u4: number; mv: number[]; r: number[]; Y: number[]; T4: number[]; ts: number[]; bv: number }): void => {
  quadTiles(c, l, SRC, l.q);
  c.i32(0).set(l.g);
  for (let j = 0; j < 6; j++) {
    loadColumn(c, l, j, v.mv, v.qj, v.stride6, false);
    for (let u = 0; u < 4; u++) lin(c, v.r[6 * u + j], AT4[u].map((k, i) => [k, v.mv[i]] as const));
  }
  for (let u = 0; u < 4; u++) {
    for (let w = 0; w < 4; w++) {
      lin(c, v.Y[w], AT4[w].map((k, j) => [k, v.r[6 * u + j]] as const));
      bin(c, v.Y[w], v.Y[w], 'f32x4_add', v.bv);
    }
    transpose(c, v.Y, v.T4, v.ts);
    for (let L = 0; L < 4; L++) {
      c.get(SCRATCH).i32(4 * (L >> 1) + u).get(l.rowBytes).op('i32_mul').op('i32_add').set(v.u4);
      c.get(v.u4).get(v.T4[L]).mem('v128_store', 16 * (L & 1), 0);
    }
  }
  for (const a of [0, 1]) {
    c.i32(a).set(l.a);
    scratchToOutputRows(c, l, 4, 4 * a);
  }
};

/** Output adjoint of a 2×2-tile plane: g's rows 4a + u, columns 4b of tile L, transposed into lanes. */
const outputAdjointQuad = (c: Code, l: Locals, v: { sp: number; rp: number; P: number[]; gv: number[]; hv: number[]; ts: number[]; f: number }): void => {
  for (const a of [0, 1]) {
    c.i32(a).set(l.a);
    outputRowsToScratch(c, l, 4, 4 * a);
  }
  for (let u = 0; u < 4; u++) {
    for (const a of [0, 1]) {
      c.get(SCRATCH).i32(4 * a + u).get(l.rowBytes).op('i32_mul').op('i32_add').set(v.sp);
      for (const b of [0, 1]) c.get(v.sp).mem('v128_load', 16 * b, 0).set(v.P[2 * a + b]);
    }
    transpose(c, v.P, v.gv.slice(4 * u, 4 * u + 4), v.ts);
  }
  for (let i = 0; i < 6; i++) {
    for (let w = 0; w < 4; w++) lin(c, v.hv[4 * i + w], [0, 1, 2, 3].map((u) => [AT4[u][i], v.gv[4 * u + w]] as const));
  }
  quadTiles(c, l, DST, v.rp);
  for (let i = 0; i < 6; i++) {
    for (let j = 0; j < 6; j++) {
      lin(c, v.f, [0, 1, 2, 3].map((w) => [AT4[w][j], v.hv[4 * i + w]] as const));
      c.get(v.rp).get(v.f).mem('v128_store', 0, 0);
      c.get(v.rp).get(l.planeStride).op('i32_add').set(v.rp);
    }
  }
};

/**
 * Input adjoint of a 2×2-tile plane: each tile's 6×6 patch of B·v·Bᵀ added into the padded plane
 * (scratch rows 4a + r, columns 4b + s), tile by tile in order; then the plane's interior to the image.
 */
const inputAdjointQuad = (c: Code, l: Locals, v: { qj: number; stride6: number; pos: number; iy: number; vv: number[]; e: number[]; E: number[]; T4: number[]; T2: number[]; ts: number[]; z: number }): void => {
  quadTiles(c, l, SRC, l.q);
  c.i32(0).set(l.g);
  for (let j = 0; j < 6; j++) {
    loadColumn(c, l, j, v.vv, v.qj, v.stride6, false);
    for (let r = 0; r < 6; r++) lin(c, v.e[6 * r + j], [0, 1, 2, 3, 4, 5].map((i) => [BT4[i][r], v.vv[i]] as const));
  }
  for (let r = 0; r < 6; r++) {
    for (let s2 = 0; s2 < 6; s2++) lin(c, v.E[s2], [0, 1, 2, 3, 4, 5].map((j) => [BT4[j][s2], v.e[6 * r + j]] as const));
    // Tile L's columns 0–3 (T4[L]) and 4–5 (T2[L], then two zeros).
    transpose(c, v.E.slice(0, 4), v.T4, v.ts);
    transpose(c, [v.E[4], v.E[5], v.z, v.z], v.T2, v.ts);
    for (let L = 0; L < 4; L++) {
      c.get(SCRATCH).i32(4 * (L >> 1) + r).get(l.rowBytes).op('i32_mul').op('i32_add').i32(16 * (L & 1)).op('i32_add').set(v.pos);
      c.get(v.pos).get(v.pos).mem('v128_load', 0, 0).get(v.T4[L]).simd('f32x4_add').mem('v128_store', 0, 0);
      c.get(v.pos).get(v.pos).mem('v128_load', 16, 0).get(v.T2[L]).simd('f32x4_add').mem('v128_store', 16, 0);
    }
  }
  planeToImage(c, l, v.iy);
};

/** image → V [36, C, S]: V = Bᵀ·d·B per 6×6 patch. */
const emitInput4 = (c: Code): void => {
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
    isQuad(c);
    c.ifThen(() => inputQuad(c, l, { iy, row, rp, P: P6, d, ts, h, f }), () => perPlaneInput4(l));
  }, true);

  function perPlaneInput4(l: Locals): void {
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      imageRowsToScratch(c, l, 4, iy, row);
      stageRow(c, l, l.q);
      groupsOfRow(c, l, () => {
        c.get(SCRATCH).get(l.g).i32(64).op('i32_mul').op('i32_add').set(sp);
        for (let rr = 0; rr < 6; rr++) {
          c.get(sp).i32(rr).get(l.rowBytes).op('i32_mul').op('i32_add').set(rp);
          for (let j = 0; j < 5; j++) c.get(rp).mem('v128_load', 16 * j, 0).set(P[j]);
          transpose(c, P.slice(0, 4), d.slice(0, 4), ts);
          transpose(c, P.slice(1, 5), d.slice(4, 6), ts, 2);
          // (d·B)[rr][j] = Σ_s d[s]·Bᵀ[j][s]
          for (let j = 0; j < 6; j++) lin(c, h[6 * rr + j], BT4[j].map((k, s2) => [k, d[s2]] as const));
        }
        c.get(l.q).get(l.g).i32(16).op('i32_mul').op('i32_add').set(rp);
        for (let i = 0; i < 6; i++) {
          for (let j = 0; j < 6; j++) {
            lin(c, f, BT4[i].map((k, r) => [k, h[6 * r + j]] as const));
            c.get(rp).get(f).mem('v128_store', 0, 0);
            c.get(rp).get(l.stageStride).op('i32_add').set(rp);
          }
        }
      });
    });
    flushStage(c, l);
  }
};

/** M [36, C, S] → image: each tile Aᵀ·m·A (4×4), through 4 scratch rows. */
const emitOutput4 = (c: Code): void => {
  const [qj, stride6, u4] = [c.local(i32), c.local(i32), c.local(i32)];
  const mv = vlocals(c, 6);
  const r = vlocals(c, 24);
  const Y = vlocals(c, 4);
  const T4 = vlocals(c, 4);
  const ts = vlocals(c, 4);
  const bv = c.local(v128);
  kernel(c, 4, (l) => {
    c.get(l.planeStride).i32(6).op('i32_mul').set(stride6);
  }, (l) => {
    biasVector(c, l, bv);
    isQuad(c);
    c.ifThen(() => outputQuad(c, l, { qj, stride6, u4, mv, r, Y, T4, ts, bv }), () => perPlaneOutput4(l));
  });

  function perPlaneOutput4(l: Locals): void {
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      tileRow(c, l, SRC, l.q);
      groupsOfRow(c, l, (tail) => {
        for (let j = 0; j < 6; j++) {
          loadColumn(c, l, j, mv, qj, stride6, tail);
          // (Aᵀ·m)[u][j]
          for (let u = 0; u < 4; u++) lin(c, r[6 * u + j], AT4[u].map((k, i) => [k, mv[i]] as const));
        }
        for (let u = 0; u < 4; u++) {
          for (let v = 0; v < 4; v++) {
            lin(c, Y[v], AT4[v].map((k, j) => [k, r[6 * u + j]] as const));
            bin(c, Y[v], Y[v], 'f32x4_add', bv);
          }
          transpose(c, Y, T4, ts);
          c.get(SCRATCH).i32(u).get(l.rowBytes).op('i32_mul').op('i32_add').get(l.g).i32(64).op('i32_mul').op('i32_add').set(u4);
          for (let L = 0; L < 4; L++) c.get(u4).get(T4[L]).mem('v128_store', 16 * L, 0);
        }
      });
      scratchToOutputRows(c, l, 4);
    });
  }
};

/** image-shaped g → [36, C, S]: A·g·Aᵀ of each zero-padded 4×4 tile. */
const emitOutputAdjoint4 = (c: Code): void => {
  const [sp, rp] = [c.local(i32), c.local(i32)];
  const P = vlocals(c, 4);
  const gv = vlocals(c, 16);
  const hv = vlocals(c, 24);
  const ts = vlocals(c, 4);
  const f = c.local(v128);
  kernel(c, 4, (l) => {
    zeroScratchRows(c, l, 4, 8);
  }, (l) => {
    isQuad(c);
    c.ifThen(() => outputAdjointQuad(c, l, { sp, rp, P, gv, hv, ts, f }), () => perPlaneOutputAdjoint4(l));
  }, true);

  function perPlaneOutputAdjoint4(l: Locals): void {
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      outputRowsToScratch(c, l, 4);
      stageRow(c, l, l.q);
      groupsOfRow(c, l, () => {
        for (let u = 0; u < 4; u++) {
          c.get(SCRATCH).i32(u).get(l.rowBytes).op('i32_mul').op('i32_add').get(l.g).i32(64).op('i32_mul').op('i32_add').set(sp);
          for (let j = 0; j < 4; j++) c.get(sp).mem('v128_load', 16 * j, 0).set(P[j]);
          transpose(c, P, gv.slice(4 * u, 4 * u + 4), ts);
        }
        // (A·g)[i][v] = Σ_u Aᵀ[u][i]·g[u][v]
        for (let i = 0; i < 6; i++) {
          for (let v = 0; v < 4; v++) lin(c, hv[4 * i + v], [0, 1, 2, 3].map((u) => [AT4[u][i], gv[4 * u + v]] as const));
        }
        c.get(l.q).get(l.g).i32(16).op('i32_mul').op('i32_add').set(rp);
        for (let i = 0; i < 6; i++) {
          for (let j = 0; j < 6; j++) {
            lin(c, f, [0, 1, 2, 3].map((v) => [AT4[v][j], hv[4 * i + v]] as const));
            c.get(rp).get(f).mem('v128_store', 0, 0);
            c.get(rp).get(l.stageStride).op('i32_add').set(rp);
          }
        }
      });
    });
    flushStage(c, l);
  }
};

/** V-shaped [36, C, S] → image: B·v·Bᵀ of each tile added at its 6×6 patch. */
const emitInputAdjoint4 = (c: Code): void => {
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
    c.get(l.planeStride).i32(6).op('i32_mul').set(stride6);
    c.get(TH).i32(4).op('i32_mul').i32(2).op('i32_add').get(l.rowBytes).op('i32_mul').set(planeBytes);
    c.f32x4(0).set(z);
  }, (l) => {
    c.get(SCRATCH).i32(0).get(planeBytes).memoryFill();
    isQuad(c);
    c.ifThen(() => inputAdjointQuad(c, l, { qj, stride6, pos, iy, vv, e, E, T4, T2, ts, z }), () => perPlaneInputAdjoint4(l));
  });

  function perPlaneInputAdjoint4(l: Locals): void {
    c.forUp(l.a, () => c.i32(0), TH, 1, () => {
      tileRow(c, l, SRC, l.q);
      c.get(SCRATCH).get(l.a).i32(4).op('i32_mul').get(l.rowBytes).op('i32_mul').op('i32_add').set(rowBase);
      for (const k of [...c4, ...c5]) c.get(z).set(k);
      groupsOfRow(c, l, (tail) => {
        for (let j = 0; j < 6; j++) {
          loadColumn(c, l, j, vv, qj, stride6, tail);
          // (B·v)[r][j] = Σ_i Bᵀ[i][r]·v[i][j]
          for (let r = 0; r < 6; r++) lin(c, e[6 * r + j], [0, 1, 2, 3, 4, 5].map((i) => [BT4[i][r], vv[i]] as const));
        }
        for (let r = 0; r < 6; r++) {
          for (let s2 = 0; s2 < 6; s2++) lin(c, E[s2], [0, 1, 2, 3, 4, 5].map((j) => [BT4[j][s2], e[6 * r + j]] as const));
          // Tile L's columns 4, 5 are tile L + 1's columns 0, 1 (the group's last tile carries over).
          c.get(c4[r]).get(E[4]).shuffle32(3, 4, 5, 6).get(E[0]).simd('f32x4_add').set(Wv[0]);
          c.get(c5[r]).get(E[5]).shuffle32(3, 4, 5, 6).get(E[1]).simd('f32x4_add').set(Wv[1]);
          c.get(E[2]).set(Wv[2]);
          c.get(E[3]).set(Wv[3]);
          c.get(E[4]).set(c4[r]);
          c.get(E[5]).set(c5[r]);
          transpose(c, Wv, T4, ts);
          c.get(rowBase).i32(r).get(l.rowBytes).op('i32_mul').op('i32_add').get(l.g).i32(64).op('i32_mul').op('i32_add').set(pos);
          for (let L = 0; L < 4; L++) {
            c.get(pos).get(pos).mem('v128_load', 16 * L, 0).get(T4[L]).simd('f32x4_add').mem('v128_store', 16 * L, 0);
          }
        }
      });
      // The last tile's columns 4, 5 at 16·groups, 16·groups + 1.
      for (let r = 0; r < 6; r++) {
        c.get(rowBase).i32(r).get(l.rowBytes).op('i32_mul').op('i32_add').get(l.groups).i32(64).op('i32_mul').op('i32_add').set(pos);
        c.get(pos).get(pos).mem('v128_load', 0, 0)
          .get(c4[r]).get(z).shuffle32(3, 4, 4, 4).simd('f32x4_add')
          .get(z).get(c5[r]).shuffle32(0, 7, 0, 0).simd('f32x4_add')
          .mem('v128_store', 0, 0);
      }
    });
    planeToImage(c, l, iy);
  }
};

/** Adds the four kernels to a module (the backend puts them in its conv module). */
/**
 * Adds the kernels to a module (the backend puts them in its conv module). With `fma` (relaxed SIMD
 * available), the F(4×4) transforms multiply-add with f32x4.relaxed_madd.
 */
export const buildWinogradFunctions = (m: ModuleBuilder, opts: { fma?: boolean } = {}): void => {
  const ints = new Array<typeof i32>(16).fill(i32);
  // The output kernels take a 17th parameter: the bias pointer (0 for none).
  const withBias = new Array<typeof i32>(17).fill(i32);
  const def = (name: string, params: readonly ValType[], emit: (c: Code) => void): void => {
    m.func(name, params, [], (c) => {
      if (opts.fma) fusedCodes.add(c);
      emit(c);
    });
  };
  def('winogradInput', ints, emitInput);
  def('winogradInputAdjoint', ints, emitInputAdjoint);
  def('winogradOutput', withBias, emitOutput);
  def('winogradOutputAdjoint', ints, emitOutputAdjoint);
  def('winogradInput4', ints, emitInput4);
  def('winogradInputAdjoint4', ints, emitInputAdjoint4);
  def('winogradOutput4', withBias, emitOutput4);
  def('winogradOutputAdjoint4', ints, emitOutputAdjoint4);
};
