/**
 * Laws of the fast backend's memory: the allocator reuses freed blocks, live blocks never overlap,
 * liveBuffers counts exactly, a repeated step allocates nothing new, handles stay valid (contents and
 * kernels) across memory growth, and a memory too small for the live set spills buffers out and
 * back without changing any result.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Handle } from '../src/tensor/backend.ts';
import { createFastBackend } from '../src/tensor/fast/index.ts';
import { createPlainBackend } from '../src/tensor/plain/index.ts';
import { type FloatBlock, sizeClass, WasmHeap } from '../src/tensor/fast/memory.ts';

const blockOf = (h: Handle): FloatBlock => h as unknown as FloatBlock;

/** A random program over the allocator: allocate a size, or free the i-th live block. */
const program = fc.array(fc.oneof(
  fc.integer({ min: 0, max: 5000 }).map((size) => ({ alloc: size })),
  fc.nat().map((i) => ({ free: i })),
), { maxLength: 80 });

describe('size classes', () => {
  it('hold the size, align to 64 bytes, waste at most a quarter, and grow with the size', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1 << 26 }), (n) => {
      const c = sizeClass(n);
      expect(c).toBeGreaterThanOrEqual(n);
      expect(c % 16).toBe(0);
      if (n > 64) expect(c).toBeLessThanOrEqual(n * 1.25 + 16);
      expect(sizeClass(n + 1)).toBeGreaterThanOrEqual(c);
      expect(sizeClass(c)).toBe(c);
    }));
  });
});

describe('the heap', () => {
  it('free then alloc of the same size reuses the block', () => {
    const heap = new WasmHeap({ initialBytes: 1 << 16 });
    fc.assert(fc.property(fc.integer({ min: 0, max: 100000 }), (n) => {
      const a = heap.alloc(n);
      const top = heap.usedBytes;
      heap.free(a);
      const b = heap.alloc(n);
      expect(b.offset).toBe(a.offset);
      expect(heap.usedBytes).toBe(top);
      heap.free(b);
    }));
  });

  it('live blocks never overlap and are counted exactly', () => {
    fc.assert(fc.property(program, (steps) => {
      const heap = new WasmHeap({ initialBytes: 1 << 16 });
      const live: FloatBlock[] = [];
      for (const s of steps) {
        if ('alloc' in s) live.push(heap.alloc(s.alloc));
        else if (live.length > 0) heap.free(live.splice(s.free % live.length, 1)[0]);
        expect(heap.liveBlocks).toBe(live.length);
      }
      const spans = live.map((b) => [b.offset, b.offset + 4 * b.capacity]).sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
      for (const [, end] of spans) expect(end).toBeLessThanOrEqual(heap.memory.buffer.byteLength);
    }));
  });

  it('freeing a block twice throws', () => {
    const heap = new WasmHeap({ initialBytes: 1 << 16 });
    const b = heap.alloc(10);
    heap.free(b);
    expect(() => heap.free(b)).toThrow(/twice/);
  });
});

