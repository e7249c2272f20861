#!/usr/bin/env node
// svrun DIR: supervise the one service defined in DIR (see docs/svrun.md).
// One static import only: at a low descriptor limit, modules loaded side by
// side fail with EMFILE before any check could run.
import { ensureDescriptors, keepDescriptorsToOurselves, tooFewDescriptors } from '../src/os/fds.js';

// services inherit nothing from whoever started us (see src/os/fds.ts)
keepDescriptorsToOurselves();
// too few descriptors to supervise anything: one line, exit 111, before locking
ensureDescriptors('svrun');

// loaded only now; descriptors the caller left open count against the limit too
const load = (err: NodeJS.ErrnoException) => (err.code === 'EMFILE' ? tooFewDescriptors('svrun', true) : Promise.reject(err));
const { svrun } = await import('../src/supervisor/svrun.js').catch(load);
const { EXIT_INVALID } = await import('../src/defaults.js');
const { oneLine } = await import('../src/errors.js');

// should the event loop ever run dry before svrun returns, that is not a success
process.exitCode = EXIT_INVALID;

svrun(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`svrun: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
    process.exit(EXIT_INVALID);
  },
);
