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
import { add, and, at, divU, eq, type Expr, geS, lit, ltS, ltU, maxS, mul, select, shrU, sub } from './expr.ts';
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
    c.push(at(BIAS, l.ci)).mem('v128_load32_splat').set(bv);
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

/** Copies `count` floats from address `src` to address `dst`. */
export const copy = (c: Code, l: Locals, dst: Expr, src: Expr, count: Expr): void => {
  const [d, s, n, i, n4] = l.copyLocals;
  c.let(d, dst).let(s, src).let(n, count);
  c.let(n4, and(n, lit(-4)));
  c.forUp(i, () => c.i32(0), n4, 4, () => {
    c.get(d).get(s).mem('v128_load', 0, 0).mem('v128_store', 0, 0);
    c.let(d, add(d, lit(16)));
    c.let(s, add(s, lit(16)));
  });
  c.forUp(i, () => c.get(n4), n, 1, () => {
    c.get(d).get(s).mem('f32_load').mem('f32_store');
    c.let(d, add(d, lit(4)));
    c.let(s, add(s, lit(4)));
  });
};

/** After the last image's planes: zeros in the stride padding [T, S) of channel ci's α² rows. */
export const zeroPadding = (c: Code, l: Locals): void => {
  c.push(eq(mul(add(l.ni, lit(1)), TH, TW), TILES));
  c.ifThen(() => {
    c.forUp(l.tmp, () => c.i32(0), l.planes, 1, () => {
      c.push(at(DST, add(mul(add(mul(l.tmp, C), l.ci), S), TILES)), lit(0), mul(sub(S, TILES), lit(4))).memoryFill();
    });
  });
};

/** Whether a plane is 2×2 tiles (the F(4×4) kernels then take it as one group; see below). */
export const isQuad: Expr = and(eq(TH, lit(2)), eq(TW, lit(2)));

/** The frame every kernel shares: locals, groups per row, the plane loop; `perPlane` emits its body. */
export const kernel = (c: Code, m: number, rows: (l: Locals) => void, perPlane: (l: Locals) => void, transformedOut = false): void => {
  const l: Locals = {
    g: c.local(i32), groups: c.local(i32), rowBytes: c.local(i32), planeStride: c.local(i32), p: c.local(i32), plane: c.local(i32), images: c.local(i32),
    ni: c.local(i32), ci: c.local(i32), a: c.local(i32), count: c.local(i32), q: c.local(i32), tmp: c.local(i32),
    planes: c.local(i32), copyLocals: Array.from({ length: 5 }, () => c.local(i32)),
    stage: c.local(i32), stageStride: c.local(i32), tpp: c.local(i32),
  };
  const alpha = m + 2;
  c.let(l.planes, lit(alpha * alpha));
  c.let(l.groups, shrU(add(TW, lit(3)), lit(2)));
  // row bytes: 4·(4m·groups + 8), as winogradScratchWidth
  c.let(l.rowBytes, mul(add(mul(l.groups, lit(4 * m)), lit(8)), lit(4)));
  c.let(l.planeStride, mul(C, S, lit(4)));
  c.let(l.tpp, mul(TH, TW));
  c.let(l.stageStride, mul(add(l.tpp, lit(4)), lit(4)));
  // stage = scratch + max(α, m·th + 2) rows
  c.let(l.tmp, add(mul(TH, lit(m)), lit(2)));
  c.let(l.stage, add(mul(maxS(l.tmp, lit(alpha)), l.rowBytes), SCRATCH));
  rows(l);
  // Planes go channel by channel (p = ci·n + ni), so consecutive planes write (or read) consecutive
  // tile runs of each transformed row: whole cache lines in long streams, not scattered parts.
  c.let(l.images, divU(TILES, l.tpp));
  c.forUp(l.p, () => c.get(FROM), TO, 1, () => {
    c.let(l.ci, divU(l.p, l.images));
    c.let(l.ni, sub(l.p, mul(l.ci, l.images)));
    c.let(l.plane, add(mul(l.ni, C), l.ci));
    perPlane(l);
    if (transformedOut) zeroPadding(c, l);
  });
};

/** For each group of 4 tiles in a tile row: count = valid tiles, then body(full) or body(tail). */
export const groupsOfRow = (c: Code, l: Locals, body: (tail: boolean) => void): void => {
  c.forUp(l.g, () => c.i32(0), l.groups, 1, () => {
    c.let(l.count, sub(TW, mul(l.g, lit(4))));
    c.push(geS(l.count, lit(4)));
    c.ifThen(() => body(false), () => body(true));
  });
};

/**
 * Kernels that write a transformed tensor stage a plane's α² rows in scratch (a tile row a at
 * stage + 4·a·tw, ξ rows stageStride apart: whole vectors, no partial stores), then copy each ξ row
 * to dst + 4·((ξ·C + ci)·S + ni·th·tw) — α² long runs instead of α² streams of 16-byte stores.
 */
