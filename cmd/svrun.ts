#!/usr/bin/env node
// svrun DIR: supervise the one service defined in DIR (see docs/svrun.md).
import { keepDescriptorsToOurselves } from '../src/fds.js';
import { svrun } from '../src/svrun.js';

// services inherit nothing from whoever started us (see src/fds.ts)
keepDescriptorsToOurselves();

// should the event loop ever run dry before svrun returns, that is not a success
process.exitCode = 111;

svrun(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`svrun: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(111);
  },
);