describe('the fast backend', () => {
  it('liveBuffers is exact over any sequence of writes, kernels and disposes', () => {
    fc.assert(fc.property(program, (steps) => {
      const b = createFastBackend({ heap: { initialBytes: 1 << 16 } });
      const live: Handle[] = [];
      for (const s of steps) {
        if ('alloc' in s) {
          const h = b.write(new Float32Array(s.alloc % 300));
          live.push(h, b.unary('exp', h, s.alloc % 300));
        } else if (live.length > 0) {
          b.dispose(live.splice(s.free % live.length, 1)[0]);
        }
        expect(b.liveBuffers()).toBe(live.length);
      }
      live.forEach((h) => b.dispose(h));
      expect(b.liveBuffers()).toBe(0);
    }), { numRuns: 50 });
  });

  it('a repeated step allocates nothing new after the first', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 8 }), (sizes) => {
      const b = createFastBackend({ heap: { initialBytes: 1 << 16 } });
      const step = (): void => {
        const hs = sizes.map((n) => b.write(new Float32Array(n).fill(1)));
        const outs = hs.map((h, i) => b.binary('mul', h, h, [sizes[i]], [1], [1]));
        const sums = outs.map((h, i) => b.reduceLast('sum', h, 1, sizes[i]));
        [...hs, ...outs, ...sums].forEach((h) => b.dispose(h));
      };
      step();
      const used = b.heap.peakBytes;
      for (let i = 0; i < 3; i++) step();
      expect(b.heap.peakBytes).toBe(used);
    }), { numRuns: 30 });
  });

  it('handles keep their contents and work in kernels after the memory grows', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 50 }),
      fc.integer({ min: 1, max: 4 }), (data, growths) => {
        const b = createFastBackend({ heap: { initialBytes: 1 << 16 } });
        const x = Float32Array.from(data);
        const h = b.write(x);
        const e = b.unary('exp', h, x.length);
        const before = b.heap.memory.buffer.byteLength;
        const big = Array.from({ length: growths }, () => b.write(new Float32Array(1 << 20)));
        expect(b.heap.memory.buffer.byteLength).toBeGreaterThan(before);
        expect(b.read(h, x.length)).toEqual(x);
        expect(b.read(b.unary('exp', h, x.length), x.length)).toEqual(b.read(e, x.length));
        expect(Array.from(b.heap.view(blockOf(h)))).toEqual(Array.from(x));
        big.forEach((g) => b.dispose(g));
      }), { numRuns: 20 });
  });

  it('with more live data than memory, buffers spill and come back: every result is unchanged', () => {
    // 6 MiB of memory (the GEMM scratch takes ~1.2 MiB) against up to 16 live buffers of up to 1.2 MiB.
    const op = fc.oneof(
      fc.integer({ min: 70000, max: 300000 }).map((n) => ({ write: n })),
      fc.tuple(fc.nat(), fc.constantFrom('neg', 'relu', 'square')).map(([i, u]) => ({ unary: i, u })),
      fc.tuple(fc.nat(), fc.nat()).map(([i, j]) => ({ add: [i, j] })),
      fc.nat().map((i) => ({ matmul: i })),
      fc.nat().map((i) => ({ dispose: i })),
      fc.nat().map((i) => ({ read: i })),
    );
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
      const fast = createFastBackend({ heap: { initialBytes: 1 << 20, maximumBytes: 6 << 20 }, threads: 1 });
      const plain = createPlainBackend();
      const live: { f: Handle; p: Handle; n: number }[] = [];
      const pick = (i: number) => live[i % live.length];
      // Kernels whose results are exact on both backends, so spilling must not change a bit.
      const same = (x: { f: Handle; p: Handle; n: number }): void => {
        const [got, want] = [fast.read(x.f, x.n), plain.read(x.p, x.n)];
        for (let i = 0; i < x.n; i++) if (!Object.is(got[i], want[i])) expect.fail(`element ${i}: ${got[i]} ≠ ${want[i]}`);
      };
      // Six 1 MB buffers first, so every program runs with the memory over-committed.
      const program = [...Array.from({ length: 6 }, () => ({ write: 250000 })), ...ops];
      for (const o of program) {
        if ('write' in o) {
          const data = Float32Array.from({ length: o.write }, (_, i) => Math.sin(i * 0.01 + live.length));
          live.push({ f: fast.write(data), p: plain.write(data), n: o.write });
        } else if (live.length === 0) {
          continue;
        } else if ('unary' in o) {
          const x = pick(o.unary);
          live.push({ f: fast.unary(o.u, x.f, x.n), p: plain.unary(o.u, x.p, x.n), n: x.n });
        } else if ('add' in o) {
          const [x, y] = [pick(o.add[0]), pick(o.add[1])];
          const n = Math.min(x.n, y.n);
          live.push({ f: fast.binary('add', x.f, y.f, [n], [1], [1]), p: plain.binary('add', x.p, y.p, [n], [1], [1]), n });
        } else if ('matmul' in o) {
          // [64, k]·[k, 16] from the first elements of one buffer (exact: small integers).
          const x = pick(o.matmul);
          const k = Math.floor(Math.min(x.n, 64 * 64) / 64);
          const spec = { batch: 1, m: 64, k, n: 16, transA: false, transB: true, strideA: 0, strideB: 0 };
          const f = fast.matmul(fast.unary('sign', x.f, 64 * k), fast.unary('sign', x.f, 16 * k), spec);
          const p = plain.matmul(plain.unary('sign', x.p, 64 * k), plain.unary('sign', x.p, 16 * k), spec);
          live.push({ f, p, n: 64 * 16 });
        } else if ('dispose' in o) {
          const x = live.splice(o.dispose % live.length, 1)[0];
          fast.dispose(x.f);
          plain.dispose(x.p);
        } else {
          same(pick(o.read));
        }
        while (live.length > 16) {
          const x = live.shift() as { f: Handle; p: Handle };
          fast.dispose(x.f);
          plain.dispose(x.p);
        }
      }
      live.forEach(same);
      expect(fast.heap.spillCount).toBeGreaterThan(0);
    }), { numRuns: 25 });
  });

  it('spills when the live set exceeds the memory, and the step still computes', () => {
    const b = createFastBackend({ heap: { initialBytes: 1 << 20, maximumBytes: 4 << 20 }, threads: 1 });
    const xs = Array.from({ length: 8 }, (_, j) => b.write(new Float32Array(200000).fill(j)));
    expect(b.heap.spillCount).toBeGreaterThan(0);
    const sum = b.reduceLast('sum', b.binary('add', xs[0], xs[7], [200000], [1], [1]), 1, 200000);
    expect(b.read(sum, 1)[0]).toBe(7 * 200000);
    expect(() => b.write(new Float32Array(2 << 20))).toThrow(/out of memory/);
  });

  it('disposed, twice-disposed and foreign handles are refused', () => {
    const b = createFastBackend();
    const other = createFastBackend();
    const h = b.write(new Float32Array([1, 2]));
    b.dispose(h);
    expect(() => b.read(h, 2)).toThrow(/after dispose/);
    expect(() => b.unary('neg', h, 2)).toThrow(/after dispose/);
    expect(() => b.dispose(h)).toThrow(/already disposed/);
    const g = other.write(new Float32Array([1]));
    expect(() => b.read(g, 1)).toThrow(/does not belong/);
    expect(b.liveBuffers()).toBe(0);
  });
});
