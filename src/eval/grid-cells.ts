/**
 * The inverse of makeGrid (src/io/image.ts): the cells of a sample grid picture, so a grid already
 * on disk (a README figure, a run's samples.png) can be scored as it is shown.
 */

/** A one-channel picture in [−1, 1], row-major (readImageFile's CHW data with channels 1). */
export interface GrayPicture {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/**
 * Cells of `size` × `size` laid out as makeGrid lays them out: `padding` pixels before every cell
 * and after the last, so width = columns·(size + padding) + padding. Returns the cells in reading
 * order as [rows·columns, 1, size, size].
 */
export const gridCells = (pic: GrayPicture, size: number, padding = 2): { readonly images: Float32Array; readonly rows: number; readonly columns: number } => {
  const step = size + padding;
  const columns = (pic.width - padding) / step;
  const rows = (pic.height - padding) / step;
  if (!Number.isInteger(columns) || !Number.isInteger(rows) || columns < 1 || rows < 1) {
    throw new RangeError(`gridCells: a ${pic.width}×${pic.height} picture is not a grid of ${size}×${size} cells with ${padding}-px padding`);
  }
  const plane = size * size;
  const images = new Float32Array(rows * columns * plane);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const cell = (r * columns + c) * plane;
      for (let y = 0; y < size; y++) {
        const from = (padding + r * step + y) * pic.width + padding + c * step;
        images.set(pic.data.subarray(from, from + size), cell + y * size);
      }
    }
  }
  return { images, rows, columns };
};
