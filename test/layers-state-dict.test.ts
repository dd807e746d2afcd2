/** Checkpoints by PyTorch names: round trips, and refusals that name the tensor and both shapes. */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as O from '../src/ops/index.ts';
import * as R from '../src/tensor/random.ts';
import { flattenTree } from '../src/grad/tree.ts';
import * as L from '../src/layers/index.ts';

const leftOf = <A>(r: E.Either<L.StateDictError, A>): L.StateDictError => {
  if (E.isRight(r)) throw new Error('expected the state dict to be refused');
  return r.left;
};

describe('U-Net state dict', () => {
  const params = L.initUnet(R.key(0), L.tiny);
  const entries = L.stateDict(params);

  it('round trip: loading its own state dict gives the same tensors in the same tree', () => {
    const r = L.loadUnetStateDict(entries, L.tiny);
    if (E.isLeft(r)) throw r.left;
    expect(flattenTree(r.right.params)).toEqual(flattenTree(params));
    expect(r.right.state).toEqual({});
  });

  it('loads entries in any order', () => {
    expect(E.isRight(L.loadUnetStateDict([...entries].reverse(), L.tiny))).toBe(true);
  });

  it('refuses a missing tensor, naming it and the shape it needs', () => {
    const e = leftOf(L.loadUnetStateDict(entries.filter(([n]) => n !== 'mid_attn.qkv.weight'), L.tiny));
    expect(e).toBeInstanceOf(L.StateDictError);
    expect(e.message).toContain('missing tensor "mid_attn.qkv.weight" (expected shape [96, 32, 1, 1])');
    expect(e.problems).toEqual([{ kind: 'missing', name: 'mid_attn.qkv.weight', expected: 'shape [96, 32, 1, 1]' }]);
  });

  it('refuses an extra tensor (e.g. a qkv bias the reference does not have)', () => {
    const e = leftOf(L.loadUnetStateDict([...entries, ['mid_attn.qkv.bias', O.zeros([96])]], L.tiny));
    expect(e.message).toContain('unexpected tensor "mid_attn.qkv.bias" (shape [96])');
  });

  it('refuses a wrong shape, giving the name, the expected and the given shape', () => {
    const swapped = entries.map(([n, v]): L.StateDictEntry => (n === 'up_blocks.0.0.conv1.weight' ? [n, O.zeros([32, 32, 3, 3])] : [n, v]));
    const e = leftOf(L.loadUnetStateDict(swapped, L.tiny));
    expect(e.message).toContain('tensor "up_blocks.0.0.conv1.weight": expected shape [32, 64, 3, 3], got shape [32, 32, 3, 3]');
  });

  it('refuses a conv weight in the transposed layout', () => {
    const w = O.zeros([16, 1, 3, 3]); // init_conv is [out 16, in 1, 3, 3]
    const e = leftOf(L.loadUnetStateDict(entries.map(([n, v]) => (n === 'init_conv.weight' ? [n, O.reshape(w, [1, 16, 3, 3])] : [n, v])), L.tiny));
    expect(e.problems[0]).toMatchObject({ kind: 'mismatch', name: 'init_conv.weight' });
  });

  it('refuses a name given twice, and lists every problem at once', () => {
    const e = leftOf(L.loadUnetStateDict([...entries.slice(1), entries[1], ['extra', O.zeros([1])]], L.tiny));
    expect(e.problems.map((p) => p.kind).sort()).toEqual(['duplicate', 'missing', 'unexpected']);
  });

  it('refuses a checkpoint of another config', () => {
    const e = leftOf(L.loadUnetStateDict(entries, L.mnist32));
    expect(e.problems.length).toBeGreaterThan(10);
    expect(e.message).toMatch(/… and \d+ more$/);
  });
});

describe('SimpleUnet state dict (seed-shaped small net)', () => {
  const cfg = L.seedTiny;
  const params = L.initSimpleUnet(R.key(0), cfg);
  const trained = L.simpleUnet(params, L.initSimpleUnetState(cfg), cfg, O.normal(R.key(1), [2, 1, 32, 32]), O.tensor([1, 2]), { training: true }).state;
  const entries = L.stateDict(params, trained);

  it('round trip keeps params, running statistics and counters apart', () => {
    const r = L.loadSimpleUnetStateDict(entries, cfg);
    if (E.isLeft(r)) throw r.left;
    expect(flattenTree(r.right.params)).toEqual(flattenTree(params));
    expect(flattenTree(r.right.state)).toEqual(flattenTree(trained));
    expect(r.right.state.ups[2].bn1.num_batches_tracked).toBe(1);
    expect(L.stateDict(r.right.params, r.right.state)).toEqual(entries);
  });

  it('refuses a float tensor where an int64 counter belongs, and the reverse', () => {
    const name = 'downs.1.bn2.num_batches_tracked';
    const e = leftOf(L.loadSimpleUnetStateDict(entries.map(([n, v]) => (n === name ? [n, O.zeros([])] : [n, v])), cfg));
    expect(e.message).toContain(`tensor "${name}": expected an int64 scalar, got shape []`);
    const f = leftOf(L.loadSimpleUnetStateDict(entries.map(([n, v]) => (n === 'output.bias' ? [n, { int64: 3 }] : [n, v])), cfg));
    expect(f.message).toContain('tensor "output.bias": expected shape [1], got an int64 scalar');
  });

  it('refuses a state dict without the batch-norm buffers', () => {
    const e = leftOf(L.loadSimpleUnetStateDict(L.stateDict(params), cfg));
    expect(e.problems.length).toBe(8 * 2 * 3);
    expect(e.problems.every((p) => p.kind === 'missing' && /running_mean|running_var|num_batches_tracked/.test(p.name))).toBe(true);
  });
});
