/**
 * Byte codecs that run anywhere (no file system, no `Buffer`): safetensors, .npy, IDX, float16,
 * sample grids and loss plots as RGBA pixels. Files, PNG encoding, MNIST and image folders are
 * Node's: `diffusion-ts/node`.
 */
export * from '../codec/errors.ts';
export * from './safetensors.ts';
export * from './npy.ts';
export * from './idx.ts';
export * from './half.ts';
export * from './grid.ts';
export { emaTracker, LOSS_SMOOTHING, type LossPlotOptions, plotArea, plotLossCurve, smoothEma } from './plot.ts';
