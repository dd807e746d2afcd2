/**
 * Laws of the fast backend's memory: the size-class allocator reuses freed blocks, live blocks never
 * overlap, liveBuffers counts exactly, a repeated step allocates nothing new, and handles stay valid
 * (contents and kernels) across memory growth.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Handle } from '../src/tensor/backend.ts';
import { createFastBackend } from '../src/tensor/fast/index.ts';
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
      const used = b.heap.usedBytes;
      for (let i = 0; i < 3; i++) step();
      expect(b.heap.usedBytes).toBe(used);
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
        const big = Array.from({ length: growths }, () => b.write(new Float32Array(1 << 16)));
        expect(b.heap.memory.buffer.byteLength).toBeGreaterThan(before);
        expect(b.read(h, x.length)).toEqual(x);
        expect(b.read(b.unary('exp', h, x.length), x.length)).toEqual(b.read(e, x.length));
        expect(Array.from(b.heap.view(blockOf(h)))).toEqual(Array.from(x));
        big.forEach((g) => b.dispose(g));
      }), { numRuns: 20 });
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
