import { defineConfig } from 'vitest/config';

// Three tiers, one vitest project each (README "Tests"); `vitest run` runs all three.
// - unit: test/**/NAME.test.ts, pure: no process started (test/unit.setup.ts makes
//   starting one throw), no build needed (they import src/ directly); seconds in all.
// - proc: test/**/NAME.proc.test.ts, real svrun, svctl, sh... from the build in dist/.
// - fault: test/fault/** (the fault scenarios' quick versions) and test/docs/** (the
//   docs checked against the code: their commands, examples, the README's tour).
// All three share one pool (vitest runs the projects of a group together, with one
// maxWorkers): the unit files fill the gaps the process tests leave.
const SLOW_TIERS = ['test/fault/**', 'test/docs/**'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // the tests mostly wait on processes they started: three files at a time on two cores
    maxWorkers: 3,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.proc.test.ts', ...SLOW_TIERS],
          setupFiles: ['test/unit.setup.ts'],
          // the modules loaded once per worker, not once per file: about half the CPU time
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'proc',
          include: ['test/**/*.proc.test.ts'],
          exclude: SLOW_TIERS,
        },
      },
      {
        extends: true,
        test: {
          name: 'fault',
          include: SLOW_TIERS.map((dir) => `${dir}/*.test.ts`),
        },
      },
    ],
  },
});
