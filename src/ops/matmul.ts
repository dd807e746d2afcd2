/** Matrix products: 2-D, batched, and a batched operand against a shared matrix. */
import type { Tensor } from '../tensor/tensor.ts';
import { ShapeError, sizeOf } from '../tensor/shape.ts';
import { emit } from './core.ts';
import { permute, reshape, transpose } from './shape.ts';

/**
 * a [..., m, k] · b [..., k, n] → [..., m, n]. Batch dimensions must be equal, or one side may be a
 * plain matrix shared by every batch (the usual weight case). `transA`/`transB` read a as [..., k, m]
 * or b as [..., n, k] without a copy.
 */
export const matmul = (a: Tensor, b: Tensor, transA = false, transB = false): Tensor => {
  if (a.shape.length < 2 || b.shape.length < 2) throw new ShapeError('matmul', [a.shape, b.shape], 'operands must have rank ≥ 2');
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [k2, n] = transB ? [bc, br] : [br, bc];
  if (k !== k2) throw new ShapeError('matmul', [a.shape, b.shape], `inner dimensions ${k} and ${k2} differ${transA || transB ? ` (transA=${transA}, transB=${transB})` : ''}`);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batchShape = aBatch.length >= bBatch.length ? aBatch : bBatch;
  const sharedA = aBatch.length === 0 && bBatch.length > 0;
  const sharedB = bBatch.length === 0 && aBatch.length > 0;
  if (!sharedA && !sharedB && (aBatch.length !== bBatch.length || aBatch.some((d, i) => d !== bBatch[i]))) {
    throw new ShapeError('matmul', [a.shape, b.shape], 'batch dimensions must be equal, or one operand a plain matrix');
  }
  const batch = sizeOf(batchShape);
  const shape = [...batchShape, m, n];
  return emit('matmul', [a, b], shape,
    (be, [ha, hb]) => be.matmul(ha, hb, {
      batch, m, k, n, transA, transB, strideA: sharedA ? 0 : m * k, strideB: sharedB ? 0 : k * n,
    }),
    (g) => {
      // C = A·B: dA = g·Bᵀ, dB = Aᵀ·g, each in the stored layout of its operand. A matrix shared by
      // every batch gets Σ_b over the batch as ONE product over the stacked batch (a weight-sized
      // result), never a batch of per-sample gradients.
      const ga = sharedA ? sharedGradA(g, b, batch, m, k, n, transA, transB)
        : transA ? matmul(b, g, transB, true) : matmul(g, b, false, !transB);
      const gb = sharedB ? sharedGradB(g, a, batch, m, k, n, transA, transB)
        : transB ? matmul(g, a, true, transA) : matmul(a, g, !transA, false);
      return [ga, gb];
    });
};

/** Batches side by side: [batch, r, c] → [r, batch·c] (a copy), for sums over the batch as one product. */
const stackColumns = (x: Tensor, batch: number, r: number, c: number): Tensor =>
  reshape(permute(reshape(x, [batch, r, c]), [1, 0, 2]), [r, batch * c]);

/** dA = Σ_b g_b·B_bᵀ for a shared A, in A's stored layout. */
const sharedGradA = (g: Tensor, b: Tensor, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean): Tensor => {
  const gm = stackColumns(g, batch, m, n); // [m, batch·n]
  const da = transB
    ? matmul(gm, reshape(b, [batch * n, k])) // B_bᵀ stored as [n, k] rows: stack them
    : matmul(gm, stackColumns(b, batch, k, n), false, true);
  return transA ? transpose(da) : da;
};

/** dB = Σ_b A_bᵀ·g_b for a shared B, in B's stored layout. */
const sharedGradB = (g: Tensor, a: Tensor, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean): Tensor => {
  const rows = transA ? reshape(permute(reshape(a, [batch, k, m]), [0, 2, 1]), [batch * m, k]) : reshape(a, [batch * m, k]);
  const db = matmul(rows, reshape(g, [batch * m, n]), true, false); // [k, n]
  return transB ? transpose(db) : db;
};
