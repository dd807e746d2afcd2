import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { Jimp } from 'jimp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, decodeImageFile, encodePng, makeGrid, plotLossCurve, readImageFile, smoothEma, upscale, writePng } from '../src/io/image.ts';
import { plotArea } from '../src/io/plot.ts';

const pixel = (img: { data: Uint8Array; width: number }, x: number, y: number) => [...img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4)];

/** Image k, pixel (y, x): a value in [10, 209] that tells the images and positions apart. */
const contentValue = (k: number, y: number, x: number) => ((k * 7 + y * 3 + x) % 200) + 10;
const batch = (n: number, h: number, w: number) =>
  Float32Array.from({ length: n * h * w }, (_, i) => contentValue(Math.floor(i / (h * w)), Math.floor((i % (h * w)) / w), i % w));

/** The layout written out independently: which image and pixel each grid pixel shows, or padding. */
const expectLayout = (grid: { data: Uint8Array; width: number; height: number }, n: number, nrow: number, h: number, w: number, padding: number) => {
  const columns = Math.min(nrow, n);
  expect(grid.width).toBe(columns * (w + padding) + padding);
  expect(grid.height).toBe(Math.ceil(n / columns) * (h + padding) + padding);
  let wrong = 0;
  for (let gy = 0; gy < grid.height; gy++)
    for (let gx = 0; gx < grid.width; gx++) {
      const [cx, ox] = [Math.floor(gx / (w + padding)), (gx % (w + padding)) - padding];
      const [cy, oy] = [Math.floor(gy / (h + padding)), (gy % (h + padding)) - padding];
      const k = cy * columns + cx;
      const inside = ox >= 0 && oy >= 0 && cx < columns && k < n;
      const v = inside ? contentValue(k, oy, ox) : 255; // padValue 1 → white
      const [r, g, b, a] = pixel(grid, gx, gy);
      if (r !== v || g !== v || b !== v || a !== 255) wrong++;
    }
  expect(wrong).toBe(0);
};

describe('makeGrid lays images out like torchvision', () => {
  const opts = { padValue: 1, range: [0, 255] as const };

  it('64 images of 28×28, 8 per row: 242×242', () => {
    const grid = makeGrid(batch(64, 28, 28), 64, 1, 28, 28, opts);
    expect([grid.width, grid.height]).toEqual([8 * 30 + 2, 8 * 30 + 2]);
    expectLayout(grid, 64, 8, 28, 28, 2);
    expect(pixel(grid, 0, 0)).toEqual([255, 255, 255, 255]); // top-left border
    expect(pixel(grid, 2, 2)).toEqual([10, 10, 10, 255]); // image 0, pixel (0, 0)
    expect(pixel(grid, 30, 2)).toEqual([255, 255, 255, 255]); // gap between images 0 and 1
    expect(pixel(grid, 32, 32).slice(0, 1)).toEqual([contentValue(9, 0, 0)]); // image 9 = row 1, column 1
    expect(pixel(grid, 241, 241)).toEqual([255, 255, 255, 255]); // bottom-right border
  });

  it('10 images with nrow 8: two rows, the last six cells are padding', () => {
    const grid = makeGrid(batch(10, 5, 4), 10, 1, 5, 4, opts);
    expect([grid.width, grid.height]).toEqual([8 * 6 + 2, 2 * 7 + 2]);
    expectLayout(grid, 10, 8, 5, 4, 2);
    expect(pixel(grid, 2 * 6 + 2, 7 + 2)).toEqual([255, 255, 255, 255]); // where image 10 would be
  });

  it('fewer images than nrow: one row of n; other nrow and padding', () => {
    expectLayout(makeGrid(batch(3, 2, 2), 3, 1, 2, 2, opts), 3, 8, 2, 2, 2);
    expectLayout(makeGrid(batch(7, 3, 2), 7, 1, 3, 2, { ...opts, nrow: 3, padding: 1 }), 7, 3, 3, 2, 1);
    expectLayout(makeGrid(batch(4, 3, 2), 4, 1, 3, 2, { ...opts, nrow: 2, padding: 0 }), 4, 2, 3, 2, 0);
  });

  it('a single image has no border (torchvision returns it unchanged)', () => {
    const grid = makeGrid(batch(1, 3, 2), 1, 1, 3, 2, opts);
    expect([grid.width, grid.height]).toEqual([2, 3]);
  });

  it('maps range to [0, 255] with clamping, rounding like save_image; RGB keeps channels apart', () => {
    const gray = makeGrid(Float32Array.from([-2, -1, 0, 1, 2, 0.5]), 1, 1, 1, 6);
    expect([0, 1, 2, 3, 4, 5].map(x => pixel(gray, x, 0)[0])).toEqual([0, 0, 128, 255, 255, 191]);
    const rgb = makeGrid(Float32Array.from([1, -1, -1]), 1, 3, 1, 1);
    expect(pixel(rgb, 0, 0)).toEqual([255, 0, 0, 255]);
    const padded = makeGrid(new Float32Array(2 * 3), 2, 3, 1, 1, { padValue: 0.5 });
    expect(pixel(padded, 0, 0)).toEqual([128, 128, 128, 255]);
  });

  it('refuses inconsistent sizes', () => {
    expect(() => makeGrid(new Float32Array(5), 2, 1, 2, 2)).toThrow(/images has 5 values, but \[2, 1, 2, 2\] needs 8/);
    expect(() => makeGrid(new Float32Array(8), 2, 2, 2, 1)).toThrow(/channels must be 1 or 3/);
  });
});

