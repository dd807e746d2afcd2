/**
 * Draws images from a trained model: `diffusion-ts sample --checkpoint runs/quick --out samples.png`
 * (without --checkpoint: the shipped model in assets/).
 * `--help` lists the flags. A checkpoint is a run folder, a checkpoint folder, or a bare
 * `.safetensors` file (PyTorch names; with a config.json beside it, its config in its metadata as the
 * browser page's downloads carry it, or `--network NAME`, in which
 * case the reference preset's diffusion settings apply: linear β, T = 1000, ε-prediction).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, relative } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { key as makeKey } from '../../tensor/random.ts';
import { tensor } from '../../ops/create.ts';
import { scheduleFromConfig } from '../../ddpm/schedule.ts';
import { decodeNpy, encodeNpy } from '../../io/npy.ts';
import { encodePng, makeGrid, upscale } from '../../io/image.ts';
import { writeFileAtomic } from '../../io/files.ts';
import { type AnySamplerOptions, runSampler, samplerNamed } from '../../ddpm/samplers/index.ts';
import { dispose, type Tensor, toFloat32 } from '../../tensor/tensor.ts';
import { chooseGuide } from '../guide-flags.ts';
import { describeInterval } from '../../train/guide-file.ts';
import { denoiserFor } from '../../train/generate.ts';
import { loadDiffusionModel, shippedModels } from '../../pipeline/load.ts';
import { sampleCommand } from '../commands.ts';
import { cli, scriptLauncher } from '../cli.ts';
import { exits } from '../exits.ts';
import { progressWriter, renderSampling } from '../progress.ts';

const { die, useBackend } = exits('sample');

const sample = async (argv: readonly string[], launcher: string): Promise<void> => {
  const started = performance.now();
  const { values: flags } = cli(sampleCommand, argv, launcher);
  const out = flags.out;
  if (!['.png', '.npy'].includes(extname(out).toLowerCase())) die(`--out: expected a .png (grid) or .npy (array) file name, got "${out}"`);
  const trajPath = flags.trajectory;
  if (trajPath !== undefined && extname(trajPath).toLowerCase() !== '.png') die(`--trajectory: expected a .png file name, got "${trajPath}"`);
  const samplerName = flags.sampler;
  if (flags.eta !== undefined && samplerName !== 'ddim') die('--eta: a DDIM setting; add --sampler ddim');
  if (flags.clip && flags['no-clip']) die('--clip: contradicts --no-clip');
  if (flags.scale !== 1 && extname(out).toLowerCase() === '.npy' && trajPath === undefined) die(`--scale: enlarges PNG pictures, but --out ${out} is an array`);
  const classArg = flags.class;
  const shipped = relative(process.cwd(), shippedModels[classArg !== undefined ? 'mnist-cond' : 'mnist']);
  const ckPath = flags.checkpoint ?? (existsSync(shipped) ? shipped : die(`no --checkpoint given, and the shipped model ${shipped} is not in this copy: pass --checkpoint (a run folder of scripts/train.ts)`));
  useBackend(flags.backend);
  const loaded = await loadDiffusionModel(ckPath, { network: flags.network, noEma: flags['no-ema'] });
  const { net, weights, schedule: schedCfg, size, objective } = loaded;
  const schedule = scheduleFromConfig(schedCfg);
  const steps = flags.steps ?? schedule.T;
  if (steps > schedule.T) die(`--steps: expected an integer in [1, ${schedule.T}] (T of this model), got "${steps}"`);
  const { seed } = flags;
  const key = makeKey(seed);
  const clip = !flags['no-clip'];
  const samplerOpts: AnySamplerOptions = samplerName === 'ddim' ? { clip, prediction: objective, eta: flags.eta ?? 0 } : { clip, prediction: objective };
  const sampler = samplerNamed(samplerName);
  let n = flags.n;
  let start: Tensor | undefined;
  const noisePath = flags.noise;
  if (noisePath) {
    const npy = decodeNpy(new Uint8Array(readFileSync(noisePath)));
    if (E.isLeft(npy)) return die(npy.left.message);
    const { data, shape } = npy.right;
    if (shape.length !== 4 || shape[1] !== net.channels || shape[2] !== size || shape[3] !== size) {
      return die(`${noisePath}: expected shape [N, ${net.channels}, ${size}, ${size}], got [${shape.join(', ')}]`);
    }
    n = shape[0];
    start = tensor(data, shape);
  }
  if (classArg !== undefined && net.numClasses === 0) die('--class: this model is not class-conditional');
  let labels: Float32Array | undefined;
  if (classArg !== undefined) {
    const classes = classArg === 'all' ? Array.from({ length: net.numClasses }, (_, c) => c) : classArg.split(',').map(Number);
    const bad = classes.find((c) => !Number.isInteger(c) || c < 0 || c >= net.numClasses);
    if (bad !== undefined) die(`--class: "${bad}" is not a class of this model (0 … ${net.numClasses - 1})`);
    if (classArg === 'all' && !noisePath) n = 8 * net.numClasses;
    labels = Float32Array.from({ length: n }, (_, i) => (classArg === 'all' ? classes[Math.floor(i / 8) % classes.length] : classes[i % classes.length]));
  }
  const { guidance, scale } = flags;
  const ts = sampler.setTimesteps(schedule, steps, samplerOpts);
  const stages = [0, 1, 2, 3].map((i) => ts[Math.round((i * (ts.length - 1)) / 4)]);
  const recorded = new Map<number, Float32Array>();
  const guide = chooseGuide(loaded, flags, labels ? guidance : 1, die);
  const model = denoiserFor(net, weights, schedule.T, { labels: labels && tensor(labels), guidance, guide });
  const progress = progressWriter();
  const what = `sampling ${n} (${samplerName})`;
  const sampling = performance.now();
  let done = 0;
  const x0 = runSampler(sampler, model, schedule, [n, net.channels, size, size], key, {
    ...samplerOpts, steps, start,
    onStep: (t: number, xt: Tensor) => {
      if (trajPath && stages.includes(t)) recorded.set(t, toFloat32(xt));
      done++;
      progress.update(renderSampling(what, done, ts.length, done / ((performance.now() - sampling) / 1000)));
    },
  });
  const images = toFloat32(x0);
  dispose(x0);
  progress.done();
  const samplingSec = (performance.now() - sampling) / 1000;
  if (trajPath) {
    const per = net.channels * size * size;
    const rows = Math.min(5, n);
    const cells = new Float32Array(rows * 5 * per);
    for (let r = 0; r < rows; r++) {
      stages.forEach((t, c) => cells.set((recorded.get(t) as Float32Array).subarray(r * per, (r + 1) * per), (r * 5 + c) * per));
      cells.set(images.subarray(r * per, (r + 1) * per), (r * 5 + 4) * per);
    }
    const grid = upscale(makeGrid(cells, rows * 5, net.channels, size, size, { nrow: 5 }), scale);
    writeFileSync(trajPath, await encodePng(grid.data, grid.width, grid.height));
    console.error(`wrote ${trajPath}: rows are samples, columns x_t at t = ${stages.join(', ')} and the final x_0`);
  }
  const bytes = extname(out).toLowerCase() === '.npy'
    ? encodeNpy(images, [n, net.channels, size, size])
    : await (async () => {
      const grid = upscale(makeGrid(images, n, net.channels, size, size, { nrow: 8 }), scale);
      return encodePng(grid.data, grid.width, grid.height);
    })();
  const w = await writeFileAtomic(out, bytes)();
  if (E.isLeft(w)) die(w.left.message);
  const seconds = (performance.now() - started) / 1000;
  const guided = guide ? `, autoguidance ${guide.scale}${describeInterval(guide.interval)}` : '';
  console.error(`wrote ${out}: ${n} images, ${steps} ${samplerName} steps${guided}, seed ${seed}; ${seconds.toFixed(1)} s in all, ${samplingSec.toFixed(1)} s of sampling`);
};

/** The `sample` command: `diffusion-ts sample …`, or `npx tsx scripts/sample.ts …` from a checkout (the launcher its help shows). */
export const main = (argv: readonly string[], launcher = scriptLauncher('sample')): Promise<void> =>
  sample(argv, launcher).catch((e: unknown) => die(e instanceof Error ? e.message : String(e)));
