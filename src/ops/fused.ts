/**
 * Fused group norm → per-image scale/shift → activation, the U-Net's commonest chain:
 *
 *   y = act(groupNorm(x; γ, β)·(1 + scale) + shift)
 *
 * Composed from ordinary ops it is about eight full-size passes forward and twenty backward. Here
 * it is a per-row affine map y = act(a·x + b), a row being one channel of one image: the forward
 * pass reads x twice (row moments, then the map) and the backward pass twice (two row sums, the
 * input gradient), with everything else on [n, c]-sized tensors. Only x and the [n, c]-sized
 * coefficients are kept for the backward pass. Backends without the row kernels get the composition.
 */
import type { AdamCoefficients, Handle, RowAct, RowKernels } from '../tensor/backend.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { ShapeError } from '../tensor/shape.ts';
import { backendOf, customVjp, emit } from './core.ts';
import { fromHandle, handleOf } from '../tensor/tensor.ts';
import { add, mul, neg, rsqrt, silu, square, sub } from './elementwise.ts';
import { groupNorm } from './nn.ts';
import { sum } from './reduce.ts';
import { broadcastTo, reshape, split } from './shape.ts';

export interface GroupNormActOptions {
  /** Added to the variance (default 1e-5). */
  readonly eps?: number;
  /** [n, c] (or [n, c, 1, 1]): the normalised value is multiplied by 1 + scale. */
  readonly scale?: Tensor | null;
  /** [n, c] (or [n, c, 1, 1]): added after the scale. */
  readonly shift?: Tensor | null;
  /** Default 'silu'. */
  readonly act?: RowAct;
}

const rowKernels = (x: Tensor): RowKernels | undefined => x.backend.rows;

const notDifferentiable = (op: string) => (): never => {
  throw new Error(`${op}: a building block of groupNormAct, not differentiable on its own`);
};

/** [rows, 2]: (Σ x, Σ (x − row mean)²) per row. */
const rowMoments = (x: Tensor, rows: number, len: number): Tensor =>
  emit('rowMoments', [x], [rows, 2], (b, [h]) => (b.rows as RowKernels).moments(h, rows, len), notDifferentiable('rowMoments'));

/** act(a·x + b) per row. */
const rowAffineAct = (x: Tensor, a: Tensor, b: Tensor, rows: number, len: number, act: RowAct): Tensor =>
  emit('rowAffineAct', [x, a, b], x.shape, (be, [h, ha, hb]) => (be.rows as RowKernels).affineAct(h, ha, hb, rows, len, act),
    notDifferentiable('rowAffineAct'));

const rowGradSums = (x: Tensor, gy: Tensor, a: Tensor, b: Tensor, rows: number, len: number, act: RowAct): Tensor =>
  emit('rowAffineActGradSums', [x, gy, a, b], [rows, 2],
    (be, [h, hg, ha, hb]) => (be.rows as RowKernels).affineActGradSums(h, hg, ha, hb, rows, len, act), notDifferentiable('rowAffineActGradSums'));

const rowGradInput = (x: Tensor, gy: Tensor, a: Tensor, b: Tensor, p: Tensor, q: Tensor, s: Tensor, rows: number,
  len: number, act: RowAct): Tensor =>
  emit('rowAffineActGradInput', [x, gy, a, b, p, q, s], x.shape,
    (be, hs: Handle[]) => (be.rows as RowKernels).affineActGradInput(hs[0], hs[1], hs[2], hs[3], hs[4], hs[5], hs[6], rows, len, act),
    notDifferentiable('rowAffineActGradInput'));

