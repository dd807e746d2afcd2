/**
 * Single-precision GEMM in WebAssembly SIMD: the packed, blocked scheme of GotoBLAS/BLIS.
 *
 * - `packA` copies an MC × KC block of opA(A) into MR-row panels (for each k, the MR values side by
 *   side), `packB` a KC × NC block of opB(B) into NR-column panels; both zero-pad the last panel and
 *   absorb transA/transB, so one micro-kernel serves every layout.
 * - `macro` walks the NR panels of B (each stays in L1 while reused) and, inside, the MR panels of A
 *   (streamed from L2), running the micro-kernel: an MR × NR tile of C in MR·NR/4 f32x4 accumulators;
 *   per k step it loads NR/4 vectors of B, broadcasts MR values of A (v128.load32_splat) and issues
 *   MR·NR/4 mul+add pairs. The k loop is unrolled with constant load offsets.
 * - Blocks over k after the first add into C (`accumulate`); edge tiles go through a scratch tile.
 *
 * x64 V8 allocates 15 xmm registers to wasm, so MR·NR/4 accumulators + NR/4 B vectors + a broadcast
 * and a product must fit: 5 × 8 (10 + 2 + 2) is the widest tile that does (measured best too, see
 * scripts/bench-fast-scratch.ts).
 */
import type { MatmulSpec } from '../backend.ts';
import { Code, f32, i32, ModuleBuilder, v128, type MemoryImport } from './emitter.ts';
import { heapImport, type FloatBlock, type WasmHeap } from './memory.ts';

export interface GemmShape {
  /** Rows of the register tile. */
  readonly mr: number;
  /** Columns of the register tile (a multiple of 4). */
  readonly nr: number;
  /** k-loop unroll factor. */
  readonly unroll: number;
}

export const defaultGemmShape: GemmShape = { mr: 5, nr: 8, unroll: 4 };

export interface GemmExports {
  /** (src, dst, count, kc, rs, cs): element (r, p) at src + 4·(r·rs + p·cs) → panels of mr. */
  packA(src: number, dst: number, count: number, kc: number, rs: number, cs: number): void;
  /** Same for B with panels of nr. */
  packB(src: number, dst: number, count: number, kc: number, rs: number, cs: number): void;
  /** (pa, pb, c, mc, nc, kc, ldc, accumulate, tile): C[mc × nc] (+)= packed A · packed B. */
  macro(pa: number, pb: number, c: number, mc: number, nc: number, kc: number, ldc: number,
    accumulate: number, tile: number): void;
}

/** min(a, b) of two i32 locals, left on the stack. */
const minOf = (c: Code, a: () => void, b: () => void): void => {
  a(); b(); a(); b();
  c.op('i32_lt_s').op('select');
};

/**
 * pack(src, dst, count, kc, rs, cs): panels of `width` along r; dst[(panel·kc + p)·width + rr] =
 * src[(panel·width + rr)·rs + p·cs], zero for r ≥ count. With rs = 1 and a full panel the width
 * values of one p are contiguous and are copied as vectors.
 */
const emitPack = (c: Code, width: number): void => {
  const [src, dst, count, kc, rs, cs] = [0, 1, 2, 3, 4, 5];
  const r0 = c.local(i32);
  const rr = c.local(i32);
  const p = c.local(i32);
  const s = c.local(i32);
  const d = c.local(i32);
  const csBytes = c.local(i32);
  const panel = c.local(i32);
  const w = c.local(i32);
  c.get(cs).i32(4).op('i32_mul').set(csBytes);
  c.i32(width).set(w);
  c.forUp(r0, () => c.i32(0), count, width, () => {
    // Panel r0/width starts at dst + 4·(r0/width)·kc·width = dst + 4·r0·kc.
    c.get(dst).get(r0).get(kc).op('i32_mul').i32(4).op('i32_mul').op('i32_add').set(panel);
    const scalarPanel = (): void => {
      c.forUp(rr, () => c.i32(0), w, 1, () => {
        c.get(panel).get(rr).i32(4).op('i32_mul').op('i32_add').set(d);
        c.get(r0).get(rr).op('i32_add').get(count).op('i32_lt_s');
        c.ifThen(() => {
          c.get(src).get(r0).get(rr).op('i32_add').get(rs).op('i32_mul').i32(4).op('i32_mul')
            .op('i32_add').set(s);
          c.forUp(p, () => c.i32(0), kc, 1, () => {
            c.get(d).get(s).mem('f32_load').mem('f32_store');
            c.get(s).get(csBytes).op('i32_add').set(s);
            c.get(d).i32(4 * width).op('i32_add').set(d);
          });
        }, () => {
          c.forUp(p, () => c.i32(0), kc, 1, () => {
            c.get(d).f32(0).mem('f32_store');
            c.get(d).i32(4 * width).op('i32_add').set(d);
          });
        });
      });
    };
    if (width % 4 !== 0) {
      scalarPanel();
      return;
    }
    // A full panel with contiguous r: width/4 vector copies per p.
    c.get(rs).i32(1).op('i32_eq').get(r0).i32(width).op('i32_add').get(count).op('i32_le_s').op('i32_and');
    c.ifThen(() => {
      c.get(src).get(r0).i32(4).op('i32_mul').op('i32_add').set(s);
      c.get(panel).set(d);
      c.forUp(p, () => c.i32(0), kc, 1, () => {
        for (let v = 0; v < width / 4; v++) {
          c.get(d).get(s).mem('v128_load', 16 * v, 0).mem('v128_store', 16 * v, 0);
        }
        c.get(s).get(csBytes).op('i32_add').set(s);
        c.get(d).i32(4 * width).op('i32_add').set(d);
      });
    }, scalarPanel);
  });
};

