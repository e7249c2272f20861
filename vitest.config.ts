import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // the tests mostly wait on processes they started: three files at a time on two cores
    maxWorkers: 3,
  },
});
