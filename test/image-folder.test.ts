/**
 * Training on a folder of the user's images: pictures drawn with jimp at test time (coloured
 * stripes, a gray gradient, a JPEG disc, class subfolders), read back as channel-major bytes, scaled
 * to [-1, 1] and batched; clear errors for bad folders; and an RGB run of scripts/train.ts and
 * scripts/sample.ts end to end.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { Jimp } from 'jimp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImageFolderDataset, loadImageFolder } from '../src/io/image-folder.ts';
import { batchAt, resizeBilinear, scaleImages } from '../src/train/data.ts';
import { key } from '../src/tensor/random.ts';

type Rgb = readonly [number, number, number];
const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];
const WHITE: Rgb = [255, 255, 255];
const YELLOW: Rgb = [255, 255, 0];

const picture = (width: number, height: number, colour: (x: number, y: number) => Rgb) => {
  const image = new Jimp({ width, height });
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) image.bitmap.data.set([...colour(x, y), 255], (y * width + x) * 4);
  return image;
};

const save = async (path: string, image: ReturnType<typeof picture>, format: 'png' | 'gray-png' | 'jpeg' = 'png') => {
  await mkdir(dirname(path), { recursive: true });
  const bytes = format === 'jpeg' ? await image.getBuffer('image/jpeg', { quality: 95 })
    : await image.getBuffer('image/png', format === 'gray-png' ? { colorType: 0 } : {});
  await writeFile(path, bytes);
};

/** The gray gradient's value at (x, y): every pixel different, all exact in a PNG. */
const gradient = (x: number, y: number) => 20 * y + 5 * x;

const load = async (dir: string, size: number, channels: 1 | 3): Promise<ImageFolderDataset> => {
  const r = await loadImageFolder(dir, { size, channels })();
  if (E.isLeft(r)) throw r.left;
  return r.right;
};

const failure = async (dir: string): Promise<string> => {
  const r = await loadImageFolder(dir, { size: 8, channels: 3 })();
  if (E.isRight(r)) throw new Error(`expected ${dir} to be refused`);
  return r.left.message;
};

const plane = (ds: { images: Uint8Array; channels: number; height: number; width: number }, i: number, c: number) => {
  const n = ds.height * ds.width;
  return [...ds.images.subarray((i * ds.channels + c) * n, (i * ds.channels + c + 1) * n)];
};

