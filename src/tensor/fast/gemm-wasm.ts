/**
 * Single-precision GEMM in WebAssembly SIMD: the packed, blocked scheme of GotoBLAS/BLIS.
 *
 * - `packA` copies an MC × KC block of opA(A) into MR-row panels (for each k, the MR values side by
 *   side), `packB` a KC × NC block of opB(B) into NR-column panels; both zero-pad the last panel and
 *   absorb transA/transB (contiguous panels as vector copies, transposed ones as 4 × 4 shuffles), so
 *   one micro-kernel serves every layout.
 * - `macro` walks the MR panels of A (each stays in L1 while reused) and, inside, the NR panels of B
 *   (streamed from L2; GemmShape.order says why not the other way round), running the micro-kernel:
 *   an MR × NR tile of C in MR·NR/4 f32x4 accumulators; per k step it loads NR/4 vectors of B, broadcasts MR values of A (v128.load32_splat) and issues
 *   MR·NR/4 mul+add pairs. The k loop is unrolled with constant load offsets.
 * - Blocks over k after the first add into C (`accumulate`); edge tiles go through a scratch tile.
 * - `gemm` is the whole blocked loop nest over a batch, so a worker thread needs nothing but this
 *   module: operands shared by the batch may come pre-packed (caches laid out as in matmul.ts).
 *
 * Tile shape: 4 × 16 (16 accumulators) measured best on this Xeon (Sapphire Rapids class, Node 20)
 * among 4×8, 5×8, 6×8, 7×8, 8×8, 3×12, 4×12, 5×12, 6×12, 3×16 — although 16 accumulators plus B
 * vectors exceed x64's 16 xmm registers on paper; 5×12 and 8×8 were much slower. Unroll 4 beat 2
 * and 8. See scripts/bench-fast-scratch.ts.
 */
import { Code, f32, i32, ModuleBuilder, v128, type MemoryImport } from './emitter.ts';
import { emitPack } from './pack-wasm.ts';

export interface GemmShape {
  /** Rows of the register tile. */
  readonly mr: number;
  /** Columns of the register tile (a multiple of 4). */
  readonly nr: number;
  /** k-loop unroll factor. */
  readonly unroll: number;
  /**
   * Tile order in the macro kernel. 'columns-outer' (BLIS) keeps a B panel in L1 and streams A
   * panels; 'rows-outer' keeps an A panel in L1 and walks C along rows, which turns C's stores into
   * a few sequential streams — much faster when C is fresh memory (every batched conv output is).
   */
  readonly order?: 'columns-outer' | 'rows-outer';
  /** Multiply-add with relaxed SIMD's f32x4.relaxed_madd (one FMA where the CPU has it) instead of mul then add. */
  readonly fma?: boolean;
}

export const defaultGemmShape: GemmShape = { mr: 4, nr: 16, unroll: 4, order: 'rows-outer' };

/**
 * The backend's second tile: 4 × 12 with the k loop unrolled twice (12 accumulators + 3 B vectors
 * + 1 broadcast fit x64's 16 vector registers). In paired runs with FMA it was 5–10 % faster than
 * 4 × 16 on most products (512³, the Winograd batches, n = 49 attention products) but 15–20 %
 * slower where n is 32 or 64, which 16 divides and 12 does not; the backend picks per product.
 */
export const narrowGemmShape: GemmShape = { mr: 4, nr: 12, unroll: 2, order: 'rows-outer' };

export interface GemmExports {
  /** (src, dst, count, kc, rs, cs): element (r, p) at src + 4·(r·rs + p·cs) → panels of mr. */
  packA(src: number, dst: number, count: number, kc: number, rs: number, cs: number): void;
  /** Same for B with panels of nr. */
  packB(src: number, dst: number, count: number, kc: number, rs: number, cs: number): void;
  /** (pa, pb, c, mc, nc, kc, ldc, accumulate, tile): C[mc × nc] (+)= packed A · packed B. */
  macro(pa: number, pb: number, c: number, mc: number, nc: number, kc: number, ldc: number,
    accumulate: number, tile: number): void;
  /** See {@link gemmParams}: the blocked loop nest over a batch. */
  gemm(...params: number[]): void;
  /** See {@link sharedParams}, then {@link gemmParams}: chunks taken from a shared counter. */
  gemmShared(...params: number[]): void;
}

/**
 * The parameters of `gemm`, in order. Pointers and batch strides are in bytes, the rest in elements:
 * A(i, p) at a + 4·(i·rsA + p·csA), B(p, j) at b + 4·(p·rsB + j·csB), C(i, j) at c + 4·(i·ldc + j);
 * kc the k-block depth; aCache/bCache 0 or pre-packed operands; pa, pb, tile this thread's scratch.
 */