describe('upscale draws each pixel as a block (nearest neighbour)', () => {
  /** A 3×2 picture whose pixels all differ, in every channel. */
  const small = { data: Uint8Array.from({ length: 3 * 2 * 4 }, (_, i) => (i * 37) % 256), width: 3, height: 2 };

  it('output pixel (x, y) is input pixel (⌊x/N⌋, ⌊y/N⌋), RGBA alike', () => {
    for (const n of [2, 3]) {
      const big = upscale(small, n);
      expect([big.width, big.height]).toEqual([3 * n, 2 * n]);
      for (let y = 0; y < big.height; y++)
        for (let x = 0; x < big.width; x++) expect(pixel(big, x, y)).toEqual(pixel(small, Math.floor(x / n), Math.floor(y / n)));
    }
  });

  it('1 is the identity; a grid scales with its padding; an unaligned view reads right', () => {
    expect(upscale(small, 1)).toBe(small);
    const grid = makeGrid(batch(2, 2, 2), 2, 1, 2, 2, { range: [0, 255] });
    const big = upscale(grid, 4);
    expect([big.width, big.height]).toEqual([4 * grid.width, 4 * grid.height]);
    expect(pixel(big, 4 * 2 + 3, 4 * 2 + 3)).toEqual(pixel(grid, 2, 2));
    const shifted = new Uint8Array(small.data.length + 1);
    shifted.set(small.data, 1);
    expect(upscale({ ...small, data: shifted.subarray(1) }, 2)).toEqual(upscale(small, 2));
  });

  it('refuses a factor that is not a positive integer', () => {
    for (const f of [0, 1.5, -2, NaN]) expect(() => upscale(small, f)).toThrow(/factor must be an integer ≥ 1/);
  });
});

