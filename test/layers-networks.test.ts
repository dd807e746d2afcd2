/**
 * The two reference networks: parameter counts, state-dict names and shapes line by line against
 * PyTorch's lists (test/fixtures/keys-*.txt), forward shapes, configs.
 */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as O from '../src/ops/index.ts';
import * as R from '../src/tensor/random.ts';
import { type Tensor, toArray } from '../src/tensor/tensor.ts';
import { flattenTree } from '../src/grad/tree.ts';
import * as L from '../src/layers/index.ts';

/** "name shape dtype" lines as PyTorch printed them (shape 32x1x3x3, or "scalar"). */
const fixture = (file: string): string[] =>
  readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

const showShape = (shape: readonly number[]): string => (shape.length === 0 ? 'scalar' : shape.join('x'));

const specLines = (entries: [string, L.LeafSpec][]): string[] =>
  entries.map(([name, s]) => (L.isTensorSpec(s) ? `${name} ${showShape(s.shape)} float32` : `${name} scalar int64`));

const stateDictLines = (entries: L.StateDictEntry[]): string[] =>
  entries.map(([name, v]) => (L.isInt64(v) ? `${name} scalar int64` : `${name} ${showShape((v as Tensor).shape)} float32`));

describe('mnist32 U-Net', () => {
  const params = L.initUnet(R.key(0), L.mnist32);

  it('has exactly 2,835,329 parameters', () => {
    expect(L.countParams(params)).toBe(2_835_329);
    expect(L.specParamCount(L.unetSpec(L.mnist32))).toBe(2_835_329);
  });

  it('state dict: names, shapes and order of keys-mnist32.txt, line by line', () => {
    const lines = stateDictLines(L.stateDict(params));
    const expected = fixture('keys-mnist32.txt');
    expect(lines.length).toBe(173);
    lines.forEach((l, i) => expect(l, `line ${i + 1}`).toBe(expected[i]));
    expect(lines).toEqual(expected);
  });

  it('flattenTree(params) gives the same names (the state dict has no buffers)', () => {
    expect(flattenTree(params).map(([n]) => n)).toEqual(L.stateDict(params).map(([n]) => n));
  });

  it('maps [1, 1, 28, 28] to the same shape (batch 1 forward on the current backend)', () => {
    const x = O.normal(R.key(1), [1, 1, 28, 28]);
    const t0 = performance.now();
    const y = L.unet(params, L.mnist32, x, O.tensor([500]));
    const ms = performance.now() - t0;
    console.log(`mnist32 forward, batch 1: ${ms.toFixed(0)} ms`);
    expect(y.shape).toEqual([1, 1, 28, 28]);
    expect(toArray(y).every(Number.isFinite)).toBe(true);
  });

  it('refuses x with the wrong channel count or a t of the wrong batch', () => {
    expect(() => L.unet(params, L.mnist32, O.zeros([1, 3, 28, 28]), O.tensor([1]))).toThrow(/expected x \[B, 1, H, W\]/);
    expect(() => L.unet(params, L.mnist32, O.zeros([2, 1, 28, 28]), O.tensor([1]))).toThrow(/t \[B\]/);
  });
});

describe('mnist64 U-Net', () => {
  it('has exactly 11,286,273 parameters (counted from the spec, no tensors made)', () => {
    expect(L.specParamCount(L.unetSpec(L.mnist64))).toBe(11_286_273);
  });

  it('doubles every width of mnist32 (names unchanged)', () => {
    const [a, b] = [L.mnist32, L.mnist64].map((c) => L.specStateDict(L.unetSpec(c)));
    expect(b.map(([n]) => n)).toEqual(a.map(([n]) => n));
    expect(b.find(([n]) => n === 'down_blocks.2.1.conv2.weight')?.[1]).toMatchObject({ shape: [256, 256, 3, 3] });
    expect(b.find(([n]) => n === 'time_mlp.0.weight')?.[1]).toMatchObject({ shape: [256, 128] });
  });
});

describe('tiny U-Net', () => {
  const params = L.initUnet(R.key(0), L.tiny);

  it('keeps the input shape at 32×32, batch 2', () => {
    expect(L.unet(params, L.tiny, O.normal(R.key(1), [2, 1, 32, 32]), O.tensor([0, 999])).shape).toEqual([2, 1, 32, 32]);
  });

  it('with attention at a level: attention after each ResBlock there, named down_attns / up_attns', () => {
    const cfg = { ...L.tiny, attentionLevels: [1] };
    const p = L.initUnet(R.key(0), cfg);
    const names = flattenTree(p).map(([n]) => n);
    expect(names).toContain('down_attns.1.0.qkv.weight');
    expect(names).toContain('up_attns.0.0.out.bias'); // up level 0 works at level 1
    expect(names.some((n) => n.startsWith('down_attns.0'))).toBe(false);
    expect(L.unet(p, cfg, O.normal(R.key(1), [1, 1, 16, 16]), O.tensor([3])).shape).toEqual([1, 1, 16, 16]);
  });

  it('with classes: a table added to the time embedding; labels change the output', () => {
    const cfg = { ...L.tiny, numClasses: 10 };
    const p = L.initUnet(R.key(0), cfg);
    expect(p.class_emb?.weight.shape).toEqual([11, 32]); // ten classes and the null class
    const x = O.normal(R.key(1), [2, 1, 8, 8]);
    const t = O.tensor([5, 5]);
    const a = toArray(L.unet(p, cfg, x, t, { labels: O.tensor([1, 2]) }));
    const b = toArray(L.unet(p, cfg, x, t, { labels: O.tensor([7, 2]) }));
    expect(a.slice(0, 64)).not.toEqual(b.slice(0, 64));
    expect(a.slice(64)).toEqual(b.slice(64));
    expect(() => L.unet(params, L.tiny, x, t, { labels: O.tensor([1, 2]) })).toThrow(/numClasses = 0/);
  });

  it('each layer gets its own split key: a block equals initResBlock with the key the tree gives it', () => {
    const key = R.key(9);
    const p = L.initUnet(key, L.tiny);
    // top-level members: time_mlp, init_conv, down_blocks, … (13 without attention levels or classes)
    const top = R.split(key, Object.keys(p).length);
    const level0 = R.split(R.split(top[2], 2)[0], 1)[0];
    const block = L.initResBlock(level0, { inChannels: 16, outChannels: 16, timeDim: 32, groups: 8 });
    expect(toArray(p.down_blocks[0][0].conv1.weight)).toEqual(toArray(block.conv1.weight));
  });
});

