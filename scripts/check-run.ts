/**
 * Checks a finished training run: `npx tsx scripts/check-run.ts DIR`. Fails (exit 1) unless the
 * run's loss fell: the mean of its last tenth of logged losses must be below half the mean of its
 * first tenth. Prints both means.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: npx tsx scripts/check-run.ts RUN_DIR');
  process.exit(2);
}
const losses = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { loss: number }).loss);
const tenth = Math.max(1, Math.floor(losses.length / 10));
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const first = mean(losses.slice(0, tenth));
const last = mean(losses.slice(-tenth));
console.log(`${dir}: ${losses.length} logged losses; first tenth mean ${first.toFixed(4)}, last tenth mean ${last.toFixed(4)}`);
if (!(last < first / 2)) {
  console.error('the loss did not fall by half: training is broken');
  process.exit(1);
}
