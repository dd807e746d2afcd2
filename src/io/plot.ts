/**
 * A tiny rasteriser for the training-loss picture: axes with tick marks, the raw values as a
 * faint line and an exponential moving average on top. No fonts: the numbers belong in the
 * log, the picture shows the trend.
 */
import type { RgbaImage } from './grid.ts';

export interface LossPlotOptions {
  readonly width?: number;
  readonly height?: number;
  /** weight of the past in the moving average, as TensorBoard's smoothing slider */
  readonly smoothing?: number;
  /** plot log10(value); non-positive values are skipped */
  readonly logY?: boolean;
  readonly ticks?: number;
}

type Rgb = readonly [number, number, number];
const WHITE: Rgb = [255, 255, 255];
const AXIS: Rgb = [0, 0, 0];
const GRID: Rgb = [232, 232, 232];
const RAW: Rgb = [170, 200, 235];
const SMOOTH: Rgb = [20, 80, 180];

/**
 * The smoothing of the training loss wherever it is shown: the progress bar, `lossSmoothed` in
 * metrics.jsonl and the loss picture (the weight of the past; an effective window of ~50 steps).
 */
export const LOSS_SMOOTHING = 0.98;

/**
 * A debiased exponential moving average (TensorBoard's, and Adam's bias correction), fed one value
 * at a time: the early values are not pulled towards the zero it starts from. Non-finite values
 * give NaN and do not disturb the average.
 */
export const emaTracker = (smoothing: number = LOSS_SMOOTHING) => {
  let average = 0;
  let weight = 0;
  return (v: number): number => {
    if (!Number.isFinite(v)) return NaN;
    average = smoothing * average + (1 - smoothing) * v;
    weight = smoothing * weight + (1 - smoothing);
    return average / weight;
  };
};

/** `emaTracker` over a whole series. */
export const smoothEma = (values: readonly number[], smoothing: number = LOSS_SMOOTHING): number[] => values.map(emaTracker(smoothing));

const canvas = (width: number, height: number) => {
  const data = new Uint8Array(width * height * 4);
  const set = (x: number, y: number, [r, g, b]: Rgb) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    data.set([r, g, b, 255], (Math.round(y) * width + Math.round(x)) * 4);
  };
  const dot = (x: number, y: number, color: Rgb, thickness: number) => {
    const r = (thickness - 1) / 2;
    for (let dy = -Math.floor(r); dy <= Math.ceil(r); dy++) for (let dx = -Math.floor(r); dx <= Math.ceil(r); dx++) set(x + dx, y + dy, color);
  };
  /** Bresenham between rounded endpoints. */
  const line = (x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1) => {
    let [x, y] = [Math.round(x0), Math.round(y0)];
    const [xe, ye] = [Math.round(x1), Math.round(y1)];
    const dx = Math.abs(xe - x);
    const dy = -Math.abs(ye - y);
    const sx = x < xe ? 1 : -1;
    const sy = y < ye ? 1 : -1;
    let error = dx + dy;
    for (;;) {
      dot(x, y, color, thickness);
      if (x === xe && y === ye) return;
      const e2 = 2 * error;
      if (e2 >= dy) {
        error += dy;
        x += sx;
      }
      if (e2 <= dx) {
        error += dx;
        y += sy;
      }
    }
  };
  const fill = (color: Rgb) => {
    for (let i = 0; i < data.length; i += 4) data.set([...color, 255], i);
  };
  return { data, line, dot, fill };
};

/** The plot area inside the margins (ticks and a little air around the axes). */
export const plotArea = (width: number, height: number) => ({ left: 36, right: width - 12, top: 12, bottom: height - 28 });

export const plotLossCurve = (values: readonly number[], opts: LossPlotOptions = {}): RgbaImage => {
  const { width = 640, height = 360, smoothing = LOSS_SMOOTHING, logY = false, ticks = 5 } = opts;
  const { data, line, dot, fill } = canvas(width, height);
  const area = plotArea(width, height);
  fill(WHITE);

  const toAxis = (v: number) => (logY ? (v > 0 ? Math.log10(v) : NaN) : v);
  const ys = values.map(toAxis);
  const finite = ys.filter(Number.isFinite);
  // a loop, not Math.min(...finite): spreading a long run's values overflows the stack
  let [low, high] = finite.length > 0 ? [Infinity, -Infinity] : [0, 1];
  for (const v of finite) [low, high] = [Math.min(low, v), Math.max(high, v)];
  if (high - low < 1e-12) [low, high] = [low - 0.5, high + 0.5];
  // a little headroom so the curve does not run along the axis
  [low, high] = [low - 0.03 * (high - low), high + 0.03 * (high - low)];
  const toX = (i: number) => area.left + (values.length <= 1 ? 0.5 : i / (values.length - 1)) * (area.right - area.left);
  const toY = (v: number) => area.bottom - ((v - low) / (high - low)) * (area.bottom - area.top);

  for (let k = 0; k <= ticks; k++) {
    const x = area.left + (k / ticks) * (area.right - area.left);
    const y = area.bottom - (k / ticks) * (area.bottom - area.top);
    if (k > 0) {
      line(x, area.top, x, area.bottom - 1, GRID);
      line(area.left + 1, y, area.right, y, GRID);
    }
    line(x, area.bottom, x, area.bottom + 5, AXIS);
    line(area.left - 5, y, area.left, y, AXIS);
  }
  line(area.left, area.top, area.left, area.bottom, AXIS);
  line(area.left, area.bottom, area.right, area.bottom, AXIS);

  const polyline = (series: readonly number[], color: Rgb, thickness: number) => {
    let previous: [number, number] | undefined;
    series.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        previous = undefined;
        return;
      }
      const point: [number, number] = [toX(i), toY(v)];
      if (previous) line(previous[0], previous[1], point[0], point[1], color, thickness);
      else dot(point[0], point[1], color, thickness);
      previous = point;
    });
  };
  polyline(ys, RAW, 1);
  // smoothed before the log, so the curve is the very number the progress bar and metrics.jsonl show
  polyline(smoothEma(values, smoothing).map(toAxis), SMOOTH, 2);
  return { data, width, height };
};
