/**
 * Checks a finished training run: `npx tsx scripts/check-run.ts DIR`. Fails (exit 1) unless the
 * run's loss fell: the mean of its last tenth of logged losses must be below half the mean of its
 * first tenth. Prints both means.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRunCommand } from '../src/cli/commands.ts';
import { cli } from '../src/cli/cli.ts';
import { exits } from '../src/cli/exits.ts';

const [dir] = cli(checkRunCommand).positionals;
const metrics = join(dir, 'metrics.jsonl');
if (!existsSync(metrics)) exits('check-run').die(`${metrics}: not found (RUN_DIR is a scripts/train.ts output folder)`);
const losses = readFileSync(metrics, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { loss: number }).loss);
const tenth = Math.max(1, Math.floor(losses.length / 10));
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const first = mean(losses.slice(0, tenth));
const last = mean(losses.slice(-tenth));
console.log(`${dir}: ${losses.length} logged losses; first tenth mean ${first.toFixed(4)}, last tenth mean ${last.toFixed(4)}`);
if (!(last < first / 2)) {
  console.error('the loss did not fall by half: training is broken');
  process.exit(1);
}
