/** Samplers under one contract (types.ts): ancestral DDPM, DDIM, DPM-Solver++(2M), and the loop they share. */
export type { Sampler, SamplerOptions, SamplerState, StepResult } from './types.ts';
export { ddpmSampler, type DdpmOptions, type DdpmState } from './ddpm.ts';
export { ddimCoefficients, ddimSampler, ddimTimesteps, type DdimCoefficients, type DdimOptions, type DdimState } from './ddim.ts';
export {
  dpmpp2mSampler, dpmSolverCoefficients, dpmSolverTimesteps, halfLogSnr, isSecondOrder, LOWER_ORDER_SECOND_BELOW,
  type DpmSolverCoefficients, type DpmSolverOptions, type DpmSolverState,
} from './dpmpp2m.ts';
export { nextTimestep, runSampler, sampleStep, type RunOptions } from './loop.ts';
