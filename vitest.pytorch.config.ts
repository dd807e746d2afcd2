import { defineConfig } from 'vitest/config';

// Tests that run PyTorch (python3 with torch and numpy: Debian's python3-torch python3-numpy) against
// the library: interop/pytorch's modules, loader, writer and train_ddp.py. `npm run test:pytorch`.
export default defineConfig({
  test: {
    include: ['test/**/*.pytorch.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
