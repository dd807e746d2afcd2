/**
 * The training script end to end, as a user runs it: metrics, checkpoints and pictures; an exact
 * resume; Ctrl-C saving a checkpoint; a diverging loss stopping the run with the last good checkpoint kept.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../src/io/safetensors.ts';

const tsx = join('node_modules', '.bin', 'tsx');
const small = ['--preset', 'tiny', '--batch', '4', '--log-every', '1', '--n', '4', '--steps', '3'];

const train = (args: string[]) => spawnSync(tsx, ['scripts/train.ts', ...small, ...args], { encoding: 'utf8', timeout: 240_000 });

const metrics = (dir: string): { step: number; loss: number; epoch: number; imagesPerSec: number; elapsedSec: number }[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

const tmp = (): string => mkdtempSync(join(tmpdir(), 'train-'));

describe('scripts/train.ts', () => {
  const full = tmp();

  it('writes metrics, checkpoints and pictures', () => {
    const r = train(['--train-steps', '8', '--checkpoint-every', '4', '--scale', '2', '--out', full]);
    expect(r.status, r.stderr).toBe(0);
    const m = metrics(full);
    expect(m.map((x) => x.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const x of m) {
      expect(Number.isFinite(x.loss) && x.imagesPerSec > 0 && x.elapsedSec > 0 && x.epoch === 1).toBe(true);
    }
    for (const f of ['samples.png', 'loss.png', 'latest.json', 'checkpoints/step-0000008/model.safetensors', 'checkpoints/step-0000008/optimizer.safetensors', 'checkpoints/step-0000008/config.json', 'checkpoints/step-0000008/state.json']) {
      expect(existsSync(join(full, f)), f).toBe(true);
    }
    expect(r.stderr).toMatch(/step 8\/8 \| loss \d\.\d{4} \| [\d.]+ img\/s \| ETA/);
    // not a terminal: a progress line at most every 10 s (the first step's) and the last one, not a line per step
    expect(r.stderr.split('\n').filter((l) => /step \d+\/8 \|/.test(l)).length).toBeLessThanOrEqual(3);
    expect(existsSync(join(full, 'loss.svg'))).toBe(true);
    // --scale 2: the 2×2 grid of 28-px digits with 2-px padding (62 px square) drawn at twice the size
    const png = readFileSync(join(full, 'samples.png'));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([124, 124]);
  });

  it('--resume continues exactly: the losses after resume equal the uninterrupted run', () => {
    const part = tmp();
    expect(train(['--train-steps', '4', '--out', part]).status).toBe(0);
    const r = spawnSync(tsx, ['scripts/train.ts', '--resume', part, '--train-steps', '8', '--log-every', '1'], { encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming at step 4/);
    expect(metrics(part).map((x) => x.loss)).toEqual(metrics(full).map((x) => x.loss));
  });

  it('--resume refuses settings that would change the run', () => {
    const r = spawnSync(tsx, ['scripts/train.ts', '--resume', full, '--lr', '0.5'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot change: lr/);
  });

  it('--init-from starts a new run (step 1, fresh schedule) from the checkpoint\'s weights and EMA; another network is refused', () => {
    const src = join(tmp(), 'src');
    expect(train(['--train-steps', '2', '--ema', '0.999', '--n', '0', '--out', src]).status).toBe(0);
    const out = join(tmp(), 'warm');
    // a vanishing step size: after one step the weights are still the source's
    const r = train(['--init-from', src, '--ema', '0.999', '--train-steps', '1', '--lr', '1e-30', '--warmup', '0', '--n', '0', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/training from .* \(step 2 of its run\)/);
    expect(metrics(out).map((x) => x.step)).toEqual([1]);
    const tensors = (file: string) => {
      const d = decodeSafetensors(new Uint8Array(readFileSync(file)));
      if (E.isLeft(d)) throw d.left;
      return d.right.tensors;
    };
    for (const f of ['model.safetensors', 'ema.safetensors']) {
      const before = tensors(join(src, 'checkpoints/step-0000002', f));
      const after = tensors(join(out, 'checkpoints/step-0000001', f));
      expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
      for (const [name, t] of Object.entries(before)) {
        const a = after[name].data as Float32Array;
        // the EMA moves a 1000th of the way to the (unchanged) raw weights: still within 1e-3 of the source's
        const tol = f === 'model.safetensors' ? 1e-6 : 1e-3 * Math.max(1, ...Array.from(t.data as Float32Array, Math.abs));
        (t.data as Float32Array).forEach((x, i) => expect(Math.abs(a[i] - x), `${f} ${name}[${i}]`).toBeLessThanOrEqual(tol));
      }
    }
    // its model card counts the run it started from
    const card = join(tmp(), 'card');
    expect(spawnSync(tsx, ['scripts/export-model.ts', '--checkpoint', out, '--out', card], { encoding: 'utf8', timeout: 120_000 }).status).toBe(0);
    const text = readFileSync(join(card, 'MODEL_CARD.md'), 'utf8');
    expect(text).toMatch(/started from the weights and EMA of `.*src` \(train --init-from.*\), itself 2 steps of batch 4, 8 images/);
    expect(text).toMatch(/- in all: 12 images seen/);
    const bad = train(['--init-from', src, '--network-json', '{"baseChannels":8}', '--train-steps', '1', '--n', '0', '--out', join(tmp(), 'x')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--init-from .*: its network .* is not this run's/);
  });

  it('export-model writes float16 weights with the checkpoint\'s names, a config and a model card that sample.ts reads', () => {
    const out = join(tmp(), 'model');
    const r = spawnSync(tsx, ['scripts/export-model.ts', '--checkpoint', full, '--out', out, '--command', 'test'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const read = (path: string) => {
      const d = decodeSafetensors(new Uint8Array(readFileSync(path)));
      if (E.isLeft(d)) throw d.left;
      return d.right.tensors;
    };
    const exported = read(join(out, 'model.safetensors'));
    const latest = JSON.parse(readFileSync(join(full, 'latest.json'), 'utf8')) as { checkpoint: string };
    const original = read(join(full, latest.checkpoint, 'model.safetensors'));
    expect(Object.keys(exported)).toEqual(Object.keys(original));
    for (const [name, e] of Object.entries(original)) {
      const x = exported[name];
      expect(x.shape, name).toEqual(e.shape);
      if (e.dtype !== 'F32') continue;
      expect(x.dtype, name).toBe('F16');
      // each weight is the float32 value rounded to half precision (relative error ≤ 2⁻¹¹ in the normal range)
      (e.data as Float32Array).forEach((v, i) => expect(Math.abs((x.data as Float32Array)[i] - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -24));
    }
    expect(readFileSync(join(out, 'MODEL_CARD.md'), 'utf8')).toMatch(/8 steps, 32 images seen/);
    const s = spawnSync(tsx, ['scripts/sample.ts', '--checkpoint', join(out, 'model.safetensors'), '--n', '2', '--steps', '2', '--out', join(out, 's.npy')], { encoding: 'utf8', timeout: 120_000 });
    expect(s.status, s.stderr).toBe(0);
    expect(existsSync(join(out, 's.npy'))).toBe(true);
    // progress while sampling (on a pipe: the first step's line and the last), then a summary
    expect(s.stderr).toMatch(/^sampling 2 \(ddpm\) \|█+\| step 2\/2 \| [\d.]+ steps\/s \| ETA/m);
    expect(s.stderr).toMatch(/^wrote .*s\.npy: 2 images, 2 ddpm steps, seed 0; [\d.]+ s in all, [\d.]+ s of sampling$/m);
  });

  /** Starts a long run in a process group of its own, as a terminal runs a foreground command. */
  const startInGroup = (command: string, args: string[], dir: string) => {
    const child = spawn(command, [...args, 'scripts/train.ts', ...small, '--train-steps', '100000', '--checkpoint-every', '0', '--out', dir], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let err = '';
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    const exited = new Promise<number | string | null>((resolve) => child.on('exit', (c, sig) => resolve(c ?? sig)));
    const trained = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (/training: .*\n.*step \d+\//s.test(err)) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    return { child, exited, trained, stderr: () => err };
  };

  const expectSaved = (dir: string, err: string) => {
    expect(err).toMatch(new RegExp(`interrupted: saved a checkpoint at step \\d+ in ${dir}\\. Continue with: npx tsx scripts/train\\.ts --resume ${dir}`));
    const latest = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as { checkpoint: string; step: number };
    expect(latest.step).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(dir, latest.checkpoint, 'model.safetensors'))).toBe(true);
  };

  it('Ctrl-C to the whole process group (npm, its shell, tsx, the trainer) finishes the step and saves', { timeout: 300_000 }, async () => {
    const dir = tmp();
    const run = startInGroup('npx', ['tsx'], dir);
    try {
      await run.trained;
      // a terminal's Ctrl-C: SIGINT to every process of the foreground group at once
      process.kill(-(run.child.pid as number), 'SIGINT');
      // npm runs the command through sh, and Debian's sh (dash) ends itself with the SIGINT it was sent
      // once its child is done, whatever the child's status: npx's own status says nothing about the save
      expect([0, 'SIGINT']).toContain(await run.exited);
    } finally {
      run.child.kill('SIGKILL');
    }
    expectSaved(dir, run.stderr());
  });

  it('the trainer and tsx exit 0 after saving when the group is signalled (SIGINT, then SIGTERM)', { timeout: 300_000 }, async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const dir = tmp();
      const run = startInGroup(tsx, [], dir);
      try {
        await run.trained;
        process.kill(-(run.child.pid as number), signal);
        expect(await run.exited, run.stderr()).toBe(0);
      } finally {
        run.child.kill('SIGKILL');
      }
      expectSaved(dir, run.stderr());
    }
  });

  it('an output folder that cannot be made is refused at once, in one line', () => {
    const file = join(tmp(), 'afile');
    writeFileSync(file, '');
    for (const [out, why] of [[join(file, 'run'), `${file}: is a file`], ['/proc/diffusion-ts-test', '/proc/diffusion-ts-test: cannot create the output folder']]) {
      const r = spawnSync(tsx, ['scripts/train.ts', ...small, '--train-steps', '1', '--out', out], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`train: ${why}`);
    }
  });

  it('a diverging loss stops the run with a clear message and keeps the last good checkpoint', () => {
    const dir = tmp();
    const r = train(['--train-steps', '50', '--lr', '1e30', '--checkpoint-every', '1', '--out', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/the loss became (NaN|Infinity|-Infinity) at step (\d+); stopping/);
    const bad = Number(/at step (\d+)/.exec(r.stderr)?.[1]);
    const latest = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as { checkpoint: string; step: number };
    expect(latest.step).toBe(bad);
    const state = JSON.parse(readFileSync(join(dir, latest.checkpoint, 'state.json'), 'utf8')) as { losses: number[] };
    expect(state.losses.every(Number.isFinite)).toBe(true);
  });
});
