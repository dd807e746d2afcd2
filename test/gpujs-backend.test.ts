import { describe, expect, it } from 'vitest';
import {
  availableGpuJsModes, createGpuJsBackend, GpuJsModeError, type GpuJsBackend,
} from '../src/tensor/gpujs/index.ts';
import { recycleTextureNames } from '../src/tensor/gpujs/texture-pool.ts';
import { registerBackendChecks } from './support/backend-checks.ts';

const release = (b: unknown) => (b as GpuJsBackend).destroy();

describe('gpujs-cpu', () => registerBackendChecks(() => createGpuJsBackend('cpu'), { rtol: 1e-5, release }));
describe('gpujs-webasm', () => registerBackendChecks(() => createGpuJsBackend('webasm'), { rtol: 1e-5, release }));

describe('GPU.js modes', () => {
  it('cpu and webasm always work; WebGL needs a browser', () => {
    const modes = availableGpuJsModes();
    expect(modes).toEqual(expect.arrayContaining(['cpu', 'webasm']));
    expect(modes).not.toContain('webgl');
    expect(modes).not.toContain('webgl2');
    expect(availableGpuJsModes()).toEqual(modes);
  });

  it('names the backend after its mode', () => {
    const b = createGpuJsBackend('webasm');
    expect(b.name).toBe('gpujs-webasm');
    expect(b.mode).toBe('webasm');
    b.destroy();
  });

  it('refuses a mode GPU.js would silently replace', () => {
    expect(() => createGpuJsBackend('webgl2')).toThrow(GpuJsModeError);
    expect(() => createGpuJsBackend('nope' as never)).toThrow(GpuJsModeError);
    // Without an X server GPU.js would run 'gpu' kernels on webasm and refuse 'headlessgl'.
    for (const mode of ['headlessgl', 'gpu'] as const) {
      if (!availableGpuJsModes().includes(mode)) expect(() => createGpuJsBackend(mode)).toThrow(/xvfb-run/);
    }
  });
});

describe('gpujs-cpu kernel cache and handles', () => {
  it('compiles one kernel per op and shape, and reuses it', () => {
    const b = createGpuJsBackend('cpu');
    const x = b.write(Float32Array.of(1, 2, 3, 4));
    const once = () => b.dispose(b.binary('mul', x, x, [2, 2], [2, 1], [2, 1]));
    once();
    const n = b.cachedKernels();
    once();
    expect(b.cachedKernels()).toBe(n);
    b.dispose(b.binary('mul', x, x, [4], [1], [1])); // collapses to the same kernel
    expect(b.cachedKernels()).toBe(n);
    b.dispose(b.binary('mul', x, x, [2, 2], [1, 2], [2, 1]));
    expect(b.cachedKernels()).toBe(n + 1);
    b.dispose(x);
    b.destroy();
  });

  it('rejects disposed and foreign handles', () => {
    const [b, other] = [createGpuJsBackend('cpu'), createGpuJsBackend('cpu')];
    const h = b.write(Float32Array.of(1));
    expect(() => other.unary('neg', h, 1)).toThrow(/another backend/);
    b.dispose(h);
    expect(() => b.dispose(h)).toThrow(/disposed/);
    expect(() => b.read(h, 1)).toThrow(/disposed/);
    b.destroy();
    other.destroy();
  });
});

describe('texture-name recycling (headless-gl workaround)', () => {
  it('hands deleted names back out before creating new ones, and really deletes them at release', () => {
    let made = 0;
    const deleted: unknown[] = [];
    const gl = { createTexture: () => ({ id: made++ }), deleteTexture: (t: unknown) => { deleted.push(t); } };
    const release = recycleTextureNames(gl);
    expect(recycleTextureNames(gl)).toBe(release);
    const [a, b] = [gl.createTexture(), gl.createTexture()];
    gl.deleteTexture(a);
    gl.deleteTexture(a);
    expect(gl.createTexture()).toBe(a);
    expect(gl.createTexture()).toEqual({ id: 2 });
    gl.deleteTexture(b);
    expect(deleted).toEqual([]);
    release();
    expect(deleted).toEqual([b]);
    gl.deleteTexture(a);
    expect(deleted).toEqual([b, a]);
  });
});
