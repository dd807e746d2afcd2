/** Sampling pipelines from a model's bytes (no file system; `diffusion-ts/node` adds paths and the shipped models). */
export * from './model.ts';
export * from './pipeline.ts';
