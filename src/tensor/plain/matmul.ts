/**
 * Matrix multiply: out[b] = opA(A[b]) · opB(B[b]) (see MatmulSpec), accumulated in doubles.
 *
 * The fast path is a packed GEMM. B is copied into panels of NR columns (for each kk, the NR values
 * B(kk, j..j+NR) side by side) and A into panels of MR rows, both as Float64Array with zero padding
 * at the edges. The micro kernel keeps an MR × NR tile of C in local variables and walks one A panel
 * and one B panel linearly: per step of k it loads MR + NR numbers for MR·NR multiply-adds. Packing
 * also absorbs transA/transB and the float32 → float64 conversion, so there is one kernel for every
 * layout and precision. k is never split: each output is one dot product, rounded once.
 *
 * Why these choices (measured on a 2-core Xeon, Node 20; see the project notes for the baseline):
 * - the tile is 2 × 4: V8 uses 16 xmm registers, and 8 accumulators + 4 b + 1 a + 1 product fit,
 *   while a 4 × 4 tile spills accumulators to the stack every step and ran ~15 % slower;
 * - the scratch buffers are module constants referenced directly by the kernel, so V8 compiles
 *   their address and length in: a load becomes compare-with-constant + move, and the kernel ran
 *   about a third faster than with buffers passed in or grown on demand;
 * - index expressions are written `(i + 1) | 0`, which tells V8 the sum is an int32 and drops an
 *   overflow check from every load.
 *
 * A block of MC packed rows of A (≤ 256 KiB) stays in L2 while every B panel of the current column
 * block passes over it; each B panel (k × NR) is reused from L1 across the A panels of the block.
 */
import { type FloatArray, matmulOutputSize, type MatmulSpec } from '../backend.ts';
import { checkLength } from './indexing.ts';

const MR = 2;
const NR = 4;

/** Packing scratch, allocated once (768 KiB); kernels never run concurrently within one thread. */
const aScratchSize = 1 << 15;
const bScratchSize = 1 << 16;
const packedA = new Float64Array(aScratchSize);
const packedB = new Float64Array(bScratchSize);
/** The largest k whose panels fit the scratch; longer products take the direct loop. */
const maxPackedK = Math.min(aScratchSize / MR, bScratchSize / NR);
/** The current tile of C, handed from the micro kernel to the store loop. */
const tile = new Float64Array(MR * NR);

/** Below this many multiply-adds, packing costs more than it saves. */
const directLimit = 16 * 16 * 16;

/** tile = (A panel at ai, k × MR) · (B panel at bi, k × NR). */
const microKernel = (ai: number, bi: number, k: number): void => {
  const pa = packedA;
  const pb = packedB;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  for (const end = ai + k * MR; ai < end; ai += MR, bi += NR) {
    const b0 = pb[bi], b1 = pb[(bi + 1) | 0], b2 = pb[(bi + 2) | 0], b3 = pb[(bi + 3) | 0];
    const a0 = pa[ai];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    const a1 = pa[(ai + 1) | 0];
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
  }
  tile[0] = c00; tile[1] = c01; tile[2] = c02; tile[3] = c03;
  tile[4] = c10; tile[5] = c11; tile[6] = c12; tile[7] = c13;
};

/** Copies the valid rows × cols corner of the tile to C at offset o (row length n). */
const storeTile = (out: FloatArray, o: number, n: number, rows: number, cols: number): void => {
  for (let i = 0; i < rows; i++, o += n) {
    for (let j = 0; j < cols; j++) out[o + j] = tile[i * NR + j];
  }
};

/**
 * Packs rows [i0, i0 + rows) of opA(A): panel p holds, for each kk, A(i0 + p·MR + ii, kk) for
 * ii < MR side by side, zero past the last row. kk is the outer loop, so each source row (or, for
 * transA, the contiguous run of MR values) is read as a sequential stream.
 */
const packA = (a: FloatArray, aOff: number, i0: number, rows: number, m: number, k: number,
  transA: boolean): void => {
  const pa = packedA;
  // A(i, kk) = a[aOff + i·rowStride + kk·colStride]
  const rowStride = transA ? 1 : k;
  const colStride = transA ? m : 1;
  for (let p = 0, r0 = i0; r0 < i0 + rows; p++, r0 += MR) {
    const h = Math.min(MR, i0 + rows - r0);
    for (let kk = 0, s = aOff + r0 * rowStride, d = p * MR * k; kk < k; kk++, s += colStride, d += MR) {
      for (let ii = 0; ii < h; ii++) pa[d + ii] = a[s + ii * rowStride];
      for (let ii = h; ii < MR; ii++) pa[d + ii] = 0;
    }
  }
};

