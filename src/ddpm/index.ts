/** Denoising diffusion (DDPM) math: schedules, the forward process, the ε-loss, reverse steps and sampling. */
export * from './schedule.ts';
export * from './extract.ts';
export * from './forward.ts';
export * from './loss.ts';
export * from './reverse.ts';
export * from './scheduler.ts';
export * from './sample.ts';
export * from './objectives.ts';
export * from './guidance.ts';
export * from './samplers/index.ts';
