/**
 * The sample-quality evaluator on real data, where the answers are known: real images score near
 * the floor and are read confidently, noise and one repeated image score far from it, the
 * figures do not depend on image order, and scripts/eval.ts prints them as JSON and refuses bad input.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { beforeAll, describe, expect, it } from 'vitest';
import * as R from '../src/tensor/random.ts';
import { loadMnist, type ImageDataset } from '../src/io/mnist.ts';
import { encodeNpy } from '../src/io/npy.ts';
import { type Classifier, loadClassifier, shippedClassifiers } from '../src/eval/classify.ts';
import { frechetDistance, gaussianStats, type GaussianStats } from '../src/eval/frechet.ts';
import { datasetImages, qualityOf, qualityReport, realDataFloor, referenceStats } from '../src/eval/quality.ts';

const tsx = join('node_modules', '.bin', 'tsx');

let clf: Classifier;
let test: ImageDataset;
let train: ImageDataset;
let reference: GaussianStats;

const must = async <A>(te: () => Promise<E.Either<Error, A>>): Promise<A> => {
  const r = await te();
  if (E.isLeft(r)) throw r.left;
  return r.right;
};

beforeAll(async () => {
  clf = await must(loadClassifier(shippedClassifiers.mnist));
  test = await must(loadMnist('test'));
  train = await must(loadMnist('train'));
  reference = referenceStats(clf, test);
});

describe('quality figures on real data', () => {
  it('the reference is the 10,000 test images in the classifier\'s 32 features', () => {
    expect(reference.n).toBe(10_000);
    expect(reference.d).toBe(32);
  });

  it('1,000 real training images: FD is small, most are read confidently, every class is covered', () => {
    const floor = realDataFloor(clf, train, 1000, reference, R.key(0));
    expect(floor.n).toBe(1000);
    expect(floor.fd).toBeGreaterThan(0);
    expect(floor.fd).toBeLessThan(10);
    expect(floor.confident).toBeGreaterThan(0.9);
    expect(floor.coverage).toBeGreaterThan(0.98);
    // the same images in the same order score the same; another draw scores about the same
    expect(realDataFloor(clf, train, 1000, reference, R.key(0)).fd).toBe(floor.fd);
    const other = realDataFloor(clf, train, 1000, reference, R.key(1));
    expect(Math.abs(other.fd - floor.fd) / floor.fd).toBeLessThan(0.5);
  });

  it('FD falls as the sample count grows (its small-n bias), towards the test set\'s own distance 0', () => {
    const small = realDataFloor(clf, train, 100, reference, R.key(2)).fd;
    const large = realDataFloor(clf, train, 5000, reference, R.key(2)).fd;
    expect(large).toBeLessThan(small);
  });

  it('noise and a single repeated digit are far from the data; one digit covers nothing', () => {
    const noise = qualityOf(clf, Float32Array.from(R.uniform(R.key(3), 500 * 784, -1, 1)), reference);
    const one = datasetImages(train, new Array(500).fill(0));
    const same = qualityOf(clf, one, reference);
    const floor = realDataFloor(clf, train, 500, reference, R.key(3));
    expect(noise.fd).toBeGreaterThan(20 * floor.fd);
    expect(same.fd).toBeGreaterThan(20 * floor.fd);
    expect(same.coverage).toBe(0);
  });

  it('does not depend on the order of the images', () => {
    const idx = Array.from({ length: 300 }, (_, i) => i * 7);
    const a = qualityOf(clf, datasetImages(test, idx), reference);
    const b = qualityOf(clf, datasetImages(test, [...idx].reverse()), reference);
    expect(Math.abs(a.fd - b.fd)).toBeLessThan(1e-9 * a.fd);
    expect([a.confident, a.coverage]).toEqual([b.confident, b.coverage]);
  });

  it('FD of the test set against itself is 0, computed from the classifier features', () => {
    const all = Array.from({ length: test.count }, (_, i) => i);
    const q = qualityOf(clf, datasetImages(test, all), reference);
    expect(q.fd).toBeLessThan(1e-6);
    expect(frechetDistance(reference, gaussianStats(q.classified.features, 32))).toBeLessThan(1e-6);
  });

  it('with wanted labels, accuracy is the classifier\'s accuracy on those images', () => {
    const idx = Array.from({ length: 1000 }, (_, i) => i);
    const labels = idx.map((i) => test.labels[i]);
    const r = qualityReport(clf, datasetImages(test, idx), { test, train }, R.key(4), labels);
    expect(r.accuracy).toBeGreaterThan(0.97);
    expect(r.perClass?.map((p) => p.count)).toEqual(Array.from({ length: 10 }, (_, c) => labels.filter((l) => l === c).length));
    expect(r.fdOverFloor).toBeLessThan(2);
  });
});

describe('scripts/eval.ts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-'));

  it('scores an NPY of real images as JSON: near the floor, confident, covering every class', () => {
    const path = join(dir, 'real.npy');
    const idx = Array.from({ length: 200 }, (_, i) => 5000 + i);
    writeFileSync(path, encodeNpy(datasetImages(test, idx), [200, 1, 28, 28]));
    const r = spawnSync(tsx, ['scripts/eval.ts', '--images', path], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { n: number; fd: number; floor: { n: number; fd: number }; fdOverFloor: number; confident: number; coverage: number };
    expect(out.n).toBe(200);
    expect(out.floor.n).toBe(200);
    // 200 test images against 200 training images: both are real data, but at this n the FD's spread is wide
    expect(out.fdOverFloor).toBeLessThan(3);
    expect(out.fd).toBeLessThan(out.floor.fd * 3);
    expect(out.confident).toBeGreaterThan(0.9);
    expect(out.coverage).toBeGreaterThan(0.95);
  });

  it('--out grid.png --scale 3 writes the sample grid with each pixel as a 3×3 block', () => {
    const png = join(dir, 'grid.png');
    const r = spawnSync(tsx, ['scripts/eval.ts', '--checkpoint', 'assets/ddpm-mnist', '--n', '2', '--steps', '2', '--out', png, '--scale', '3'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const bytes = readFileSync(png);
    // two 28-px cells side by side with 2-px padding: 62 × 32, three times over
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([186, 96]);
  });

  it('refuses bad input with one line naming the problem', () => {
    const bad = join(dir, 'bad.npy');
    writeFileSync(bad, encodeNpy(new Float32Array(2 * 32 * 32), [2, 1, 32, 32]));
    const cases: [string[], RegExp][] = [
      [[], /give either --checkpoint .* or --images/],
      [['--images', bad], /bad\.npy: expected shape \[N, 1, 28, 28\], got \[2, 1, 32, 32\]/],
      [['--images', bad, '--dataset', 'cifar'], /--dataset: expected mnist or fashion-mnist, got "cifar"/],
      [['--checkpoint', join(dir, 'absent')], /absent: no such file or folder/],
      [['--images', bad, '--labels', 'rows', '--bogus', '1'], /^eval: --bogus: unknown flag \(see --help\)$/m],
      [['--images', bad, '--scale', '2'], /^eval: --scale: enlarges the --out PNG, but there is no --out$/m],
      [['--checkpoint', 'assets/ddpm-mnist', '--out', join(dir, 'x.npy'), '--scale', '2'], /--scale: enlarges the --out PNG, but --out .*x\.npy is an array/],
    ];
    for (const [argv, message] of cases) {
      const r = spawnSync(tsx, ['scripts/eval.ts', ...argv], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
