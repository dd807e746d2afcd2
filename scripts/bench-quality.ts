/**
 * Quality per minute of training: `npm run bench:quality` trains each candidate recipe for fixed
 * wall-clock budgets (5, 10 and 20 minutes by default) on this machine, scores 1,000 samples of
 * each run with scripts/eval.ts, stores the figures in docs/quality.json and writes
 * docs/QUALITY.md with a table per budget and a plot of quality against minutes (docs/quality.svg).
 *
 * A budget becomes a step count: the recipe's training step is timed in-process first (median of
 * 12 steps after 2 warm-up steps), and steps = budget / seconds per step, so each run is an
 * ordinary, reproducible `scripts/train.ts --train-steps N` run whose learning-rate decay ends on time.
 *
 * A run folder that already holds a finished run is scored again instead of retrained (so a
 * changed sampler or a crashed bench costs no training); --retrain trains it anew. Scores are kept
 * in the run folder's eval.json and reused while the sampler, steps and n are the same.
 *
 * Flags: --recipes a,b (default all) --budgets 5,10,20 (minutes) --n 1000 (samples scored)
 *        --out runs/quality (run folders) --render (only rewrite the docs from docs/quality.json);
 *        `--help` lists them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { backendByName, setBackend } from '../src/tensor/engine.ts';
import { key as makeKey } from '../src/tensor/random.ts';
import { tidy, toFloat32 } from '../src/tensor/tensor.ts';
import { uniform } from '../src/ops/random.ts';
import { adam } from '../src/grad/optim.ts';
import { scheduleFromConfig } from '../src/ddpm/schedule.ts';
import type { TrainConfig } from '../src/train/config.ts';
import { configFromArgs } from '../src/cli/train.ts';
import { benchQualityCommand } from '../src/cli/commands.ts';
import { network } from '../src/train/network.ts';
import { trainStep } from '../src/train/step.ts';
import { machine } from './bench/harness.ts';
import { type QualityPoint, qualityRecipes, renderQuality } from './bench/quality.ts';
import { cli } from '../src/cli/cli.ts';
import { isWholeTrajectory } from '../src/train/guide-file.ts';

const { values: flags } = cli(benchQualityCommand);
const die = (msg: string): never => {
  process.stderr.write(`bench:quality: ${msg}\n`);
  process.exit(2);
};
const store = 'docs/quality.json';
const load = (): QualityPoint[] => (existsSync(store) ? (JSON.parse(readFileSync(store, 'utf8')) as { points: QualityPoint[] }).points : []);
const save = (points: readonly QualityPoint[]): void => {
  writeFileSync(store, `${JSON.stringify({ machine: machine(), points }, null, 2)}\n`);
  const { markdown, svg } = renderQuality(points);
  writeFileSync('docs/QUALITY.md', markdown);
  writeFileSync('docs/quality.svg', svg);
};

if (flags.render) {
  save(load());
  process.exit(0);
}

const recipeNames = (flags.recipes ?? qualityRecipes.map((r) => r.name).join(',')).split(',');
const recipes = recipeNames.map((n) => qualityRecipes.find((r) => r.name === n) ?? die(`--recipes: unknown recipe "${n}": expected ${qualityRecipes.map((r) => r.name).join(', ')}`));
const budgets = flags.budgets.split(',').map(Number);
if (budgets.some((b) => !(b > 0))) die('--budgets: expected minutes > 0, e.g. 5,10,20');
const { n, out: outRoot, retrain } = flags;

/** Seconds per training step of a config on the fast backend: the median of 12 after 2 warm-up steps. */
const secondsPerStep = (cfg: TrainConfig): number => {
  setBackend(backendByName(cfg.backend));
  const net = network(cfg.network);
  const weights = net.init(makeKey(0));
  const opt = adam({ lr: cfg.lr });
  const state = opt.init(weights.params);
  const schedule = scheduleFromConfig(cfg.schedule);
  const x0 = uniform(makeKey(1), [cfg.batch, net.channels, cfg.imageSize, cfg.imageSize], -1, 1);
  const times: number[] = [];
  for (let i = 0; i < 14; i++) {
    const t0 = performance.now();
    tidy(() => toFloat32(trainStep(net, schedule, opt, weights, state, x0, makeKey(i)).loss));
    if (i >= 2) times.push((performance.now() - t0) / 1000);
  }
  return times.sort((a, b) => a - b)[times.length >> 1];
};

