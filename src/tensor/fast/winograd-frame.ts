/**
 * What every Winograd kernel shares: its parameters, its locals, the loop over image planes and
 * tile rows, and the moves between images, the per-thread scratch and the transformed tensor.
 *
 * A kernel runs over a range of planes p and, inside a plane, over tile rows; the four lanes of a
 * vector are four neighbouring tiles of a row, so each of the α² transformed values of a group of
 * 4 tiles is one contiguous v128 in its ξ plane. A tile row whose length is not a multiple of 4
 * ends in a group whose loads and stores touch only its valid lanes.
 *
 * The image side goes through the calling thread's scratch, so the inner loops carry no bounds
 * tests: the input transform copies the α image rows of a tile row into zeroed scratch rows
 * (padding stays zero), the output transform writes its m rows there before copying the valid
 * columns out. Small row copies are vector loops (memory.copy is a call into the runtime, which
 * costs more than moving 28 floats).
 */
import { type Code, i32 } from './emitter.ts';
import { loadLanes as load } from './lanes.ts';

/** Scratch row width (floats) for tw tiles of m per row: 4·m per group of 4 tiles, and 8 spare. */
export const winogradScratchWidth = (tw: number, m: number): number => 4 * m * Math.ceil(tw / 4) + 8;
/**
 * Floats of scratch one thread needs: max(α, m·th + 2) rows (the input adjoint keeps a padded
 * plane) and the staging area of α² rows of th·tw + 4.
 */
export const winogradScratchFloats = (th: number, tw: number, m: number): number =>
  Math.max(m + 2, m * th + 2) * winogradScratchWidth(tw, m) + (m + 2) ** 2 * (th * tw + 4);

/** The kernels' parameters, in order (winograd-wasm.ts says what each is). */
export const [SRC, DST, FROM, TO, C, S, H, W, PADH, PADW, OH, OW, TH, TW, SCRATCH, TILES, BIAS] = Array.from({ length: 17 }, (_, i) => i);

/** The output kernels' bias vector for plane p's channel: bias[ci] in every lane, or zeros when BIAS is 0. */
export const biasVector = (c: Code, l: Locals, bv: number): void => {
  c.get(BIAS);
  c.ifThen(() => {
    c.get(BIAS).get(l.ci).i32(4).op('i32_mul').op('i32_add').mem('v128_load32_splat').set(bv);
  }, () => {
    c.f32x4(0).set(bv);
  });
};

