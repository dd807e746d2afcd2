/**
 * A folder of the user's own pictures as a training set, laid out as torchvision's `ImageFolder`
 * expects: either the images directly in the folder (one class, label 0), or one subfolder per
 * class (`DIR/cat/…`, `DIR/dog/…`; labels number the subfolder names in sorted order, and each
 * class folder is searched recursively; the order is a folder's files, then its subfolders, each by
 * name, as torchvision's). Every .png, .jpg or .jpeg file (any case) is read; other
 * files and hidden entries (names starting with a dot) are skipped. Each image becomes
 * size × size (the centred square, resized: see `readImageBytes`), gray (ITU-R 601 luma) or RGB,
 * channel-major. Failures are values naming the folder or the file.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { FileError, toFileError } from '../codec/errors.ts';
import { readImageBytes } from './image.ts';
import type { ImageDataset } from './mnist.ts';

export interface ImageFolderOptions {
  /** every image becomes size × size */
  readonly size: number;
  /** 1: gray, 3: RGB */
  readonly channels: 1 | 3;
}

export interface ImageFolderDataset extends ImageDataset {
  /** count × channels × size × size bytes: image i, channel c, pixel (y, x) at ((i·channels + c)·size + y)·size + x */
  readonly images: Uint8Array;
  readonly channels: 1 | 3;
  /** the class subfolders' names, sorted; label k is classes[k]. Empty when the images sit directly in the folder (all label 0). */
  readonly classes: readonly string[];
  /** the image files in dataset order (sorted by path), relative to the folder */
  readonly files: readonly string[];
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;
/** labels are bytes, as in the IDX datasets */
const MAX_CLASSES = 256;

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface Entries {
  readonly files: readonly string[];
  readonly folders: readonly string[];
  readonly empty: boolean;
}

/** A folder's visible image files and subfolders, sorted by name; symbolic links are followed. */
const entries = async (dir: string): Promise<Entries> => {
  const names = (await readdir(dir)).sort(byCodePoint);
  const files: string[] = [];
  const folders: string[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const s = await stat(join(dir, name)).catch(() => null); // a dangling link is skipped like any non-image
    if (s?.isDirectory()) folders.push(name);
    else if (s?.isFile() && IMAGE_FILE.test(name)) files.push(name);
  }
  return { files, folders, empty: names.length === 0 };
};

/** Every image under `dir`, depth first in name order; `seen` (real paths) stops link cycles. */
const imagesUnder = async (dir: string, seen: Set<string>): Promise<string[]> => {
  const real = await realpath(dir);
  if (seen.has(real)) return [];
  seen.add(real);
  const { files, folders } = await entries(dir);
  const nested: string[] = [];
  for (const f of folders) nested.push(...(await imagesUnder(join(dir, f), seen)));
  return [...files.map((f) => join(dir, f)), ...nested];
};

/** Which files, with which labels: loose images (one class), or one class per subfolder holding images. */
const listImages = async (dir: string): Promise<E.Either<FileError, { files: string[]; labels: number[]; classes: string[] }>> => {
  const top = await entries(dir);
  const seen = new Set([await realpath(dir)]);
  const classes: string[] = [];
  const files: string[] = [];
  const labels: number[] = [];
  for (const folder of top.folders) {
    const found = await imagesUnder(join(dir, folder), seen);
    if (found.length === 0) continue;
    files.push(...found);
    labels.push(...found.map(() => classes.length));
    classes.push(folder);
  }
  if (classes.length > 0 && top.files.length > 0) {
    return E.left(new FileError(dir, `has both images of its own (${top.files[0]}, …) and class subfolders (${classes.join(', ')}): ` +
      'put every image in a class subfolder, or all of them directly in the folder'));
  }
  if (classes.length > MAX_CLASSES) return E.left(new FileError(dir, `has ${classes.length} class subfolders; at most ${MAX_CLASSES} are supported`));
  if (classes.length > 0) return E.right({ files, labels, classes });
  if (top.files.length > 0) return E.right({ files: top.files.map((f) => join(dir, f)), labels: top.files.map(() => 0), classes: [] });
  return E.left(new FileError(dir, top.empty
    ? 'the image folder is empty: put .png, .jpg or .jpeg files in it, or in one subfolder per class'
    : 'no images found: expected .png, .jpg or .jpeg files in the folder, or in one subfolder per class'));
};

/** Reads every image of the folder (see the module comment), in a fixed order: paths sorted folder by folder. */
export const loadImageFolder = (dir: string, opts: ImageFolderOptions): TE.TaskEither<FileError, ImageFolderDataset> => async () => {
  const { size, channels } = opts;
  if (!(Number.isInteger(size) && size >= 1)) return E.left(new FileError(dir, `image size must be a positive integer, got ${size}`));
  const kind = await stat(dir).then(
    (s) => (s.isDirectory() ? null : new FileError(dir, 'not a folder: expected a folder of images')),
    (e: unknown) => ((e as { code?: unknown }).code === 'ENOENT' ? new FileError(dir, 'no such image folder', e) : toFileError(dir, 'cannot read the image folder')(e)),
  );
  if (kind) return E.left(kind);
  const listed = await listImages(dir).catch((e: unknown) => E.left(toFileError(dir, 'cannot list the image folder')(e)));
  if (E.isLeft(listed)) return listed;
  const { files, labels, classes } = listed.right;
  const per = channels * size * size;
  const images = new Uint8Array(files.length * per);
  for (const [i, file] of files.entries()) {
    const image = await readImageBytes(file, { size, channels })();
    if (E.isLeft(image)) return image;
    images.set(image.right.data, i * per);
  }
  return E.right({
    images, labels: Uint8Array.from(labels), count: files.length, height: size, width: size, channels, classes,
    files: files.map((f) => relative(dir, f)),
  });
};
