/**
 * The yardstick classifier: its layout and PyTorch names, its weights file (round trip, clear
 * refusals), the shipped weights' accuracy on MNIST, and the class-conditional evaluation built on it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as R from '../src/tensor/random.ts';
import { toArray, toFloat32 } from '../src/tensor/tensor.ts';
import { tensor } from '../src/ops/create.ts';
import { flattenTree } from '../src/grad/tree.ts';
import { encodeSafetensors } from '../src/io/safetensors.ts';
import { encodePng, makeGrid } from '../src/io/image.ts';
import { loadMnist } from '../src/io/mnist.ts';
import * as L from '../src/layers/index.ts';
import { scaleImages } from '../src/train/data.ts';
import { namedNetworks, network } from '../src/train/network.ts';
import { entriesToSafetensors } from '../src/train/checkpoint.ts';
import { scheduleFromConfig } from '../src/ddpm/schedule.ts';
import { ddimSampler, runSampler } from '../src/ddpm/samplers/index.ts';
import { guidedModel } from '../src/ddpm/guidance.ts';
import { randomShift } from '../src/eval/classifier-train.ts';
import {
  accuracyByClass, type Classifier, classify, decodeClassifier, encodeClassifier, loadClassifier, saveClassifier, shippedClassifiers,
} from '../src/eval/classify.ts';
import { formatClassTable, rowLabels, sampleByClass, scoreByClass } from '../src/eval/cond-eval.ts';
import { gridCells } from '../src/eval/grid-cells.ts';

const cfg = L.mnistClassifier;
const fresh = (seed = 0): Classifier => ({ config: cfg, params: L.initClassifier(R.key(seed), cfg) });

const mnistTest = async (n: number) => {
  const ds = await loadMnist('test')();
  if (E.isLeft(ds)) throw ds.left;
  const scaled = scaleImages(ds.right, 28);
  return { pixels: scaled.pixels.subarray(0, n * 784), labels: scaled.labels.subarray(0, n) };
};

const leftMessage = <A>(e: E.Either<Error, A>): string => {
  if (E.isRight(e)) throw new Error('expected a refusal');
  return e.left.message;
};

describe('classifier layer', () => {
  it('has PyTorch names and shapes, 55,338 parameters, and maps [B, 1, 28, 28] to logits [B, 10]', () => {
    const { params } = fresh();
    const shapes = L.stateDict(params).map(([name, v]) => [name, (v as { shape: readonly number[] }).shape]);
    expect(shapes).toEqual([
      ['convs.0.weight', [16, 1, 3, 3]], ['convs.0.bias', [16]],
      ['convs.1.weight', [32, 16, 3, 3]], ['convs.1.bias', [32]],
      ['fc.weight', [32, 32 * 7 * 7]], ['fc.bias', [32]],
      ['head.weight', [10, 32]], ['head.bias', [10]],
    ]);
    expect(L.countParams(params)).toBe(55_338);
    expect(L.specParamCount(L.classifierSpec(cfg))).toBe(55_338);
    const x = tensor(R.normal(R.key(1), 3 * 784), [3, 1, 28, 28]);
    expect(L.classifier(params, cfg, x).shape).toEqual([3, 10]);
  });

  it('throws a ShapeError that shows the input shape', () => {
    const { params } = fresh();
    expect(() => L.classifier(params, cfg, tensor(new Float32Array(2 * 32 * 32), [2, 1, 32, 32]))).toThrow(/expected images \[B, 1, 28, 28\] \(shapes \[2, 1, 32, 32\]\)/);
  });

  it('config codec refuses unknown fields and sizes pooled to nothing', () => {
    expect(leftMessage(L.decodeClassifierConfig({ hiden: 64 }))).toMatch(/unknown field "hiden"/);
    expect(leftMessage(L.decodeClassifierConfig({ imageSize: 4, channels: [8, 8, 8] }))).toMatch(/imageSize/);
    const ok = L.decodeClassifierConfig({ hidden: 64 });
    expect(E.isRight(ok) && ok.right.hidden).toBe(64);
  });
});

describe('classifier weights file', () => {
  it('save then load gives back the config and the exact params, and the same predictions', async () => {
    const clf = fresh(3);
    const path = join(mkdtempSync(join(tmpdir(), 'clf-')), 'c.safetensors');
    const saved = await saveClassifier(path, clf, { note: 'test' })();
    expect(E.isRight(saved)).toBe(true);
    const back = await loadClassifier(path)();
    if (E.isLeft(back)) throw back.left;
    expect(back.right.config).toEqual(cfg);
    const a = flattenTree(clf.params);
    const b = flattenTree(back.right.params);
    expect(b.map(([n]) => n)).toEqual(a.map(([n]) => n));
    a.forEach(([n, t], i) => expect(toArray(b[i][1]), n).toEqual(toArray(t)));
    const x = R.uniform(R.key(4), 5 * 784, -1, 1);
    expect(classify(back.right, x).probs).toEqual(classify(clf, x).probs);
  });

  it('a diffusion checkpoint is refused with the names that do not fit', () => {
    const net = network(namedNetworks.tiny);
    const bytes = encodeSafetensors(entriesToSafetensors(net.stateDict(net.init(R.key(0)))));
    const msg = leftMessage(decodeClassifier(bytes, 'unet.safetensors'));
    expect(msg).toMatch(/^unet\.safetensors: not a classifier/);
    expect(msg).toContain('missing tensor "convs.0.weight"');
    expect(msg).toContain('no "classifier_config" in its metadata');
  });

  it('a wrong shape, a bad config, a non-safetensors file and a missing file each say what is wrong', async () => {
    const clf = fresh();
    const wide = { config: { ...cfg, hidden: 64 }, params: L.initClassifier(R.key(0), { ...cfg, hidden: 64 }) };
    const lying = encodeSafetensors(entriesToSafetensors(L.stateDict(wide.params)), { classifier_config: JSON.stringify(cfg) });
    expect(leftMessage(decodeClassifier(lying, 'w.safetensors'))).toMatch(/tensor "fc\.weight": expected shape \[32, 1568\], got shape \[64, 1568\]/);
    const badConfig = encodeSafetensors(entriesToSafetensors(L.stateDict(clf.params)), { classifier_config: '{"channels": []}' });
    expect(leftMessage(decodeClassifier(badConfig, 'w.safetensors'))).toMatch(/classifier_config.*at least one conv stage/);
    expect(leftMessage(decodeClassifier(new TextEncoder().encode('not a file'), 'junk.bin'))).toMatch(/^junk\.bin: /);
    const missing = await loadClassifier('/nonexistent/c.safetensors')();
    expect(leftMessage(missing)).toMatch(/\/nonexistent\/c\.safetensors: .*no such file/);
    // and the file carries its config
    expect(E.isRight(decodeClassifier(encodeClassifier(wide), 'w'))).toBe(true);
  });

  it('the shipped MNIST classifier reads at least 97% of the first 500 test digits correctly', async () => {
    const clf = await loadClassifier(shippedClassifiers.mnist)();
    if (E.isLeft(clf)) throw clf.left;
    const { pixels, labels } = await mnistTest(500);
    const { labels: predicted } = classify(clf.right, pixels);
    const table = accuracyByClass(predicted, labels, 10);
    expect(table.count).toBe(500);
    expect(table.accuracy).toBeGreaterThanOrEqual(0.97);
  });
});

describe('scripts/train-classifier.ts', () => {
  it('writes weights that load and a JSON with the config, the test accuracy and the command', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'train-clf-')), 'c.safetensors');
    const r = spawnSync(join('node_modules', '.bin', 'tsx'), ['scripts/train-classifier.ts', '--train-steps', '40', '--batch', '32', '--out', out], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/test accuracy \d+\.\d\d% \(\d+\/10000\)/);
    const clf = await loadClassifier(out)();
    expect(E.isRight(clf) && clf.right.config).toEqual(cfg);
    const info = JSON.parse(readFileSync(out.replace(/\.safetensors$/, '.json'), 'utf8')) as Record<string, unknown>;
    expect(info).toMatchObject({ dataset: 'mnist', config: cfg, parameters: 55_338, testImages: 10_000, training: { steps: 40, batch: 32 } });
    expect(info.testAccuracy).toBeGreaterThan(0.3); // 40 steps already beat chance (0.1) by far
    expect(info.command).toBe(`npx tsx scripts/train-classifier.ts --train-steps 40 --batch 32 --out ${out}`);
  });

  it('refuses an unknown dataset', () => {
    const r = spawnSync(join('node_modules', '.bin', 'tsx'), ['scripts/train-classifier.ts', '--dataset', 'cifar'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('train-classifier: --dataset: expected mnist or fashion-mnist, got "cifar"\n');
  });
});

describe('scoring helpers', () => {
  it('accuracyByClass counts per requested class, with the mean probability of the requested class', () => {
    const probs = Float32Array.from([0.9, 0.1, 0, 0.2, 0.8, 0, 0.3, 0.6, 0.1, 0, 0, 1]);
    const t = accuracyByClass([0, 1, 1, 2], [0, 0, 1, 2], 3, probs);
    expect(t.rows.map((r) => [r.count, r.recognised, r.predicted])).toEqual([[2, 1, [1, 1, 0]], [1, 1, [0, 1, 0]], [1, 1, [0, 0, 1]]]);
    expect(t.rows[0].meanConfidence).toBeCloseTo((0.9 + 0.2) / 2, 6);
    expect(t.rows[1].meanConfidence).toBeCloseTo(0.6, 6);
    expect([t.count, t.recognised, t.accuracy]).toEqual([4, 3, 0.75]);
    expect(formatClassTable(t)).toContain('1×1');
    expect(() => accuracyByClass([0, 3], [0, 1], 3)).toThrow(/label 3/);
  });

  it('randomShift moves each image by one offset within ±maxShift and fills with the background', () => {
    const n = 50;
    const size = 9;
    const pixels = new Float32Array(n * size * size).fill(-1);
    for (let i = 0; i < n; i++) pixels[i * size * size + 4 * size + 4] = 1; // a lit centre pixel
    const shifted = randomShift(pixels, size, R.key(7), 2);
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const img = shifted.subarray(i * size * size, (i + 1) * size * size);
      const lit = [...img.keys()].filter((k) => img[k] === 1);
      expect(lit.length).toBe(1);
      expect(img.filter((v) => v === -1).length).toBe(size * size - 1);
      const [dy, dx] = [Math.floor(lit[0] / size) - 4, (lit[0] % size) - 4];
      expect(Math.max(Math.abs(dy), Math.abs(dx))).toBeLessThanOrEqual(2);
      seen.add(`${dy},${dx}`);
    }
    expect(seen.size).toBeGreaterThan(10); // 25 offsets possible: they do vary
    expect(randomShift(pixels, size, R.key(7), 0)).toEqual(pixels);
  });

  it('gridCells takes back the cells makeGrid laid out (up to 8-bit rounding)', () => {
    const images = R.uniform(R.key(2), 6 * 784, -1, 1);
    const grid = makeGrid(images, 6, 1, 28, 28, { nrow: 3 });
    const gray = Float32Array.from({ length: grid.width * grid.height }, (_, i) => grid.data[4 * i] / 127.5 - 1);
    const cells = gridCells({ data: gray, width: grid.width, height: grid.height }, 28);
    expect([cells.rows, cells.columns]).toEqual([2, 3]);
    const worst = cells.images.reduce((m, v, i) => Math.max(m, Math.abs(v - images[i])), 0);
    expect(worst).toBeLessThan(1 / 127.5 + 1e-6);
    expect(() => gridCells({ data: gray, width: grid.width + 1, height: grid.height }, 28)).toThrow(/not a grid/);
  });
});

describe('class-conditional evaluation', () => {
  const condNet = network({ kind: 'unet', unet: { ...L.tiny, numClasses: 10 } });
  const weights = condNet.init(R.key(5));
  const schedule = scheduleFromConfig({ kind: 'cosine', T: 50 });

  it('samples a row per class and tabulates every image exactly once', () => {
    const { images, labels } = sampleByClass(condNet, weights, schedule, 28, R.key(0), { perClass: 2, guidance: 3, sampler: 'ddim', steps: 3 });
    expect(images.length).toBe(20 * 784);
    expect(Array.from(labels)).toEqual(Array.from(rowLabels(10, 2)));
    const { table, classified } = scoreByClass(fresh(), images, labels);
    expect(table.rows.map((r) => r.count)).toEqual(new Array(10).fill(2));
    expect(table.rows.map((r) => r.predicted.reduce((a, b) => a + b, 0))).toEqual(new Array(10).fill(2));
    const recognised = Array.from(classified.labels).filter((p, i) => p === labels[i]).length;
    expect(table.recognised).toBe(recognised);
    expect(table.rows.reduce((a, r) => a + r.recognised, 0)).toBe(recognised);
  });

  it('guidance 1 skips the unconditional half and draws what the guided model with w = 1 draws', () => {
    const opts = { perClass: 1, guidance: 1, sampler: 'ddim' as const, steps: 2 };
    const fast = sampleByClass(condNet, weights, schedule, 28, R.key(1), opts).images;
    const labels = tensor(rowLabels(10, 1));
    const guided = guidedModel((x, t, l) => condNet.apply(weights, x, t, { training: false, labels: l }).y, labels, 10, 1);
    const slow = toFloat32(runSampler(ddimSampler, guided, schedule, [10, 1, 28, 28], R.key(1), { steps: 2, clip: true }));
    const worst = fast.reduce((m, v, i) => Math.max(m, Math.abs(v - slow[i])), 0);
    expect(worst).toBeLessThan(1e-4);
  });

  it('scripts/eval-cond.ts --images scores a grid PNG of real digits, a row per class', async () => {
    const ds = await loadMnist('test')();
    if (E.isLeft(ds)) throw ds.left;
    const scaled = scaleImages(ds.right, 28);
    const perClass = 3;
    const picked: number[] = [];
    for (let c = 0; c < 10; c++) for (let i = 0, k = 0; k < perClass; i++) if (scaled.labels[i] === c) (picked.push(i), k++);
    const images = new Float32Array(picked.length * 784);
    picked.forEach((idx, j) => images.set(scaled.pixels.subarray(idx * 784, (idx + 1) * 784), j * 784));
    const grid = makeGrid(images, picked.length, 1, 28, 28, { nrow: perClass });
    const path = join(mkdtempSync(join(tmpdir(), 'grid-')), 'grid.png');
    writeFileSync(path, await encodePng(grid.data, grid.width, grid.height));
    const r = spawnSync(join('node_modules', '.bin', 'tsx'), ['scripts/eval-cond.ts', '--images', path, '--labels', 'rows', '--json'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { count: number; recognised: number; rows: { count: number }[] };
    expect(out.count).toBe(30);
    expect(out.rows.map((row) => row.count)).toEqual(new Array(10).fill(perClass));
    expect(out.recognised).toBeGreaterThanOrEqual(28);
  });
});
