/**
 * Partial-vector memory access for the emitted kernels: the last group of a row may hold fewer than
 * 4 valid floats, and its loads and stores must touch only those (the neighbouring memory may
 * belong to another buffer, or another thread's rows).
 */
import type { Code } from './emitter.ts';

/** Loads 4 floats at addr + offset into dst; in a tail group only `count` lanes (the rest zero). */
export const loadLanes = (c: Code, dst: number, addr: number, offset: number, tail: boolean, count: number): void => {
  if (!tail) {
    c.get(addr).mem('v128_load', offset, 0).set(dst);
    return;
  }
  c.get(addr).mem('v128_load32_zero', offset).set(dst);
  for (let lane = 1; lane < 3; lane++) {
    c.get(count).i32(lane).op('i32_gt_s');
    c.ifThen(() => {
      c.get(dst).get(addr).mem('f32_load', offset + 4 * lane).f32x4ReplaceLane(lane).set(dst);
    });
  }
};

/** Stores src at addr + offset; in a tail group only its first `count` lanes. */
export const storeLanes = (c: Code, addr: number, offset: number, src: number, tail: boolean, count: number): void => {
  if (!tail) {
    c.get(addr).get(src).mem('v128_store', offset, 0);
    return;
  }
  c.get(addr).get(src).f32x4ExtractLane(0).mem('f32_store', offset);
  for (let lane = 1; lane < 3; lane++) {
    c.get(count).i32(lane).op('i32_gt_s');
    c.ifThen(() => {
      c.get(addr).get(src).f32x4ExtractLane(lane).mem('f32_store', offset + 4 * lane);
    });
  }
};
