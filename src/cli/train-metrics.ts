/** The training command's bookkeeping: its metrics file across resumes, and its images-per-second clock. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Drops metric lines past `step` (a resume from an earlier checkpoint rewrites them). */
export const truncateMetrics = (path: string, step: number): void => {
  if (!existsSync(path)) return;
  const kept = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '' && (JSON.parse(l) as { step: number }).step <= step);
  writeFileSync(path, kept.map((l) => `${l}\n`).join(''));
};

/** Images per second over windows of ~2 s, and the run's elapsed training time across resumes. */
export const clock = (startElapsed: number) => {
  const start = performance.now();
  let [windowStart, windowImages, rate] = [start, 0, 0];
  return {
    tick: (images: number): { rate: number; elapsedSec: number } => {
      windowImages += images;
      const now = performance.now();
      if (now - windowStart > 2000 || rate === 0) {
        rate = windowImages / ((now - windowStart) / 1000);
        [windowStart, windowImages] = [now, 0];
      }
      return { rate, elapsedSec: startElapsed + (now - start) / 1000 };
    },
  };
};
