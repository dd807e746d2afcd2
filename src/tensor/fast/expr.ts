/**
 * Index arithmetic as formulas. An {@link Expr} is a small i32 expression tree; `Code.push` emits
 * it in postorder, which is exactly the stack-machine chain one would write by hand, so rewriting a
 * chain as an expression changes no byte of the module. Operators fold from the left over their
 * operands: add(a, b, c) is (a + b) + c.
 *
 * A plain number is a local's index (parameters first), as everywhere in Code; a constant is lit(v).
 */

/** The i32 operators an expression may apply. */
export type I32Op = 'i32_add' | 'i32_sub' | 'i32_mul' | 'i32_and' | 'i32_shr_u' | 'i32_div_u' | 'i32_eq' | 'i32_lt_s' | 'i32_lt_u' | 'i32_ge_s' | 'i32_gt_s';

export type Expr =
  | number
  | { readonly lit: number }
  | { readonly op: I32Op; readonly args: readonly Expr[] }
  | { readonly select: readonly [ifTrue: Expr, ifFalse: Expr, condition: Expr] };

/** The constant v. */
export const lit = (v: number): Expr => ({ lit: v });

const fold = (op: I32Op) => (a: Expr, b: Expr, ...rest: Expr[]): Expr => ({ op, args: [a, b, ...rest] });
export const add = fold('i32_add');
export const sub = fold('i32_sub');
export const mul = fold('i32_mul');
export const and = fold('i32_and');
export const shrU = fold('i32_shr_u');
export const divU = fold('i32_div_u');
export const eq = fold('i32_eq');
export const ltS = fold('i32_lt_s');
export const ltU = fold('i32_lt_u');
export const geS = fold('i32_ge_s');
export const gtS = fold('i32_gt_s');

/** condition ? ifTrue : ifFalse (both evaluated: WebAssembly's select). */
export const select = (ifTrue: Expr, ifFalse: Expr, condition: Expr): Expr => ({ select: [ifTrue, ifFalse, condition] });

/** The larger of a and b (signed), as select(a, b, a > b). */
export const maxS = (a: Expr, b: Expr): Expr => select(a, b, gtS(a, b));

/** The byte address of element i of a 4-byte array at byte address base: base + 4·i. */
export const at = (base: Expr, i: Expr): Expr => add(base, mul(i, lit(4)));
