/**
 * Labels on raster pictures without a font file: a 3×5 pixel glyph per character for the few
 * characters figures need (digits, `t`, `=`, `.`, `-`, `e`, `x`, space), drawn at an integer
 * scale. Enough to write `t = 150` under a column or `0.05` at a tick.
 */
import { EncodeError } from '../codec/errors.ts';
import type { RgbaImage } from './image.ts';

/** Each glyph: 5 rows of 3 bits, the high bit leftmost. */
const GLYPHS: Readonly<Record<string, readonly number[]>> = {
  '0': [0b111, 0b101, 0b101, 0b101, 0b111],
  '1': [0b010, 0b110, 0b010, 0b010, 0b111],
  '2': [0b111, 0b001, 0b111, 0b100, 0b111],
  '3': [0b111, 0b001, 0b111, 0b001, 0b111],
  '4': [0b101, 0b101, 0b111, 0b001, 0b001],
  '5': [0b111, 0b100, 0b111, 0b001, 0b111],
  '6': [0b111, 0b100, 0b111, 0b101, 0b111],
  '7': [0b111, 0b001, 0b010, 0b010, 0b010],
  '8': [0b111, 0b101, 0b111, 0b101, 0b111],
  '9': [0b111, 0b101, 0b111, 0b001, 0b111],
  t: [0b010, 0b111, 0b010, 0b010, 0b011],
  '=': [0b000, 0b111, 0b000, 0b111, 0b000],
  '.': [0b000, 0b000, 0b000, 0b000, 0b010],
  '-': [0b000, 0b000, 0b111, 0b000, 0b000],
  e: [0b000, 0b111, 0b111, 0b100, 0b111],
  x: [0b000, 0b101, 0b010, 0b101, 0b000],
  ' ': [0, 0, 0, 0, 0],
};

export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;

/** The width in pixels of `text` at `scale` (one blank column between characters). */
export const textWidth = (text: string, scale: number): number => Math.max(0, text.length * (GLYPH_WIDTH + 1) - 1) * scale;

/** Draws `text` into `img` (in place) with its top-left corner at (x, y); pixels outside are skipped. */
export const drawText = (img: RgbaImage, text: string, x: number, y: number, scale = 1, rgb: readonly [number, number, number] = [0, 0, 0]): void => {
  const unknown = [...text].find((ch) => !(ch in GLYPHS));
  if (unknown !== undefined) throw new EncodeError(`drawText: no glyph for ${JSON.stringify(unknown)} (have ${Object.keys(GLYPHS).join('')})`);
  [...text].forEach((ch, i) => {
    const rows = GLYPHS[ch];
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if (((rows[r] >> (GLYPH_WIDTH - 1 - c)) & 1) === 0) continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = x + (i * (GLYPH_WIDTH + 1) + c) * scale + dx;
            const py = y + r * scale + dy;
            if (px < 0 || py < 0 || px >= img.width || py >= img.height) continue;
            img.data.set([rgb[0], rgb[1], rgb[2], 255], (py * img.width + px) * 4);
          }
        }
      }
    }
  });
};

/**
 * The picture with a white band below it and one caption centred under each column: for a strip
 * of `captions.length` equal cells, as `makeGrid` lays out one row.
 */
export const captionColumns = (img: RgbaImage, captions: readonly string[], scale = 2): RgbaImage => {
  const band = (GLYPH_HEIGHT + 4) * scale;
  const height = img.height + band;
  const data = new Uint8Array(img.width * height * 4).fill(255);
  data.set(img.data, 0);
  const out = { data, width: img.width, height };
  const cell = img.width / captions.length;
  captions.forEach((text, i) => {
    drawText(out, text, Math.round(i * cell + (cell - textWidth(text, scale)) / 2), img.height + 2 * scale, scale);
  });
  return out;
};
