/** Moved to src/codec (shared by layers, ddpm and io); kept while src/train/config.ts imports it from here. */
export * from '../codec/errors.ts';
