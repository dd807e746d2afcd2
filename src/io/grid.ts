/**
 * Sample grids laid out like torchvision's `make_grid` + `save_image`, and integer upscaling: pure
 * pixel math on RGBA bytes, for any runtime (a page draws them with `putImageData`).
 */
import { EncodeError } from '../codec/errors.ts';

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
