import { describe, expect, it } from 'vitest';
import { availableGpuJsModes, createGpuJsBackend, type GpuJsBackend } from '../src/tensor/gpujs/index.ts';
import { registerBackendChecks } from './support/backend-checks.ts';

// Needs an X server: xvfb-run -a npx vitest run --config vitest.gl.config.ts
describe('gpujs-headlessgl', () => registerBackendChecks(() => createGpuJsBackend('headlessgl'),
  { rtol: 1e-4, release: (b) => (b as GpuJsBackend).destroy() }));

describe('headless-gl specifics', () => {
  it("'gpu' mode lands on headless-gl here", () => {
    expect(availableGpuJsModes()).toEqual(['cpu', 'webasm', 'headlessgl', 'gpu']);
    const b = createGpuJsBackend('gpu');
    const x = b.write(Float32Array.of(1, 4));
    expect(Array.from(b.read(b.unary('sqrt', x, 2), 2))).toEqual([1, 2]);
    b.destroy();
  });

  it('float32 index math stays exact for 4M-element transposes', () => {
    const b = createGpuJsBackend('headlessgl');
    const [r, c] = [2047, 2049];
    const x = b.write(Float32Array.from({ length: r * c }, (_, i) => i));
    const t = b.read(b.strided(x, [c, r], [1, c], 0), r * c);
    let wrong = 0;
    for (let i = 0; i < c; i++) for (let j = 0; j < r; j++) if (t[i * r + j] !== j * c + i) wrong++;
    expect(wrong).toBe(0);
    b.destroy();
  });

  it('texture memory stays flat when many outputs live at once and are then disposed', () => {
    const b = createGpuJsBackend('headlessgl');
    const n = 1 << 18; // 4 MB per float texture
    const x = b.write(new Float32Array(n).fill(1));
    const rssAfterRound = () => {
      const outs = Array.from({ length: 40 }, () => b.binary('add', x, x, [n], [1], [1]));
      outs.forEach((h) => b.dispose(h));
      return process.memoryUsage().rss;
    };
    rssAfterRound();
    const first = rssAfterRound();
    for (let i = 0; i < 3; i++) rssAfterRound();
    // Without recycling texture names each round would add ~160 MB.
    expect(process.memoryUsage().rss - first).toBeLessThan(80e6);
    b.dispose(x);
    expect(b.liveBuffers()).toBe(0);
    b.destroy();
  });
});
