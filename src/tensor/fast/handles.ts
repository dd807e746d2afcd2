/**
 * The fast backend's handles: a handle is the FloatBlock itself. This table says which blocks it
 * handed out, counts the live ones, and pins a kernel's inputs and outputs while it runs (so the
 * heap may spill other blocks, never these); a kernel that throws frees the outputs it was given.
 */
import type { Handle } from '../backend.ts';
import type { FloatBlock, WasmHeap } from './memory.ts';
import { checkLength } from './strides.ts';

export interface Handles {
  /** The block of a handle of this backend that is not disposed. */
  readonly owner: (h: Handle) => FloatBlock;
  /** A kernel input: resident (copied back if it was spilled) and pinned until the kernel returns. */
  readonly block: (h: Handle) => FloatBlock;
  /** Input blocks, length-checked: [what, handle, floats] triples. */
  readonly inputs: (kernel: string, list: readonly [string, Handle, number][]) => FloatBlock[];
  /** Allocates the outputs, runs the kernel into them and hands them out. */
  readonly freshMany: (sizes: readonly number[], kernel: (outs: FloatBlock[]) => void) => Handle[];
  readonly fresh: (size: number, kernel: (out: FloatBlock) => void) => Handle;
  readonly dispose: (h: Handle) => void;
  readonly live: () => number;
}

export const handleTable = (heap: WasmHeap): Handles => {
  // Blocks handed out as handles; `freed` on the block marks a disposed one.
  const owned = new WeakSet<FloatBlock>();
  let live = 0;
  /** Blocks pinned by the kernel running now (inputs as they are looked up, and the output). */
  let pinned: FloatBlock[] = [];

  const owner = (h: Handle): FloatBlock => {
    const b = h as unknown as FloatBlock;
    if (!owned.has(b)) throw new Error('fast backend: handle does not belong to this backend');
    if (b.freed) throw new Error('fast backend: buffer used after dispose');
    return b;
  };

  /** A kernel input: resident (copied back if it was spilled) and pinned until the kernel returns. */
  const block = (h: Handle): FloatBlock => {
    const b = owner(h);
    heap.pin(b);
    pinned.push(b);
    return b;
  };

  /**
   * Allocates the outputs, runs the kernel into them, and hands them out (freed again if the kernel
   * throws). The outputs head the pinned list; the kernel's inputs are pinned after them.
   */
  const freshMany = (sizes: readonly number[], kernel: (outs: FloatBlock[]) => void): Handle[] => {
    const outs: FloatBlock[] = [];
    const outer = pinned;
    pinned = outs;
    try {
      for (const size of sizes) outs.push(heap.alloc(size, true));
      kernel(outs.slice());
    } catch (e) {
      const made = outs.splice(0, sizes.length);
      for (const b of made) heap.free(b);
      throw e;
    } finally {
      for (const b of pinned) heap.unpin(b);
      pinned = outer;
    }
    for (const out of outs.slice(0, sizes.length)) {
      owned.add(out);
      live++;
    }
    return outs.slice(0, sizes.length) as unknown as Handle[];
  };
  const fresh = (size: number, kernel: (out: FloatBlock) => void): Handle => freshMany([size], ([out]) => kernel(out))[0];

  const inputs = (kernel: string, list: readonly [string, Handle, number][]): FloatBlock[] => list.map(([what, h, size]) => {
    const b = block(h);
    checkLength(kernel, what, b.size, size);
    return b;
  });

  const dispose = (h: Handle): void => {
    const b = h as unknown as FloatBlock;
    if (!owned.has(b)) throw new Error('fast backend: dispose of a handle that does not belong to this backend');
    if (b.freed) throw new Error('fast backend: dispose of a buffer that was already disposed');
    heap.free(b);
    live--;
  };
  return { owner, block, inputs, freshMany, fresh, dispose, live: () => live };
};
