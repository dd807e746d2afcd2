/** Timing harness for benchmarks: warm up, repeat for a minimum time, report the median. */
import os from 'node:os';

export interface BenchResult {
  readonly name: string;
  readonly backend: string;
  readonly threads: number;
  readonly value: number;
  readonly unit: string;
  /** median seconds per run */
  readonly seconds?: number;
  readonly note?: string;
  /** when the run that measured it started (bench.ts stamps it), so figures of one run can be told apart */
  readonly date?: string;
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly date: string;
}

export const machine = (): Machine => ({
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.arch()}`,
  date: new Date().toISOString(),
});

/** Median seconds of fn over at least `minRuns` runs and `minSeconds` in total, after one warm-up. */
export const timeMedian = (fn: () => void, opts: { minRuns?: number; minSeconds?: number; maxRuns?: number } = {}): number => {
  const minRuns = opts.minRuns ?? 3;
  const minSeconds = opts.minSeconds ?? 1;
  const maxRuns = opts.maxRuns ?? 50;
  fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || ((performance.now() - start) / 1000 < minSeconds && times.length < maxRuns)) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
};
