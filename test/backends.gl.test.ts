/** GPU.js headlessgl (OpenGL via Mesa under Xvfb) against the plain backend: values and gradients of every op. */
import { describe } from 'vitest';
import { backendByName } from '../src/tensor/engine.ts';
import { conformanceSuite } from '../properties/support/conformance.ts';

describe('gpujs-headlessgl = plain', () => conformanceSuite(() => backendByName('gpujs-headlessgl'), 1e-4, 6));
