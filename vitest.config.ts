import { defineConfig } from 'vitest/config';

// The default suite: plain backend and GPU.js's cpu/webasm modes. GL tests live in vitest.gl.config.ts
// because they need an X server (xvfb-run); PyTorch tests in vitest.pytorch.config.ts (they need torch);
// the browser page's in vitest.browser.config.ts (they need Chromium).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'properties/**/*.prop.ts'],
    exclude: ['**/*.gl.test.ts', '**/*.pytorch.test.ts', '**/*.browser.test.ts', '**/node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