/** act(groupNorm(x)·(1 + scale) + shift); see the file comment. x is [n, c, …]. */
export const groupNormAct = (x: Tensor, groups: number, weight: Tensor | null, bias: Tensor | null,
  opts: GroupNormActOptions = {}): Tensor => {
  const eps = opts.eps ?? 1e-5;
  const act = opts.act ?? 'silu';
  if (x.shape.length < 2) throw new ShapeError('groupNormAct', [x.shape], 'expected [n, c, …]');
  const [n, c] = x.shape;
  if (!(groups >= 1) || c % groups !== 0) throw new ShapeError('groupNormAct', [x.shape], `${c} channels do not split into ${groups} groups`);
  for (const [what, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && t.size !== c) throw new ShapeError('groupNormAct', [x.shape, t.shape], `${what} must have ${c} elements`);
  }
  for (const [what, t] of [['scale', opts.scale], ['shift', opts.shift]] as const) {
    if (t && t.size !== n * c) throw new ShapeError('groupNormAct', [x.shape, t.shape], `${what} must have n·c = ${n * c} elements`);
  }
  const scale = opts.scale ?? null;
  const shift = opts.shift ?? null;
  const spatial = x.shape.slice(2).map(() => 1);
  if (!rowKernels(x) || x.size === 0) {
    let y = groupNorm(x, groups, weight, bias, eps);
    if (scale) y = mul(y, reshape(add(scale, 1), [n, c, ...spatial]));
    if (shift) y = add(y, reshape(shift, [n, c, ...spatial]));
    return act === 'silu' ? silu(y) : y;
  }

  const rows = n * c;
  const len = x.size / rows;
  const cg = c / groups;
  const m = cg * len;
  const perRow = [n, groups, cg, 1];
  const gamma = weight ? reshape(weight, [1, groups, cg, 1]) : null;
  const beta = bias ? reshape(bias, [1, groups, cg, 1]) : null;
  const onePlus = scale ? add(reshape(scale, perRow), 1) : null;

  /** Group statistics and the per-row coefficients of the forward map. */
  const coefficients = () => {
    const [s, q] = split(reshape(rowMoments(x, rows, len), [n, groups, cg, 2]), [1, 1], 3);
    const mu = mul(sum(s, [2], true), 1 / m); // [n, G, 1, 1]
    // Chan et al.'s pairwise update: M2 = Σ q_r + len·Σ (mean_r − μ)².
    const m2 = sum(add(q, mul(square(sub(mul(s, 1 / len), mu)), len)), [2], true);
    const rstd = rsqrt(add(mul(m2, 1 / m), eps));
    const gain = gamma && onePlus ? mul(gamma, onePlus) : gamma ?? onePlus; // k = γ·(1 + scale)
    const a = broadcastTo(gain ? mul(rstd, gain) : rstd, perRow);
    // b = (β − μ·rstd·γ)·(1 + scale) + shift
    let b = neg(mul(mu, a));
    if (beta) b = add(b, onePlus ? mul(beta, onePlus) : beta);
    if (shift) b = add(b, reshape(shift, perRow));
    return { mu, rstd, gain, a, b: broadcastTo(b, perRow) };
  };

  // The coefficients are [n, G]-sized: the forward keeps them (no second moments pass backward).
  return customVjp({
    inputs: { x, weight, bias, scale, shift },
    forward: () => {
      const co = coefficients();
      return { output: rowAffineAct(x, co.a, co.b, rows, len, act), residuals: co };
    },
    vjp: (g, { mu, rstd, gain, a, b }, needs) => {
      const [s1, s2] = split(reshape(rowGradSums(x, g, a, b, rows, len, act), [n, groups, cg, 2]), [1, 1], 3);
      const d = sub(s2, mul(mu, s1)); // Σ gz·(x − μ), per row
      const rd = mul(rstd, d); // Σ gz·x̂
      // x: rstd·(k·gz − T1/m − x̂·T2/m), with T1 = Σ_group k·S1 and T2 = Σ_group k·Σ gz·x̂
      const t1 = sum(gain ? mul(gain, s1) : s1, [2], true);
      const t2 = sum(gain ? mul(gain, rd) : rd, [2], true);
      const q = mul(mul(square(rstd), t2), -1 / m);
      const r = sub(mul(mul(rstd, t1), -1 / m), mul(q, mu));
      return {
        x: needs.x ? rowGradInput(x, g, a, b, a, broadcastTo(q, perRow), broadcastTo(r, perRow), rows, len, act) : null,
        weight: weight && needs.weight ? reshape(sum(onePlus ? mul(onePlus, rd) : rd, [0]), weight.shape) : null,
        bias: bias && needs.bias ? reshape(sum(onePlus ? mul(onePlus, s1) : s1, [0]), bias.shape) : null,
        // ∂/∂scale = Σ gz·(γ·x̂ + β)
        scale: scale && needs.scale ? reshape(beta ? add(gamma ? mul(gamma, rd) : rd, mul(beta, s1)) : gamma ? mul(gamma, rd) : rd, scale.shape) : null,
        shift: shift && needs.shift ? reshape(s1, shift.shape) : null,
      };
    },
  });
};

/**
 * One fused Adam step, [p′, m′, v′], where the backend has optimizer kernels (see OptimKernels):
 * bit for bit the update `adam` in src/grad/optim.ts composes, in one pass instead of about a dozen.
 * Null where the backend has none, or where an operand records a gradient (the composition then
 * keeps the update differentiable).
 */
export const adamStep = (p: Tensor, g: Tensor, m: Tensor, v: Tensor, c: AdamCoefficients): readonly [Tensor, Tensor, Tensor] | null => {
  const kernels = p.backend.optim;
  const operands = [p, g, m, v];
  if (!kernels || operands.some((t) => t.node !== null)) return null;
  const backend = backendOf('adamStep', operands);
  if (operands.some((t) => t.size !== p.size)) throw new ShapeError('adamStep', operands.map((t) => t.shape), 'parameter, gradient and moments must have the same size');
  const hs = kernels.adam(handleOf(p), handleOf(g), handleOf(m), handleOf(v), p.size, c);
  return [fromHandle(backend, hs[0], p.shape), fromHandle(backend, hs[1], p.shape), fromHandle(backend, hs[2], p.shape)];
};
