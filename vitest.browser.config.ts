import { defineConfig } from 'vitest/config';

// The browser page's tests (issue 12): Debian's chromium through playwright-core, so they need the
// `chromium` package; `npm test` leaves them out. Run with `npm run test:browser`.
export default defineConfig({
  test: {
    include: ['test/**/*.browser.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
