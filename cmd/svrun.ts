#!/usr/bin/env node
// svrun DIR: supervise the one service defined in DIR (see docs/svrun.md).
// One static import only: at a low descriptor limit, modules loaded side by
// side fail with EMFILE before any check could run. (The build bundles this
// file with all it imports into one, scripts/bundle.mjs; the order holds there too.)
import { descriptorShortage, keepDescriptorsToOurselves, tooFewDescriptors } from '../src/os/fds.js';

/** Only the entry points end the process (see src/errors.ts): one line, then the exit code. */
const die = ({ line, exitCode }: { line: string; exitCode: number }): never => {
  process.stderr.write(`${line}\n`);
  return process.exit(exitCode);
};

// services inherit nothing from whoever started us (see src/os/fds.ts)
keepDescriptorsToOurselves();
// too few descriptors to supervise anything: one line, exit 111, before locking
const short = descriptorShortage('svrun');
if (short) die(short);

// loaded only now; descriptors the caller left open count against the limit too.
// (No top-level await: the build bundles svrun as CommonJS, scripts/bundle.mjs.)
const main = async (): Promise<void> => {
  const load = (err: NodeJS.ErrnoException) => (err.code === 'EMFILE' ? die(tooFewDescriptors('svrun', true)) : Promise.reject(err));
  const { svrun } = await import('../src/supervisor/svrun.js').catch(load);
  const { EXIT_INVALID } = await import('../src/defaults.js');
  const { failure } = await import('../src/errors.js');

  // should the event loop ever run dry before svrun returns, that is not a success
  process.exitCode = EXIT_INVALID;

  // svrun() throws an SvError for what it refuses before supervising (one line per problem, its exit code)
  svrun(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const { lines, exitCode } = failure('svrun', err, EXIT_INVALID);
      for (const l of lines) process.stderr.write(`${l}\n`);
      process.exit(exitCode);
    },
  );
};
void main();
