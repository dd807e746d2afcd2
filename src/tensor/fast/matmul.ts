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

/** Batched GEMM on byte offsets in `heap`, with packing scratch allocated from the heap and kept. */
export class Gemm {
  private readonly k: GemmExports;
  private pa: FloatBlock;
  private pb: FloatBlock;
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

  /** The scratch block `which`, grown to at least `size` floats. */
  private scratch(which: 'pa' | 'pb', size: number): number {
    if (this[which].capacity < size) {
      this.heap.free(this[which]);
      this[which] = this.heap.alloc(size);
    }
    return this[which].offset;
  }

  /**
   * out[b] = opA(A[b]) · opB(B[b]) for byte offsets a, b, out (see MatmulSpec). An operand shared by
   * the whole batch (stride 0, as conv weights are) is packed once, all of its blocks side by side:
   * block (pc, ic) of A at pc·mPad + ic·kc, block (jc, pc) of B at jc·k + pc·ncPad.
   */
  run(a: number, b: number, out: number, spec: MatmulSpec): void {
    const { batch, m, k, n, transA, transB, strideA, strideB } = spec;
    if (batch === 0 || m === 0 || n === 0) return;
    if (k === 0) {
      this.heap.f32.fill(0, out >>> 2, (out >>> 2) + batch * m * n);
      return;
    }
    const { mr, nr } = this.shape;
    const { mc: MC, nc: NC } = this.blocking;
    // Equal k blocks no deeper than kc, so the last is not a sliver.
    const KC = Math.ceil(k / Math.ceil(k / this.blocking.kc));
    // A(i, p) at a + 4·(i·rsA + p·csA); B(p, j) at b + 4·(p·rsB + j·csB).
    const rsA = transA ? 1 : k;
    const csA = transA ? m : 1;
    const rsB = transB ? 1 : n;
    const csB = transB ? k : 1;
    const mPad = Math.ceil(m / mr) * mr;
    const nPad = Math.ceil(n / nr) * nr;
    const shareA = strideA === 0 && batch > 1;
    const shareB = strideB === 0 && batch > 1;
    const kern = this.k;
    const packA = (base: number, ic: number, pc: number, kc: number, dst: number): number => {
      kern.packA(base + 4 * (ic * rsA + pc * csA), dst, Math.min(MC, m - ic), kc, rsA, csA);
      return dst;
    };
    const packB = (base: number, jc: number, pc: number, kc: number, dst: number): number => {
      kern.packB(base + 4 * (pc * rsB + jc * csB), dst, Math.min(NC, n - jc), kc, csB, rsB);
      return dst;
    };
    const ncPad = (jc: number): number => Math.ceil(Math.min(NC, n - jc) / nr) * nr;
    // Operands shared by the batch are packed once, before the loop.
    const aAll = shareA ? this.scratch('pa', mPad * k) : 0;
    const bAll = shareB ? this.scratch('pb', nPad * k) : 0;
    if (shareA) {
      for (let pc = 0; pc < k; pc += KC) {
        for (let ic = 0; ic < m; ic += MC) packA(a, ic, pc, Math.min(KC, k - pc), aAll + 4 * (pc * mPad + ic * Math.min(KC, k - pc)));
      }
    }
    if (shareB) {
      for (let jc = 0; jc < n; jc += NC) {
        for (let pc = 0; pc < k; pc += KC) packB(b, jc, pc, Math.min(KC, k - pc), bAll + 4 * (jc * k + pc * ncPad(jc)));
      }
    }
    const pa = shareA ? 0 : this.scratch('pa', MC * KC);
    const pb = shareB ? 0 : this.scratch('pb', NC * KC);
    const tile = this.tile.offset;
    for (let bi = 0; bi < batch; bi++) {
      const aBase = a + 4 * bi * strideA;
      const bBase = b + 4 * bi * strideB;
      const cBase = out + 4 * bi * m * n;
      for (let jc = 0; jc < n; jc += NC) {
        const nc = Math.min(NC, n - jc);
        for (let pc = 0; pc < k; pc += KC) {
          const kc = Math.min(KC, k - pc);
          const pbPtr = shareB ? bAll + 4 * (jc * k + pc * ncPad(jc)) : packB(bBase, jc, pc, kc, pb);
          for (let ic = 0; ic < m; ic += MC) {
            const mc = Math.min(MC, m - ic);
            const paPtr = shareA ? aAll + 4 * (pc * mPad + ic * kc) : packA(aBase, ic, pc, kc, pa);
            kern.macro(paPtr, pbPtr, cBase + 4 * (ic * n + jc), mc, nc, kc, n, pc > 0 ? 1 : 0, tile);
          }
        }
      }
    }
  }
}