describe('UnetConfig', () => {
  it('accepts the presets', () => {
    for (const c of [L.mnist32, L.mnist64, L.tiny]) expect(L.UnetConfig.is(c)).toBe(true);
  });

  it('decodes overrides of mnist32', () => {
    expect(L.decodeUnetConfig({})).toEqual(E.right(L.mnist32));
    expect(L.decodeUnetConfig({ baseChannels: 64, timeDim: 256 })).toEqual(E.right(L.mnist64));
  });

  const failure = (u: unknown): string => {
    const r = L.decodeUnetConfig(u);
    if (E.isRight(r)) throw new Error('expected a failure');
    return r.left.message;
  };

  it('refuses unknown fields, wrong types and widths the groups or heads do not divide', () => {
    expect(failure({ blocksPerLvl: 3 })).toMatch(/unknown field "blocksPerLvl"/);
    expect(failure({ baseChannels: 0 })).toMatch(/positive integer/);
    expect(failure({ baseChannels: 12 })).toMatch(/divisible by groups = 8 \(got 12\)/);
    expect(failure({ heads: 3 })).toMatch(/divisible by heads = 3 \(got 128\)/);
    expect(failure({ attentionLevels: [3] })).toMatch(/attentionLevels/);
    expect(failure({ sinusoidalDim: 7 })).toMatch(/sinusoidalDim must be even/);
    expect(failure({ channelMults: [] })).toMatch(/at least one level/);
  });
});

describe('seed SimpleUnet', () => {
  it('has exactly 62,437,601 trainable parameters (batch-norm buffers excluded)', () => {
    expect(L.specParamCount(L.simpleUnetSpec(L.seed))).toBe(62_437_601);
  });

  it('state dict: names, shapes, order and int64 counters of keys-seed.txt, line by line', () => {
    const lines = specLines(L.specStateDict(L.simpleUnetSpec(L.seed), L.simpleUnetStateSpec(L.seed)));
    const expected = fixture('keys-seed.txt');
    expect(lines.length).toBe(150);
    lines.forEach((l, i) => expect(l, `line ${i + 1}`).toBe(expected[i]));
  });

  it('stateDict of real params and state merges them in the same order (seed-shaped small net)', () => {
    const params = L.initSimpleUnet(R.key(0), L.seedTiny);
    const state = L.initSimpleUnetState(L.seedTiny);
    const fromTensors = L.stateDict(params, state);
    const fromSpec = L.specStateDict(L.simpleUnetSpec(L.seedTiny), L.simpleUnetStateSpec(L.seedTiny));
    expect(stateDictLines(fromTensors)).toEqual(specLines(fromSpec));
    expect(fromTensors[14]).toEqual(['downs.0.bn1.running_mean', state.downs[0].bn1.running_mean]);
    expect(fromTensors[16]).toEqual(['downs.0.bn1.num_batches_tracked', { int64: 0 }]);
    // trainable params exclude the buffers
    expect(flattenTree(params).some(([n]) => n.includes('running'))).toBe(false);
  });

  describe('forward of the seed-shaped small net (widths 8 … 128)', () => {
    const cfg = L.seedTiny;
    const params = L.initSimpleUnet(R.key(0), cfg);
    const state = L.initSimpleUnetState(cfg);
    const x = O.normal(R.key(1), [2, 1, 32, 32]);
    const t = O.tensor([3, 250]);

    it('training: output shape of the input, every counter advanced, running statistics moved', () => {
      const r = L.simpleUnet(params, state, cfg, x, t, { training: true });
      expect(r.y.shape).toEqual([2, 1, 32, 32]);
      const counters = L.stateDict(params, r.state).filter(([, v]) => L.isInt64(v));
      expect(counters.length).toBe(16);
      expect(counters.every(([, v]) => (v as L.Int64).int64 === 1)).toBe(true);
      expect(toArray(r.state.downs[0].bn1.running_mean)).not.toEqual(toArray(state.downs[0].bn1.running_mean));
      expect(r.state.ups[3].bn2.running_var.shape).toEqual([8]);
    });

    it('eval: output shape of the input, state returned as it was', () => {
      const r = L.simpleUnet(params, state, cfg, x, t, { training: false });
      expect(r.y.shape).toEqual([2, 1, 32, 32]);
      expect(r.state).toBe(state);
      expect(toArray(r.y).every(Number.isFinite)).toBe(true);
    });
  });

  it('SimpleUnetConfig refuses a single width and an odd timeDim', () => {
    expect(E.isLeft(L.decodeSimpleUnetConfig({ downChannels: [8] }))).toBe(true);
    expect(E.isLeft(L.decodeSimpleUnetConfig({ timeDim: 33 }))).toBe(true);
    expect(L.decodeSimpleUnetConfig({ downChannels: [8, 16, 32, 64, 128] })).toEqual(E.right(L.seedTiny));
  });
});
