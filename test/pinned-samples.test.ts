/**
 * Sampling is pinned bit for bit: two fixed models (the `tiny` U-Net initialised from fixed keys,
 * unconditional and class-conditional; fixed rather than the shipped ones, which better training
 * replaces), sampled on the plain backend (the reference, which rounds the same on every machine)
 * with a fixed seed by every sampler and by the walk-through's `sampleLoop`, must give exactly the bytes recorded in
 * test/fixtures/pinned-samples.json. A refactor of the samplers, the loop or the network that changes
 * any result fails here. Regenerate the file only for a deliberate change of results, with
 * `PIN_SAMPLES=write npx vitest run test/pinned-samples.test.ts`, and say why in the commit.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pipelineFromModel } from '../src/pipeline/pipeline.ts';
import { namedNetworks, network, type NetworkConfig } from '../src/train/network.ts';
import { sampleLoop } from '../src/ddpm/sample.ts';
import { withBackend } from '../src/tensor/engine.ts';
import { createPlainBackend } from '../src/tensor/plain/index.ts';
import { toFloat32 } from '../src/tensor/tensor.ts';
import * as R from '../src/tensor/random.ts';
import { scheduleFromConfig } from '../src/ddpm/schedule.ts';
import { samplerNames } from '../src/train/generate.ts';

const fixture = join(import.meta.dirname, 'fixtures', 'pinned-samples.json');
const writing = process.env.PIN_SAMPLES === 'write';
const pinned: Record<string, string> = existsSync(fixture) ? JSON.parse(readFileSync(fixture, 'utf8')) : {};
const got: Record<string, string> = {};

const digest = (x: Float32Array): string => createHash('sha256').update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)).digest('hex');
const plain = createPlainBackend();

/** The tiny U-Net (cosine T = 200, v-prediction) with weights from key 5, or a class-conditional one. */
const fixedModel = (numClasses: number) => withBackend(plain, () => {
  const tiny = namedNetworks.tiny as Extract<NetworkConfig, { kind: 'unet' }>;
  const net = network({ kind: 'unet', unet: { ...tiny.unet, numClasses } });
  return pipelineFromModel({ net, weights: net.init(R.key(5 + numClasses)), schedule: { kind: 'cosine', T: 200 }, objective: 'v', size: 28, ema: false });
});
const models = { mnist: fixedModel(0), 'mnist-cond': fixedModel(10) };

const check = (name: string, images: Float32Array): void => {
  expect(images.every(Number.isFinite)).toBe(true);
  got[name] = digest(images);
  if (!writing) expect(got[name], `${name}: the sampled bytes changed`).toBe(pinned[name]);
};

describe('pinned samples (plain backend, bit for bit)', { timeout: 300_000 }, () => {
  it('the fixture holds a digest for every case', () => {
    if (!writing) expect(Object.keys(pinned).length).toBeGreaterThanOrEqual(samplerNames.length * 2 + 1);
  });

  for (const sampler of samplerNames) {
    it(`the fixed model, ${sampler}, 4 steps, seed 7`, () => {
      const p = models.mnist;
      check(`mnist/${sampler}`, withBackend(plain, () => p.sample({ n: 2, sampler, steps: 4, seed: 7 }).images));
    });
    it(`the fixed cond model, ${sampler}, classes 3 and 8 at guidance 2, 4 steps, seed 7`, () => {
      const p = models['mnist-cond'];
      check(`mnist-cond/${sampler}`, withBackend(plain, () => p.sample({ n: 2, sampler, steps: 4, seed: 7, classLabels: [3, 8], guidance: 2 }).images));
    });
  }

  it('sampleLoop (the walk-through\'s ancestral loop) over 5 respaced steps of the fixed model', () => {
    const p = models.mnist;
    const schedule = scheduleFromConfig(p.config.schedule);
    // the model predicts v and the walk-through's loop reads ε: meaningless images, pinned all the same
    const images = withBackend(plain, () => {
      const { x0 } = sampleLoop((x, t) => p.net.apply(p.weights, x, t, { training: false }).y, schedule, [2, 1, 28, 28], R.key(11), { numSteps: 5 });
      return toFloat32(x0);
    });
    check('mnist/sampleLoop', images);
  });

  afterAll(() => {
    if (writing) writeFileSync(fixture, `${JSON.stringify(got, null, 2)}\n`);
  });
});
