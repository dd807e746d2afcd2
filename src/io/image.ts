/**
 * Pictures under Node: PNG encoding (jimp), reading user images into CHW bytes or [-1, 1] floats,
 * and writing PNGs atomically. The grids' pixel math is in grid.ts (it runs anywhere); it is
 * re-exported here.
 */
import { Jimp } from 'jimp';
import { pipe } from 'fp-ts/lib/function.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { EncodeError, FileError } from '../codec/errors.ts';
import { writeFileAtomic } from './files.ts';

export { type LossPlotOptions, plotLossCurve, smoothEma } from './plot.ts';
export { type GridOptions, makeGrid, type RgbaImage, upscale } from './grid.ts';
import type { RgbaImage } from './grid.ts';

export const encodePng = async (rgba: Uint8Array, width: number, height: number): Promise<Uint8Array> => {
  if (rgba.length !== width * height * 4) throw new EncodeError(`encodePng: ${rgba.length} bytes is not ${width}×${height}×4`);
  const image = Jimp.fromBitmap({ width, height, data: Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength) });
  return new Uint8Array(await image.getBuffer('image/png'));
};

export interface ImageReadOptions {
  /** make the image size × size: crop the centred square of the short side, then resize it */
  readonly size?: number;
  readonly channels: 1 | 3;
}

/** Channel-first bytes 0…255: `data[c·height·width + y·width + x]`. */
export interface ChwBytes {
  readonly data: Uint8Array;
  readonly channels: 1 | 3;
  readonly height: number;
  readonly width: number;
}

/** Channel-first floats in [-1, 1]: `data[c·height·width + y·width + x]`. */
export interface ChwImage {
  readonly data: Float32Array;
  readonly channels: 1 | 3;
  readonly height: number;
  readonly width: number;
}

type JimpImage = Awaited<ReturnType<typeof Jimp.read>>;

/** RGB → CHW bytes; gray is ITU-R 601 luma rounded, as PIL's `convert('L')`. Alpha is ignored (as `convert('RGB')`). */
const toChwBytes = (image: JimpImage, channels: 1 | 3): ChwBytes => {
  const { width, height, data: rgba } = image.bitmap;
  const plane = width * height;
  const data = new Uint8Array(channels * plane);
  for (let i = 0; i < plane; i++) {
    const [r, g, b] = [rgba[4 * i]!, rgba[4 * i + 1]!, rgba[4 * i + 2]!];
    if (channels === 1) data[i] = Math.round((r * 299 + g * 587 + b * 114) / 1000);
    else {
      data[i] = r;
      data[plane + i] = g;
      data[2 * plane + i] = b;
    }
  }
  return { data, channels, height, width };
};

/** Bytes → [-1, 1] (ToTensor, then Normalize(0.5, 0.5)). */
const toUnit = ({ data, ...dims }: ChwBytes): ChwImage => ({ data: Float32Array.from(data, (v) => v / 127.5 - 1), ...dims });

/**
 * torchvision's `CenterCrop(min(h, w))` then `Resize(size)`: the centred square of the short side
 * (an odd leftover goes to the right/bottom), resized with jimp's default resampler, which
 * averages areas when shrinking (so photos do not alias) and is bilinear when enlarging.
 */
const squareAndResize = (image: JimpImage, size: number): JimpImage => {
  const { width, height } = image.bitmap;
  const side = Math.min(width, height);
  if (width !== height) image.crop({ x: Math.floor((width - side) / 2), y: Math.floor((height - side) / 2), w: side, h: side });
  if (side !== size) image.resize({ w: size, h: size });
  return image;
};

const prepare = (image: JimpImage, { size, channels }: ImageReadOptions): ChwBytes =>
  toChwBytes(size === undefined ? image : squareAndResize(image, size), channels);

/** Decodes PNG, JPEG, BMP, GIF or TIFF bytes. */
export const decodeImage = async (bytes: Uint8Array, opts: ImageReadOptions): Promise<ChwImage> =>
  toUnit(prepare(await Jimp.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)), opts));

/** Reads an image file as CHW floats in [-1, 1]; rejects with a `FileError` naming the file. */
export const decodeImageFile = async (path: string, opts: ImageReadOptions): Promise<Float32Array> => {
  const result = await readImageFile(path, opts)();
  if (result._tag === 'Left') throw result.left;
  return result.right.data;
};

/**
 * An image file as CHW bytes (with `size`: the centred square, resized; see `squareAndResize`);
 * a missing, corrupt or unsupported file is a `FileError` naming it.
 */
export const readImageBytes = (path: string, opts: ImageReadOptions): TE.TaskEither<FileError, ChwBytes> =>
  TE.tryCatch(
    async () => prepare(await Jimp.read(path), opts),
    e => new FileError(path, `cannot read the image: ${e instanceof Error ? e.message : String(e)}`, e),
  );

/** As `decodeImageFile`, with the dimensions, and the failure as a value. */
export const readImageFile = (path: string, opts: ImageReadOptions): TE.TaskEither<FileError, ChwImage> =>
  pipe(readImageBytes(path, opts), TE.map(toUnit));

/** Encodes and writes atomically: a viewer never sees half a PNG. */
export const writePng = (path: string, image: RgbaImage): TE.TaskEither<FileError, void> =>
  pipe(
    TE.tryCatch(
      () => encodePng(image.data, image.width, image.height),
      e => new FileError(path, `cannot encode the PNG: ${e instanceof Error ? e.message : String(e)}`, e),
    ),
    TE.chain(bytes => writeFileAtomic(path, bytes)),
  );
