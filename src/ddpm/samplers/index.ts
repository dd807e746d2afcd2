/** Samplers under one contract (types.ts): ancestral DDPM, DDIM, DPM-Solver++(2M), and the loop they share. */
import { ddimSampler, type DdimOptions } from './ddim.ts';
import { ddpmSampler, type DdpmOptions } from './ddpm.ts';
import { dpmpp2mSampler, type DpmSolverOptions } from './dpmpp2m.ts';
import type { Sampler, SamplerState } from './types.ts';

export type { Sampler, SamplerOptions, SamplerState, StepResult } from './types.ts';
export { ddpmSampler, type DdpmOptions, type DdpmState } from './ddpm.ts';
export { ddimCoefficients, ddimSampler, ddimTimesteps, type DdimCoefficients, type DdimOptions, type DdimState } from './ddim.ts';
export {
  dpmpp2mSampler, dpmSolverCoefficients, dpmSolverTimesteps, halfLogSnr, isSecondOrder, LOWER_ORDER_SECOND_BELOW,
  type DpmSolverCoefficients, type DpmSolverOptions, type DpmSolverState,
} from './dpmpp2m.ts';
export { nextTimestep, runSampler, sampleStep, type RunOptions } from './loop.ts';

/** Every sampler's options at once: each sampler reads its own (η is DDIM's, variance DDPM's). */
export type AnySamplerOptions = DdpmOptions & DdimOptions & DpmSolverOptions;

/** The samplers by the names the scripts and the pipeline use. */
export const samplersByName = { ddpm: ddpmSampler, ddim: ddimSampler, dpmpp2m: dpmpp2mSampler } as const;

/**
 * A sampler chosen at run time, as one type: its state is only ever the one its own `initState`
 * made, so widening the state to SamplerState loses nothing a loop relies on.
 */
export const samplerNamed = (name: keyof typeof samplersByName): Sampler<SamplerState, AnySamplerOptions> =>
  samplersByName[name] as unknown as Sampler<SamplerState, AnySamplerOptions>;
