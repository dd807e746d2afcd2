/**
 * Laws over random small network configs: the spec and the params agree (names, shapes, count),
 * a state dict loads back to the same trees, the config codec accepts what it describes, and the
 * forward pass keeps the input's shape.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as O from '../src/ops/index.ts';
import * as R from '../src/tensor/random.ts';
import { flattenTree } from '../src/grad/tree.ts';
import * as L from '../src/layers/index.ts';

const shapes = (entries: readonly L.StateDictEntry[]) =>
  entries.map(([n, v]) => [n, L.isInt64(v) ? 'int64' : v.shape.join('x')]);
const specShapes = (entries: [string, L.LeafSpec][]) =>
  entries.map(([n, s]) => [n, L.isTensorSpec(s) ? s.shape.join('x') : 'int64']);

/** Small valid U-Net configs: widths multiples of 4 so groups ∈ {1, 2, 4} and heads ∈ {1, 2} divide them. */
const unetConfig: fc.Arbitrary<L.UnetConfig> = fc.record({
  baseChannels: fc.constantFrom(4, 8),
  channelMults: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
  blocksPerLevel: fc.integer({ min: 1, max: 2 }),
  groups: fc.constantFrom(1, 2, 4),
  heads: fc.constantFrom(1, 2),
  sinusoidalDim: fc.constantFrom(4, 8),
  timeDim: fc.constantFrom(4, 6),
  numClasses: fc.constantFrom(0, 3),
  inChannels: fc.integer({ min: 1, max: 2 }),
  attentionMask: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
}).map(({ attentionMask, ...c }) => ({
  ...c,
  attentionLevels: c.channelMults.map((_, i) => i).filter((i) => attentionMask[i]),
}));

const simpleUnetConfig: fc.Arbitrary<L.SimpleUnetConfig> = fc.record({
  inChannels: fc.integer({ min: 1, max: 3 }),
  outChannels: fc.integer({ min: 1, max: 3 }),
  downChannels: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 4 }),
  timeDim: fc.constantFrom(4, 8),
});

describe('U-Net family', () => {
  it('the codec accepts every generated config and round-trips it', () => {
    fc.assert(fc.property(unetConfig, (cfg) => {
      expect(L.UnetConfig.is(cfg)).toBe(true);
      expect(L.decodeUnetConfig(L.UnetConfig.encode(cfg))).toEqual(E.right(cfg));
    }), { numRuns: 50 });
  });

  it('params match the spec; the state dict loads back to the same params; the output has the input shape', () => {
    fc.assert(fc.property(unetConfig, fc.nat(), (cfg, seed) => {
      const p = L.initUnet(R.key(seed), cfg);
      const spec = L.unetSpec(cfg);
      const entries = L.stateDict(p);
      expect(shapes(entries)).toEqual(specShapes(L.specStateDict(spec)));
      expect(L.countParams(p)).toBe(L.specParamCount(spec));
      expect(entries.map(([n]) => n)).toEqual(flattenTree(p).map(([n]) => n));
      const back = L.loadUnetStateDict(entries, cfg);
      expect(E.isRight(back) && flattenTree(back.right.params)).toEqual(flattenTree(p));
      const side = 2 ** (cfg.channelMults.length - 1) * 2;
      const x = O.normal(R.key(seed + 1), [2, cfg.inChannels, side, side]);
      const labels = cfg.numClasses > 0 ? { labels: O.tensor([0, cfg.numClasses]) } : {}; // a class and the null class
      expect(L.unet(p, cfg, x, O.tensor([0, 7]), labels).shape).toEqual(x.shape);
    }), { numRuns: 15 });
  });
});

describe('SimpleUnet family', () => {
  it('params and state match the spec; a trained state round-trips; the output has the input shape', () => {
    fc.assert(fc.property(simpleUnetConfig, fc.nat(), (cfg, seed) => {
      expect(L.SimpleUnetConfig.is(cfg)).toBe(true);
      const p = L.initSimpleUnet(R.key(seed), cfg);
      const side = 2 ** (cfg.downChannels.length - 1);
      const x = O.normal(R.key(seed + 1), [2, cfg.inChannels, side, side]);
      const { y, state } = L.simpleUnet(p, L.initSimpleUnetState(cfg), cfg, x, O.tensor([1, 2]), { training: true });
      expect(y.shape).toEqual([2, cfg.outChannels, side, side]);
      const entries = L.stateDict(p, state);
      expect(shapes(entries)).toEqual(specShapes(L.specStateDict(L.simpleUnetSpec(cfg), L.simpleUnetStateSpec(cfg))));
      const back = L.loadSimpleUnetStateDict(entries, cfg);
      if (E.isLeft(back)) throw back.left;
      expect(L.stateDict(back.right.params, back.right.state)).toEqual(entries);
    }), { numRuns: 15 });
  });
});
