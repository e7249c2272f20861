// The unit tier (vitest.config.ts) starts no process: here every way of
// starting one throws, naming the convention, so a test that needs a real
// process goes where it belongs (NAME.proc.test.ts) instead of slowing the
// quick loop, and no unit test comes to depend on the build in dist/.
import { createRequire, syncBuiltinESMExports } from 'node:module';

const childProcess = createRequire(import.meta.url)('node:child_process') as Record<string, unknown>;
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  childProcess[name] = () => {
    throw new Error(`child_process.${name}: a unit test starts no process (name its file NAME.proc.test.ts: the proc tier)`);
  };
}
// ES module imports of node:child_process see the same functions
syncBuiltinESMExports();
