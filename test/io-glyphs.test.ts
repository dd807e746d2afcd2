/** The pixel font for figure labels: exact glyph pixels, scaling, clipping, and captions under columns. */
import { describe, expect, it } from 'vitest';
import { captionColumns, drawText, GLYPH_HEIGHT, textWidth } from '../src/io/glyphs.ts';
import type { RgbaImage } from '../src/io/image.ts';

const blank = (width: number, height: number): RgbaImage => ({ data: new Uint8Array(width * height * 4).fill(255), width, height });
const dark = (img: RgbaImage): [number, number][] => {
  const out: [number, number][] = [];
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (img.data[(y * img.width + x) * 4] < 128) out.push([x, y]);
  return out;
};

describe('drawText', () => {
  it('draws the glyph of 1 pixel for pixel, and each pixel as a scale × scale square', () => {
    const one = blank(8, 8);
    drawText(one, '1', 1, 1);
    // .#.  ##.  .#.  .#.  ###
    expect(dark(one)).toEqual([[2, 1], [1, 2], [2, 2], [2, 3], [2, 4], [1, 5], [2, 5], [3, 5]]);
    const big = blank(16, 16);
    drawText(big, '1', 0, 0, 3);
    expect(dark(big)).toHaveLength(8 * 9);
  });

  it('advances one glyph and one blank column per character; clips at the edges; refuses characters it has no glyph for', () => {
    expect(textWidth('t = 50', 2)).toBe((6 * 4 - 1) * 2);
    const img = blank(10, 10);
    drawText(img, '88', 4, 7);
    expect(dark(img).every(([x, y]) => x < 10 && y < 10 && x >= 4 && y >= 7)).toBe(true);
    expect(() => drawText(blank(4, 4), 'T', 0, 0)).toThrow(/no glyph for "T"/);
  });
});

describe('captionColumns', () => {
  it('keeps the picture, adds a band below, and centres each caption under its column', () => {
    const strip = blank(90, 30);
    strip.data.fill(0);
    const out = captionColumns(strip, ['t = 0', 't = 50', 't = 99'], 2);
    expect(out.width).toBe(90);
    expect(out.height).toBe(30 + (GLYPH_HEIGHT + 4) * 2);
    expect(out.data.subarray(0, strip.data.length)).toEqual(strip.data);
    const band = dark({ ...out, data: out.data.subarray(30 * 90 * 4), height: out.height - 30 });
    [0, 1, 2].forEach((i) => {
      const xs = band.map(([x]) => x).filter((x) => x >= i * 30 && x < (i + 1) * 30);
      const centre = (Math.min(...xs) + Math.max(...xs)) / 2;
      expect(Math.abs(centre - (i * 30 + 14.5))).toBeLessThanOrEqual(1.5);
    });
  });
});
