/** Laws of the learning-rate schedule: linear warm-up, then constant or a half-cosine decay ending at lr·minRatio. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { learningRateAt, type LrSchedule } from '../src/train/lr.ts';

const arbSchedule: fc.Arbitrary<LrSchedule> = fc.record({
  lr: fc.double({ min: 1e-6, max: 1, noNaN: true }),
  warmup: fc.integer({ min: 0, max: 300 }),
  decay: fc.constantFrom('constant' as const, 'cosine' as const),
  minRatio: fc.double({ min: 0, max: 0.5, noNaN: true }),
  extra: fc.integer({ min: 2, max: 3000 }),
}).map(({ extra, ...s }) => ({ ...s, total: s.warmup + extra }));

describe('learning-rate schedule', () => {
  it('warms up linearly to lr over the warm-up steps', () => {
    fc.assert(fc.property(arbSchedule, (s) => {
      for (let i = 0; i < s.warmup; i++) expect(learningRateAt(s, i)).toBeCloseTo((s.lr * (i + 1)) / s.warmup, 12);
      expect(learningRateAt(s, s.warmup)).toBeCloseTo(s.lr, 12);
    }));
  });

  it('after warm-up: constant at lr, or never increasing from lr down to lr·minRatio at the last step', () => {
    fc.assert(fc.property(arbSchedule, (s) => {
      let previous = Infinity;
      for (let i = s.warmup; i < s.total; i++) {
        const r = learningRateAt(s, i);
        if (s.decay === 'constant') expect(r).toBe(s.lr);
        else {
          expect(r).toBeLessThanOrEqual(previous);
          expect(r).toBeGreaterThanOrEqual(s.lr * s.minRatio * (1 - 1e-12));
          previous = r;
        }
      }
      if (s.decay === 'cosine') expect(learningRateAt(s, s.total - 1)).toBeCloseTo(s.lr * s.minRatio, 12);
    }));
  });
});
