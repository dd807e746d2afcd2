/**
 * The learning rate at each optimizer step: a linear warm-up from lr/warmup to lr over the first
 * `warmup` steps, then either constant or a half-cosine decay to lr·minRatio at the last step
 * (as timm's and diffusers' `get_cosine_schedule_with_warmup`). A pure function of the step, so a
 * resumed run takes the same rates as an uninterrupted one.
 */
export type LrDecay = 'constant' | 'cosine';

export interface LrSchedule {
  readonly lr: number;
  readonly warmup: number;
  readonly decay: LrDecay;
  /** the rate at the last step over lr, for the cosine decay */
  readonly minRatio: number;
  /** optimizer steps in the whole run */
  readonly total: number;
}

/** The rate for step `step` (0-based). */
export const learningRateAt = (s: LrSchedule, step: number): number => {
  if (step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
  if (s.decay === 'constant') return s.lr;
  const span = Math.max(1, s.total - 1 - s.warmup);
  const progress = Math.min(1, (step - s.warmup) / span);
  return s.lr * (s.minRatio + (1 - s.minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
};
