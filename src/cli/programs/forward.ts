/**
 * The forward-process figure of the walk-through: one MNIST digit, then x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε
 * at four later timesteps, side by side. Default: 32×32, linear β with T = 200, columns
 * t = 0 (the image) and t = 50, 100, 150, 200 (1-based, as the walk-through labels them).
 *
 * `diffusion-ts forward [--index 0] [--seed 0] [--timesteps 200] [--schedule linear] [--image-size 32] [--out forward.png]`
 * (`--help` lists the flags).
 */
import * as E from 'fp-ts/lib/Either.js';
import { key as makeKey, split } from '../../tensor/random.ts';
import { tensor } from '../../ops/create.ts';
import { normal } from '../../ops/random.ts';
import { concat } from '../../ops/shape.ts';
import { toFloat32 } from '../../tensor/tensor.ts';
import { qSample } from '../../ddpm/forward.ts';
import { scheduleFromJSON } from '../../ddpm/schedule.ts';
import { loadMnist } from '../../io/mnist.ts';
import { encodePng, makeGrid, upscale } from '../../io/image.ts';
import { captionColumns } from '../../io/glyphs.ts';
import { writeFileAtomic } from '../../io/files.ts';
import { scaleImages } from '../../train/data.ts';
import { forwardCommand } from '../commands.ts';
import { cli, scriptLauncher } from '../cli.ts';
import { exits } from '../exits.ts';

const { die } = exits('forward');

const forwardFigure = async (argv: readonly string[], launcher: string): Promise<void> => {
  const { values: flags } = cli(forwardCommand, argv, launcher);
  const T = flags.timesteps;
  const sched = scheduleFromJSON({ kind: flags.schedule, T });
  if (E.isLeft(sched)) return die(sched.left);
  const schedule = sched.right;
  const size = flags['image-size'];
  const ds = await loadMnist('train')();
  if (E.isLeft(ds)) return die(ds.left.message);
  const { index } = flags;
  if (index >= ds.right.count) return die(`--index: expected an integer in [0, ${ds.right.count}), got "${index}"`);
  const one = { ...ds.right, images: ds.right.images.subarray(index * 784, (index + 1) * 784), labels: ds.right.labels.subarray(index, index + 1), count: 1 };
  const x0 = tensor(scaleImages(one, size).pixels, [1, 1, size, size]);
  // four evenly spaced later timesteps, 0-based: T/4 − 1, …, T − 1 (49, 99, 149, 199 for T = 200)
  const ts = [1, 2, 3, 4].map((i) => Math.round((i * T) / 4) - 1);
  const keys = split(makeKey(flags.seed), ts.length);
  const noisy = ts.map((t, i) => qSample(schedule, x0, t, normal(keys[i], x0.shape)));
  const row = toFloat32(concat([x0, ...noisy], 0));
  // three times larger, with each column's t below it (1-based, as the walk-through labels them)
  const grid = captionColumns(upscale(makeGrid(row, 5, 1, size, size, { nrow: 5 }), 3), ['t = 0', ...ts.map((t) => `t = ${t + 1}`)], 2);
  const { out } = flags;
  const w = await writeFileAtomic(out, await encodePng(grid.data, grid.width, grid.height))();
  if (E.isLeft(w)) return die(w.left.message);
  console.error(`wrote ${out}: the digit at t = 0, then x_t at t = ${ts.map((t) => t + 1).join(', ')} (1-based)`);
};

/** The `forward` command: `diffusion-ts forward …`, or `npx tsx scripts/forward.ts …` from a checkout (the launcher its help shows). */
export const main = (argv: readonly string[], launcher = scriptLauncher('forward')): Promise<void> =>
  forwardFigure(argv, launcher).catch((e: unknown) => die(e instanceof Error ? e.message : String(e)));
