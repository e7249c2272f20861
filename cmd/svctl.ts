#!/usr/bin/env node
// svctl: bring the services of a scan directory up and down (see docs/svctl.md).
// One static import only: at a low descriptor limit, modules loaded side by
// side fail with EMFILE before any check could run.
import { ensureDescriptors, keepDescriptorsToOurselves, tooFewDescriptors } from '../src/os/fds.js';

// neither svrun nor a service (nor boot's command) inherits what our caller had open (see src/os/fds.ts)
keepDescriptorsToOurselves();
// too few descriptors to do anything: one line, exit 1
ensureDescriptors('svctl');

// loaded only now; descriptors the caller left open count against the limit too
const load = (err: NodeJS.ErrnoException) => (err.code === 'EMFILE' ? tooFewDescriptors('svctl', true) : Promise.reject(err));
const { svctl } = await import('../src/svctl/cli.js').catch(load);
const { oneLine } = await import('../src/errors.js');

svctl(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`svctl: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
    process.exit(1);
  },
);
