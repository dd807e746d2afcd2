/**
 * Pictures: sample grids laid out like torchvision's `make_grid` + `save_image`, PNG
 * encoding, and reading user images into CHW bytes or [-1, 1] floats. The pixel math is pure; only
 * `encodePng` and the `decodeImage*` / `readImage*` functions touch jimp.
 */
import { Jimp } from 'jimp';
import { pipe } from 'fp-ts/lib/function.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { EncodeError, FileError } from '../codec/errors.ts';
import { writeFileAtomic } from './files.ts';

export { type LossPlotOptions, plotLossCurve, smoothEma } from './plot.ts';

/** 8-bit RGBA pixels, row-major, 4 bytes per pixel. */
export interface RgbaImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface GridOptions {
  /** images per row (torchvision's `nrow`) */
  readonly nrow?: number;
  readonly padding?: number;
  /** the border colour in output space: 0 black … 1 white (torchvision's `pad_value`) */
  readonly padValue?: number;
  /** input values mapped to black and white; values outside are clamped (`value_range`) */
  readonly range?: readonly [number, number];
}

/** torchvision's `save_image`: scale to [0, 255], add 0.5, truncate, clamp. */
const toByte = (unit: number): number => (Number.isNaN(unit) ? 0 : Math.min(255, Math.max(0, Math.floor(unit * 255 + 0.5))));

/**
 * `images` is n × channels × h × w (channels 1 → gray, or 3 → RGB). The grid has
 * min(nrow, n) columns and ceil(n / columns) rows; each cell is (h + padding) × (w + padding)
 * and the whole grid has `padding` more on the right and bottom, so
 * width = columns·(w + padding) + padding. As in torchvision, a single image is returned
 * without any border.
 */
export const makeGrid = (
  images: Float32Array,
  n: number,
  channels: number,
  h: number,
  w: number,
  { nrow = 8, padding = 2, padValue = 0, range = [-1, 1] }: GridOptions = {},
): RgbaImage => {
  if (channels !== 1 && channels !== 3) throw new EncodeError(`makeGrid: channels must be 1 or 3, got ${channels}`);
  if (!(n >= 1 && nrow >= 1 && padding >= 0 && [n, nrow, padding, h, w].every(Number.isInteger)))
    throw new EncodeError(`makeGrid: need integers n ≥ 1, nrow ≥ 1, padding ≥ 0; got n=${n}, nrow=${nrow}, padding=${padding}`);
  if (images.length !== n * channels * h * w)
    throw new EncodeError(`makeGrid: images has ${images.length} values, but [${n}, ${channels}, ${h}, ${w}] needs ${n * channels * h * w}`);
  const pad = n === 1 ? 0 : padding;
  const columns = Math.min(nrow, n);
  const rows = Math.ceil(n / columns);
  const width = columns * (w + pad) + pad;
  const height = rows * (h + pad) + pad;
  const data = new Uint8Array(width * height * 4);
  const border = toByte(padValue);
  for (let i = 0; i < data.length; i += 4) data.set([border, border, border, 255], i);
  const [low, high] = range;
  const scale = 1 / Math.max(high - low, 1e-5);
  const plane = h * w;
  for (let k = 0; k < n; k++) {
    const top = Math.floor(k / columns) * (h + pad) + pad;
    const left = (k % columns) * (w + pad) + pad;
    const image = k * channels * plane;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const out = ((top + y) * width + left + x) * 4;
        for (let c = 0; c < 3; c++) {
          const v = images[image + (channels === 1 ? 0 : c) * plane + y * w + x]!;
          data[out + c] = toByte((Math.min(high, Math.max(low, v)) - low) * scale);
        }
      }
  }
  return { data, width, height };
};

/**
 * The picture with each pixel drawn as a `factor` × `factor` block (nearest neighbour): a 28-px
 * digit is a speck on a modern screen, and any smoothing would invent grey levels the model never
 * drew. `factor` 1 returns the picture itself.
 */
export const upscale = (img: RgbaImage, factor: number): RgbaImage => {
  if (!(Number.isInteger(factor) && factor >= 1)) throw new EncodeError(`upscale: factor must be an integer ≥ 1, got ${factor}`);
  if (factor === 1) return img;
  const width = img.width * factor;
  const height = img.height * factor;
  // whole pixels as 32-bit words (a view needs 4-byte alignment; a copy has it)
  const bytes = img.data.byteOffset % 4 === 0 ? img.data : img.data.slice();
  const src = new Uint32Array(bytes.buffer, bytes.byteOffset, img.width * img.height);
  const data = new Uint8Array(width * height * 4);
  const out = new Uint32Array(data.buffer);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / factor) * img.width;
    for (let x = 0; x < width; x++) out[y * width + x] = src[row + Math.floor(x / factor)]!;
  }
  return { data, width, height };
};

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
