/** Byte codecs and file adapters: safetensors, .npy, IDX/MNIST, PNG grids and plots. */
export * from '../codec/errors.ts';
export * from './safetensors.ts';
export * from './safetensors-file.ts';
export * from './npy.ts';
export * from './idx.ts';
export * from './mnist.ts';
export * from './image.ts';
export { plotArea } from './plot.ts';
export * from './image-folder.ts';
