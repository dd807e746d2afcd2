/** The pure training step for each objective: repeated steps on one batch drive its loss down, and the step is deterministic. */
import { describe, expect, it } from 'vitest';
import * as O from '../src/ops/index.ts';
import * as R from '../src/tensor/random.ts';
import { disposeTree, tidy, toArray, treeTensors } from '../src/tensor/tensor.ts';
import { adam } from '../src/grad/optim.ts';
import { scheduleFromConfig } from '../src/ddpm/schedule.ts';
import { namedNetworks, network } from '../src/train/network.ts';
import { trainStep } from '../src/train/step.ts';

const net = network({ kind: 'unet', unet: { ...(namedNetworks.tiny as { unet: object }).unet, baseChannels: 8, attentionLevels: [] } as never });
const schedule = scheduleFromConfig({ kind: 'cosine', T: 100 });
const x0 = O.uniform(R.key(3), [4, 1, 8, 8], -1, 1);

const run = (objective: 'eps' | 'x0' | 'v', minSnr: number, steps: number): number[] => {
  const opt = adam({ lr: 3e-3 });
  let weights = net.init(R.key(1));
  let state = opt.init(weights.params);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    // the same t and noise every step (key fixed), so the loss of this one draw must fall
    const r = tidy(() => trainStep(net, schedule, opt, weights, state, x0, R.key(9), { objective, minSnr }));
    losses.push(toArray(r.loss)[0]);
    const live = new Set(treeTensors([r.weights, r.optState]));
    disposeTree(treeTensors([weights, state]).filter((t) => !live.has(t)));
    weights = r.weights;
    state = r.optState;
  }
  return losses;
};

describe('trainStep', () => {
  for (const [objective, minSnr] of [['eps', 0], ['x0', 0], ['v', 0], ['eps', 5], ['v', 5]] as const) {
    it(`${objective}${minSnr ? ` with min-SNR-${minSnr}` : ''}: the loss of a fixed draw falls`, () => {
      const losses = run(objective, minSnr, 25);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.7);
    });
  }

  it('is deterministic: same inputs and key, same loss sequence', () => {
    expect(run('v', 5, 3)).toEqual(run('v', 5, 3));
  });
});

describe('class conditioning', () => {
  it('dropLabels replaces each label by the null class with probability p, deterministically from the key', async () => {
    const { dropLabels } = await import('../src/train/data.ts');
    const labels = Float32Array.from({ length: 20000 }, (_, i) => i % 10);
    const dropped = dropLabels(labels, R.key(4), 0.1, 10);
    const nulls = dropped.filter((l) => l === 10).length;
    expect(Math.abs(nulls - 2000)).toBeLessThan(6 * Math.sqrt(20000 * 0.1 * 0.9));
    dropped.forEach((l, i) => expect(l === 10 || l === labels[i]).toBe(true));
    expect(dropLabels(labels, R.key(4), 0.1, 10)).toEqual(dropped);
    expect(dropLabels(labels, R.key(4), 0, 10)).toEqual(labels);
  });

  it('a conditional step uses the labels: different labels, different losses', () => {
    const cond = network({ kind: 'unet', unet: { ...(namedNetworks.tiny as { unet: object }).unet, baseChannels: 8, attentionLevels: [], numClasses: 10 } as never });
    const opt = adam({ lr: 1e-3 });
    const w = cond.init(R.key(1));
    const s = opt.init(w.params);
    const loss = (labels: number[]) => tidy(() => toArray(trainStep(cond, schedule, opt, w, s, x0, R.key(9), { labels: O.tensor(labels) }).loss)[0]);
    expect(loss([1, 2, 3, 10])).not.toBe(loss([4, 5, 6, 10]));
    expect(loss([1, 2, 3, 10])).toBe(loss([1, 2, 3, 10]));
  });
});
