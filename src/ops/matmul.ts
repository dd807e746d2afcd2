/** Matrix products: 2-D, batched, and a batched operand against a shared matrix. */
import type { Tensor } from '../tensor/tensor.ts';
import { ShapeError, sizeOf } from '../tensor/shape.ts';
import { emit } from './core.ts';
import { reshape } from './shape.ts';

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
  const [needA, needB] = [a.node !== null, b.node !== null];
  return emit('matmul', [a, b], shape,
    (be, [ha, hb]) => be.matmul(ha, hb, {
      batch, m, k, n, transA, transB, strideA: sharedA ? 0 : m * k, strideB: sharedB ? 0 : k * n,
    }),
    (g) => {
      // C = A·B: dA = g·Bᵀ, dB = Aᵀ·g, each in the stored layout of its operand. A matrix shared by
      // every batch gets Σ_b over the batch as ONE product over the stacked batch (a weight-sized
      // result), never a batch of per-sample gradients.
      // An operand that records no gradient (a constant, a data batch) gets none computed.
      const ga = !needA ? null : sharedA ? sharedGradA(g, b, batch, m, k, n, transA, transB)
        : transA ? matmul(b, g, transB, true) : matmul(g, b, false, !transB);
      const gb = !needB ? null : sharedB ? sharedGradB(g, a, batch, m, k, n, transA, transB)
        : transB ? matmul(g, a, true, transA) : matmul(a, g, !transA, false);
      return [ga, gb];
    });
};

/**
 * Σ_b opA(a_b) · opB(b_b) → [m, n] for a holding `batch` matrices of m×k (or k×m) and b of k×n (or
 * n×k): the gradient of a matrix shared by a batch, as one kernel that adds the products up in place.
 */
export const matmulSumBatch = (a: Tensor, b: Tensor, batch: number, m: number, k: number, n: number,
  transA: boolean, transB: boolean): Tensor => {
  if (a.size !== batch * m * k || b.size !== batch * k * n) {
    throw new ShapeError('matmulSumBatch', [a.shape, b.shape], `expected ${batch} products of ${m}×${k} and ${k}×${n}`);
  }
  const [needA, needB] = [a.node !== null, b.node !== null];
  return emit('matmulSumBatch', [a, b], [m, n],
    (be, [ha, hb]) => be.matmul(ha, hb, { batch, m, k, n, transA, transB, strideA: m * k, strideB: k * n, sumBatch: true }),
    (g) => {
      // d/da_b = g·opB(b_b)ᵀ and d/db_b = opA(a_b)ᵀ·g, with g shared by the batch.
      const bs = reshape(b, transB ? [batch, n, k] : [batch, k, n]);
      const as = reshape(a, transA ? [batch, k, m] : [batch, m, k]);
      const ga = !needA ? null : transA ? matmul(bs, g, transB, true) : matmul(g, bs, false, !transB);
      const gb = !needB ? null : transB ? matmul(g, as, true, transA) : matmul(as, g, !transA, false);
      return [ga && reshape(ga, a.shape), gb && reshape(gb, b.shape)];
    });
};

/** dA = Σ_b g_b·B_bᵀ for a shared A, in A's stored layout. */
const sharedGradA = (g: Tensor, b: Tensor, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean): Tensor =>
  // transA: A is stored [k, m], so its gradient is Σ_b B_b·g_bᵀ
  transA ? matmulSumBatch(b, g, batch, k, n, m, transB, true) : matmulSumBatch(g, b, batch, m, n, k, false, !transB);

/** dB = Σ_b A_bᵀ·g_b for a shared B, in B's stored layout. */
const sharedGradB = (g: Tensor, a: Tensor, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean): Tensor => {
  if (!transA) {
    // A's batch stacks into rows for free: one product with depth batch·m
    const rows = reshape(a, [batch * m, k]);
    const gs = reshape(g, [batch * m, n]);
    return transB ? matmul(gs, rows, true, false) : matmul(rows, gs, true, false);
  }
  // transB: B is stored [n, k], so its gradient is Σ_b g_bᵀ·A_b
  return transB ? matmulSumBatch(g, a, batch, n, m, k, true, transA) : matmulSumBatch(a, g, batch, k, m, n, !transA, false);
};
