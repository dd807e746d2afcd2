/**
 * Classifier-free guidance (Ho & Salimans 2022): one network trained with its label dropped to a
 * "null" class some of the time predicts both the conditional ε(x_t, t, c) and the unconditional
 * ε(x_t, t, ∅); sampling extrapolates from the second towards the first.
 *
 * Convention (diffusers' `guidance_scale`, Imagen's w): output = uncond + w·(cond − uncond), so
 *   w = 1  is no guidance: the conditional prediction itself;
 *   w = 0  is the unconditional prediction;
 *   w > 1  guides (typical values 1.5–8).
 * Ho & Salimans write (1 + w')·cond − w'·uncond, which is this with w = 1 + w'.
 *
 * The combination is linear, so it may be applied to ε, x_0 or v predictions alike.
 */
import { full, tensor } from '../ops/create.ts';
import { add, mul, sub } from '../ops/elementwise.ts';
import { concat, split } from '../ops/shape.ts';
import { sameShape, ShapeError } from '../tensor/shape.ts';
import { type Tensor, toFloat32 } from '../tensor/tensor.ts';
import type { Denoiser } from './loss.ts';

/** A class-conditional denoiser: x_t [B, …], t [B] and labels [B] (integers stored as floats) to a prediction shaped like x_t. */
export type ConditionalDenoiser = (x: Tensor, t: Tensor, labels: Tensor) => Tensor;

const requireScale = (fn: string, w: number): void => {
  if (!Number.isFinite(w)) throw new RangeError(`${fn}: the guidance scale w must be a finite number, got ${w}`);
};

/**
 * uncond + w·(cond − uncond), computed as w·cond + (1 − w)·uncond so that w = 1 returns cond and
 * w = 0 returns uncond exactly (for finite inputs, up to the sign of a zero), not merely up to rounding.
 */
export const combineGuidance = (cond: Tensor, uncond: Tensor, w: number): Tensor => {
  requireScale('combineGuidance', w);
  if (!sameShape(cond.shape, uncond.shape)) {
    throw new ShapeError('combineGuidance', [cond.shape, uncond.shape], 'the conditional and unconditional predictions must have one shape');
  }
  return add(mul(cond, w), mul(uncond, 1 - w));
};

/**
 * The guided prediction as a plain `Denoiser`, for any sampler: one forward pass of `model` on the
 * doubled batch [x; x] with timesteps [t; t] and labels [labels; nullLabel, …], its output split
 * into the conditional (first B) and unconditional (last B) halves and combined with scale w.
 * `labels` is [B]; `nullLabel` is the class index the network was trained to read as "no label".
 */
export const guidedModel = (model: ConditionalDenoiser, labels: Tensor, nullLabel: number, w: number): Denoiser => {
  requireScale('guidedModel', w);
  if (labels.shape.length !== 1) throw new ShapeError('guidedModel', [labels.shape], 'labels must be a 1-D tensor [B]');
  if (!Number.isInteger(nullLabel)) throw new RangeError(`guidedModel: the null label must be an integer, got ${nullLabel}`);
  const B = labels.shape[0];
  return (x: Tensor, t: Tensor): Tensor => {
    if (x.shape.length < 1 || x.shape[0] !== B || t.shape.length !== 1 || t.shape[0] !== B) {
      throw new ShapeError('guidedModel', [x.shape, t.shape, labels.shape], `expected x [${B}, …] and t [${B}] to match the labels`);
    }
    const out = model(concat([x, x], 0), concat([t, t], 0), concat([labels, full([B], nullLabel, labels.backend)], 0));
    if (out.shape[0] !== 2 * B) {
      throw new ShapeError('guidedModel', [out.shape, x.shape], 'the model must return one prediction per row of the doubled batch');
    }
    const [cond, uncond] = split(out, [B, B], 0);
    return combineGuidance(cond, uncond, w);
  };
};

/** A range of timesteps [from, to) in which guidance acts; outside it the model is sampled alone. */
export type GuidanceInterval = readonly [from: number, to: number];

const requireInterval = (fn: string, during: GuidanceInterval): void => {
  const [from, to] = during;
  if (!(Number.isFinite(from) && Number.isFinite(to) && from < to)) {
    throw new RangeError(`${fn}: the guidance interval [from, to) must be two finite numbers with from < to, got [${from}, ${to})`);
  }
};

/**
 * Autoguidance (Karras et al. 2024, "Guiding a diffusion model with a bad version of itself"): the
 * prediction of a weaker model of the same data (fewer training steps, fewer parameters) is
 * extrapolated away from, guide + w·(model − guide). It needs no labels, so it lifts an
 * unconditional model too: the directions in which the weaker model errs are the ones pushed
 * against. w = 1 is the model alone; the useful range is about 1.5–3. Both denoisers must predict
 * the same quantity (ε, x₀ or v) under the same noise schedule.
 *
 * `during`, when given, limits the guidance to the timesteps t with from ≤ t < to (a guidance
 * interval, after Kynkäänniemi et al. 2024): rows of the batch outside it get the model alone, and
 * a batch with no row inside costs one forward pass. On MNIST, guiding only the noisier half of
 * the trajectory keeps the digits' legibility and most of their variety (docs/QUALITY.md).
 */
export const autoguidedModel = (model: Denoiser, guide: Denoiser, w: number, during?: GuidanceInterval): Denoiser => {
  requireScale('autoguidedModel', w);
  if (during !== undefined) requireInterval('autoguidedModel', during);
  if (w === 1) return model;
  if (during === undefined) return (x: Tensor, t: Tensor): Tensor => combineGuidance(model(x, t), guide(x, t), w);
  const [from, to] = during;
  return (x: Tensor, t: Tensor): Tensor => {
    const inside = Array.from(toFloat32(t), (s) => s >= from && s < to);
    if (!inside.includes(true)) return model(x, t);
    if (!inside.includes(false)) return combineGuidance(model(x, t), guide(x, t), w);
    // rows inside get w, rows outside 1 (the model alone): w·m + (1 − w)·g with a per-row w
    const rowShape = [inside.length, ...x.shape.slice(1).map(() => 1)];
    const scale = tensor(Float32Array.from(inside, (g) => (g ? w : 1)), rowShape, x.backend);
    return add(mul(model(x, t), scale), mul(guide(x, t), sub(1, scale)));
  };
};
