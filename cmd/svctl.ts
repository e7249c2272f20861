#!/usr/bin/env node
// svctl: bring the services of a scan directory up and down (see docs/svctl.md).
import { keepDescriptorsToOurselves } from '../src/fds.js';
import { svctl } from '../src/svctl/cli.js';

// neither svrun nor a service (nor boot's command) inherits what our caller had open (see src/fds.ts)
keepDescriptorsToOurselves();

svctl(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`svctl: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
