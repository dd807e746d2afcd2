/**
 * One GPU.js kernel per (op, shape): each builder returns a cache key and, lazily, the kernel's
 * source and constants. Outputs are flat (1-D, `size` long); every kernel starts from the flat
 * thread index and unravels it with constant dims.
 *
 * Argument order is fixed per kernel: the input buffers first, then scalar arguments (pad values,
 * which may be ±Infinity and so cannot be shader literals). The builders live by concern in
 * kernels-elementwise.ts, kernels-layout.ts and kernels-conv.ts (with their shared types in
 * kernel-spec.ts); this file gathers them.
 */
import { convKernels } from './kernels-conv.ts';
import { elementwiseKernels } from './kernels-elementwise.ts';
import { layoutKernels } from './kernels-layout.ts';
import type { CodegenTarget } from './kernel-spec.ts';

export { type CodegenTarget, type KernelSource, type KernelSpec, maxConcatInputs } from './kernel-spec.ts';

export const kernels = (t: CodegenTarget) => ({ ...elementwiseKernels(t), ...layoutKernels(t), ...convKernels(t) });

export type Kernels = ReturnType<typeof kernels>;
