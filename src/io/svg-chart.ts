/**
 * Line charts as SVG text, for pictures people read numbers off: a title, axis titles, labelled
 * ticks at round values, a linear or log-scale y axis. No fonts to load and no rasteriser: any
 * browser or image viewer draws them.
 */

export interface Series {
  readonly points: readonly (readonly [number, number])[];
  readonly colour: string;
  readonly width?: number;
  readonly opacity?: number;
  readonly label?: string;
}

export interface ChartOptions {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly series: readonly Series[];
  readonly logY?: boolean;
  readonly width?: number;
  readonly height?: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Round tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k, about `target` of them. */
export const linearTicks = (lo: number, hi: number, target = 5): number[] => {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
};

/** Ticks for a log axis over [lo, hi] (both > 0): the powers of ten, with 2× and 5× between them when the range is short. */
export const logTicks = (lo: number, hi: number): number[] => {
  const [a, b] = [Math.floor(Math.log10(lo)), Math.ceil(Math.log10(hi))];
  const mults = b - a <= 2 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let k = a; k <= b; k++) for (const m of mults) {
    const v = Number((m * 10 ** k).toPrecision(12));
    if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
  }
  return out;
};

// loops, not Math.min(...v): spreading a long run's values overflows the stack
const least = (v: readonly number[]): number => v.reduce((m, x) => Math.min(m, x), Infinity);
const most = (v: readonly number[]): number => v.reduce((m, x) => Math.max(m, x), -Infinity);

const fmt = (v: number): string => {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0);
  if (a >= 1000) return v.toLocaleString('en-US');
  return String(Number(v.toPrecision(3)));
};

export const lineChartSvg = (o: ChartOptions): string => {
  const { width = 640, height = 380, logY = false } = o;
  const [left, right, top, bottom] = [70, width - 20, 40, height - 50];
  const f = (y: number) => (logY ? Math.log10(y) : y);
  const usable = o.series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)));
  const xs = usable.map(([x]) => x);
  const ys = usable.map(([, y]) => y);
  const [x0, x1] = xs.length > 0 ? [least(xs), most(xs)] : [0, 1];
  let [y0, y1] = ys.length > 0 ? [least(ys), most(ys)] : [logY ? 0.1 : 0, 1];
  if (y1 <= y0) [y0, y1] = logY ? [y0 / 2, y1 * 2] : [y0 - 0.5, y1 + 0.5];
  const xt = linearTicks(x0, x1 > x0 ? x1 : x0 + 1);
  let yt = logY ? logTicks(y0, y1) : linearTicks(y0, y1);
  // the axis spans the data and its ticks; a log axis with no power of ten inside still gets its ends labelled
  if (yt.length < 2) yt = [...new Set([Number(y0.toPrecision(2)), ...yt, Number(y1.toPrecision(2))])].sort((a, b) => a - b);
  const [ya, yb] = [Math.min(f(y0), f(yt[0])), Math.max(f(y1), f(yt[yt.length - 1]))];
  const [xa, xb] = [Math.min(x0, xt[0]), Math.max(x1 > x0 ? x1 : x0 + 1, xt[xt.length - 1])];
  const px = (x: number) => (left + ((x - xa) / (xb - xa)) * (right - left)).toFixed(1);
  const py = (y: number) => (bottom - ((f(y) - ya) / (yb - ya || 1)) * (bottom - top)).toFixed(1);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${(left + right) / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
    ...yt.map((v) => `<line x1="${left - 4}" y1="${py(v)}" x2="${right}" y2="${py(v)}" stroke="#e4e4e4"/><text x="${left - 7}" y="${Number(py(v)) + 4}" text-anchor="end">${fmt(v)}</text>`),
    ...xt.map((v) => `<line x1="${px(v)}" y1="${bottom}" x2="${px(v)}" y2="${bottom + 5}" stroke="#000"/><text x="${px(v)}" y="${bottom + 19}" text-anchor="middle">${fmt(v)}</text>`),
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#000"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#000"/>`,
    `<text x="${(left + right) / 2}" y="${height - 12}" text-anchor="middle" font-size="13">${esc(o.xTitle)}</text>`,
    `<text x="18" y="${(top + bottom) / 2}" text-anchor="middle" font-size="13" transform="rotate(-90 18 ${(top + bottom) / 2})">${esc(o.yTitle)}${logY ? ' (log scale)' : ''}</text>`,
  ];
  for (const s of o.series) {
    // a break in the line wherever a value cannot be drawn (NaN, or ≤ 0 on a log axis)
    const runs: string[][] = [[]];
    for (const [x, y] of s.points) {
      if (Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)) runs[runs.length - 1].push(`${px(x)},${py(y)}`);
      else if (runs[runs.length - 1].length > 0) runs.push([]);
    }
    for (const r of runs.filter((r) => r.length > 0)) {
      parts.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="${s.width ?? 1.5}"${s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : ''} points="${r.join(' ')}"/>`);
    }
  }
  const labelled = o.series.filter((s) => s.label);
  // the legend in the top-right corner, wide enough for its longest label (~7 px a character at 12 px)
  const legendX = right - 40 - 7 * Math.max(0, ...labelled.map((s) => (s.label as string).length));
  labelled.forEach((s, i) => {
    const y = top + 8 + i * 18;
    parts.push(`<line x1="${legendX}" y1="${y}" x2="${legendX + 24}" y2="${y}" stroke="${s.colour}" stroke-width="${s.width ?? 1.5}"${s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : ''}/><text x="${legendX + 30}" y="${y + 4}">${esc(s.label as string)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
};
