import { describe } from 'vitest';
import { createGpuJsBackend, type GpuJsBackend } from '../src/tensor/gpujs/index.ts';
import { registerBackendChecks } from './support/backend-checks.ts';

// Needs an X server: xvfb-run -a npx vitest run --config vitest.gl.config.ts
describe('gpujs-headlessgl', () => registerBackendChecks(() => createGpuJsBackend('headlessgl'),
  { rtol: 1e-4, release: (b) => (b as GpuJsBackend).destroy() }));