export const gemmParams = ['a', 'b', 'c', 'batch', 'strideA', 'strideB', 'strideC', 'm', 'k', 'n',
  'rsA', 'csA', 'rsB', 'csB', 'ldc', 'kc', 'aCache', 'bCache', 'pa', 'pb', 'tile'] as const;

export interface GemmBlocks {
  /** Rows of A per packed block (a multiple of mr). */
  readonly mc: number;
  /** Columns of B per packed block (a multiple of nr). */
  readonly nc: number;
}

/** min(a, b) of two i32 locals, left on the stack. */
const minOf = (c: Code, a: () => void, b: () => void): void => {
  a(); b(); a(); b();
  c.op('i32_lt_s').op('select');
};

/** The macro kernel with an mr × nr register tile (see the file comment). */
const emitMacro = (c: Code, { mr, nr, unroll, order = 'rows-outer', fma = false }: GemmShape): void => {
  const [pa, pb, cPtr, mc, nc, kc, ldc, accumulate, tile] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const nv = nr / 4;
  const jr = c.local(i32);
  const ir = c.local(i32);
  const rows = c.local(i32);
  const cols = c.local(i32);
  const ap = c.local(i32);
  const bp = c.local(i32);
  const p = c.local(i32);
  const cRow = c.local(i32);
  const ldcBytes = c.local(i32);
  const i = c.local(i32);
  const j = c.local(i32);
  const t = c.local(i32);
  const val = c.local(f32);
  const acc = Array.from({ length: mr }, () => Array.from({ length: nv }, () => c.local(v128)));
  const bv = Array.from({ length: nv }, () => c.local(v128));
  const av = c.local(v128);

  /** One k step at constant offset u (in k steps) from ap/bp. */
  const step = (u: number): void => {
    for (let v = 0; v < nv; v++) c.get(bp).mem('v128_load', 4 * (u * nr + 4 * v), 0).set(bv[v]);
    for (let r = 0; r < mr; r++) {
      c.get(ap).mem('v128_load32_splat', 4 * (u * mr + r), 0).set(av);
      for (let v = 0; v < nv; v++) {
        if (fma) c.get(av).get(bv[v]).get(acc[r][v]).simd('f32x4_relaxed_madd').set(acc[r][v]);
        else c.get(acc[r][v]).get(av).get(bv[v]).simd('f32x4_mul').simd('f32x4_add').set(acc[r][v]);
      }
    }
  };

  /** Stores the tile at `dst` with row stride `strideBytes`, adding what is there if asked. */
  const storeTile = (dst: () => void, strideBytes: () => void, add: boolean): void => {
    dst();
    c.set(cRow);
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++) {
        c.get(cRow);
        if (add) c.get(cRow).mem('v128_load', 16 * v, 0).get(acc[r][v]).simd('f32x4_add');
        else c.get(acc[r][v]);
        c.mem('v128_store', 16 * v, 0);
      }
      if (r < mr - 1) {
        c.get(cRow);
        strideBytes();
        c.op('i32_add').set(cRow);
      }
    }
  };

  c.get(ldc).i32(4).op('i32_mul').set(ldcBytes);
  const overColumns = (body: () => void): void => {
    c.forUp(jr, () => c.i32(0), nc, nr, () => {
      minOf(c, () => c.i32(nr), () => c.get(nc).get(jr).op('i32_sub'));
      c.set(cols);
      body();
    });
  };
  const overRows = (body: () => void): void => {
    c.forUp(ir, () => c.i32(0), mc, mr, () => {
      minOf(c, () => c.i32(mr), () => c.get(mc).get(ir).op('i32_sub'));
      c.set(rows);
      body();
    });
  };
  const tileBody = (): void => {
    c.get(pa).get(ir).get(kc).op('i32_mul').i32(4).op('i32_mul').op('i32_add').set(ap);
    c.get(pb).get(jr).get(kc).op('i32_mul').i32(4).op('i32_mul').op('i32_add').set(bp);
    for (const row of acc) for (const a of row) c.f32x4(0).set(a);
    c.get(kc).set(p);
    // Unrolled k loop, then the remainder one step at a time.
    c.block(() => c.loop(() => {
      c.get(p).i32(unroll).op('i32_lt_s').brIf(1);
      for (let u = 0; u < unroll; u++) step(u);
      c.get(ap).i32(4 * mr * unroll).op('i32_add').set(ap);
      c.get(bp).i32(4 * nr * unroll).op('i32_add').set(bp);
      c.get(p).i32(unroll).op('i32_sub').set(p).br(0);
    }));
    c.block(() => c.loop(() => {
      c.get(p).i32(1).op('i32_lt_s').brIf(1);
      step(0);
      c.get(ap).i32(4 * mr).op('i32_add').set(ap);
      c.get(bp).i32(4 * nr).op('i32_add').set(bp);
      c.get(p).i32(1).op('i32_sub').set(p).br(0);
    }));
    const cTile = (): void => {
      c.get(cPtr).get(ir).get(ldc).op('i32_mul').get(jr).op('i32_add').i32(4).op('i32_mul').op('i32_add');
    };
    c.get(rows).i32(mr).op('i32_eq').get(cols).i32(nr).op('i32_eq').op('i32_and');
    c.ifThen(() => {
      c.get(accumulate);
      c.ifThen(() => storeTile(cTile, () => c.get(ldcBytes), true),
        () => storeTile(cTile, () => c.get(ldcBytes), false));
    }, () => {
      // Edge tile: spill to the scratch tile, then copy (or add) the rows × cols that exist.
      storeTile(() => c.get(tile), () => c.i32(4 * nr), false);
      c.forUp(i, () => c.i32(0), rows, 1, () => {
        c.forUp(j, () => c.i32(0), cols, 1, () => {
          cTile();
          c.get(i).get(ldc).op('i32_mul').get(j).op('i32_add').i32(4).op('i32_mul').op('i32_add').set(t);
          c.get(tile).get(i).i32(nr).op('i32_mul').get(j).op('i32_add').i32(4).op('i32_mul').op('i32_add')
            .mem('f32_load').set(val);
          c.get(accumulate);
          c.ifThen(() => { c.get(val).get(t).mem('f32_load').op('f32_add').set(val); });
          c.get(t).get(val).mem('f32_store');
        });
      });
    });
  };
  if (order === 'columns-outer') overColumns(() => overRows(tileBody));
  else overRows(() => overColumns(tileBody));
};

