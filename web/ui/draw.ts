/**
 * Pictures on canvases, from the worker's Float32Arrays: image grids (pixels in [−1, 1], drawn at
 * their own size with putImageData and enlarged by CSS without smoothing) and the loss curve.
 */

/** Columns of a near-square grid of n images. */
export const gridColumns = (n: number): number => Math.ceil(Math.sqrt(n));

/** Draws images [n, channels (1 or 3), size, size] as a grid with a 1-pixel gap, resizing the canvas to fit. */
export const drawGrid = (canvas: HTMLCanvasElement, images: Float32Array, shape: readonly [number, number, number, number]): void => {
  const [n, channels, h, w] = shape;
  const cols = gridColumns(n);
  const rows = Math.ceil(n / cols);
  const [W, H] = [cols * (w + 1) + 1, rows * (h + 1) + 1];
  if (canvas.width !== W || canvas.height !== H) [canvas.width, canvas.height] = [W, H];
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(W, H);
  const px = img.data;
  for (let i = 3; i < px.length; i += 4) [px[i - 3], px[i - 2], px[i - 1], px[i]] = [40, 40, 48, 255];
  const plane = h * w;
  const byte = (v: number): number => Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
  for (let k = 0; k < n; k++) {
    const [ox, oy] = [1 + (k % cols) * (w + 1), 1 + Math.floor(k / cols) * (h + 1)];
    const base = k * channels * plane;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = ((oy + y) * W + ox + x) * 4;
        const j = base + y * w + x;
        const [r, g, b] = channels === 3 ? [images[j], images[j + plane], images[j + 2 * plane]] : [images[j], images[j], images[j]];
        [px[o], px[o + 1], px[o + 2]] = [byte(r), byte(g), byte(b)];
      }
    }
  }
  ctx.putImageData(img, 0, 0);
};

/** The loss per step (light) and its running average (dark) on a log scale, with the range as labels. */
export const drawLoss = (canvas: HTMLCanvasElement, losses: readonly number[]): void => {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width: W, height: H } = canvas;
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, W, H);
  const good = losses.filter((l) => l > 0 && Number.isFinite(l));
  if (good.length < 2) return;
  const [lo, hi] = [Math.log10(Math.min(...good)), Math.log10(Math.max(...good))];
  const span = Math.max(hi - lo, 1e-6);
  const pad = { l: 46, r: 8, t: 8, b: 20 };
  const x = (i: number): number => pad.l + (i / (losses.length - 1)) * (W - pad.l - pad.r);
  const y = (l: number): number => pad.t + (1 - (Math.log10(l) - lo) / span) * (H - pad.t - pad.b);
  const line = (values: readonly number[], colour: string, width: number): void => {
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.beginPath();
    values.forEach((l, i) => (i === 0 ? ctx.moveTo(x(i), y(l)) : ctx.lineTo(x(i), y(l))));
    ctx.stroke();
  };
  line(losses, '#9cc2ea', 1);
  let avg = losses[0];
  line(losses.map((l) => (avg = 0.9 * avg + 0.1 * l)), '#0b3d91', 2);
  ctx.fillStyle = '#333';
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillText((10 ** hi).toPrecision(3), 2, pad.t + 8);
  ctx.fillText((10 ** lo).toPrecision(3), 2, H - pad.b);
  ctx.fillText(`step ${losses.length}`, W - 70, H - 4);
  ctx.fillText('loss (log scale)', pad.l + 4, H - 4);
};
