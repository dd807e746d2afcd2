import { describe, it } from 'vitest';
import { backendByName } from '../src/tensor/engine.ts';
import { checkFlatMemory } from './support/memory-check.ts';

describe('memory stays flat over 1,000 training steps', () => {
  for (const name of ['fast', 'plain', 'gpujs-cpu', 'gpujs-webasm']) {
    it(name, () => checkFlatMemory(backendByName(name)));
  }
});
