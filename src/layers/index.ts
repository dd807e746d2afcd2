/**
 * Layers and networks: `initX(key, cfg) → params`, `x(params, cfg, input…) → Tensor`. Several
 * names repeat ops of the same name (`linear`, `conv2d`, `groupNorm`…) with a (params, cfg, x)
 * signature: import this module as a namespace, `import * as layers from './layers/index.ts'`.
 */
export * from './spec.ts';
export * from './state-dict.ts';
export * from './config.ts';
export * from './linear.ts';
export * from './conv.ts';
export * from './norm.ts';
export * from './embedding.ts';
export * from './resblock.ts';
export * from './attention.ts';
export * from './seed-block.ts';
export * from './unet.ts';
export * from './simple-unet.ts';
export * from './classifier.ts';