let root = '';
const at = (...parts: string[]) => join(root, ...parts);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'image-folder-'));
  // flat/: 30×20 stripes whose centred square is all red; an 8×8 gray PNG; a portrait JPEG with a blue disc
  await save(at('flat', 'a-stripes.png'), picture(30, 20, (x) => (x < 5 ? GREEN : x >= 25 ? BLUE : RED)));
  await save(at('flat', 'b-gray.png'), picture(8, 8, (x, y) => [gradient(x, y), gradient(x, y), gradient(x, y)]), 'gray-png');
  await save(at('flat', 'c-disc.JPG'), picture(16, 24, (x, y) => ((x - 7.5) ** 2 + (y - 11.5) ** 2 < 36 ? BLUE : WHITE)), 'jpeg');
  await writeFile(at('flat', 'notes.txt'), 'not a picture');
  await writeFile(at('flat', '.hidden.png'), 'hidden entries are skipped');
  // classes/: two classes, one with a nested folder; a subfolder without images is no class
  await save(at('classes', 'dogs', 'd1.png'), picture(10, 10, () => YELLOW));
  await save(at('classes', 'cats', 'c1.png'), picture(10, 10, () => RED));
  await save(at('classes', 'cats', 'more', 'c2.jpeg'), picture(10, 10, () => GREEN), 'jpeg');
  await mkdir(at('classes', 'empty-class'), { recursive: true });
  await writeFile(at('classes', 'empty-class', 'readme.txt'), 'no images here');
  // bad folders
  await mkdir(at('empty'), { recursive: true });
  await mkdir(at('text-only'), { recursive: true });
  await writeFile(at('text-only', 'a.txt'), 'x');
  await save(at('corrupt', 'a-good.png'), picture(4, 4, () => RED));
  const png = await picture(4, 4, () => RED).getBuffer('image/png');
  await writeFile(at('corrupt', 'b-broken.png'), png.subarray(0, 40));
  await save(at('mixed', 'loose.png'), picture(4, 4, () => RED));
  await save(at('mixed', 'sub', 'x.png'), picture(4, 4, () => RED));
  // shapes/: eight coloured squares and discs of different sizes, for the training run
  const colours = [RED, GREEN, BLUE, YELLOW];
  for (let i = 0; i < 8; i++) {
    const [w, h] = [12 + 3 * i, 20 - i];
    const c = colours[i % 4]!;
    const shape = i < 4 ? (x: number, y: number) => Math.abs(x - w / 2) < 5 && Math.abs(y - h / 2) < 5
      : (x: number, y: number) => (x - w / 2) ** 2 + (y - h / 2) ** 2 < 25;
    await save(at('shapes', `shape${i}.${i % 2 === 0 ? 'png' : 'jpg'}`), picture(w, h, (x, y) => (shape(x, y) ? c : WHITE)), i % 2 === 0 ? 'png' : 'jpeg');
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadImageFolder', () => {
  it('reads the images of a folder in name order, skipping other and hidden files; one class', async () => {
    const ds = await load(at('flat'), 8, 3);
    expect(ds.files).toEqual(['a-stripes.png', 'b-gray.png', 'c-disc.JPG']);
    expect([ds.count, ds.channels, ds.height, ds.width, ds.images.length]).toEqual([3, 3, 8, 8, 3 * 3 * 8 * 8]);
    expect([...ds.labels]).toEqual([0, 0, 0]);
    expect(ds.classes).toEqual([]);
  });

  it('is channel-major, crops the centred square before resizing, and keeps a gray image gray in RGB', async () => {
    const ds = await load(at('flat'), 8, 3);
    // the stripes' centred 20×20 square is all red: the green and blue edges are cropped away
    expect(plane(ds, 0, 0).every((v) => v === 255)).toBe(true);
    expect(plane(ds, 0, 1).every((v) => v === 0)).toBe(true);
    expect(plane(ds, 0, 2).every((v) => v === 0)).toBe(true);
    // the gray PNG is already 8×8: each of R, G, B is the gradient, row-major
    const expected = Array.from({ length: 64 }, (_, i) => gradient(i % 8, Math.floor(i / 8)));
    for (const c of [0, 1, 2]) expect(plane(ds, 1, c)).toEqual(expected);
  });

  it('resizes a portrait JPEG from its centred square: the disc lands in the middle', async () => {
    const ds = await load(at('flat'), 8, 3);
    const rgb = (x: number, y: number) => [0, 1, 2].map((c) => plane(ds, 2, c)[y * 8 + x]!);
    const [r, g, b] = rgb(4, 4);
    expect(b).toBeGreaterThan(200);
    expect(Math.max(r!, g!)).toBeLessThan(60);
    for (const [x, y] of [[0, 0], [7, 0], [0, 7], [7, 7]] as const) expect(Math.min(...rgb(x, y))).toBeGreaterThan(200);
  });

  it('gray is ITU-R 601 luma: red becomes round(0.299 · 255) = 76', async () => {
    const ds = await load(at('flat'), 8, 1);
    expect([ds.channels, ds.images.length]).toEqual([1, 3 * 64]);
    expect(plane(ds, 0, 0).every((v) => v === 76)).toBe(true);
    expect(plane(ds, 1, 0)).toEqual(Array.from({ length: 64 }, (_, i) => gradient(i % 8, Math.floor(i / 8))));
  });

  it('labels class subfolders in sorted order, searching each recursively', async () => {
    const ds = await load(at('classes'), 4, 3);
    expect(ds.classes).toEqual(['cats', 'dogs']);
    expect(ds.files).toEqual([join('cats', 'c1.png'), join('cats', 'more', 'c2.jpeg'), join('dogs', 'd1.png')]);
    expect([...ds.labels]).toEqual([0, 0, 1]);
    expect(plane(ds, 2, 1).every((v) => v === 255)).toBe(true); // the yellow dog: full green
  });

  it('refuses bad folders with a message naming the folder or the file', async () => {
    expect(await failure(at('empty'))).toMatch(new RegExp(`${at('empty')}: the image folder is empty`));
    expect(await failure(at('text-only'))).toMatch(/text-only: no images found: expected \.png, \.jpg or \.jpeg files/);
    expect(await failure(at('corrupt'))).toMatch(/b-broken\.png: cannot read the image/);
    expect(await failure(at('mixed'))).toMatch(/mixed: has both images of its own \(loose\.png, …\) and class subfolders \(sub\)/);
    expect(await failure(at('missing'))).toMatch(/missing: no such image folder/);
    expect(await failure(at('flat', 'b-gray.png'))).toMatch(/b-gray\.png: not a folder/);
  });
});

