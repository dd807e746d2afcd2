/**
 * A profiling wrapper: the same backend, with the wall time and call count of every kernel
 * recorded, so a training step's time can be broken down by kernel. GL backends run kernels
 * asynchronously, so there the times are only indicative.
 */
import type { Backend } from './backend.ts';

export interface KernelStat {
  readonly kernel: string;
  readonly calls: number;
  readonly seconds: number;
}

export interface ProfiledBackend extends Backend {
  readonly stats: () => KernelStat[];
  readonly reset: () => void;
}

const kernels = ['write', 'read', 'unary', 'binary', 'where', 'reduceLast', 'reduceAxis', 'matmul', 'strided', 'pad', 'concat', 'gather', 'scatterAdd', 'im2col', 'col2im'] as const;

/** `detail` names a call more finely than the kernel (e.g. which unary op), for the breakdown. */
const detail = (kernel: string, args: unknown[]): string =>
  kernel === 'unary' || kernel === 'binary' ? `${kernel}:${String(args[0])}` : kernel === 'reduceLast' ? `reduce:${String(args[0])}` : kernel === 'reduceAxis' ? `reduceAxis:${String(args[0])}` : kernel;

export const profiled = (inner: Backend): ProfiledBackend => {
  const table = new Map<string, { calls: number; seconds: number }>();
  const record = (name: string, t0: number): void => {
    const s = table.get(name) ?? { calls: 0, seconds: 0 };
    s.calls++;
    s.seconds += (performance.now() - t0) / 1000;
    table.set(name, s);
  };
  const wrapped: Record<string, unknown> = {};
  for (const k of kernels) {
    const fn = (inner as unknown as Record<string, (...a: unknown[]) => unknown>)[k].bind(inner);
    wrapped[k] = (...args: unknown[]) => {
      const t0 = performance.now();
      const r = fn(...args);
      record(detail(k, args), t0);
      return r;
    };
  }
  const w = inner.winograd;
  const timed = <A extends unknown[], R>(name: string, fn: (...a: A) => R) => (...args: A): R => {
    const t0 = performance.now();
    const r = fn(...args);
    record(name, t0);
    return r;
  };
  const rk = inner.rows;
  return {
    ...(wrapped as unknown as Backend),
    ...(rk ? {
      rows: {
        moments: timed('rows:moments', rk.moments.bind(rk)),
        affineAct: timed('rows:affineAct', rk.affineAct.bind(rk)),
        affineActGradSums: timed('rows:affineActGradSums', rk.affineActGradSums.bind(rk)),
        affineActGradInput: timed('rows:affineActGradInput', rk.affineActGradInput.bind(rk)),
      },
    } : {}),
    ...(w ? {
      winograd: {
        input: timed('winograd:input', w.input.bind(w)),
        inputAdjoint: timed('winograd:inputAdjoint', w.inputAdjoint.bind(w)),
        output: timed('winograd:output', w.output.bind(w)),
        outputAdjoint: timed('winograd:outputAdjoint', w.outputAdjoint.bind(w)),
      },
    } : {}),
    name: inner.name,
    dispose: (h) => inner.dispose(h),
    liveBuffers: () => inner.liveBuffers(),
    stats: () => [...table].map(([kernel, s]) => ({ kernel, ...s })).sort((a, b) => b.seconds - a.seconds),
    reset: () => table.clear(),
  };
};
