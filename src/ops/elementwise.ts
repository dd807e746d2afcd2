/**
 * Elementwise primitives, each with its vjp beside it. Binary ops follow NumPy broadcasting; the
 * gradient of a broadcast input is summed back to its shape (`sumTo`).
 */
import type { BinaryOp, UnaryOp } from '../tensor/backend.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { broadcastShapes, broadcastStrides, sameShape } from '../tensor/shape.ts';
import { emit } from './core.ts';
import { full } from './create.ts';
import { sumTo } from './reduce.ts';
import { broadcastTo } from './shape.ts';

export type TensorLike = Tensor | number;

const unary = (op: UnaryOp, vjp: (g: Tensor, x: Tensor, y: Tensor) => Tensor | null) =>
  (x: Tensor): Tensor =>
    emit(op, [x], x.shape, (b, [h]) => b.unary(op, h, x.size), (g, y) => [vjp(g, x, y)]);

export const neg = unary('neg', (g) => neg(g));
export const exp = unary('exp', (g, _x, y) => mul(g, y));
export const log = unary('log', (g, x) => div(g, x));
export const sqrt = unary('sqrt', (g, _x, y) => div(g, mul(y, 2)));
export const rsqrt = unary('rsqrt', (g, _x, y) => mul(g, mul(pow(y, 3), -0.5)));
export const square = unary('square', (g, x) => mul(g, mul(x, 2)));
export const abs = unary('abs', (g, x) => mul(g, sign(x)));
export const sign = unary('sign', () => null);
export const sin = unary('sin', (g, x) => mul(g, cos(x)));
export const cos = unary('cos', (g, x) => mul(g, neg(sin(x))));
export const tanh = unary('tanh', (g, _x, y) => mul(g, sub(1, square(y))));
export const sigmoid = unary('sigmoid', (g, _x, y) => mul(g, mul(y, sub(1, y))));
export const relu = unary('relu', (g, x) => mul(g, greater(x, 0)));
export const reciprocal = unary('reciprocal', (g, _x, y) => neg(mul(g, square(y))));
/** erf'(x) = 2/√π · exp(−x²) */
export const erf = unary('erf', (g, x) => mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))));

/** x·σ(x), as PyTorch's SiLU. */
export const silu = (x: Tensor): Tensor => mul(x, sigmoid(x));
/** Exact (erf) GELU, PyTorch's default: x·Φ(x). */
export const gelu = (x: Tensor): Tensor => mul(mul(x, 0.5), add(1, erf(mul(x, Math.SQRT1_2))));

// ---- binary -----------------------------------------------------------------------------------

const asTensor = (x: TensorLike, like: Tensor): Tensor => (typeof x === 'number' ? full([], x, like.backend) : x);

const binary = (op: BinaryOp, vjp: (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null]) =>
  (x: TensorLike, z: TensorLike): Tensor => {
    if (typeof x === 'number' && typeof z === 'number') throw new Error(`${op}: at least one operand must be a tensor`);
    const a = asTensor(x, z as Tensor);
    const b = asTensor(z, a);
    const shape = sameShape(a.shape, b.shape) ? a.shape : broadcastShapes(op, a.shape, b.shape);
    return emit(op, [a, b], shape,
      (be, [ha, hb]) => be.binary(op, ha, hb, shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)),
      (g, y) => {
        const [ga, gb] = vjp(g, a, b, y);
        return [ga && sumTo(ga, a.shape), gb && sumTo(gb, b.shape)];
      });
  };

export const add = binary('add', (g) => [g, g]);
export const sub = binary('sub', (g) => [g, neg(g)]);
export const mul = binary('mul', (g, a, b) => [mul(g, b), mul(g, a)]);
export const div = binary('div', (g, _a, b, y) => [div(g, b), neg(div(mul(g, y), b))]);
/** d/da aᵇ = b·aᵇ⁻¹; d/db aᵇ = aᵇ·ln a (taken as 0 where a ≤ 0, where it is undefined). */
export const pow = binary('pow', (g, a, b, y) => [
  mul(g, mul(b, pow(a, sub(b, 1)))),
  mul(g, where(greater(a, 0), mul(y, log(maximum(a, 1e-30))), 0)),
]);
/** Ties send the gradient to the first operand. */
export const maximum = binary('maximum', (g, a, b) => {
  const m = greaterEqual(a, b);
  return [mul(g, m), mul(g, sub(1, m))];
});
export const minimum = binary('minimum', (g, a, b) => {
  const m = lessEqual(a, b);
  return [mul(g, m), mul(g, sub(1, m))];
});

const comparison = (op: BinaryOp) => binary(op, () => [null, null]);
/** Comparisons give a 0/1 float mask (PyTorch's `(a > b).float()`). */
export const greater = comparison('greater');
export const greaterEqual = comparison('greaterEqual');
export const less = comparison('less');
export const lessEqual = comparison('lessEqual');
export const equal = comparison('equal');
export const notEqual = comparison('notEqual');

// ---- select -----------------------------------------------------------------------------------

/** cond ≠ 0 ? a : b, broadcasting all three. */
export const where = (cond: TensorLike, x: TensorLike, y: TensorLike): Tensor => {
  const like = [cond, x, y].find((t): t is Tensor => typeof t !== 'number');
  if (!like) throw new Error('where: at least one operand must be a tensor');
  const [c, a, b] = [cond, x, y].map((t) => asTensor(t, like));
  const shape = broadcastShapes('where', broadcastShapes('where', c.shape, a.shape), b.shape);
  const [cc, aa, bb] = [c, a, b].map((t) => broadcastTo(t, shape));
  return emit('where', [cc, aa, bb], shape, (be, [hc, ha, hb]) => be.where(hc, ha, hb, aa.size),
    (g) => [null, where(cc, g, 0), where(cc, 0, g)]);
};
