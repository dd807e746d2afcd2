import { describe, it } from 'vitest';
import { backendByName } from '../src/tensor/engine.ts';
import { checkFlatMemory } from './support/memory-check.ts';

describe('memory stays flat over 1,000 training steps', () => {
  it('gpujs-headlessgl (textures freed explicitly)', () => checkFlatMemory(backendByName('gpujs-headlessgl')));
});
