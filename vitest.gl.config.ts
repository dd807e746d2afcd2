import { defineConfig } from 'vitest/config';

// Tests that need an OpenGL context (GPU.js headlessgl); run under `xvfb-run -a`.
export default defineConfig({
  test: {
    include: ['test/**/*.gl.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
