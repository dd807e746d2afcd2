/**
 * The training loop, split into what is pure and what is not.
 *
 * - `TrainState` is the whole run as one value: weights, optimizer moments, EMA and the step.
 * - `trainStepOf(setup)` is a pure `(state, batch) → { state, loss }`: the batch's key-derived
 *   noise and timesteps, the gradient step, the learning rate of that step, the EMA update.
 * - `runTraining` folds that step over the steps. Everything else a run does (metrics lines,
 *   the progress bar, checkpoints, sample grids, stopping on Ctrl-C) is an observer it calls
 *   after each step; the fold itself only keeps memory bounded, releasing the tensors of the
 *   state it replaced.
 */
import { yieldToEventLoop } from '../tensor/platform.ts';
import { fold, type Key } from '../tensor/random.ts';
import { dispose, type Tensor, tidy, toFloat32, treeTensors } from '../tensor/tensor.ts';
import { tensor } from '../ops/create.ts';
import { adam, type AdamState } from '../grad/optim.ts';
import { mapTree } from '../grad/tree.ts';
import type { Schedule } from '../ddpm/schedule.ts';
import type { Objective } from '../ddpm/objectives.ts';
import type { Network, Weights } from './network.ts';
import { type Batch, batchAt, dropLabels, type ScaledImages } from './data.ts';
import { emaDecayAt, emaUpdate, trainStep } from './step.ts';
import { learningRateAt, type LrSchedule } from './lr.ts';

export interface TrainState {
  readonly weights: Weights;
  readonly optState: AdamState;
  /** the exponential moving average of the weights (null: EMA off) */
  readonly ema: Weights | null;
  /** optimizer steps taken so far */
  readonly step: number;
}

/** What a step needs besides the state and the batch: fixed for the whole run. */
export interface StepSetup {
  readonly net: Network;
  readonly schedule: Schedule;
  readonly lr: LrSchedule;
  readonly objective: Objective;
  readonly minSnr: number;
  /** EMA decay (0: off) */
  readonly ema: number;
  /** probability of the null label, for class-conditional nets */
  readonly condDrop: number;
  readonly imageSize: number;
  /** the run's keys: each step folds in its step number, so a resumed run draws what it would have */
  readonly keys: { readonly train: Key; readonly labels: Key };
}

export interface StepOutcome {
  readonly state: TrainState;
  readonly loss: Tensor;
}

/** One optimizer step as a pure function of the state and the batch. */
export const trainStepOf = (s: StepSetup) => (state: TrainState, batch: Batch): StepOutcome => {
  const { net } = s;
  const n = batch.labels.length;
  const x0 = tensor(batch.pixels, [n, net.channels, s.imageSize, s.imageSize]);
  const labels = net.numClasses > 0 ? tensor(dropLabels(batch.labels, fold(s.keys.labels, state.step), s.condDrop, net.numClasses)) : undefined;
  const r = trainStep(net, s.schedule, adam({ lr: learningRateAt(s.lr, state.step) }), state.weights, state.optState, x0, fold(s.keys.train, state.step), {
    objective: s.objective, minSnr: s.minSnr, labels,
  });
  const ema = state.ema ? emaUpdate(state.ema, r.weights, emaDecayAt(s.ema, state.step)) : null;
  return { state: { weights: r.weights, optState: r.optState, ema, step: state.step + 1 }, loss: r.loss };
};

/** A fresh copy of weights (the EMA starts as the initial weights, in storage of its own). */
export const copyWeights = (w: Weights): Weights => ({ params: mapTree(w.params, (t) => tensor(toFloat32(t), t.shape)), state: w.state });

/** After each step: the step's loss and the new state (observers read it; they must not keep its tensors). */
export interface StepEvent {
  readonly state: TrainState;
  readonly loss: number;
  readonly epoch: number;
}

export type Stop = 'finished' | 'interrupted' | { readonly diverged: number; readonly atStep: number };

export interface RunOptions {
  readonly data: ScaledImages;
  readonly batch: number;
  readonly dataKey: Key;
  readonly totalSteps: number;
  /** asked before every step: true ends the run after the step in progress */
  readonly stopRequested: () => boolean;
  /** called after every step, in order; a run waits for each */
  readonly observers: readonly ((e: StepEvent) => void | Promise<void>)[];
}

/**
 * Folds the step over the remaining steps. Returns the last good state and why it stopped: the
 * last step, a stop request, or a loss that is no longer finite (the state before that step is
 * returned, untouched, so it can still be saved).
 */
export const runTraining = async (setup: StepSetup, start: TrainState, o: RunOptions): Promise<{ state: TrainState; stop: Stop }> => {
  const step = trainStepOf(setup);
  const cache = {};
  let state = start;
  while (state.step < o.totalSteps) {
    // yield once a step: a worker's output is only passed on, and a stop request only seen, when its event loop runs
    await yieldToEventLoop();
    if (o.stopRequested()) return { state, stop: 'interrupted' };
    const batch = batchAt(o.data, o.batch, o.dataKey, state.step, cache);
    const next = tidy(() => step(state, batch));
    const loss = toFloat32(next.loss)[0];
    dispose(next.loss);
    if (!Number.isFinite(loss)) {
      releaseReplaced(next.state, state);
      return { state, stop: { diverged: loss, atStep: state.step } };
    }
    releaseReplaced(state, next.state);
    state = next.state;
    for (const observe of o.observers) await observe({ state, loss, epoch: batch.epoch });
  }
  return { state, stop: 'finished' };
};

/** Disposes the tensors of `old` that `kept` does not share (parameters with no gradient pass through a step unchanged). */
const releaseReplaced = (old: TrainState, kept: TrainState): void => {
  const live = new Set(treeTensors([kept.weights, kept.optState, kept.ema]));
  for (const t of treeTensors([old.weights, old.optState, old.ema])) if (!live.has(t)) dispose(t);
};
