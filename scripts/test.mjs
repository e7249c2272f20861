// npm test, after the build: the one type check (npm run check), the format
// and lint check (npm run lint: Biome, well under a second) and every test
// tier (vitest run, with npm test's arguments) at the same time: tsc keeps
// one core busy for a few seconds while the first test files start. The
// checks' findings follow the tests' report; any failing fails.
import { spawn } from 'node:child_process';

/** Runs `cmd args`, resolving with its exit code (128+N for a signal). */
const run = (cmd, args, stdio) =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio });
    const out = [];
    child.stdout?.on('data', (d) => out.push(d));
    child.stderr?.on('data', (d) => out.push(d));
    child.on('exit', (code) => resolve({ code: code ?? 128, output: Buffer.concat(out).toString() }));
  });

const check = run('npm', ['run', '--silent', 'check'], ['ignore', 'pipe', 'pipe']);
const lint = run('npm', ['run', '--silent', 'lint'], ['ignore', 'pipe', 'pipe']);
const tests = await run('npx', ['vitest', 'run', ...process.argv.slice(2)], 'inherit');
const checked = await check;
if (checked.code !== 0) process.stdout.write(`\nnpm run check (tsc -p tsconfig.test.json) failed:\n${checked.output}`);
else process.stdout.write('\nnpm run check: no type errors\n');
const linted = await lint;
if (linted.code !== 0) process.stdout.write(`\nnpm run lint (biome check) failed; npm run format fixes the formatting:\n${linted.output}`);
else process.stdout.write('npm run lint: formatted, no lint findings\n');
process.exit(tests.code || checked.code || linted.code);
