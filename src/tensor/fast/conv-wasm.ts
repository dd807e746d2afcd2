/**
 * im2col and col2im in WebAssembly. Both walk the output rows (plane, ki, kj, oy) in order; for each
 * kernel column kj the output columns whose input column lies inside the image form one interval
 * [ox0, ox1) (computed in JS, passed as a table of i32 pairs), so the inner loops carry no bounds
 * tests: padding before, a copy (or accumulate) of the interval, padding after. Stride-1 intervals
 * move as unaligned f32x4 vectors.
 */
import type { Im2colSpec } from '../backend.ts';
import { Code, f32, i32, ModuleBuilder, type MemoryImport } from './emitter.ts';
import { buildWinogradFunctions, type WinogradExports } from './winograd-wasm.ts';

export interface ConvExports extends WinogradExports {
  im2col(x: number, out: number, planes: number, h: number, w: number, kh: number, kw: number,
    sh: number, sw: number, ph: number, pw: number, oh: number, ow: number, padValue: number,
    table: number): void;
  col2im(cols: number, out: number, planes: number, h: number, w: number, kh: number, kw: number,
    sh: number, sw: number, ph: number, pw: number, oh: number, ow: number, table: number): void;
}

/** The ox with 0 ≤ ox·strideW − padW + kj < w, as [ox0, ox1) clipped to [0, ow), for each kj. */
export const validColumns = (s: Im2colSpec): Int32Array => {
  const t = new Int32Array(2 * s.kw);
  for (let kj = 0; kj < s.kw; kj++) {
    const ox0 = Math.min(s.ow, Math.max(0, Math.ceil((s.padW - kj) / s.strideW)));
    const ox1 = Math.min(s.ow, Math.floor((s.w - 1 + s.padW - kj) / s.strideW) + 1);
    t[2 * kj] = ox0;
    t[2 * kj + 1] = Math.max(ox0, ox1);
  }
  return t;
};

/** Stores the f32 local `value` at ptr[0 .. count) (count an i32 local; ptr advanced). */
const emitFill = (c: Code, ptr: number, count: number, value: number, i: number): void => {
  c.forUp(i, () => c.i32(0), count, 1, () => {
    c.get(ptr).get(value).mem('f32_store');
    c.get(ptr).i32(4).op('i32_add').set(ptr);
  });
};

/**
 * dst[j] = src[j·stride] (or dst[j·stride] += src[j] when `accumulate`) for j < count; vectors when
 * stride = 1. Advances neither pointer; i, n4, d, s are scratch i32 locals.
 */
const emitRun = (c: Code, dst: number, src: number, count: number, stride: number, accumulate: boolean,
  [i, n4, d, s]: number[]): void => {
  c.get(dst).set(d);
  c.get(src).set(s);
  c.get(stride).i32(1).op('i32_eq');
  c.ifThen(() => {
    c.get(count).i32(-4).op('i32_and').set(n4);
    c.forUp(i, () => c.i32(0), n4, 4, () => {
      c.get(d);
      if (accumulate) c.get(d).mem('v128_load', 0, 0).get(s).mem('v128_load', 0, 0).simd('f32x4_add');
      else c.get(s).mem('v128_load', 0, 0);
      c.mem('v128_store', 0, 0);
      c.get(d).i32(16).op('i32_add').set(d);
      c.get(s).i32(16).op('i32_add').set(s);
    });
  }, () => c.i32(0).set(n4));
  // Scalar remainder (all of it for stride ≠ 1): the strided side steps by 4·stride bytes.
  c.forUp(i, () => c.get(n4), count, 1, () => {
    c.get(d);
    if (accumulate) c.get(d).mem('f32_load').get(s).mem('f32_load').op('f32_add');
    else c.get(s).mem('f32_load');
    c.mem('f32_store');
    const strided = accumulate ? d : s;
    const unit = accumulate ? s : d;
    c.get(strided).get(stride).i32(4).op('i32_mul').op('i32_add').set(strided);
    c.get(unit).i32(4).op('i32_add').set(unit);
  });
};

/** The shared walk; `forward` = im2col (copy with padding), else col2im (accumulate, no padding). */
const emitWalk = (c: Code, forward: boolean): void => {
  const [colsOrX, outArg, planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const padValue = forward ? 13 : -1;
  const table = forward ? 14 : 13;
  const x = forward ? colsOrX : outArg;
  const cols = forward ? outArg : colsOrX;
  const [plane, ki, kj, oy, o, xp, ox0, ox1, iy, count, p, src] = Array.from({ length: 12 }, () => c.local(i32));
  const scratch = Array.from({ length: 5 }, () => c.local(i32));
  const [fi] = scratch;
  if (!forward) {
    // The image starts at zero; patches add into it.
    c.get(x).i32(0).get(planes).get(h).op('i32_mul').get(w).op('i32_mul')
      .i32(4).op('i32_mul').memoryFill();
  }
  c.get(cols).set(o);
  c.get(x).set(xp);
  c.forUp(plane, () => c.i32(0), planes, 1, () => {
    c.forUp(ki, () => c.i32(0), kh, 1, () => {
      c.forUp(kj, () => c.i32(0), kw, 1, () => {
        c.get(table).get(kj).i32(8).op('i32_mul').op('i32_add').mem('i32_load').set(ox0);
        c.get(table).get(kj).i32(8).op('i32_mul').op('i32_add').mem('i32_load', 4).set(ox1);
        c.forUp(oy, () => c.i32(0), oh, 1, () => {
          c.get(oy).get(sh).op('i32_mul').get(ph).op('i32_sub').get(ki).op('i32_add').set(iy);
          c.get(o).set(p);
          // 0 ≤ iy < h as one unsigned compare.
          c.get(iy).get(h).op('i32_lt_u');
          c.ifThen(() => {
            if (forward) emitFill(c, p, ox0, padValue, fi);
            c.get(ox1).get(ox0).op('i32_sub').set(count);
            // src = x row iy, column ox0·sw − pw + kj
            c.get(xp).get(iy).get(w).op('i32_mul').get(ox0).get(sw).op('i32_mul').op('i32_add')
              .get(pw).op('i32_sub').get(kj).op('i32_add').i32(4).op('i32_mul').op('i32_add').set(src);
            if (forward) {
              emitRun(c, p, src, count, sw, false, scratch.slice(1));
            } else {
              c.get(o).get(ox0).i32(4).op('i32_mul').op('i32_add').set(p);
              emitRun(c, src, p, count, sw, true, scratch.slice(1));
            }
            if (forward) {
              c.get(o).get(ox1).i32(4).op('i32_mul').op('i32_add').set(p);
              c.get(ow).get(ox1).op('i32_sub').set(count);
              emitFill(c, p, count, padValue, fi);
            }
          }, forward ? () => emitFill(c, p, ow, padValue, fi) : undefined);
          c.get(o).get(ow).i32(4).op('i32_mul').op('i32_add').set(o);
        });
      });
    });
    c.get(xp).get(h).get(w).op('i32_mul').i32(4).op('i32_mul').op('i32_add').set(xp);
  });
};

export const buildConvModule = (memory: MemoryImport, opts: { fma?: boolean } = {}): ModuleBuilder => {
  const m = new ModuleBuilder(memory);
  const ints = (n: number): typeof i32[] => new Array<typeof i32>(n).fill(i32);
  m.func('im2col', [...ints(13), f32, i32], [], (c) => emitWalk(c, true));
  m.func('col2im', ints(14), [], (c) => emitWalk(c, false));
  buildWinogradFunctions(m, opts);
  return m;
};