/**
 * The loop nest of one thread's share: for each batch entry, column blocks jc, depth blocks pc
 * (pack B unless cached), row blocks ic (pack A unless cached), macro kernel.
 */
const emitDriver = (c: Code, { mr, nr }: GemmShape, { mc: MC, nc: NC }: GemmBlocks,
  f: { packA: number; packB: number; macro: number }): void => {
  const [a, b, cp, batch, strideA, strideB, strideC, m, k, n, rsA, csA, rsB, csB, ldc, KC,
    aCache, bCache, pa, pb, tile] = gemmParams.map((_, i) => i);
  const [bi, jc, pc, ic, nc, kc, mc, ncPad, mPad, pbPtr, paPtr] = Array.from({ length: 11 }, () => c.local(i32));
  const min = (x: () => void, y: () => void): void => {
    x(); y(); x(); y();
    c.op('i32_lt_s').op('select');
  };
  const roundUp = (v: number, to: number): void => {
    c.get(v).i32(to - 1).op('i32_add').i32(to).op('i32_div_u').i32(to).op('i32_mul');
  };
  roundUp(m, mr);
  c.set(mPad);
  c.forUp(bi, () => c.i32(0), batch, 1, () => {
    c.forUp(jc, () => c.i32(0), n, NC, () => {
      min(() => c.i32(NC), () => c.get(n).get(jc).op('i32_sub'));
      c.set(nc);
      roundUp(nc, nr);
      c.set(ncPad);
      c.forUp(pc, () => c.i32(0), k, 0, () => {
        min(() => c.get(KC), () => c.get(k).get(pc).op('i32_sub'));
        c.set(kc);
        c.get(bCache);
        c.ifThen(() => {
          // bCache + 4·(jc·k + pc·ncPad)
          c.get(bCache).get(jc).get(k).op('i32_mul').get(pc).get(ncPad).op('i32_mul').op('i32_add')
            .i32(4).op('i32_mul').op('i32_add').set(pbPtr);
        }, () => {
          c.get(b).get(pc).get(rsB).op('i32_mul').get(jc).get(csB).op('i32_mul').op('i32_add')
            .i32(4).op('i32_mul').op('i32_add');
          c.get(pb).get(nc).get(kc).get(csB).get(rsB).call(f.packB);
          c.get(pb).set(pbPtr);
        });
        c.forUp(ic, () => c.i32(0), m, MC, () => {
          min(() => c.i32(MC), () => c.get(m).get(ic).op('i32_sub'));
          c.set(mc);
          c.get(aCache);
          c.ifThen(() => {
            // aCache + 4·(pc·mPad + ic·kc)
            c.get(aCache).get(pc).get(mPad).op('i32_mul').get(ic).get(kc).op('i32_mul').op('i32_add')
              .i32(4).op('i32_mul').op('i32_add').set(paPtr);
          }, () => {
            c.get(a).get(ic).get(rsA).op('i32_mul').get(pc).get(csA).op('i32_mul').op('i32_add')
              .i32(4).op('i32_mul').op('i32_add');
            c.get(pa).get(mc).get(kc).get(rsA).get(csA).call(f.packA);
            c.get(pa).set(paPtr);
          });
          c.get(paPtr).get(pbPtr);
          c.get(cp).get(ic).get(ldc).op('i32_mul').get(jc).op('i32_add').i32(4).op('i32_mul').op('i32_add');
          // Accumulate after the first depth block, and after the first batch entry of a summed
          // batch (strideC = 0: every entry lands on the same C).
          c.get(mc).get(nc).get(kc).get(ldc);
          c.get(pc).i32(0).op('i32_gt_s').get(strideC).op('i32_eqz').get(bi).i32(0).op('i32_gt_s').op('i32_and').op('i32_or');
          c.get(tile).call(f.macro);
        });
        // The depth step is this block's kc (the loop's own step is 0).
        c.get(pc).get(kc).op('i32_add').set(pc);
      });
    });
    c.get(a).get(strideA).op('i32_add').set(a);
    c.get(b).get(strideB).op('i32_add').set(b);
    c.get(cp).get(strideC).op('i32_add').set(cp);
  });
};

