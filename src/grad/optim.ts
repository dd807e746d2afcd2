/**
 * Optimizers as pure updates of param trees: `init(params) → state`, and
 * `update(grads, state, params) → { params, state }`. State is a plain value (moments are trees of
 * tensors, the step a number), so it can be checkpointed and a resumed run continues exactly.
 */
import type { AdamCoefficients } from '../tensor/backend.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { adamStep } from '../ops/fused.ts';
import { add, div, mul, sqrt, sub } from '../ops/elementwise.ts';
import { zeros } from '../ops/create.ts';
import { mapTree, zipTrees } from './tree.ts';

export interface Optimizer<S> {
  readonly init: <P>(params: P) => S;
  readonly update: <P>(grads: P, state: S, params: P) => { readonly params: P; readonly state: S };
}

export interface SgdConfig {
  readonly lr: number;
  readonly momentum?: number;
  /** L2 penalty added to the gradient (PyTorch's SGD weight_decay). */
  readonly weightDecay?: number;
}

export interface SgdState {
  readonly step: number;
  readonly velocity: unknown;
}

/** SGD with optional momentum (PyTorch's convention: v ← μv + g, p ← p − lr·v). */
export const sgd = (cfg: SgdConfig): Optimizer<SgdState> => ({
  init: (params) => ({ step: 0, velocity: mapTree(params, (t) => zeros(t.shape, t.backend)) }),
  update: <P>(grads: P, state: SgdState, params: P) => {
    const mu = cfg.momentum ?? 0;
    const wd = cfg.weightDecay ?? 0;
    const withDecay = wd ? zipTrees([grads, params], ([g, p]) => add(g, mul(p, wd))) : grads;
    const velocity = mu ? zipTrees([state.velocity as P, withDecay], ([v, g]) => add(mul(v, mu), g)) : withDecay;
    const next = zipTrees([params, velocity], ([p, v]) => sub(p, mul(v, cfg.lr)));
    return { params: next, state: { step: state.step + 1, velocity: mu ? velocity : state.velocity } };
  },
});

export interface AdamConfig {
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
  /** true: AdamW (decay applied to the weights, decoupled); false: Adam's L2 added to the gradient. */
  readonly decoupled?: boolean;
}

export interface AdamState {
  readonly step: number;
  readonly m: unknown;
  readonly v: unknown;
}

/** Adam / AdamW with bias correction, numerically as torch.optim.Adam(W). */
export const adam = (cfg: AdamConfig): Optimizer<AdamState> => ({
  init: (params) => ({
    step: 0,
    m: mapTree(params, (t) => zeros(t.shape, t.backend)),
    v: mapTree(params, (t) => zeros(t.shape, t.backend)),
  }),
  update: <P>(grads: P, state: AdamState, params: P) => {
    const b1 = cfg.beta1 ?? 0.9;
    const b2 = cfg.beta2 ?? 0.999;
    const eps = cfg.eps ?? 1e-8;
    const wd = cfg.weightDecay ?? 0;
    const step = state.step + 1;
    const c1 = 1 - b1 ** step;
    const c2 = 1 - b2 ** step;
    const coefficients: AdamCoefficients = {
      beta1: b1, oneMinusBeta1: 1 - b1, beta2: b2, oneMinusBeta2: 1 - b2, eps, stepSize: cfg.lr / c1,
      sqrtC2: Math.sqrt(c2), l2: wd && !cfg.decoupled ? wd : null, decay: wd && cfg.decoupled ? 1 - cfg.lr * wd : null,
    };
    // One fused kernel per parameter where the backend has it (same result, bit for bit).
    const fused = new Map<string, readonly [Tensor, Tensor, Tensor]>();
    zipTrees([params, grads, state.m as P, state.v as P], ([p, g, mi, vi], path) => {
      const r = adamStep(p, g, mi, vi, coefficients);
      if (r) fused.set(path, r);
      return p;
    });
    const composed = (which: 0 | 1 | 2, f: (ts: Tensor[]) => Tensor) => (ts: Tensor[], path: string): Tensor =>
      fused.get(path)?.[which] ?? f(ts);
    const g2 = wd && !cfg.decoupled ? zipTrees([grads, params], ([g, p], path) => (fused.has(path) ? g : add(g, mul(p, wd)))) : grads;
    const m = zipTrees([state.m as P, g2], composed(1, ([mi, g]) => add(mul(mi, b1), mul(g, 1 - b1))));
    const v = zipTrees([state.v as P, g2], composed(2, ([vi, g]) => add(mul(vi, b2), mul(mul(g, g), 1 - b2))));
    const next = zipTrees([params, m, v], composed(0, ([p, mi, vi]): Tensor => {
      const decayed = wd && cfg.decoupled ? mul(p, 1 - cfg.lr * wd) : p;
      // PyTorch: p −= lr/c1 · m / (√v/√c2 + eps)
      return sub(decayed, mul(div(mi, add(div(sqrt(vi), Math.sqrt(c2)), eps)), cfg.lr / c1));
    }));
    return { params: next, state: { step, m, v } };
  },
});
