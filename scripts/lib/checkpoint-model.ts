/**
 * The scripts' model loader. It lives in the library now (src/pipeline/load.ts, public as
 * `diffusion-ts/node`); this re-export keeps the scripts' imports as they were.
 */
export { loadDiffusionModel, shippedModels, type LoadOptions } from '../../src/pipeline/load.ts';
export type { DiffusionModel } from '../../src/pipeline/model.ts';
