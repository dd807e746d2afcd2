/**
 * Autoguidance end to end: a guide file beside a model is read with its scale and interval and used by default;
 * scale 1 is the model alone, bit for bit; a guide that is the model itself changes nothing; guides
 * that do not fit are refused with the reason; a training run freezes its guide at `--guide-at`,
 * keeps it through checkpoints and an exact resume, and exports it with the model.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as R from '../src/tensor/random.ts';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.ts';
import { entriesToSafetensors } from '../src/weights/safetensors.ts';
import { namedNetworks, network } from '../src/train/network.ts';
import { presets } from '../src/train/config.ts';
import { decodeModelFiles, GUIDE_INTERVAL_METADATA_KEY, GUIDE_SCALE_METADATA_KEY, guideSafetensors, modelSafetensors } from '../src/pipeline/model.ts';
import { pipelineFromFiles } from '../src/pipeline/pipeline.ts';
import { loadPipeline } from '../src/pipeline/load.ts';

const net = network(namedNetworks.tiny);
const config = { ...presets.tiny, objective: 'v' as const, out: 'm' };
const weights = net.init(R.key(5));
const weaker = net.init(R.key(6));
const model = modelSafetensors(net, weights, config);
const opts = { n: 3, steps: 4, sampler: 'ddpm' as const, seed: 2 };

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('a model with a guide (guide.safetensors)', () => {
  const guided = pipelineFromFiles({ safetensors: model, guide: guideSafetensors(net, weaker, config, 2.5) });
  const alone = pipelineFromFiles({ safetensors: model });

  it('reports the guide\'s scale and samples with it by default; autoguidance 1 is the model alone, bit for bit', () => {
    expect(guided.config.guideScale).toBe(2.5);
    expect(alone.config.guideScale).toBeUndefined();
    const byDefault = guided.sample(opts).images;
    expect(guided.sample({ ...opts, autoguidance: 2.5 }).images).toEqual(byDefault);
    const off = guided.sample({ ...opts, autoguidance: 1 }).images;
    expect(off).toEqual(alone.sample(opts).images);
    // the guide moves the samples (random networks disagree everywhere)
    expect(maxDiff(byDefault, off)).toBeGreaterThan(1e-2);
  });

  it('guided by itself, any scale gives the model\'s own samples (the combination is guide + w·(model − guide))', () => {
    const self = pipelineFromFiles({ safetensors: model, guide: guideSafetensors(net, weights, config, 4) });
    expect(maxDiff(self.sample(opts).images, alone.sample(opts).images)).toBeLessThan(1e-4);
  });

  it('refuses autoguidance without a guide, a negative scale, and autoguidance with classifier-free guidance', () => {
    expect(() => alone.sample({ ...opts, autoguidance: 2 })).toThrow(/autoguidance needs a guide, and this model has none/);
    expect(() => guided.sample({ ...opts, autoguidance: -1 })).toThrow(/autoguidance must be a finite number ≥ 0, got -1/);
    const condNet = network({ kind: 'unet', unet: { ...(namedNetworks.tiny as { unet: object }).unet, numClasses: 10 } } as never);
    const condCfg = { ...config, network: condNet.config };
    const cond = pipelineFromFiles({ safetensors: modelSafetensors(condNet, condNet.init(R.key(1)), condCfg), guide: guideSafetensors(condNet, condNet.init(R.key(2)), condCfg, 2) });
    // with class labels the default is classifier-free guidance alone; asking for both is refused
    expect(cond.sample({ ...opts, classLabels: 7 }).images).toHaveLength(3 * 28 * 28);
    expect(() => cond.sample({ ...opts, classLabels: 7, autoguidance: 2 })).toThrow(/classifier-free guidance and autoguidance together/);
    expect(cond.sample({ ...opts, classLabels: 7, guidance: 1, autoguidance: 2 }).images).toHaveLength(3 * 28 * 28);
  });

  it('on disk: model.safetensors takes guide.safetensors beside it, any other X.safetensors its X.guide.safetensors (the page\'s downloads)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guide-beside-'));
    writeFileSync(join(dir, 'run-step30.safetensors'), model);
    // a guide.safetensors belongs to a model.safetensors only
    writeFileSync(join(dir, 'guide.safetensors'), guideSafetensors(net, weaker, config, 3));
    expect((await loadPipeline(join(dir, 'run-step30.safetensors'))).config.guideScale).toBeUndefined();
    writeFileSync(join(dir, 'run-step30.guide.safetensors'), guideSafetensors(net, weaker, config, 2.5));
    const paired = await loadPipeline(join(dir, 'run-step30.safetensors'));
    expect(paired.config.guideScale).toBe(2.5);
    expect(paired.sample(opts).images).toEqual(guided.sample(opts).images);
    expect((await loadPipeline(join(dir, 'run-step30.safetensors'), { noGuide: true })).config.guideScale).toBeUndefined();
    writeFileSync(join(dir, 'model.safetensors'), model);
    expect((await loadPipeline(join(dir, 'model.safetensors'))).config.guideScale).toBe(3);
  });

  it('refuses a guide that does not fit the model, saying how', () => {
    const why = (guide: Uint8Array): string => {
      const m = decodeModelFiles({ safetensors: model, guide }, 'm');
      return E.isLeft(m) ? m.left.message : 'accepted';
    };
    expect(why(guideSafetensors(net, weaker, { ...config, objective: 'eps' }, 2))).toMatch(/^m \(guide\.safetensors\): cannot guide this model: it predicts eps, the model v$/);
    expect(why(guideSafetensors(net, weaker, { ...config, schedule: { kind: 'cosine', T: 100 } }, 2))).toMatch(/cannot guide this model: it has the noise schedule .*"T":100/);
    const other = network({ kind: 'unet', unet: { ...(namedNetworks.tiny as { unet: object }).unet, numClasses: 10 } } as never);
    expect(why(guideSafetensors(other, other.init(R.key(3)), { ...config, network: other.config }, 2))).toMatch(/it has 10 classes, the model 0/);
    // weights without the scale are not a guide file
    const bare = encodeSafetensors(entriesToSafetensors(net.stateDict(weaker)), { format: 'pt', config: JSON.stringify(config) });
    expect(why(bare)).toMatch(/no "guide_scale" in its metadata: not a guide file/);
    expect(why(guideSafetensors(net, weaker, config, Number.NaN))).toMatch(/scale must be a finite number ≥ 0, got NaN/);
  });
});

describe('a guide interval: autoguidance on part of the trajectory', () => {
  const alone = pipelineFromFiles({ safetensors: model });
  const everywhere = pipelineFromFiles({ safetensors: model, guide: guideSafetensors(net, weaker, config, 2.5) });
  const noisyHalf = pipelineFromFiles({ safetensors: model, guide: guideSafetensors(net, weaker, config, 2.5, 'f32', [0.5, 1]) });

  it('is read from the guide file (absent: every step) and used by default; the asked interval overrides it', () => {
    expect(noisyHalf.config.guideInterval).toEqual([0.5, 1]);
    expect(everywhere.config.guideInterval).toEqual([0, 1]);
    const half = noisyHalf.sample(opts).images;
    expect(noisyHalf.sample({ ...opts, autoguidanceInterval: [0.5, 1] }).images).toEqual(half);
    // [0, 1] is the guide at every step, as a guide without an interval
    expect(noisyHalf.sample({ ...opts, autoguidanceInterval: [0, 1] }).images).toEqual(everywhere.sample(opts).images);
    expect(everywhere.sample({ ...opts, autoguidanceInterval: [0.5, 1] }).images).toEqual(half);
    // an interval that no sampled timestep falls in is the model alone, bit for bit; half the steps are neither
    expect(noisyHalf.sample({ ...opts, autoguidanceInterval: [0.0001, 0.0002] }).images).toEqual(alone.sample(opts).images);
    expect(maxDiff(half, alone.sample(opts).images)).toBeGreaterThan(1e-3);
    expect(maxDiff(half, everywhere.sample(opts).images)).toBeGreaterThan(1e-3);
  });

  it('refuses intervals that are not 0 ≤ LO < HI ≤ 1, in a file or asked for, and an interval without a guide', () => {
    expect(() => noisyHalf.sample({ ...opts, autoguidanceInterval: [0.6, 0.2] })).toThrow(/sample: a guide interval needs 0 ≤ LO < HI ≤ 1, got 0.6,0.2/);
    expect(() => noisyHalf.sample({ ...opts, autoguidanceInterval: [0.5, 1.5] })).toThrow(/0 ≤ LO < HI ≤ 1/);
    expect(() => alone.sample({ ...opts, autoguidanceInterval: [0.5, 1] })).toThrow(/autoguidance needs a guide/);
    const bad = encodeSafetensors(entriesToSafetensors(net.stateDict(weaker)), {
      format: 'pt', config: JSON.stringify(config), [GUIDE_SCALE_METADATA_KEY]: '2', [GUIDE_INTERVAL_METADATA_KEY]: 'half',
    });
    const m = decodeModelFiles({ safetensors: model, guide: bad }, 'm');
    expect(E.isLeft(m) && m.left.message).toMatch(/^m \(guide\.safetensors\): "guide_interval" in its metadata: expected two fractions of T as LO,HI \(e\.g\. 0\.5,1\), got "half"$/);
  });
});

describe('train --guide-at, export-model and sample', () => {
  const tsx = join('node_modules', '.bin', 'tsx');
  const run = (script: string, args: string[]) => spawnSync(tsx, [`scripts/${script}.ts`, ...args], { encoding: 'utf8', timeout: 240_000 });
  const tensors = (file: string) => {
    const d = decodeSafetensors(new Uint8Array(readFileSync(file)));
    if (E.isLeft(d)) throw d.left;
    return d.right;
  };
  const dir = mkdtempSync(join(tmpdir(), 'guide-'));
  const full = join(dir, 'full');
  const common = ['--preset', 'tiny', '--batch', '4', '--ema', '0.9', '--guide-at', '0.5', '--guide-scale', '2', '--guide-interval', '0.5,1', '--n', '2', '--steps', '2', '--checkpoint-every', '1'];

  it('freezes the EMA at half the run as the guide, keeps it in later checkpoints, and resumes exactly', () => {
    const r = run('train', [...common, '--train-steps', '4', '--out', full]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/step 2: froze the EMA weights as the run's autoguidance guide \(scale 2, t\/T in \[0\.5, 1\)\)/);
    const ck = (step: number, file: string) => join(full, 'checkpoints', `step-000000${step}`, file);
    const g3 = tensors(ck(3, 'guide.safetensors'));
    const g4 = tensors(ck(4, 'guide.safetensors'));
    expect(g3.metadata[GUIDE_SCALE_METADATA_KEY]).toBe('2');
    expect(g3.metadata[GUIDE_INTERVAL_METADATA_KEY]).toBe('0.5,1');
    expect(run('train', ['--preset', 'tiny', '--guide-interval', '0.5', '--out', join(dir, 'x')]).stderr.trim()).toMatch(/^train: --guide-interval: expected two fractions of T as LO,HI/);
    // the same frozen weights in every checkpoint after step 2, and not the EMA that moved on
    expect(g4.tensors).toEqual(g3.tensors);
    const ema4 = tensors(ck(4, 'ema.safetensors')).tensors;
    expect(Object.keys(g4.tensors).sort()).toEqual(Object.keys(ema4).sort());
    expect(Object.entries(ema4).some(([n, e]) => maxDiff(e.data as Float32Array, g4.tensors[n].data as Float32Array) > 0)).toBe(true);
    // resume from step 3 (past the freeze): the same weights and guide at step 4
    const part = join(dir, 'part');
    cpSync(full, part, { recursive: true });
    writeFileSync(join(part, 'latest.json'), JSON.stringify({ checkpoint: 'checkpoints/step-0000003', step: 3 }));
    const again = run('train', ['--resume', part]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming at step 3/);
    for (const f of ['model.safetensors', 'ema.safetensors', 'guide.safetensors']) {
      expect(tensors(join(part, 'checkpoints/step-0000004', f)).tensors, f).toEqual(tensors(ck(4, f)).tensors);
    }
    expect(run('train', ['--resume', full, '--guide-at', '0.25']).stderr).toMatch(/cannot change: guideAt/);
  });

  it('export-model ships the guide; sample and eval use it by default, and say so', () => {
    const out = join(dir, 'model');
    const e = run('export-model', ['--checkpoint', full, '--out', out]);
    expect(e.status, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/guide\.safetensors \(scale 2, t\/T in \[0\.5, 1\)\)/);
    expect(readFileSync(join(out, 'MODEL_CARD.md'), 'utf8')).toMatch(/`guide\.safetensors`: a weaker model .* w = 2 at the diffusion times t\/T in \[0\.5, 1\) \(the model alone elsewhere\) by default/);
    // float16, as the model
    expect(Object.values(tensors(join(out, 'guide.safetensors')).tensors).some((t) => t.dtype === 'F16')).toBe(true);
    expect(Object.values(tensors(join(out, 'guide.safetensors')).tensors).every((t) => t.dtype !== 'F32')).toBe(true);
    const s = run('sample', ['--checkpoint', out, '--n', '2', '--steps', '2', '--out', join(dir, 'a.npy')]);
    expect(s.status, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/2 ddpm steps, autoguidance 2, t\/T in \[0\.5, 1\), seed 0/);
    const whole = run('sample', ['--checkpoint', out, '--n', '2', '--steps', '2', '--autoguidance-interval', '0,1', '--out', join(dir, 'c.npy')]);
    expect(whole.stderr).toMatch(/2 ddpm steps, autoguidance 2, seed 0/);
    expect(readFileSync(join(dir, 'a.npy')).equals(readFileSync(join(dir, 'c.npy')))).toBe(false);
    expect(run('sample', ['--checkpoint', out, '--autoguidance-interval', '1,0']).stderr.trim()).toMatch(/^sample: --autoguidance-interval: a guide interval needs 0 ≤ LO < HI ≤ 1, got 1,0$/);
    const off = run('sample', ['--checkpoint', out, '--n', '2', '--steps', '2', '--autoguidance', '1', '--out', join(dir, 'b.npy')]);
    expect(off.stderr).toMatch(/2 ddpm steps, seed 0/);
    expect(readFileSync(join(dir, 'a.npy')).equals(readFileSync(join(dir, 'b.npy')))).toBe(false);
    // a model without a guide: one line naming the flag
    const plain = join(dir, 'plain');
    expect(run('train', ['--preset', 'tiny', '--batch', '4', '--train-steps', '1', '--n', '0', '--out', plain]).status).toBe(0);
    const bare = join(dir, 'bare');
    expect(run('export-model', ['--checkpoint', plain, '--out', bare]).status).toBe(0);
    const no = run('eval', ['--checkpoint', bare, '--n', '20', '--steps', '2', '--autoguidance', '3']);
    expect(no.status).toBe(2);
    expect(no.stderr.trim()).toMatch(/^eval: --autoguidance: autoguidance needs a guide, and this model has none/);
    // --guide attaches another run's weights at the scale given
    const attached = join(dir, 'attached');
    const a = run('export-model', ['--checkpoint', plain, '--out', attached, '--guide', full, '--guide-scale', '1.5']);
    expect(a.status, a.stderr).toBe(0);
    expect(tensors(join(attached, 'guide.safetensors')).metadata[GUIDE_SCALE_METADATA_KEY]).toBe('1.5');
    expect(tensors(join(attached, 'guide.safetensors')).metadata[GUIDE_INTERVAL_METADATA_KEY]).toBe('0,1');
    const narrowed = run('export-model', ['--checkpoint', plain, '--out', attached, '--guide', full, '--guide-scale', '1.5', '--guide-interval', '0.4,1']);
    expect(narrowed.status, narrowed.stderr).toBe(0);
    expect(tensors(join(attached, 'guide.safetensors')).metadata[GUIDE_INTERVAL_METADATA_KEY]).toBe('0.4,1');
    expect(run('export-model', ['--checkpoint', plain, '--out', bare, '--guide-interval', '0.4,1']).stderr).toMatch(/--guide-interval: goes with --guide/);
    // a run's own guide at another scale and interval
    const rescaled = join(dir, 'rescaled');
    expect(run('export-model', ['--checkpoint', full, '--out', rescaled, '--guide-scale', '3', '--guide-interval', '0,1']).status).toBe(0);
    expect(tensors(join(rescaled, 'guide.safetensors')).metadata).toMatchObject({ [GUIDE_SCALE_METADATA_KEY]: '3', [GUIDE_INTERVAL_METADATA_KEY]: '0,1' });
    expect(run('export-model', ['--checkpoint', plain, '--out', bare, '--guide-scale', '3']).stderr).toMatch(/--guide-scale: goes with --guide/);
    expect(run('export-model', ['--checkpoint', plain, '--out', attached, '--guide', full]).stderr).toMatch(/--guide: give its scale with --guide-scale W/);
  });
});
