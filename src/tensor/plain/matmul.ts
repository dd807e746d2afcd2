/**
 * Matrix multiply: out[b] = opA(A[b]) · opB(B[b]) (see MatmulSpec), accumulated in doubles.
 *
 * The fast path is the classic packed GEMM: B is copied into column panels of NR (k × NR, row by row)
 * and A into row panels of MR (k × MR), both as Float64Array, with zero padding at the edges. A micro
 * kernel then keeps an MR × NR tile of C in local variables and walks both panels linearly: per k
 * step it loads MR + NR numbers for MR·NR multiply-adds. Packing also absorbs transA/transB and the
 * float32 → float64 conversion, so the kernel is one loop for every layout and precision.
 *
 * Blocking keeps a packed A block (MC rows) in L2 and a packed B panel in L1 while it is reused.
 * k is never split, so each output is one full dot product rounded once.
 *
 * Index expressions inside the kernel are written `(i + 1) | 0`: the truncation tells V8 the
 * addition cannot overflow, which drops an overflow check from every load.
 */
import type { FloatArray, MatmulSpec } from '../backend.ts';
import { checkLength } from './indexing.ts';

const MR = 2;
const NR = 4;
/**
 * Packing scratch, allocated once. They are module constants on purpose: V8 then knows their length
 * and address while compiling the micro kernel, which removes a map check and two loads per element
 * access and made the kernel about a third faster than with scratch passed in or grown on demand.
 */
const aScratchSize = 1 << 15;
const bScratchSize = 1 << 16;
const packedA = new Float64Array(aScratchSize);
const packedB = new Float64Array(bScratchSize);
/** The current tile of C, handed from the micro kernel to the store loop. */
const tile = new Float64Array(MR * NR);

/** tile = the 2×4 product of the packed A panel at ai (k × 2) and B panel at bi (k × 4). */
const microKernel = (ai: number, bi: number, k: number): void => {
  const pa = packedA;
  const pb = packedB;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  for (const end = ai + k * 2; ai < end; ai += 2, bi += 4) {
    const b0 = pb[bi], b1 = pb[(bi + 1) | 0], b2 = pb[(bi + 2) | 0], b3 = pb[(bi + 3) | 0];
    const a0 = pa[ai];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    const a1 = pa[(ai + 1) | 0];
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
  }
  tile[0] = c00; tile[1] = c01; tile[2] = c02; tile[3] = c03;
  tile[4] = c10; tile[5] = c11; tile[6] = c12; tile[7] = c13;
};

/** Copies the valid rows × cols corner of the tile into C at offset o (row length n). */
const storeTile = (out: FloatArray, o: number, n: number, rows: number, cols: number): void => {
  for (let i = 0; i < rows; i++, o += n) for (let j = 0; j < cols; j++) out[o + j] = tile[i * NR + j];
};

/** Below this many multiply-adds, packing costs more than it saves. */
const directLimit = 16 * 16 * 16;

/**
 * Copies rows [i0, i0 + rows) of opA(A) into MR-row panels: panel p holds, for each kk, the MR
 * values A(i0 + p·MR + ii, kk) side by side; rows past the end are zero.
 */
const packA = (a: FloatArray, aOff: number, i0: number, rows: number, m: number, k: number,
  transA: boolean): void => {
  const panels = Math.ceil(rows / MR);
  const pa = packedA;
  // A(i, kk) = a[aOff + i·rowStride + kk·colStride]
  const rowStride = transA ? 1 : k;
  const colStride = transA ? m : 1;
  for (let p = 0; p < panels; p++) {
    const r0 = i0 + p * MR;
    const h = Math.min(MR, i0 + rows - r0);
    const dst = p * MR * k;
    // kk outermost: each of the MR rows is read as a sequential stream whatever the layout.
    for (let kk = 0, s = aOff + r0 * rowStride, d = dst; kk < k; kk++, s += colStride, d += MR) {
      for (let ii = 0; ii < h; ii++) pa[d + ii] = a[s + ii * rowStride];
      for (let ii = h; ii < MR; ii++) pa[d + ii] = 0;
    }
  }
};

/** Copies columns [j0, j0 + cols) of opB(B) into NR-column panels, zero past the end. */
const packB = (b: FloatArray, bOff: number, j0: number, cols: number, n: number, k: number,
  transB: boolean): void => {
  const panels = Math.ceil(cols / NR);
  const pb = packedB;
  // B(kk, j) = b[bOff + kk·rowStride + j·colStride]
  const rowStride = transB ? 1 : n;
  const colStride = transB ? k : 1;
  for (let q = 0; q < panels; q++) {
    const c0 = j0 + q * NR;
    const w = Math.min(NR, j0 + cols - c0);
    const dst = q * NR * k;
    for (let kk = 0, s = bOff + c0 * colStride, d = dst; kk < k; kk++, s += rowStride, d += NR) {
      for (let jj = 0; jj < w; jj++) pb[d + jj] = b[s + jj * colStride];
      for (let jj = w; jj < NR; jj++) pb[d + jj] = 0;
    }
  }
};

/** The reference triple loop, used for small products where packing does not pay. */
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
  checkLength('matmul', 'out', out, batch * m * n);
  if (m < MR || n < NR || m * n * k <= directLimit || k * Math.max(MR, NR) > Math.min(aScratchSize, bScratchSize)) {
    for (let bi = 0; bi < batch; bi++) direct(a, bi * strideA, b, bi * strideB, out, bi * m * n, spec);
    return;
  }
  const mc = Math.floor(aScratchSize / k / MR) * MR;
  const nc = Math.floor(bScratchSize / k / NR) * NR;
  for (let bi = 0; bi < batch; bi++) {
    const cOff = bi * m * n;
    for (let j0 = 0; j0 < n; j0 += nc) {
      const cols = Math.min(nc, n - j0);
      // With one B shared by every batch and a single column block, the packed B is still valid.
      if (!(strideB === 0 && bi > 0 && nc >= n)) packB(b, bi * strideB, j0, cols, n, k, transB);
      for (let i0 = 0; i0 < m; i0 += mc) {
        const rows = Math.min(mc, m - i0);
        packA(a, bi * strideA, i0, rows, m, k, transA);
        for (let q = 0, jq = 0; jq < cols; q++, jq += NR) {
          for (let p = 0, ip = 0; ip < rows; p++, ip += MR) {
            microKernel(p * MR * k, q * NR * k, k);
            storeTile(out, cOff + (i0 + ip) * n + j0 + jq, n, Math.min(MR, rows - ip), Math.min(NR, cols - jq));
          }
        }
      }
    }
  }
};