/** The parameters `gemmShared` takes before those of `gemm`. */
export const sharedParams = ['counter', 'chunks', 'perBatch', 'colsPerChunk'] as const;

/**
 * Work sharing between threads: each caller takes chunk i = atomic counter++ until all are taken;
 * chunk i is batch entry ⌊i / perBatch⌋, columns [j0, j0 + colsPerChunk) with j0 = (i mod perBatch)·
 * colsPerChunk. A thread that runs late simply takes fewer chunks.
 */
const emitShared = (c: Code, gemm: number): void => {
  const [counter, chunks, perBatch, colsPerChunk] = [0, 1, 2, 3];
  const g = (name: (typeof gemmParams)[number]): number => sharedParams.length + gemmParams.indexOf(name);
  const [chunk, bi, j0] = [c.local(i32), c.local(i32), c.local(i32)];
  c.block(() => c.loop(() => {
    c.get(counter).i32(1).atomicAdd().tee(chunk).get(chunks).op('i32_ge_s').brIf(1);
    c.get(chunk).get(perBatch).op('i32_div_u').set(bi);
    c.get(chunk).get(bi).get(perBatch).op('i32_mul').op('i32_sub').get(colsPerChunk).op('i32_mul').set(j0);
    for (const name of gemmParams) {
      const at = (base: (typeof gemmParams)[number], stride: (typeof gemmParams)[number], cols?: () => void): void => {
        c.get(g(base)).get(bi).get(g(stride)).op('i32_mul').op('i32_add');
        if (cols) { cols(); c.op('i32_add'); }
      };
      if (name === 'a') at('a', 'strideA');
      else if (name === 'b') at('b', 'strideB', () => c.get(j0).get(g('csB')).op('i32_mul').i32(4).op('i32_mul'));
      else if (name === 'c') at('c', 'strideC', () => c.get(j0).i32(4).op('i32_mul'));
      else if (name === 'batch') {
        // one entry per chunk, or the whole range when the batch is summed (strideC = 0)
        c.get(g('batch')).i32(1).get(g('strideC')).op('i32_eqz').op('select');
      }
      else if (name === 'n') {
        // min(colsPerChunk, n − j0)
        const rest = (): void => { c.get(g('n')).get(j0).op('i32_sub'); };
        c.get(colsPerChunk); rest(); c.get(colsPerChunk); rest();
        c.op('i32_lt_s').op('select');
      } else c.get(g(name));
    }
    c.call(gemm).br(0);
  }));
};

/** With `memory.shared`, also `gemmShared` (atomics need a shared memory). */
export const buildGemmModule = (memory: MemoryImport, shape: GemmShape, blocks: GemmBlocks): ModuleBuilder => {
  const shared = memory.shared === true;
  if (shape.nr % 4 !== 0 || shape.mr < 1 || shape.unroll < 1) throw new RangeError('gemm: bad tile shape');
  if (blocks.mc % shape.mr !== 0 || blocks.nc % shape.nr !== 0) throw new RangeError('gemm: blocks must hold whole tiles');
  const m = new ModuleBuilder(memory);
  const packParams = [i32, i32, i32, i32, i32, i32] as const;
  const packA = m.func('packA', packParams, [], (c) => emitPack(c, shape.mr));
  const packB = m.func('packB', packParams, [], (c) => emitPack(c, shape.nr));
  const macro = m.func('macro', [i32, i32, i32, i32, i32, i32, i32, i32, i32], [], (c) => emitMacro(c, shape));
  const gemm = m.func('gemm', gemmParams.map(() => i32), [], (c) => emitDriver(c, shape, blocks, { packA, packB, macro }));
  if (shared) m.func('gemmShared', [...sharedParams, ...gemmParams].map(() => i32), [], (c) => emitShared(c, gemm));
  return m;
};

