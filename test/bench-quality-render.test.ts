/**
 * docs/QUALITY.md and docs/quality.svg as `npm run bench:quality` renders them: a table per budget
 * with every point, the search kept apart, and a legend that names every recipe inside the picture.
 */
import { describe, expect, it } from 'vitest';
import { type QualityPoint, renderQuality } from '../scripts/bench/quality.ts';

const point = (recipe: string, budgetMinutes: number, n = 1000): QualityPoint => ({
  recipe, budgetMinutes, steps: 100 * budgetMinutes, images: 3200 * budgetMinutes, trainMinutes: budgetMinutes, sampler: 'ddpm', sampleSteps: 100,
  samplingSeconds: 100, n, fd: 10, floorFd: 3.8, fdOverFloor: 2.63, confident: 0.8, coverage: 0.99, date: '2026-12-08',
});

describe('renderQuality', () => {
  const recipes = ['old-quick', 'quick-noguide', 'w24', 'w32', 'quick-w3', 'quick-b32', 'quick-w35', 'quick', 'extra-recipe'];
  const points = [...recipes.map((r, i) => point(r, 5 + (i % 3) * 5)), point('w24-v', 5, 500)];
  const { markdown, svg } = renderQuality(points);

  it('puts every reported point in its budget\'s table and the 500-sample search apart', () => {
    for (const b of [5, 10, 15]) expect(markdown).toContain(`## ${b} minutes`);
    for (const r of recipes) expect(markdown).toMatch(new RegExp(`\\| ${r} \\| `));
    const search = markdown.slice(markdown.indexOf('## Recipe search'));
    expect(search).toMatch(/\| w24-v \| .* \| 500 \|/);
    expect(markdown.slice(0, markdown.indexOf('## Recipe search'))).not.toMatch(/\| w24-v \|/);
  });

  it('names every recipe in the legend, inside the picture, wrapping rows of four', () => {
    const width = Number(/width="(\d+)"/.exec(svg)?.[1]);
    const height = Number(/height="(\d+)"/.exec(svg)?.[1]);
    const labels = [...svg.matchAll(/<text x="(\d+)" y="(\d+)" font-size="12">([^<]+)<\/text>/g)].filter((m) => recipes.includes(m[3]));
    expect(labels.map((m) => m[3])).toEqual(recipes);
    for (const [, x, y] of labels) {
      expect(Number(x) + 120).toBeLessThanOrEqual(width);
      expect(Number(y)).toBeLessThan(height);
    }
    expect(new Set(labels.map((m) => m[2])).size).toBe(3);
  });
});