describe('PNG and image files', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'io-image-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('encodePng then jimp decoding gives back every pixel', async () => {
    const grid = makeGrid(Float32Array.from({ length: 10 * 3 * 5 * 4 }, (_, i) => Math.sin(i)), 10, 3, 5, 4);
    const png = await encodePng(grid.data, grid.width, grid.height);
    expect([...png.subarray(1, 4)].map(c => String.fromCharCode(c)).join('')).toBe('PNG');
    const back = await Jimp.read(Buffer.from(png));
    expect([back.bitmap.width, back.bitmap.height]).toEqual([grid.width, grid.height]);
    expect(Buffer.from(back.bitmap.data).equals(Buffer.from(grid.data))).toBe(true);
  });

  it('decodes to CHW in [-1, 1], gray by ITU-R 601 luma, resized to cover', async () => {
    // 2×1: a red pixel and a white one
    const png = await encodePng(Uint8Array.from([255, 0, 0, 255, 255, 255, 255, 255]), 2, 1);
    const rgb = await decodeImage(png, { channels: 3 });
    expect([rgb.channels, rgb.height, rgb.width]).toEqual([3, 1, 2]);
    expect([...rgb.data]).toEqual([1, 1, -1, 1, -1, 1]);
    const gray = await decodeImage(png, { channels: 1 });
    expect(gray.data[0]).toBeCloseTo(76 / 127.5 - 1, 6); // 0.299 · 255 = 76.2
    expect(gray.data[1]).toBe(1);
    const resized = await decodeImage(await encodePng(new Uint8Array(40 * 20 * 4).fill(255), 40, 20), { channels: 1, size: 8 });
    expect([resized.height, resized.width, resized.data.length]).toEqual([8, 8, 64]);
    expect(Math.min(...resized.data)).toBe(1);
  });

  it('reads files; a bad or missing file names the path', async () => {
    const path = join(dir, 'x.png');
    expect(await writePng(path, { data: Uint8Array.from([0, 0, 255, 255]), width: 1, height: 1 })()).toEqual(E.right(undefined));
    expect([...(await decodeImageFile(path, { channels: 3 }))]).toEqual([-1, -1, 1]);
    await expect(decodeImageFile(join(dir, 'missing.png'), { channels: 1 })).rejects.toThrow(/missing\.png: cannot read the image/);
    await writeFile(join(dir, 'junk.png'), 'not an image');
    const junk = await readImageFile(join(dir, 'junk.png'), { channels: 1 })();
    expect(E.isLeft(junk) && junk.left.message).toMatch(/junk\.png: cannot read the image/);
  });
});

describe('loss plot', () => {
  const SMOOTH = [20, 80, 180, 255];

  it('draws axes, ticks and a falling smoothed line on white', () => {
    const values = Array.from({ length: 200 }, (_, i) => 1 / (1 + i / 10) + 0.02 * Math.sin(i));
    const plot = plotLossCurve(values);
    expect([plot.width, plot.height, plot.data.length]).toEqual([640, 360, 640 * 360 * 4]);
    const area = plotArea(640, 360);
    expect(pixel(plot, 0, 0)).toEqual([255, 255, 255, 255]);
    expect(pixel(plot, area.left, area.bottom)).toEqual([0, 0, 0, 255]);
    expect(pixel(plot, area.left, area.bottom + 4)).toEqual([0, 0, 0, 255]); // a tick below the x axis
    expect(pixel(plot, area.left - 4, area.top)).toEqual([0, 0, 0, 255]); // a tick left of the y axis
    const smoothRows = (x: number) => Array.from({ length: 360 }, (_, y) => y).filter(y => pixel(plot, x, y).join() === SMOOTH.join());
    const first = smoothRows(area.left + 1);
    const last = smoothRows(area.right - 1);
    expect(first.length).toBeGreaterThan(0);
    expect(last.length).toBeGreaterThan(0);
    expect(Math.min(...first)).toBeLessThan(area.top + 20); // starts high
    expect(Math.max(...last)).toBeGreaterThan(area.bottom - 40); // ends low
  });

  it('copes with no values, one value, constants, NaN and a long run', () => {
    for (const values of [[], [3], [2, 2, 2], [1, NaN, Infinity, 0.5], Array.from({ length: 300_000 }, (_, i) => 1 / (i + 1))])
      expect(plotLossCurve(values, { width: 120, height: 80, logY: true }).data.length).toBe(120 * 80 * 4);
  });

  it('smoothEma is debiased: a constant stays constant', () => {
    expect(smoothEma([2, 2, 2], 0.9).map(v => Number(v.toFixed(12)))).toEqual([2, 2, 2]);
    expect(smoothEma([1, NaN, 3], 0.5)[1]).toBeNaN();
  });
});