describe('scaleImages and batchAt with channels', () => {
  it('one-channel datasets (MNIST) scale as before: bytes / 255 · 2 − 1', () => {
    const s = scaleImages({ images: Uint8Array.from([0, 255, 51, 102]), labels: Uint8Array.from([3]), count: 1, height: 2, width: 2 }, 2);
    expect(s.channels).toBe(1);
    expect([...s.pixels].map((v) => +v.toFixed(6))).toEqual([-1, 1, -0.6, -0.2]);
  });

  it('RGB: [count, 3, size, size] in [-1, 1], a red pixel in the first plane only', async () => {
    const s = scaleImages(await load(at('flat'), 8, 3), 8);
    expect([s.count, s.channels, s.size, s.pixels.length]).toEqual([3, 3, 8, 3 * 3 * 64]);
    expect(s.pixels.every((v) => v >= -1 && v <= 1)).toBe(true);
    expect([s.pixels[0], s.pixels[64], s.pixels[128]]).toEqual([1, -1, -1]);
  });

  it('resizing works plane by plane', async () => {
    const ds = await load(at('flat'), 8, 3);
    const s = scaleImages(ds, 4);
    for (const [i, c] of [[1, 0], [2, 2]] as const) {
      const want = new Float32Array(16);
      resizeBilinear(plane(ds, i, c).map((v) => v / 255), 8, 8, 4, 4, want);
      const got = [...s.pixels.subarray((i * 3 + c) * 16, (i * 3 + c + 1) * 16)];
      got.forEach((v, j) => expect(v).toBeCloseTo(want[j]! * 2 - 1, 6));
    }
  });

  it('a batch holds whole images (all their channels) with their labels, the same for the same (key, step)', async () => {
    const s = scaleImages(await load(at('classes'), 4, 3), 4);
    const per = 3 * 16;
    const b = batchAt(s, 3, key(1), 0);
    expect(b.pixels.length).toBe(3 * per);
    const shown = [0, 1, 2].map((k) => {
      const img = b.pixels.subarray(k * per, (k + 1) * per);
      const i = [0, 1, 2].find((j) => s.pixels.subarray(j * per, (j + 1) * per).every((v, n) => v === img[n]));
      expect(i, `batch image ${k}`).toBeDefined();
      expect(b.labels[k]).toBe(s.labels[i!]);
      return i;
    });
    expect([...shown].sort()).toEqual([0, 1, 2]);
    expect(batchAt(s, 3, key(1), 0)).toEqual(b);
  });
});

describe('RGB training end to end', () => {
  const tsx = join('node_modules', '.bin', 'tsx');
  const run = (script: string, args: string[]) => spawnSync(tsx, [script, ...args], { encoding: 'utf8', timeout: 120_000 });
  /** Whether some pixel of the PNG has red ≠ green: a gray picture never does. */
  const colourful = async (path: string) => {
    const { data, width, height } = (await Jimp.read(path)).bitmap;
    return { width, height, colour: Array.from({ length: width * height }, (_, i) => i).some((i) => data[4 * i] !== data[4 * i + 1]) };
  };
  let out = '';

  it('scripts/train.ts --image-folder --channels 3 writes a checkpoint and an RGB sample grid', async () => {
    out = join(root, 'run');
    const r = run('scripts/train.ts', ['--preset', 'tiny', '--image-folder', at('shapes'), '--channels', '3', '--image-size', '16',
      '--batch', '4', '--train-steps', '3', '--log-every', '1', '--n', '4', '--steps', '2', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/data: 8 images of RGB 16×16 from .*shapes/);
    for (const f of ['samples.png', 'latest.json', 'checkpoints/step-0000003/model.safetensors', 'checkpoints/step-0000003/config.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const config = JSON.parse(readFileSync(join(out, 'checkpoints/step-0000003/config.json'), 'utf8'));
    expect([config.dataset, config.imageFolder, config.network.unet.inChannels]).toEqual(['folder', at('shapes'), 3]);
    expect(await colourful(join(out, 'samples.png'))).toEqual({ width: 2 * 18 + 2, height: 2 * 18 + 2, colour: true });
  });

  it('scripts/sample.ts draws RGB images from that checkpoint', async () => {
    const png = join(root, 'drawn.png');
    const r = run('scripts/sample.ts', ['--checkpoint', out, '--n', '4', '--steps', '2', '--out', png]);
    expect(r.status, r.stderr).toBe(0);
    expect(await colourful(png)).toEqual({ width: 4 * 18 + 2, height: 18 + 2, colour: true });
  });

  it('refuses a class-conditional net whose classes do not match the subfolders, and a resume on another folder', () => {
    const cond = run('scripts/train.ts', ['--preset', 'cond', '--image-folder', at('classes'), '--train-steps', '1', '--out', join(root, 'cond')]);
    expect(cond.status).toBe(2);
    expect(cond.stderr).toMatch(/classes has 2 class subfolders \(cats, dogs\), but the network has numClasses = 10; pass --network-json '\{"numClasses":2\}'/);
    const resume = run('scripts/train.ts', ['--resume', out, '--image-folder', at('classes')]);
    expect(resume.status).toBe(2);
    expect(resume.stderr).toMatch(/cannot change: imageFolder/);
  });
});
