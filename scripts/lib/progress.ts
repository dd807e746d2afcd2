/** A one-line progress bar on stderr (redrawn in place on a TTY, a line per update otherwise). */
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

export const renderProgress = (f: ProgressFields, width = 24): string => {
  const done = Math.round((f.step / f.steps) * width);
  const bar = `${'█'.repeat(done)}${'░'.repeat(Math.max(0, width - done))}`;
  return `epoch ${f.epoch}/${f.epochs} |${bar}| step ${f.step}/${f.steps} | loss ${f.loss.toFixed(4)} | ${f.imagesPerSec.toFixed(1)} img/s | ETA ${fmtTime(f.etaSec)}`;
};

export const progressWriter = (stream: NodeJS.WriteStream = process.stderr) => {
  const tty = stream.isTTY === true;
  return {
    update: (line: string): void => {
      if (tty) stream.write(`\r\x1b[2K${line}`);
      else stream.write(`${line}\n`);
    },
    /** A message that does not clobber the bar. */
    log: (line: string): void => {
      stream.write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
    },
    done: (): void => {
      if (tty) stream.write('\n');
    },
  };
};
