/** Matrix products: 2-D, batched, and a batched operand against a shared matrix. */
import type { Tensor } from '../tensor/tensor.ts';
import { ShapeError, sizeOf } from '../tensor/shape.ts';
import { emit } from './core.ts';
import { reshape } from './shape.ts';
import { sum } from './reduce.ts';

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
      // C = A·B: dA = g·Bᵀ, dB = Aᵀ·g, each in the stored layout of its operand.
      let ga = transA ? matmul(b, g, transB, true) : matmul(g, b, false, !transB);
      let gb = transB ? matmul(g, a, true, transA) : matmul(a, g, !transA, false);
      if (sharedA) ga = sum(reshape(ga, [batch, ...a.shape]), 0);
      if (sharedB) gb = sum(reshape(gb, [batch, ...b.shape]), 0);
      return [ga, gb];
    });
};
