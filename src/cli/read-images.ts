/** Images to score from a file, for the eval and eval-cond commands: an NPY batch or the cells of a grid PNG. */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Classifier } from '../eval/classify.ts';
import { gridCells } from '../eval/grid-cells.ts';
import { readImageFile } from '../io/image.ts';
import { decodeNpy } from '../io/npy.ts';

/**
 * [N, C, H, W] floats in [−1, 1] of the classifier's shape: a float32 NPY of that shape, or a gray
 * grid PNG of its cells (2-px padding, as sample.ts and train.ts write grids). Errors name the file.
 */
export const readImagesToScore = async (path: string, clf: Classifier): Promise<E.Either<string, Float32Array>> => {
  const { inChannels, imageSize } = clf.config;
  if (extname(path).toLowerCase() === '.npy') {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch (e) {
      return E.left(`${path}: ${(e as Error).message}`);
    }
    const npy = decodeNpy(bytes);
    if (E.isLeft(npy)) return E.left(`${path}: ${npy.left.message}`);
    const { data, shape } = npy.right;
    if (shape.length !== 4 || shape[1] !== inChannels || shape[2] !== imageSize || shape[3] !== imageSize) {
      return E.left(`${path}: expected shape [N, ${inChannels}, ${imageSize}, ${imageSize}], got [${shape.join(', ')}]`);
    }
    return E.right(Float32Array.from(data));
  }
  if (inChannels !== 1) return E.left(`${path}: grid pictures are read as gray; this classifier wants colour (give an .npy)`);
  const pic = await readImageFile(path, { channels: 1 })();
  if (E.isLeft(pic)) return E.left(pic.left.message);
  try {
    return E.right(gridCells(pic.right, imageSize).images);
  } catch (e) {
    return E.left(`${path}: ${(e as Error).message}`);
  }
};
