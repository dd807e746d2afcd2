/**
 * The sampling pipeline: from bytes and from paths give the same model; a run folder, a model
 * folder and a shipped name all load; options that do not fit the model are refused before any work.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as R from '../src/tensor/random.ts';
import { encodeSafetensors } from '../src/io/safetensors.ts';
import { entriesToSafetensors, saveCheckpoint } from '../src/train/checkpoint.ts';
import { namedNetworks, network } from '../src/train/network.ts';
import { presets } from '../src/train/config.ts';
import { pipelineFromFiles } from '../src/pipeline/pipeline.ts';
import { loadPipeline, shippedModels } from '../src/pipeline/load.ts';

const tinyNet = network(namedNetworks.tiny);
const tinyWeights = tinyNet.init(R.key(3));
const tinyBytes = encodeSafetensors(entriesToSafetensors(tinyNet.stateDict(tinyWeights)));

describe('pipelineFromFiles', () => {
  const pipe = pipelineFromFiles({ safetensors: tinyBytes, network: 'tiny' });

  it('bare weights with a named network take the reference diffusion settings', () => {
    expect(pipe.schedule.T).toBe(1000);
    expect(pipe.config.objective).toBe('eps');
    expect(pipe.config.imageSize).toBe(28);
    expect(pipe.config.training).toBeUndefined();
  });

  it('samples [n, C, size, size]; the same seed gives the same images, another seed others', () => {
    const a = pipe.sample({ n: 2, steps: 2, seed: 5 });
    expect(a.shape).toEqual([2, 1, 28, 28]);
    expect(a.images).toHaveLength(2 * 28 * 28);
    expect(a.images.every(Number.isFinite)).toBe(true);
    expect(pipe.sample({ n: 2, steps: 2, seed: 5 }).images).toEqual(a.images);
    expect(pipe.sample({ n: 2, steps: 2, seed: 6 }).images).not.toEqual(a.images);
  });

  it('reports each step to onStep', () => {
    const seen: number[] = [];
    pipe.sample({ n: 1, sampler: 'dpmpp2m', steps: 3, onStep: (t) => seen.push(t) });
    expect(seen).toHaveLength(3);
  });

  it('a path that is not there, or not a model, is named in one message', async () => {
    await expect(loadPipeline('/nonexistent/run')).rejects.toThrow(/^\/nonexistent\/run: no such file or folder/);
    await expect(loadPipeline('README.md')).rejects.toThrow(/^README\.md: not a \.safetensors file nor a folder/);
  });

  it('refuses options that do not fit the model, naming them', () => {
    expect(() => pipe.sample({ n: 0 })).toThrow(/n must be a positive integer/);
    expect(() => pipe.sample({ n: 1, steps: 1001 })).toThrow(/steps must be an integer in \[1, 1000\]/);
    expect(() => pipe.sample({ n: 1, sampler: 'ddpm', eta: 1 })).toThrow(/eta is a DDIM setting/);
    expect(() => pipe.sample({ n: 1, sampler: 'euler' as never })).toThrow(/unknown sampler "euler"/);
    expect(() => pipe.sample({ n: 1, classLabels: 3 })).toThrow(/not class-conditional/);
  });

  it('refuses files that do not fit, with `what` in the message', () => {
    expect(() => pipelineFromFiles({ safetensors: tinyBytes }, 'w.safetensors')).toThrow(/w.safetensors: no config/);
    expect(() => pipelineFromFiles({ safetensors: tinyBytes, network: 'huge' })).toThrow(/unknown network "huge"/);
    expect(() => pipelineFromFiles({ safetensors: tinyBytes, network: 'constructor' })).toThrow(/unknown network "constructor"/);
    expect(() => pipelineFromFiles({ safetensors: tinyBytes, network: 'small' }, 'w')).toThrow(/^w: /);
    expect(() => pipelineFromFiles({ safetensors: tinyBytes, network: 'tiny', config: {} })).toThrow(/not both/);
    expect(() => pipelineFromFiles({ safetensors: tinyBytes, config: '{' }, 'x')).toThrow(/x: config.json is not JSON/);
    expect(() => pipelineFromFiles({ safetensors: new Uint8Array(3), network: 'tiny' }, 'short')).toThrow(/^short: /);
  });
});

describe('loadPipeline', () => {
  it('loads a run folder with its training config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipeline-'));
    const config = { ...presets.tiny, out: dir };
    await saveCheckpoint(dir, tinyNet, {
      config, weights: tinyWeights, ema: null, moments: null,
      state: { step: 1, optimizerStep: 1, key: R.key(0), elapsedSec: 0, losses: [] },
    });
    const pipe = await loadPipeline(dir);
    expect(pipe.config.training?.preset).toBe('tiny');
    expect(pipe.schedule.T).toBe(presets.tiny.schedule.T);
    expect(pipe.sample({ n: 1, steps: 2 }).shape).toEqual([1, 1, 28, 28]);
  });

  it('the shipped cond model: by name, as a model folder and from its bytes, the same images', async () => {
    const byName = await loadPipeline('mnist-cond');
    const folder = join(shippedModels['mnist-cond'], '..');
    const byFolder = await loadPipeline(folder);
    const fromBytes = await loadPipeline({
      safetensors: new Uint8Array(readFileSync(shippedModels['mnist-cond'])),
      config: readFileSync(join(folder, 'config.json'), 'utf8'),
    });
    expect(byName.config.objective).toBe('v');
    expect(byName.net.numClasses).toBe(10);
    const opts = { n: 2, sampler: 'ddim', steps: 3, classLabels: [1, 8] } as const;
    const a = byName.sample(opts).images;
    expect(byFolder.sample(opts).images).toEqual(a);
    expect(fromBytes.sample(opts).images).toEqual(a);
    expect(() => byName.sample({ n: 2, classLabels: [1, 10] })).toThrow(/class 10 is not a class of this model \(0 … 9\)/);
    expect(() => byName.sample({ n: 2, classLabels: [1] })).toThrow(/1 classLabels for n = 2/);
  });

  it('the shipped unconditional model loads by name, with its guide, and draws finite images', async () => {
    expect(existsSync(shippedModels.mnist)).toBe(true);
    const p = await loadPipeline('mnist');
    expect(p.net.numClasses).toBe(0);
    // it ships a guide (guide.safetensors) and samples with autoguidance by default
    expect(p.guide?.net.config).toEqual(p.net.config);
    expect(p.config.guideScale).toBeGreaterThan(1);
    // the guide acts on the noisy half of the trajectory only
    expect(p.config.guideInterval).toEqual([0.5, 1]);
    const s = p.sample({ n: 2, steps: 3 });
    expect(s.shape).toEqual([2, 1, 28, 28]);
    expect(s.images.every(Number.isFinite)).toBe(true);
  });

  it('the shipped Fashion-MNIST model loads by name, says its dataset, and draws finite images', async () => {
    const p = await loadPipeline('fashion-mnist');
    expect(p.config.dataset).toBe('fashion-mnist');
    expect(p.net.numClasses).toBe(0);
    expect(p.guide?.net.config).toEqual(p.net.config);
    const s = p.sample({ n: 2, steps: 3 });
    expect(s.shape).toEqual([2, 1, 28, 28]);
    expect(s.images.every(Number.isFinite)).toBe(true);
  });
});
