/**
 * The packing routines of the GEMM (see gemm-wasm.ts): copy a block of an operand into panels of
 * `width` rows (of A) or columns (of B), the layout the micro-kernel walks linearly. Three paths:
 * panels contiguous in r (vector copies), panels contiguous in p (4 × 4 transposes by shuffles), and
 * a scalar one for strided or partial panels (zero-padded to the full width).
 */
import { Code, i32, v128 } from './emitter.ts';

/**
 * pack(src, dst, count, kc, rs, cs): panels of `width` along r; dst[(panel·kc + p)·width + rr] =
 * src[(panel·width + rr)·rs + p·cs], zero for r ≥ count. With rs = 1 and a full panel the width
 * values of one p are contiguous and are copied as vectors.
 */
export const emitPack = (c: Code, width: number): void => {
  const [src, dst, count, kc, rs, cs] = [0, 1, 2, 3, 4, 5];
  const r0 = c.local(i32);
  const rr = c.local(i32);
  const p = c.local(i32);
  const s = c.local(i32);
  const d = c.local(i32);
  const csBytes = c.local(i32);
  const panel = c.local(i32);
  const w = c.local(i32);
  c.get(cs).i32(4).op('i32_mul').set(csBytes);
  c.i32(width).set(w);
  c.forUp(r0, () => c.i32(0), count, width, () => {
    // Panel r0/width starts at dst + 4·(r0/width)·kc·width = dst + 4·r0·kc.
    c.get(dst).get(r0).get(kc).op('i32_mul').i32(4).op('i32_mul').op('i32_add').set(panel);
    const scalarPanel = (): void => {
      c.forUp(rr, () => c.i32(0), w, 1, () => {
        c.get(panel).get(rr).i32(4).op('i32_mul').op('i32_add').set(d);
        c.get(r0).get(rr).op('i32_add').get(count).op('i32_lt_s');
        c.ifThen(() => {
          c.get(src).get(r0).get(rr).op('i32_add').get(rs).op('i32_mul').i32(4).op('i32_mul')
            .op('i32_add').set(s);
          c.forUp(p, () => c.i32(0), kc, 1, () => {
            c.get(d).get(s).mem('f32_load').mem('f32_store');
            c.get(s).get(csBytes).op('i32_add').set(s);
            c.get(d).i32(4 * width).op('i32_add').set(d);
          });
        }, () => {
          c.forUp(p, () => c.i32(0), kc, 1, () => {
            c.get(d).f32(0).mem('f32_store');
            c.get(d).i32(4 * width).op('i32_add').set(d);
          });
        });
      });
    };
    if (width % 4 !== 0) {
      scalarPanel();
      return;
    }
    const full = (): void => {
      c.get(r0).i32(width).op('i32_add').get(count).op('i32_le_s');
    };
    // A full panel with contiguous r: width/4 vector copies per p.
    c.get(rs).i32(1).op('i32_eq');
    full();
    c.op('i32_and');
    c.ifThen(() => {
      c.get(src).get(r0).i32(4).op('i32_mul').op('i32_add').set(s);
      c.get(panel).set(d);
      c.forUp(p, () => c.i32(0), kc, 1, () => {
        for (let v = 0; v < width / 4; v++) {
          c.get(d).get(s).mem('v128_load', 16 * v, 0).mem('v128_store', 16 * v, 0);
        }
        c.get(s).get(csBytes).op('i32_add').set(s);
        c.get(d).i32(4 * width).op('i32_add').set(d);
      });
    }, () => {
      // A full panel with contiguous p: 4 × 4 transposes, then the last kc mod 4 steps one by one.
      c.get(cs).i32(1).op('i32_eq');
      full();
      c.op('i32_and');
      c.ifThen(() => emitTransposePanel(c, width, { src, kc, rs, r0, panel, p, d }), scalarPanel);
    });
  });
};

/**
 * Packs one full panel whose rows r are contiguous in p: per 4 steps of p, each group of 4 rows is
 * loaded as 4 vectors, transposed with shuffles, and stored as 4 rows of the panel.
 */
const emitTransposePanel = (c: Code, width: number,
  l: { src: number; kc: number; rs: number; r0: number; panel: number; p: number; d: number }): void => {
  const rows = Array.from({ length: width }, () => c.local(i32));
  const [v0, v1, v2, v3, t0, t1, t2, t3] = Array.from({ length: 8 }, () => c.local(v128));
  const k4 = c.local(i32);
  rows.forEach((row, q) => {
    c.get(l.src).get(l.r0).i32(q).op('i32_add').get(l.rs).op('i32_mul').i32(4).op('i32_mul').op('i32_add').set(row);
  });
  c.get(l.panel).set(l.d);
  c.get(l.kc).i32(-4).op('i32_and').set(k4);
  c.forUp(l.p, () => c.i32(0), k4, 4, () => {
    for (let g = 0; g < width / 4; g++) {
      [v0, v1, v2, v3].forEach((v, q) => c.get(rows[4 * g + q]).mem('v128_load', 0, 0).set(v));
      c.get(v0).get(v1).shuffle32(0, 4, 1, 5).set(t0);
      c.get(v0).get(v1).shuffle32(2, 6, 3, 7).set(t1);
      c.get(v2).get(v3).shuffle32(0, 4, 1, 5).set(t2);
      c.get(v2).get(v3).shuffle32(2, 6, 3, 7).set(t3);
      const store = (t: number, lo: number, hi: number, a: number, b: number): void => {
        c.get(l.d).get(lo).get(hi).shuffle32(a, b, a + 4, b + 4).mem('v128_store', 4 * (t * width + 4 * g), 0);
      };
      store(0, t0, t2, 0, 1);
      store(1, t0, t2, 2, 3);
      store(2, t1, t3, 0, 1);
      store(3, t1, t3, 2, 3);
    }
    for (const row of rows) c.get(row).i32(16).op('i32_add').set(row);
    c.get(l.d).i32(16 * width).op('i32_add').set(l.d);
  });
  c.forUp(l.p, () => c.get(k4), l.kc, 1, () => {
    rows.forEach((row, q) => {
      c.get(l.d).get(row).mem('f32_load').mem('f32_store', 4 * q);
      c.get(row).i32(4).op('i32_add').set(row);
    });
    c.get(l.d).i32(4 * width).op('i32_add').set(l.d);
  });
};

