/** SVG line charts: round ticks, log axes, labels people can read, and gaps where values cannot be drawn. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lineChartSvg, linearTicks, logTicks } from '../src/io/svg-chart.ts';

describe('ticks', () => {
  it('linear ticks are round (1, 2 or 5 × 10^k apart), inside the range, and cover most of it', () => {
    fc.assert(fc.property(fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.double({ min: 1e-3, max: 1e5, noNaN: true }), (lo, span) => {
      const hi = lo + span;
      const t = linearTicks(lo, hi);
      const step = t[1] - t[0];
      const mantissa = step / 10 ** Math.floor(Math.log10(step));
      expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-6)).toBe(true);
      expect(t.every((v) => v >= lo - 1e-9 * span && v <= hi + 1e-9 * span)).toBe(true);
      expect(t.length).toBeGreaterThanOrEqual(2);
      expect(t.length).toBeLessThanOrEqual(11);
    }));
  });

  it('log ticks are powers of ten, with 2× and 5× between them when the range is short', () => {
    expect(logTicks(0.003, 20)).toEqual([0.01, 0.1, 1, 10]);
    expect(logTicks(0.15, 1.3)).toEqual([0.2, 0.5, 1]);
  });
});

describe('lineChartSvg', () => {
  const svg = lineChartSvg({
    title: 'Training loss <quick>', xTitle: 'optimizer step', yTitle: 'loss', logY: true,
    series: [{ points: [[1, 1], [2, 0.5], [3, Number.NaN], [4, 0.2], [5, 0.1]], colour: '#123456', label: 'per step' }],
  });

  it('has the title (escaped), the axis titles, the log-scale note and labelled ticks', () => {
    expect(svg).toContain('Training loss &lt;quick&gt;');
    expect(svg).toContain('>optimizer step<');
    expect(svg).toContain('loss (log scale)');
    for (const tick of ['>0.1<', '>0.2<', '>0.5<', '>1<']) expect(svg).toContain(tick);
    expect(svg).toContain('>per step<');
  });

  it('breaks the line where a value cannot be drawn', () => {
    const lines = [...svg.matchAll(/<polyline[^>]*points="([^"]+)"/g)].map((m) => m[1].split(' ').length);
    expect(lines).toEqual([2, 2]);
  });
});