export interface Locals {
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
export const copy = (c: Code, l: Locals, dst: () => void, src: () => void, count: () => void): void => {
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

/** After the last image's planes: zeros in the stride padding [T, S) of channel ci's α² rows. */
export const zeroPadding = (c: Code, l: Locals): void => {
  c.get(l.ni).i32(1).op('i32_add').get(TH).op('i32_mul').get(TW).op('i32_mul').get(TILES).op('i32_eq');
  c.ifThen(() => {
    c.forUp(l.tmp, () => c.i32(0), l.planes, 1, () => {
      c.get(DST).get(l.tmp).get(C).op('i32_mul').get(l.ci).op('i32_add').get(S).op('i32_mul').get(TILES).op('i32_add')
        .i32(4).op('i32_mul').op('i32_add')
        .i32(0).get(S).get(TILES).op('i32_sub').i32(4).op('i32_mul').memoryFill();
    });
  });
};


/** True when a plane is 2×2 tiles (the F(4×4) kernels then take it as one group; see below) (pushes an i32 condition). */
export const isQuad = (c: Code): void => {
  c.get(TH).i32(2).op('i32_eq').get(TW).i32(2).op('i32_eq').op('i32_and');
};

/** The frame every kernel shares: locals, groups per row, the plane loop; `perPlane` emits its body. */
export const kernel = (c: Code, m: number, rows: (l: Locals) => void, perPlane: (l: Locals) => void, transformedOut = false): void => {
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
  c.get(C).get(S).op('i32_mul').i32(4).op('i32_mul').set(l.planeStride);
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
export const groupsOfRow = (c: Code, l: Locals, body: (tail: boolean) => void): void => {
  c.forUp(l.g, () => c.i32(0), l.groups, 1, () => {
    c.get(TW).get(l.g).i32(4).op('i32_mul').op('i32_sub').set(l.count);
    c.get(l.count).i32(4).op('i32_ge_s');
    c.ifThen(() => body(false), () => body(true));
  });
};

/**
 * Kernels that write a transformed tensor stage a plane's α² rows in scratch (a tile row a at
 * stage + 4·a·tw, ξ rows stageStride apart: whole vectors, no partial stores), then copy each ξ row
 * to dst + 4·((ξ·C + ci)·S + ni·th·tw) — α² long runs instead of α² streams of 16-byte stores.
 */
export const stageRow = (c: Code, l: Locals, dst: number): void => {
  c.get(l.stage).get(l.a).get(TW).op('i32_mul').i32(4).op('i32_mul').op('i32_add').set(dst);
};
export const flushStage = (c: Code, l: Locals): void => {
  c.forUp(l.tmp, () => c.i32(0), l.planes, 1, () => {
    copy(c, l,
      () => c.get(DST).get(l.tmp).get(C).op('i32_mul').get(l.ci).op('i32_add').get(S).op('i32_mul')
        .get(l.ni).get(l.tpp).op('i32_mul').op('i32_add').i32(4).op('i32_mul').op('i32_add'),
      () => c.get(l.stage).get(l.tmp).get(l.stageStride).op('i32_mul').op('i32_add'),
      () => c.get(l.tpp));
  });
};

/**
 * Column j of the group's transformed α×α blocks: values ξ = α·i + j (i < α) of its 4 tiles (only
 * the valid ones in a tail group) into dsts, rows of ξ being rowStride bytes apart. qj: i32 scratch.
 */
export const loadColumn = (c: Code, l: Locals, j: number, dsts: readonly number[], qj: number, rowStride: number, tail: boolean): void => {
  c.get(l.q).get(l.g).i32(16).op('i32_mul').op('i32_add').get(l.planeStride).i32(j).op('i32_mul').op('i32_add').set(qj);
  dsts.forEach((d, i) => {
    if (i > 0) c.get(qj).get(rowStride).op('i32_add').set(qj);
    load(c, d, qj, 0, tail, l.count);
  });
};

/** The first tile of plane p's tile row a in an [α², C, S] tensor at base: base + 4·(ci·S + (ni·th + a)·tw). */
export const tileRow = (c: Code, l: Locals, base: number, dst: number): void => {
  c.get(base)
    .get(l.ci).get(S).op('i32_mul')
    .get(l.ni).get(TH).op('i32_mul').get(l.a).op('i32_add').get(TW).op('i32_mul')
    .op('i32_add').i32(4).op('i32_mul').op('i32_add').set(dst);
};

/** Image row pointer: base + 4·(plane·h·w + row·w) for an image [planes, h, w]. */
export const imageRow = (c: Code, l: Locals, base: number, h: number, w: number, row: () => void): void => {
  c.get(base).get(l.plane).get(h).op('i32_mul');
  row();
  c.op('i32_add').get(w).op('i32_mul').i32(4).op('i32_mul').op('i32_add');
};

/**
 * The α image rows of tile row a (rows m·a − padH + r) into scratch rows scratchRow0 + r at columns
 * [padW, padW + w); rows outside the image become zeros (the scratch's other columns stay zero).
 * iy, row: i32 scratch.
 */
export const imageRowsToScratch = (c: Code, l: Locals, m: number, iy: number, row: number, scratchRow0 = 0): void => {
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
export const outputRowsToScratch = (c: Code, l: Locals, m: number, scratchRow0 = 0): void => {
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
export const scratchToOutputRows = (c: Code, l: Locals, m: number, scratchRow0 = 0): void => {
  for (let u = 0; u < m; u++) {
    c.get(l.a).i32(m).op('i32_mul').i32(u).op('i32_add').get(OH).op('i32_lt_s');
    c.ifThen(() => {
      copy(c, l, () => imageRow(c, l, DST, OH, OW, () => c.get(l.a).i32(m).op('i32_mul').i32(u).op('i32_add')),
        () => c.get(SCRATCH).i32(scratchRow0 + u).get(l.rowBytes).op('i32_mul').op('i32_add'), () => c.get(OW));
    });
  }
};

/** The padded plane's rows [padH, padH + h), columns [padW, padW + w) to the destination image. */
export const planeToImage = (c: Code, l: Locals, iy: number): void => {
  c.forUp(iy, () => c.i32(0), H, 1, () => {
    copy(c, l, () => imageRow(c, l, DST, H, W, () => c.get(iy)),
      () => c.get(SCRATCH).get(iy).get(PADH).op('i32_add').get(l.rowBytes).op('i32_mul').op('i32_add').get(PADW).i32(4).op('i32_mul').op('i32_add'),
      () => c.get(W));
  });
};

// ---- F(4×4, 3×3) on 2×2-tile planes (7×7 and 8×8 images) ------------------------------------
// A plane of th = tw = 2 tiles would fill only half the lanes of a row group, and pay the per-plane
// row copies and staging for 4 tiles. There, one group is the whole plane: lane L is tile L (row-major,
// so the 4 lanes are the plane's 4 consecutive tiles in the transformed tensor, read and written as
// single vectors with no staging); its patches sit in scratch rows 4a + r of the padded plane. The
// kernels for it are the *Quad functions beside their general forms (winograd-forward.ts, -adjoint.ts).

/** Zeroes the first `rows` scratch rows, or `quadRows` when the plane is 2×2 tiles. */
export const zeroScratchRows = (c: Code, l: Locals, rows: number, quadRows: number): void => {
  c.get(SCRATCH).i32(0).get(l.rowBytes).i32(quadRows).i32(rows);
  isQuad(c);
  c.op('select').op('i32_mul').memoryFill();
};

/** The plane's first tile in ξ plane 0 of a [36, C, S] tensor: base + 4·(ci·S + ni·4) into dst (a = 0). */
export const quadTiles = (c: Code, l: Locals, base: number, dst: number): void => {
  c.i32(0).set(l.a);
  tileRow(c, l, base, dst);
};