export const stageRow = (c: Code, l: Locals, dst: number): void => {
  c.let(dst, at(l.stage, mul(l.a, TW)));
};
export const flushStage = (c: Code, l: Locals): void => {
  c.forUp(l.tmp, () => c.i32(0), l.planes, 1, () => {
    copy(c, l, at(DST, add(mul(add(mul(l.tmp, C), l.ci), S), mul(l.ni, l.tpp))), add(l.stage, mul(l.tmp, l.stageStride)), l.tpp);
  });
};

/** Byte address of a group's first vector in a tile row that starts at byte address row: row + 16·g. */
export const groupAt = (l: Locals, row: Expr): Expr => add(row, mul(l.g, lit(16)));

/**
 * Column j of the group's transformed α×α blocks: values ξ = α·i + j (i < α) of its 4 tiles (only
 * the valid ones in a tail group) into dsts, rows of ξ being rowStride bytes apart. qj: i32 scratch.
 */
export const loadColumn = (c: Code, l: Locals, j: number, dsts: readonly number[], qj: number, rowStride: number, tail: boolean): void => {
  c.let(qj, add(groupAt(l, l.q), mul(l.planeStride, lit(j))));
  dsts.forEach((d, i) => {
    if (i > 0) c.let(qj, add(qj, rowStride));
    load(c, d, qj, 0, tail, l.count);
  });
};

/** The first tile of plane p's tile row a in an [α², C, S] tensor at base: base + 4·(ci·S + (ni·th + a)·tw). */
export const tileRow = (c: Code, l: Locals, base: number, dst: number): void => {
  c.let(dst, at(base, add(mul(l.ci, S), mul(add(mul(l.ni, TH), l.a), TW))));
};

/** Image row pointer: base + 4·(plane·h·w + row·w) for an image [planes, h, w]. */
export const imageRow = (l: Locals, base: number, h: number, w: number, row: Expr): Expr =>
  at(base, mul(add(mul(l.plane, h), row), w));

/** Scratch row r: scratch + r·rowBytes. */
export const scratchRow = (l: Locals, r: Expr): Expr => add(SCRATCH, mul(r, l.rowBytes));

/** Row u of output tile row a: m·a + u. */
const outputRow = (l: Locals, m: number, u: number): Expr => add(mul(l.a, lit(m)), lit(u));

/**
 * The α image rows of tile row a (rows m·a − padH + r) into scratch rows scratchRow0 + r at columns
 * [padW, padW + w); rows outside the image become zeros (the scratch's other columns stay zero).
 * iy, row: i32 scratch.
 */
export const imageRowsToScratch = (c: Code, l: Locals, m: number, iy: number, row: number, scratchRow0 = 0): void => {
  for (let rr = 0; rr < m + 2; rr++) {
    c.let(iy, add(sub(mul(l.a, lit(m)), PADH), lit(rr)));
    c.let(row, at(scratchRow(l, lit(scratchRow0 + rr)), PADW));
    c.push(ltU(iy, H));
    c.ifThen(() => {
      copy(c, l, row, imageRow(l, SRC, H, W, iy), W);
    }, () => {
      c.push(row, lit(0), mul(W, lit(4))).memoryFill();
    });
  }
};

/** Output rows m·a + u (u < m) of the source image into scratch rows u, zeros below the image. */
export const outputRowsToScratch = (c: Code, l: Locals, m: number, scratchRow0 = 0): void => {
  for (let u = 0; u < m; u++) {
    c.push(ltS(outputRow(l, m, u), OH));
    c.ifThen(() => {
      copy(c, l, scratchRow(l, lit(scratchRow0 + u)), imageRow(l, SRC, OH, OW, outputRow(l, m, u)), OW);
    }, () => {
      c.push(scratchRow(l, lit(scratchRow0 + u)), lit(0), mul(OW, lit(4))).memoryFill();
    });
  }
};

/** Scratch rows scratchRow0 + u (u < m) to the destination image's rows m·a + u that exist, columns [0, ow). */
export const scratchToOutputRows = (c: Code, l: Locals, m: number, scratchRow0 = 0): void => {
  for (let u = 0; u < m; u++) {
    c.push(ltS(outputRow(l, m, u), OH));
    c.ifThen(() => {
      copy(c, l, imageRow(l, DST, OH, OW, outputRow(l, m, u)), scratchRow(l, lit(scratchRow0 + u)), OW);
    });
  }
};

/** The padded plane's rows [padH, padH + h), columns [padW, padW + w) to the destination image. */
export const planeToImage = (c: Code, l: Locals, iy: number): void => {
  c.forUp(iy, () => c.i32(0), H, 1, () => {
    copy(c, l, imageRow(l, DST, H, W, iy), at(scratchRow(l, add(iy, PADH)), PADW), W);
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
  c.push(SCRATCH, lit(0), mul(l.rowBytes, select(lit(quadRows), lit(rows), isQuad))).memoryFill();
};

/** The plane's first tile in ξ plane 0 of a [36, C, S] tensor: base + 4·(ci·S + ni·4) into dst (a = 0). */
export const quadTiles = (c: Code, l: Locals, base: number, dst: number): void => {
  c.i32(0).set(l.a);
  tileRow(c, l, base, dst);
};
