/** Checkpoints round-trip exactly, carry PyTorch's names (int64 counters included) and refuse files that do not fit the network. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as R from '../src/tensor/random.ts';
import { isTensor, toArray } from '../src/tensor/tensor.ts';
import { flattenTree } from '../src/grad/tree.ts';
import { adam } from '../src/grad/optim.ts';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.ts';
import { namedNetworks, network } from '../src/train/network.ts';
import { presets } from '../src/train/config.ts';
import { entriesToSafetensors, loadCheckpoint, loadWeights, saveCheckpoint } from '../src/train/checkpoint.ts';

const sameTree = (a: unknown, b: unknown): void => {
  const fa = flattenTree(a);
  const fb = flattenTree(b);
  expect(fa.map(([n]) => n)).toEqual(fb.map(([n]) => n));
  fa.forEach(([n, t], i) => expect(toArray(fb[i][1]), n).toEqual(toArray(t)));
};

describe('checkpoints', () => {
  for (const name of ['tiny', 'seedTiny']) {
    it(`${name}: save then load gives back weights, EMA, optimizer moments and run state`, async () => {
      const net = network(namedNetworks[name]);
      const weights = net.init(R.key(1));
      const ema = net.init(R.key(2));
      const opt = adam({ lr: 1e-3 });
      const os = opt.init(weights.params);
      const dir = mkdtempSync(join(tmpdir(), 'ck-'));
      const config = { ...presets.tiny, network: namedNetworks[name], out: dir };
      const state = { step: 7, optimizerStep: 7, key: R.keyToJSON(R.key(0)), elapsedSec: 1.5, losses: [1, 0.5] };
      await saveCheckpoint(dir, net, { config, weights, ema, moments: { m: os.m, v: os.v }, state });
      const back = await loadCheckpoint(dir, (c) => network(c.network));
      expect(back.config).toEqual(config);
      expect(back.state).toEqual(state);
      sameTree(back.weights.params, weights.params);
      sameTree(back.ema?.params, ema.params);
      sameTree(back.moments?.m, os.m);
      if (name === 'seedTiny') {
        const counters = flattenTree(back.weights.state).length; // running statistics are tensors …
        expect(counters).toBeGreaterThan(0);
        const text = JSON.stringify(back.weights.state, (_, v: unknown) => (isTensor(v) ? undefined : v)); // … the counters plain integers
        expect(text).toContain('"num_batches_tracked":0');
      }
    });
  }

  it('the weights file holds exactly the PyTorch names, with num_batches_tracked as int64 scalars', () => {
    const net = network(namedNetworks.seedTiny);
    const bytes = encodeSafetensors(entriesToSafetensors(net.stateDict(net.init(R.key(0)))));
    const decoded = decodeSafetensors(bytes);
    if (E.isLeft(decoded)) throw decoded.left;
    const bn = decoded.right.tensors['downs.0.bn1.num_batches_tracked'];
    expect(bn.dtype).toBe('I64');
    expect(bn.shape).toEqual([]);
    expect(decoded.right.tensors['downs.0.transform.weight'].shape).toEqual([16, 16, 4, 4]);
  });

  it('a weights file for another network is refused naming the tensor and both shapes', () => {
    const tiny = network(namedNetworks.tiny);
    const other = network({ kind: 'unet', unet: { ...(namedNetworks.tiny as { unet: object }).unet, baseChannels: 8 } as never });
    const bytes = encodeSafetensors(entriesToSafetensors(other.stateDict(other.init(R.key(0)))));
    const r = loadWeights(tiny, bytes, 'x.safetensors');
    expect(E.isLeft(r) && r.left.message).toMatch(/x\.safetensors: .*init_conv\.weight.*\[16, 1, 3, 3\].*\[8, 1, 3, 3\]/s);
  });

  it('a damaged file is refused with a clear error, not a crash', async () => {
    const net = network(namedNetworks.tiny);
    const dir = mkdtempSync(join(tmpdir(), 'ck-'));
    const state = { step: 1, optimizerStep: 1, key: R.keyToJSON(R.key(0)), elapsedSec: 0, losses: [1] };
    const ckDir = await saveCheckpoint(dir, net, { config: { ...presets.tiny, out: dir }, weights: net.init(R.key(0)), ema: null, moments: null, state });
    const file = join(ckDir, 'model.safetensors');
    writeFileSync(file, readFileSync(file).subarray(0, 100));
    await expect(loadCheckpoint(dir, (c) => network(c.network))).rejects.toThrow(/model\.safetensors: safetensors: /);
  });
});
