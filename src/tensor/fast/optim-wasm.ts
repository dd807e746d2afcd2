/**
 * The fused Adam step (OptimKernels.adam) in WebAssembly SIMD: one pass over p, g, m, v writing
 * p′, m′, v′, every operation an f32x4 op in the composed update's order, so the results equal the
 * composition's (and the plain reference's) bit for bit. Whole vectors: ⌈n/4⌉ of them, as every heap
 * block's capacity is a multiple of 16 floats.
 */
import { f32, i32, type ModuleBuilder, v128, type ValType } from './emitter.ts';

/** (p, g, m, v, outP, outM, outV, from, to) as i32s, then the coefficients as f32s, then the two flags. */
export const adamCoefficientNames = ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'eps', 'stepSize', 'sqrtC2', 'l2', 'decay'] as const;

export interface OptimExports {
  /** See {@link adamCoefficientNames}: pointers, element range [from, to), coefficients, useL2, useDecay. */
  adam(...params: number[]): void;
}

export const buildOptimFunctions = (m: ModuleBuilder): void => {
  const params: ValType[] = [...new Array<ValType>(9).fill(i32), ...adamCoefficientNames.map((): ValType => f32), i32, i32];
  m.func('adam', params, [], (c) => {
    const [p, g, mm, v, outP, outM, outV, from, to] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    const coeff = (name: (typeof adamCoefficientNames)[number]): number => 9 + adamCoefficientNames.indexOf(name);
    const [useL2, useDecay] = [9 + adamCoefficientNames.length, 10 + adamCoefficientNames.length];
    const splat = Object.fromEntries(adamCoefficientNames.map((name) => {
      const l = c.local(v128);
      c.get(coeff(name)).simd('f32x4_splat').set(l);
      return [name, l];
    })) as Record<(typeof adamCoefficientNames)[number], number>;
    const [i, off] = [c.local(i32), c.local(i32)];
    const [pv, gv, mv, vv, den] = Array.from({ length: 5 }, () => c.local(v128));
    const at = (base: number): void => { c.get(base).get(off).op('i32_add'); };
    c.forUp(i, () => c.get(from), to, 4, () => {
      c.get(i).i32(4).op('i32_mul').set(off);
      at(p); c.mem('v128_load', 0, 0).set(pv);
      at(g); c.mem('v128_load', 0, 0).set(gv);
      c.get(useL2);
      c.ifThen(() => { c.get(gv).get(pv).get(splat.l2).simd('f32x4_mul').simd('f32x4_add').set(gv); });
      // m′ = β1·m + (1 − β1)·g′
      at(mm); c.mem('v128_load', 0, 0).get(splat.beta1).simd('f32x4_mul')
        .get(gv).get(splat.oneMinusBeta1).simd('f32x4_mul').simd('f32x4_add').set(mv);
      // v′ = β2·v + (1 − β2)·(g′·g′)
      at(v); c.mem('v128_load', 0, 0).get(splat.beta2).simd('f32x4_mul')
        .get(gv).get(gv).simd('f32x4_mul').get(splat.oneMinusBeta2).simd('f32x4_mul').simd('f32x4_add').set(vv);
      c.get(useDecay);
      c.ifThen(() => { c.get(pv).get(splat.decay).simd('f32x4_mul').set(pv); });
      // p′ = p − (m′ / (√v′ / √c2 + eps))·stepSize
      c.get(vv).simd('f32x4_sqrt').get(splat.sqrtC2).simd('f32x4_div').get(splat.eps).simd('f32x4_add').set(den);
      at(outP);
      c.get(pv).get(mv).get(den).simd('f32x4_div').get(splat.stepSize).simd('f32x4_mul').simd('f32x4_sub');
      c.mem('v128_store', 0, 0);
      at(outM); c.get(mv).mem('v128_store', 0, 0);
      at(outV); c.get(vv).mem('v128_store', 0, 0);
    });
  });
};
