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
  /** fn, recording its time under the name `name(args)` gives. */
  const timed = (fn: (...a: unknown[]) => unknown, name: (args: unknown[]) => string) => (...args: unknown[]): unknown => {
    const t0 = performance.now();
    const r = fn(...args);
    record(name(args), t0);
    return r;
  };
  const wrapped: Record<string, unknown> = {};
  for (const k of kernels) {
    wrapped[k] = timed((inner as unknown as Record<string, (...a: unknown[]) => unknown>)[k].bind(inner), (args) => detail(k, args));
  }
  /** Every kernel of an optional group, timed as `prefix:name`. */
  const timedGroup = <T extends object>(prefix: string, group: T): T => Object.fromEntries(
    Object.entries(group).map(([k, f]) => [k, timed((f as (...a: unknown[]) => unknown).bind(group), () => `${prefix}:${k}`)])) as T;
  return {
    ...(wrapped as unknown as Backend),
    ...(inner.rows ? { rows: timedGroup('rows', inner.rows) } : {}),
    ...(inner.winograd ? { winograd: timedGroup('winograd', inner.winograd) } : {}),
    ...(inner.optim ? { optim: timedGroup('optim', inner.optim) } : {}),
    name: inner.name,
    dispose: (h) => inner.dispose(h),
    liveBuffers: () => inner.liveBuffers(),
    stats: () => [...table].map(([kernel, s]) => ({ kernel, ...s })).sort((a, b) => b.seconds - a.seconds),
    reset: () => table.clear(),
  };
};
