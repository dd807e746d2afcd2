/**
 * Draws images from a trained model: `npx tsx scripts/sample.ts --checkpoint runs/quick --out samples.png`
 * (without --checkpoint: the shipped model in assets/).
 * `--help` lists the flags. A checkpoint is a run folder, a checkpoint folder, or a bare
 * `.safetensors` file (PyTorch names; with a config.json beside it, or `--network NAME`, in which
 * case the reference preset's diffusion settings apply: linear β, T = 1000, ε-prediction).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, relative } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { setBackend } from '../src/tensor/engine.ts';
import { key as makeKey } from '../src/tensor/random.ts';
import { tensor } from '../src/ops/create.ts';
import { scheduleFromConfig } from '../src/ddpm/schedule.ts';
import { decodeNpy, encodeNpy } from '../src/io/npy.ts';
import { encodePng, makeGrid } from '../src/io/image.ts';
import { writeFileAtomic } from '../src/io/files.ts';
import { namedNetworks } from '../src/train/network.ts';
import { ddimSampler, ddpmSampler, dpmpp2mSampler, runSampler } from '../src/ddpm/samplers/index.ts';
import { dispose, type Tensor, toFloat32 } from '../src/tensor/tensor.ts';
import { guidedModel } from '../src/ddpm/guidance.ts';
import { parseArgs } from './lib/args.ts';
import { loadDiffusionModel, shippedModels } from './lib/checkpoint-model.ts';

const help = `Usage: npx tsx scripts/sample.ts --checkpoint DIR|FILE [flags]
  --checkpoint DIR|FILE   run folder, checkpoint folder, or a .safetensors weights file (default: the
                          shipped model, assets/ddpm-mnist, or with --class assets/ddpm-mnist-cond)
  --network NAME          for a bare weights file without config.json: ${Object.keys(namedNetworks).join(', ')}
  --n N                   number of images (default 64)
  --seed N                PRNG seed (default 0)
  --sampler NAME          ddpm (ancestral, default) | ddim | dpmpp2m (DPM-Solver++ 2M)
  --eta X                 DDIM's η (0: deterministic, default; 1: ancestral-like)
  --class C               class-conditional models: a digit (7), a list (3,5,8), or all (a row of 8 per class)
  --guidance W            classifier-free guidance scale: uncond + W·(cond − uncond); 1 = none (default 3)
  --steps N               sampling steps (default: all T; fewer are evenly respaced)
  --noise FILE.npy        start from this x_T, float32 [N, C, H, W]
  --out FILE.png|FILE.npy grid PNG (8 per row, 2-px padding) or float32 NPY [N, C, H, W] in [-1, 1]
  --trajectory FILE.png   5 samples × 5 stages of the reverse process (x_T … x_0)
  --clip / --no-clip      clip the predicted x_0 to [-1, 1] at each step (default: clip)
  --no-ema                use the raw weights even when EMA weights exist
  --backend NAME          engine backend (default: the DIFFUSION_BACKEND setting or plain)`;

const die = (msg: string): never => {
  process.stderr.write(`sample: ${msg}\n`);
  process.exit(2);
};

const main = async (): Promise<void> => {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) return void console.log(help);
  const args = parseArgs(argv, ['no-ema', 'clip', 'no-clip'], ['checkpoint', 'network', 'n', 'seed', 'sampler', 'eta', 'class', 'guidance', 'steps', 'noise', 'out', 'trajectory', 'backend']);
  const shipped = relative(process.cwd(), shippedModels[args.get('class') !== undefined ? 'mnist-cond' : 'mnist']);
  const ckPath = args.get('checkpoint') ?? (existsSync(shipped) ? shipped : die(`no --checkpoint given, and the shipped model ${shipped} is not in this copy: pass --checkpoint (a run folder of scripts/train.ts)`));
  const samplerName = args.get('sampler') ?? 'ddpm';
  if (!['ddpm', 'ddim', 'dpmpp2m'].includes(samplerName)) die(`--sampler ${samplerName}: expected ddpm, ddim or dpmpp2m`);
  const backend = args.get('backend');
  if (backend) setBackend(backend as never);
  const { net, weights, schedule: schedCfg, size, objective } = await loadDiffusionModel(ckPath, { network: args.get('network'), noEma: args.has('no-ema') });
  const schedule = scheduleFromConfig(schedCfg);
  const steps = args.number('steps', schedule.T);
  if (!Number.isInteger(steps) || steps < 1 || steps > schedule.T) die(`--steps must be an integer in [1, ${schedule.T}], got ${steps}`);
  const seed = args.number('seed', 0);
  const key = makeKey(seed);
  const out = args.get('out') ?? 'samples.png';
  if (!['.png', '.npy'].includes(extname(out).toLowerCase())) die(`--out ${out}: expected a .png (grid) or .npy (array) file name`);
  const trajectoryOut = args.get('trajectory');
  if (trajectoryOut !== undefined && extname(trajectoryOut).toLowerCase() !== '.png') die(`--trajectory ${trajectoryOut}: expected a .png file name`);
  const clip = !args.has('no-clip');

  if (args.get('eta') !== undefined && samplerName !== 'ddim') die('--eta is a DDIM setting: add --sampler ddim');
  const samplerOpts = samplerName === 'ddim' ? { clip, prediction: objective, eta: args.number('eta', 0) } : { clip, prediction: objective };
  const sampler = samplerName === 'ddim' ? ddimSampler : samplerName === 'dpmpp2m' ? dpmpp2mSampler : ddpmSampler;
  let n = args.number('n', 64);
  if (!Number.isInteger(n) || n < 1) die(`--n must be a positive integer, got ${n}`);
  let start: Tensor | undefined;
  const noisePath = args.get('noise');
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
  const classArg = args.get('class');
  if (classArg !== undefined && net.numClasses === 0) die('--class: this model is not class-conditional');
  let labels: Float32Array | undefined;
  if (classArg !== undefined) {
    const classes = classArg === 'all' ? Array.from({ length: net.numClasses }, (_, c) => c) : classArg.split(',').map(Number);
    const bad = classes.find((c) => !Number.isInteger(c) || c < 0 || c >= net.numClasses);
    if (bad !== undefined) die(`--class: ${bad} is not a class of this model (0 … ${net.numClasses - 1})`);
    if (classArg === 'all' && !noisePath) n = 8 * net.numClasses;
    labels = Float32Array.from({ length: n }, (_, i) => (classArg === 'all' ? classes[Math.floor(i / 8) % classes.length] : classes[i % classes.length]));
  }
  const guidance = args.number('guidance', 3);
  const ts = sampler.setTimesteps(schedule, steps, samplerOpts as never);
  const stages = [0, 1, 2, 3].map((i) => ts[Math.round((i * (ts.length - 1)) / 4)]);
  const trajPath = args.get('trajectory');
  const recorded = new Map<number, Float32Array>();
  const model = labels
    ? guidedModel((x, t, l) => net.apply(weights, x, t, { training: false, labels: l }).y, tensor(labels), net.numClasses, guidance)
    : (x: Tensor, t: Tensor): Tensor => net.apply(weights, x, t, { training: false }).y;
  const x0 = runSampler(sampler as never, model, schedule, [n, net.channels, size, size], key, {
    ...samplerOpts, steps, start,
    onStep: trajPath ? (t: number, xt: Tensor) => {
      if (stages.includes(t)) recorded.set(t, toFloat32(xt));
    } : undefined,
  } as never);
  const images = toFloat32(x0);
  dispose(x0);
  if (trajPath) {
    const per = net.channels * size * size;
    const rows = Math.min(5, n);
    const cells = new Float32Array(rows * 5 * per);
    for (let r = 0; r < rows; r++) {
      stages.forEach((t, c) => cells.set((recorded.get(t) as Float32Array).subarray(r * per, (r + 1) * per), (r * 5 + c) * per));
      cells.set(images.subarray(r * per, (r + 1) * per), (r * 5 + 4) * per);
    }
    const grid = makeGrid(cells, rows * 5, net.channels, size, size, { nrow: 5 });
    writeFileSync(trajPath, await encodePng(grid.data, grid.width, grid.height));
    console.error(`wrote ${trajPath}: rows are samples, columns x_t at t = ${stages.join(', ')} and the final x_0`);
  }
  const bytes = extname(out).toLowerCase() === '.npy'
    ? encodeNpy(images, [n, net.channels, size, size])
    : await (async () => {
      const grid = makeGrid(images, n, net.channels, size, size, { nrow: 8 });
      return encodePng(grid.data, grid.width, grid.height);
    })();
  const w = await writeFileAtomic(out, bytes)();
  if (E.isLeft(w)) die(w.left.message);
  console.error(`wrote ${out}: ${n} samples, ${steps} ${samplerName} steps, seed ${seed}`);
};

main().catch((e: unknown) => die(e instanceof Error ? e.message : String(e)));