const lastMetrics = (dir: string): { step: number; elapsedSec: number } =>
  JSON.parse(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').pop() as string) as { step: number; elapsedSec: number };

const tsx = (script: string, argv: readonly string[]): string => {
  const r = spawnSync('node_modules/.bin/tsx', [script, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (r.status !== 0) die(`${script} ${argv.join(' ')} failed with status ${r.status}`);
  return r.stdout;
};

let points = load();
for (const recipe of recipes) {
  const parsed = configFromArgs(recipe.train);
  if (E.isLeft(parsed)) die(`recipe ${recipe.name}: ${parsed.left.message}`);
  const cfg = (parsed as E.Right<{ config: TrainConfig }>).right.config;
  let perStep: number | null = null;
  for (const minutes of budgets) {
    const out = join(outRoot, `${recipe.name}-${minutes}m`);
    // a finished run is scored again, not retrained (unless --retrain): a changed sampler or a crashed bench costs no training
    const finished = !retrain && existsSync(join(out, 'latest.json')) && existsSync(join(out, 'metrics.jsonl'));
    let steps: number;
    if (finished) {
      steps = lastMetrics(out).step;
      console.error(`${recipe.name}, ${minutes} min: ${out} has finished ${steps} steps; scoring it again`);
    } else {
      if (perStep === null) {
        perStep = secondsPerStep(cfg);
        console.error(`${recipe.name}: ${perStep.toFixed(3)} s per step of batch ${cfg.batch} (${(cfg.batch / perStep).toFixed(0)} images/s)`);
      }
      steps = Math.max(1, Math.round((minutes * 60) / perStep));
      console.error(`${recipe.name}, ${minutes} min: ${steps} steps → ${out}`);
      rmSync(out, { recursive: true, force: true });
      tsx('scripts/train.ts', [...recipe.train, '--train-steps', String(steps), '--n', '0', '--checkpoint-every', '0', '--out', out]);
    }
    const trained = lastMetrics(out).elapsedSec;
    const evalArgs = ['--checkpoint', out, '--n', String(n), '--sampler', recipe.sampler, '--steps', String(recipe.sampleSteps),
      ...(recipe.autoguidance !== undefined ? ['--autoguidance', String(recipe.autoguidance)] : []),
      ...(recipe.autoguidanceInterval !== undefined ? ['--autoguidance-interval', recipe.autoguidanceInterval.join(',')] : [])];
    // the scores of this run with these settings, when eval.json in the run folder already has them
    const cached = join(out, 'eval.json');
    type Scores = Record<string, unknown> & { floor: { fd: number } };
    const previous = existsSync(cached) ? JSON.parse(readFileSync(cached, 'utf8')) as Scores : null;
    const same = previous !== null && previous.n === n && previous.sampler === recipe.sampler && previous.steps === recipe.sampleSteps && previous.seed === 0
      && (recipe.autoguidance === undefined || (previous.autoguidance ?? 1) === recipe.autoguidance)
      && (recipe.autoguidanceInterval === undefined || JSON.stringify(previous.autoguidanceInterval ?? [0, 1]) === JSON.stringify(recipe.autoguidanceInterval));
    const q = same ? previous : JSON.parse(tsx('scripts/eval.ts', evalArgs)) as Scores;
    if (!same) writeFileSync(cached, `${JSON.stringify(q, null, 2)}\n`);
    const point: QualityPoint = {
      recipe: recipe.name, budgetMinutes: minutes, steps, images: steps * cfg.batch, trainMinutes: +(trained / 60).toFixed(2),
      sampler: recipe.sampler, sampleSteps: recipe.sampleSteps, ...(typeof q.autoguidance === 'number' ? { autoguidance: q.autoguidance } : {}),
      ...(Array.isArray(q.autoguidanceInterval) && !isWholeTrajectory(q.autoguidanceInterval as [number, number]) ? { autoguidanceInterval: q.autoguidanceInterval as [number, number] } : {}),
      samplingSeconds: q.samplingSeconds as number,
      n: q.n as number, fd: q.fd as number, floorFd: q.floor.fd, fdOverFloor: q.fdOverFloor as number,
      confident: q.confident as number, coverage: q.coverage as number, date: new Date().toISOString().slice(0, 10),
    };
    console.error(JSON.stringify(point));
    points = [...points.filter((p) => !(p.recipe === point.recipe && p.budgetMinutes === point.budgetMinutes)), point];
    save(points);
  }
}
