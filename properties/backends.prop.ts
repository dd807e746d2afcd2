/**
 * Every backend against the plain reference on the same random inputs: values and gradients of
 * every op case. GPU.js's headlessgl mode runs the same suite in test/backends.gl.test.ts.
 */
import { describe } from 'vitest';
import { backendByName } from '../src/tensor/engine.ts';
import { conformanceSuite } from './support/conformance.ts';

for (const name of ['fast', 'gpujs-cpu', 'gpujs-webasm']) {
  describe(`${name} = plain`, () => conformanceSuite(() => backendByName(name), 1e-5));
}
