/**
 * Progress on stderr that suits where it goes. On a terminal: one bar, redrawn in place. On a pipe
 * or a log file: a plain line at most every `minIntervalSec` (tqdm's `mininterval`), so a long run
 * leaves a readable log rather than a line per step; the last state is always written at the end.
 */
const fmtTime = (s: number): string => {
  if (!Number.isFinite(s)) return '--:--';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
};

export interface ProgressFields {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly imagesPerSec: number;
  readonly etaSec: number;
}

const bar = (done: number, total: number, width: number): string => {
  const filled = Math.round((done / total) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(Math.max(0, width - filled))}`;
};

export const renderProgress = (f: ProgressFields, width = 24): string =>
  `epoch ${f.epoch}/${f.epochs} |${bar(f.step, f.steps, width)}| step ${f.step}/${f.steps} | loss ${f.loss.toFixed(4)} | ${f.imagesPerSec.toFixed(1)} img/s | ETA ${fmtTime(f.etaSec)}`;

/** A sampling run's progress: `sampling |███░░| step 40/100 | 12.3 steps/s | ETA 0m05s`. */
export const renderSampling = (what: string, step: number, steps: number, perSec: number, width = 24): string =>
  `${what} |${bar(step, steps, width)}| step ${step}/${steps} | ${perSec.toFixed(1)} steps/s | ETA ${fmtTime((steps - step) / perSec)}`;

export interface ProgressOptions {
  /** on a pipe or file: seconds between lines (default 10) */
  readonly minIntervalSec?: number;
  readonly now?: () => number;
}

export const progressWriter = (stream: NodeJS.WriteStream = process.stderr, opts: ProgressOptions = {}) => {
  const tty = stream.isTTY === true;
  const minMs = (opts.minIntervalSec ?? 10) * 1000;
  const now = opts.now ?? (() => performance.now());
  let lastWrite = -Infinity;
  let unwritten: string | null = null;
  return {
    update: (line: string): void => {
      if (tty) return void stream.write(`\r\x1b[2K${line}`);
      if (now() - lastWrite < minMs) {
        unwritten = line;
        return;
      }
      stream.write(`${line}\n`);
      lastWrite = now();
      unwritten = null;
    },
    /** A message that does not clobber the bar. */
    log: (line: string): void => {
      stream.write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
    },
    /** Ends the bar; on a pipe, writes the latest state if the interval held it back. */
    done: (): void => {
      if (tty) stream.write('\n');
      else if (unwritten !== null) stream.write(`${unwritten}\n`);
      unwritten = null;
    },
  };
};

export type Progress = ReturnType<typeof progressWriter>;