/** Packs columns [j0, j0 + cols) of opB(B) into NR-column panels, zero past the last column. */
const packB = (b: FloatArray, bOff: number, j0: number, cols: number, n: number, k: number,
  transB: boolean): void => {
  const pb = packedB;
  // B(kk, j) = b[bOff + kk·rowStride + j·colStride]
  const rowStride = transB ? 1 : n;
  const colStride = transB ? k : 1;
  for (let q = 0, c0 = j0; c0 < j0 + cols; q++, c0 += NR) {
    const w = Math.min(NR, j0 + cols - c0);
    for (let kk = 0, s = bOff + c0 * colStride, d = q * NR * k; kk < k; kk++, s += rowStride, d += NR) {
      for (let jj = 0; jj < w; jj++) pb[d + jj] = b[s + jj * colStride];
      for (let jj = w; jj < NR; jj++) pb[d + jj] = 0;
    }
  }
};

/** The textbook triple loop: small products, thin ones (m < MR or n < NR) and very long k. */
const direct = (a: FloatArray, aOff: number, b: FloatArray, bOff: number, out: FloatArray,
  cOff: number, spec: MatmulSpec): void => {
  const { m, k, n, transA, transB } = spec;
  const aRow = transA ? 1 : k;
  const aCol = transA ? m : 1;
  const bRow = transB ? 1 : n;
  const bCol = transB ? k : 1;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let kk = 0, ia = aOff + i * aRow, ib = bOff + j * bCol; kk < k; kk++, ia += aCol, ib += bRow) {
        s += a[ia] * b[ib];
      }
      out[cOff + i * n + j] = s;
    }
  }
};

export const matmul = (a: FloatArray, b: FloatArray, out: FloatArray, spec: MatmulSpec): void => {
  const { batch, m, k, n, transA, transB, strideA, strideB } = spec;
  if (batch === 0 || m === 0 || n === 0) return;
  checkLength('matmul', 'a', a, (batch - 1) * strideA + m * k);
  checkLength('matmul', 'b', b, (batch - 1) * strideB + k * n);
  checkLength('matmul', 'out', out, matmulOutputSize(spec));
  if (spec.sumBatch && batch > 1) {
    // Each product into a scratch matrix, added up in batch order.
    const one = { ...spec, batch: 1, sumBatch: false };
    const part = out.slice(0, m * n);
    matmul(a, b, out, one);
    for (let bi = 1; bi < batch; bi++) {
      matmul(a.subarray(bi * strideA), b.subarray(bi * strideB), part, one);
      for (let i = 0; i < m * n; i++) out[i] += part[i];
    }
    return;
  }
  if (m < MR || n < NR || m * n * k <= directLimit || k > maxPackedK) {
    for (let bi = 0; bi < batch; bi++) direct(a, bi * strideA, b, bi * strideB, out, bi * m * n, spec);
    return;
  }
  const mc = Math.floor(aScratchSize / k / MR) * MR;
  const nc = Math.floor(bScratchSize / k / NR) * NR;
  for (let bi = 0; bi < batch; bi++) {
    const cOff = bi * m * n;
    for (let j0 = 0; j0 < n; j0 += nc) {
      const cols = Math.min(nc, n - j0);
      // A B shared by the whole batch that fits one column block stays packed from the first batch.
      if (!(strideB === 0 && bi > 0 && nc >= n)) packB(b, bi * strideB, j0, cols, n, k, transB);
      for (let i0 = 0; i0 < m; i0 += mc) {
        const rows = Math.min(mc, m - i0);
        packA(a, bi * strideA, i0, rows, m, k, transA);
        for (let jq = 0; jq < cols; jq += NR) {
          for (let ip = 0; ip < rows; ip += MR) {
            microKernel(ip * k, jq * k, k);
            storeTile(out, cOff + (i0 + ip) * n + j0 + jq, n, Math.min(MR, rows - ip), Math.min(NR, cols - jq));
          }
        }
      }
    }
  }
};