/** The macro kernel with an mr × nr register tile (see the file comment). */
const emitMacro = (c: Code, { mr, nr, unroll }: GemmShape): void => {
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
        c.get(acc[r][v]).get(av).get(bv[v]).simd('f32x4_mul').simd('f32x4_add').set(acc[r][v]);
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
  c.forUp(jr, () => c.i32(0), nc, nr, () => {
    minOf(c, () => c.i32(nr), () => c.get(nc).get(jr).op('i32_sub'));
    c.set(cols);
    c.forUp(ir, () => c.i32(0), mc, mr, () => {
      minOf(c, () => c.i32(mr), () => c.get(mc).get(ir).op('i32_sub'));
      c.set(rows);
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
    });
  });
};

export const buildGemmModule = (memory: MemoryImport, shape: GemmShape = defaultGemmShape): ModuleBuilder => {
  if (shape.nr % 4 !== 0 || shape.mr < 1 || shape.unroll < 1) throw new RangeError('gemm: bad tile shape');
  const m = new ModuleBuilder(memory);
  const packParams = [i32, i32, i32, i32, i32, i32] as const;
  m.func('packA', packParams, [], (c) => emitPack(c, shape.mr));
  m.func('packB', packParams, [], (c) => emitPack(c, shape.nr));
  m.func('macro', [i32, i32, i32, i32, i32, i32, i32, i32, i32], [], (c) => emitMacro(c, shape));
  return m;
};

export interface GemmBlocking {
  /** Rows of A per packed block (kept in L2). */
  readonly mc: number;
  /** Depth per block (an nr-wide B panel of kc rows stays in L1). */
  readonly kc: number;
  /** Columns of B per packed block. */
  readonly nc: number;
}

/** L1d is 48 KiB and L2 2 MiB per core here: B panel 8 × 256 floats = 8 KiB, A block 120 KiB. */
export const defaultBlocking: GemmBlocking = { mc: 120, kc: 256, nc: 1024 };

/** Batched GEMM on byte offsets in `heap`, with packing scratch allocated once from the heap. */
export class Gemm {
  private readonly k: GemmExports;
  private readonly pa: FloatBlock;
  private readonly pb: FloatBlock;
  private readonly tile: FloatBlock;
  readonly shape: GemmShape;
  readonly blocking: GemmBlocking;

  constructor(private readonly heap: WasmHeap, shape: GemmShape = defaultGemmShape,
    blocking: GemmBlocking = defaultBlocking) {
    this.shape = shape;
    // Whole tiles per block, so only the last block of a matrix has edge tiles.
    const mc = Math.max(shape.mr, Math.floor(blocking.mc / shape.mr) * shape.mr);
    const nc = Math.max(shape.nr, Math.floor(blocking.nc / shape.nr) * shape.nr);
    this.blocking = { mc, kc: blocking.kc, nc };
    this.k = buildGemmModule(heapImport(heap), shape).instantiate<GemmExports>(heap.memory);
    this.pa = heap.alloc(mc * blocking.kc);
    this.pb = heap.alloc(nc * blocking.kc);
    this.tile = heap.alloc(shape.mr * shape.nr);
  }

  /** out[b] = opA(A[b]) · opB(B[b]) for byte offsets a, b, out (see MatmulSpec). */
  run(a: number, b: number, out: number, spec: MatmulSpec): void {
    const { batch, m, k, n, transA, transB, strideA, strideB } = spec;
    if (batch === 0 || m === 0 || n === 0) return;
    if (k === 0) {
      this.heap.f32.fill(0, out >>> 2, (out >>> 2) + batch * m * n);
      return;
    }
    const { mc: MC, nc: NC } = this.blocking;
    // Equal k blocks no deeper than kc, so the last is not a sliver.
    const kBlocks = Math.ceil(k / this.blocking.kc);
    const KC = Math.ceil(k / kBlocks);
    // A(i, p) at a + 4·(i·rsA + p·csA); B(p, j) at b + 4·(p·rsB + j·csB).
    const rsA = transA ? 1 : k;
    const csA = transA ? m : 1;
    const rsB = transB ? 1 : n;
    const csB = transB ? k : 1;
    const { pa, pb, tile } = this;
    for (let bi = 0; bi < batch; bi++) {
      const aBase = a + 4 * bi * strideA;
      const bBase = b + 4 * bi * strideB;
      const cBase = out + 4 * bi * m * n;
      for (let jc = 0; jc < n; jc += NC) {
        const nc = Math.min(NC, n - jc);
        for (let pc = 0; pc < k; pc += KC) {
          const kc = Math.min(KC, k - pc);
          this.k.packB(bBase + 4 * (pc * rsB + jc * csB), pb.offset, nc, kc, csB, rsB);
          for (let ic = 0; ic < m; ic += MC) {
            const mc = Math.min(MC, m - ic);
            this.k.packA(aBase + 4 * (ic * rsA + pc * csA), pa.offset, mc, kc, rsA, csA);
            this.k.macro(pa.offset, pb.offset, cBase + 4 * (ic * n + jc), mc, nc, kc, n,
              pc > 0 ? 1 : 0, tile.offset);
          }
        }
      }
    }
  }
}
